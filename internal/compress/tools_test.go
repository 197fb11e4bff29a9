package compress

// Tests against the real tools: gzip, xz and zstd must decompress what the
// writers produce, dpkg-deb must accept .deb files with such members, and
// the readers must decompress what the tools and dpkg-deb produce. A missing
// tool skips its test with a message (CI installs them: apt-get install
// gzip xz-utils zstd dpkg apt).

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

var toolPackages = map[string]string{
	"gzip": "gzip", "xz": "xz-utils", "zstd": "zstd", "dpkg-deb": "dpkg",
}

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not installed, skipping (apt-get install %s)", name, toolPackages[name])
	}
	return p
}

// run runs a command with stdin and returns its standard output.
func run(t *testing.T, stdin []byte, name string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.Bytes(), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return stdout.Bytes(), nil
}

func mustRun(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	out, err := run(t, stdin, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var toolForFormat = map[Format]string{Gzip: "gzip", Xz: "xz", Zstd: "zstd"}

// TestToolsDecompressOurOutput runs "TOOL -t" and "TOOL -dc" on our output.
func TestToolsDecompressOurOutput(t *testing.T) {
	inputs := []namedInput{
		{"empty", nil},
		{"small", []byte("Package: hello\n")},
		{"mixed-9MiB", realisticInput(9<<20, 10)},
	}
	for _, f := range []Format{Gzip, Xz, Zstd} {
		t.Run(string(f), func(t *testing.T) {
			tool := needTool(t, toolForFormat[f])
			dir := t.TempDir()
			for _, in := range inputs {
				file := filepath.Join(dir, in.name+f.Ext())
				if err := os.WriteFile(file, compress(t, f, in.data, []int{64 << 10}), 0o644); err != nil {
					t.Fatal(err)
				}
				mustRun(t, nil, tool, "-t", file)
				if got := mustRun(t, nil, tool, "-dc", file); !bytes.Equal(got, in.data) {
					t.Errorf("%s -dc %s: got %d bytes, want %d", tool, in.name, len(got), len(in.data))
				}
			}
		})
	}
}

// TestReadToolOutput decompresses what the tools write, including multi-block
// xz (xz -T), concatenated streams and members, and other xz check types.
func TestReadToolOutput(t *testing.T) {
	data := realisticInput(3<<20, 11)
	type variant struct {
		name string
		args []string
	}
	cases := map[Format][]variant{
		Gzip: {{"-9", []string{"-9", "-n"}}, {"-1", []string{"-1"}}},
		Xz: {
			{"-6", []string{"-6"}},
			{"-T2-blocks", []string{"-6", "-T2", "--block-size=1MiB"}},
			{"crc32", []string{"-1", "--check=crc32"}},
			{"sha256", []string{"-1", "--check=sha256"}},
			{"nocheck", []string{"-1", "--check=none"}},
		},
		Zstd: {{"-3", []string{"-3", "-q"}}, {"-19-long", []string{"-19", "--long=27", "-q"}}},
	}
	for _, f := range []Format{Gzip, Xz, Zstd} {
		t.Run(string(f), func(t *testing.T) {
			tool := needTool(t, toolForFormat[f])
			for _, v := range cases[f] {
				comp := mustRun(t, data, tool, append([]string{"-c"}, v.args...)...)
				if got := decompress(t, f, comp); !bytes.Equal(got, data) {
					t.Errorf("%s %s: wrong data", tool, v.name)
				}
			}
			// Concatenation: two compressed pieces of one input.
			half := len(data) / 2
			a := mustRun(t, data[:half], tool, "-c")
			b := mustRun(t, data[half:], tool, "-c")
			if got := decompress(t, f, append(a, b...)); !bytes.Equal(got, data) {
				t.Errorf("%s: concatenated streams: wrong data", tool)
			}
		})
	}
}

// TestZstdToolLargeWindow checks that a frame with a window above
// MaxDecoderWindow, as zstd --long=30 writes when it does not know the input
// size, is refused.
func TestZstdToolLargeWindow(t *testing.T) {
	tool := needTool(t, "zstd")
	comp := mustRun(t, []byte(strings.Repeat("abc", 1000)), tool, "-c", "-q", "--long=30")
	r, err := NewReader(bytes.NewReader(comp), Zstd)
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, zstd.ErrWindowSizeExceeded) && !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		t.Fatalf("frame with a 1 GiB window: error %v, want a window size error", err)
	}
}

// arFile writes an ar archive (the .deb container).
func arFile(members ...[2][]byte) []byte {
	out := []byte("!<arch>\n")
	for _, m := range members {
		out = fmt.Appendf(out, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", m[0], 0, 0, 0, "100644", len(m[1]))
		out = append(out, m[1]...)
		if len(m[1])%2 == 1 {
			out = append(out, '\n')
		}
	}
	return out
}

// arMembers parses an ar archive into its members.
func arMembers(t *testing.T, b []byte) map[string][]byte {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("!<arch>\n")) {
		t.Fatal("not an ar archive")
	}
	b = b[8:]
	m := map[string][]byte{}
	for len(b) >= 60 {
		name := strings.TrimSuffix(strings.TrimSpace(string(b[:16])), "/")
		size, err := strconv.Atoi(strings.TrimSpace(string(b[48:58])))
		if err != nil || 60+size > len(b) {
			t.Fatalf("bad ar header %q", b[:60])
		}
		m[name] = b[60 : 60+size]
		b = b[60+size+size%2:]
	}
	return m
}

type tarEntry struct {
	name string
	data []byte // nil for a directory
}

func tarFile(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: 0o644, ModTime: time.Unix(1700000000, 0), Uname: "root", Gname: "root", Format: tar.FormatGNU}
		if e.data == nil {
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
		} else {
			h.Typeflag, h.Size = tar.TypeReg, int64(len(e.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(e.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDpkgDebAcceptsOurMembers builds a .deb whose control.tar and data.tar
// are compressed by our writers and has dpkg-deb list, check and extract it.
// The 10 MiB payload spans several gzip chunks, xz blocks and zstd jobs.
func TestDpkgDebAcceptsOurMembers(t *testing.T) {
	dpkgDeb := needTool(t, "dpkg-deb")
	payload := realisticInput(10<<20, 12)
	control := []byte("Package: debflow-compress-test\nVersion: 1.0-1\nArchitecture: all\n" +
		"Maintainer: debflow <debflow@example.com>\nDescription: compress test\n test package\n")
	ctrlTar := tarFile(t, tarEntry{"./", nil}, tarEntry{"./control", control})
	dataTar := tarFile(t,
		tarEntry{"./", nil}, tarEntry{"./usr/", nil}, tarEntry{"./usr/share/", nil},
		tarEntry{"./usr/share/debflow-test/", nil},
		tarEntry{"./usr/share/debflow-test/payload.bin", payload})
	for _, f := range allFormats {
		t.Run(string(f), func(t *testing.T) {
			dir := t.TempDir()
			deb := filepath.Join(dir, "test.deb")
			err := os.WriteFile(deb, arFile(
				[2][]byte{[]byte("debian-binary"), []byte("2.0\n")},
				[2][]byte{[]byte("control.tar" + f.Ext()), compress(t, f, ctrlTar, nil)},
				[2][]byte{[]byte("data.tar" + f.Ext()), compress(t, f, dataTar, []int{10 << 10})},
			), 0o644)
			if err != nil {
				t.Fatal(err)
			}
			info := mustRun(t, nil, dpkgDeb, "--info", deb)
			if !bytes.Contains(info, []byte("Package: debflow-compress-test")) {
				t.Errorf("dpkg-deb --info:\n%s", info)
			}
			contents := mustRun(t, nil, dpkgDeb, "--contents", deb)
			if !bytes.Contains(contents, []byte("./usr/share/debflow-test/payload.bin")) {
				t.Errorf("dpkg-deb --contents:\n%s", contents)
			}
			if got := mustRun(t, nil, dpkgDeb, "--fsys-tarfile", deb); !bytes.Equal(got, dataTar) {
				t.Errorf("dpkg-deb --fsys-tarfile: got %d bytes, want our %d-byte tar", len(got), len(dataTar))
			}
			if got := mustRun(t, nil, dpkgDeb, "--ctrl-tarfile", deb); !bytes.Equal(got, ctrlTar) {
				t.Errorf("dpkg-deb --ctrl-tarfile: got %d bytes, want %d", len(got), len(ctrlTar))
			}
			root := filepath.Join(dir, "root")
			mustRun(t, nil, dpkgDeb, "-x", deb, root)
			got, err := os.ReadFile(filepath.Join(root, "usr/share/debflow-test/payload.bin"))
			if err != nil || !bytes.Equal(got, payload) {
				t.Errorf("dpkg-deb -x: payload differs (%d bytes, %v)", len(got), err)
			}
		})
	}
}

// TestReadDpkgDebMembers decompresses the members of packages built by
// dpkg-deb itself (multi-threaded xz, zstd, gzip).
func TestReadDpkgDebMembers(t *testing.T) {
	dpkgDeb := needTool(t, "dpkg-deb")
	src := t.TempDir()
	files := map[string][]byte{
		"DEBIAN/control": []byte("Package: debflow-read-test\nVersion: 1.0\nArchitecture: all\n" +
			"Maintainer: debflow <debflow@example.com>\nDescription: read test\n test\n"),
		"usr/share/doc/debflow-read-test/data": realisticInput(4<<20, 13),
	}
	for name, data := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []Format{Gzip, Xz, Zstd} {
		t.Run(string(f), func(t *testing.T) {
			deb := filepath.Join(t.TempDir(), "read.deb")
			mustRun(t, nil, dpkgDeb, "--root-owner-group", "-Z"+string(f), "--build", src, deb)
			raw, err := os.ReadFile(deb)
			if err != nil {
				t.Fatal(err)
			}
			members := arMembers(t, raw)
			member, ok := members["data.tar"+f.Ext()]
			if !ok {
				t.Fatalf("no data.tar%s in %v", f.Ext(), members)
			}
			want := mustRun(t, nil, dpkgDeb, "--fsys-tarfile", deb)
			r, err := NewReader(bytes.NewReader(member), f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(LimitReader(r, 64<<20))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("data.tar%s: got %d bytes, dpkg-deb gives %d", f.Ext(), len(got), len(want))
			}
		})
	}
}

// TestAptReadsOurOutput has apt's own decompression (apt-helper cat-file,
// which opens files the way apt opens Packages.gz, .xz and .zst) read our
// output.
func TestAptReadsOurOutput(t *testing.T) {
	const helper = "/usr/lib/apt/apt-helper"
	if _, err := os.Stat(helper); err != nil {
		t.Skipf("%s not found, skipping (apt-get install apt)", helper)
	}
	data := realisticInput(9<<20, 15)
	dir := t.TempDir()
	for _, f := range []Format{Gzip, Xz, Zstd} {
		file := filepath.Join(dir, "Packages"+f.Ext())
		if err := os.WriteFile(file, compress(t, f, data, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := mustRun(t, nil, helper, "cat-file", file); !bytes.Equal(got, data) {
			t.Errorf("apt-helper cat-file %s: got %d bytes, want %d", filepath.Base(file), len(got), len(data))
		}
	}
}
