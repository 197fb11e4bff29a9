package debfile

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/build"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/signing"
)

// checkInfo checks the hashes and size in info against data, computed
// independently, and the identity of the package.
func checkInfo(t *testing.T, info *Info, data []byte, pkg, version, arch string) {
	t.Helper()
	sum := func(h []byte) string { return hex.EncodeToString(h) }
	m, s256 := md5.Sum(data), sha256.Sum256(data)
	for _, c := range []struct{ name, got, want string }{
		{"MD5", info.MD5, sum(m[:])},
		{"SHA256", info.SHA256, sum(s256[:])},
		{"Package", info.Package, pkg},
		{"Version", info.Version, version},
		{"Architecture", info.Architecture, arch},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if info.Size != int64(len(data)) {
		t.Errorf("Size = %d, want %d", info.Size, len(data))
	}
	if got := info.Control.Get("Package"); got != pkg {
		t.Errorf("Control has Package %q, want %q", got, pkg)
	}
}

func TestValidFixtures(t *testing.T) {
	for _, fx := range validFixtures {
		t.Run(fx.file, func(t *testing.T) {
			gen := func() []byte { return deb{format: fx.format}.bytes(t) }
			// The committed file is the fixture; -update writes it anew.
			data := readOrUpdate(t, filepath.Join("testdata", "valid", fx.file), gen)
			info, err := Inspect(bytes.NewReader(data), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			checkInfo(t, info, data, "hello", "1.2.3+git20261124.42.abcdef0", "amd64")
			if info.Signed {
				t.Error("Signed = true for a package without _gpgorigin")
			}
			want, err := debian.ParseParagraph([]byte(goodControl))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(info.Control.Bytes(), want.Bytes()) {
				t.Errorf("Control =\n%s\nwant\n%s", info.Control.Bytes(), want.Bytes())
			}
		})
	}
}

// TestAccepts covers valid variations that the fixtures do not.
func TestAccepts(t *testing.T) {
	cases := map[string]deb{
		"debian-binary 2.1":     {version: "2.1\n"},
		"control without ./":    {control: tarArchive(t, tarEntry{name: "control", body: goodControl})},
		"scripts and conffiles": {control: controlTar(t, goodControl, tarEntry{name: "./postinst", mode: 0o755, body: "#!/bin/sh\n"}, tarEntry{name: "./conffiles", body: "/etc/hello.conf\n"})},
		"empty Depends":         {control: controlTar(t, withControl("Depends", "Depends:\n"))},
		"links":                 {data: dataTar(t, tarEntry{name: "./usr/bin/hi", typ: tar.TypeSymlink, link: "../../usr/bin/hello"}, tarEntry{name: "./usr/bin/hey", typ: tar.TypeLink, link: "./usr/bin/hello"})},
		"architecture all":      {control: controlTar(t, withControl("Architecture", "Architecture: all\n"))},
		"extra _ members":       {extra: []arMember{{"_gpgorigin", []byte("signature")}, {"_gpgbuilder", []byte("signature")}}},
	}
	for name, d := range cases {
		t.Run(name, func(t *testing.T) {
			data := d.bytes(t)
			info, err := Inspect(bytes.NewReader(data), DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			wantArch := "amd64"
			if name == "architecture all" {
				wantArch = "all"
			}
			checkInfo(t, info, data, "hello", "1.2.3+git20261124.42.abcdef0", wantArch)
			if info.Signed != (name == "extra _ members") {
				t.Errorf("Signed = %v", info.Signed)
			}
		})
	}
}

// TestRejects covers checks that the corpus does not, with the fragment
// each error must contain.
func TestRejects(t *testing.T) {
	cases := []struct {
		name string
		deb  deb
		lim  Limits
		want string
	}{
		{"debian-binary without newline", deb{version: "2.0"}, Limits{}, `debian-binary: format version "2.0" lacks its newline`},
		{"debian-binary with a second line", deb{version: "2.0\nx\n"}, Limits{}, "is not 2.x"},
		{"lzma data", deb{}, Limits{}, "data.tar.lzma: lzma compression is not supported"},
		{"symlink in control.tar", deb{control: controlTar(t, goodControl, tarEntry{name: "./postinst", typ: tar.TypeSymlink, link: "/tmp/x"})}, Limits{}, "control.tar: ./postinst: symbolic link; control.tar may only hold regular files"},
		{"dotdot in control.tar", deb{control: controlTar(t, goodControl, tarEntry{name: "./../postinst"})}, Limits{}, `control.tar: name "./../postinst" has a ".." component`},
		{"control twice", deb{control: controlTar(t, goodControl, tarEntry{name: "control", body: goodControl})}, Limits{}, "control.tar: control: duplicate entry"},
		{"control too large", deb{}, Limits{MaxControl: 100}, "control.tar: ./control: 274 bytes, more than the limit of 100"},
		{"Config-Version", deb{control: controlTar(t, withControl("Config-Version", "Config-Version: 1.0\n"))}, Limits{}, `field "Config-Version" belongs to dpkg's status database`},
		{"Phased-Update-Percentage", deb{control: controlTar(t, withControl("Phased-Update-Percentage", "Phased-Update-Percentage: 0\n"))}, Limits{}, `field "Phased-Update-Percentage" may only be set by the publisher`},
		{"Architecture any", deb{control: controlTar(t, withControl("Architecture", "Architecture: any\n"))}, Limits{}, "field Architecture: invalid architecture"},
		{"empty synopsis", deb{control: controlTar(t, withControl("Description", "Description:\n long text\n"))}, Limits{}, "field Description has no synopsis"},
		{"Latin-1 control", deb{control: controlTar(t, strings.Replace(goodControl, "greets", "gr\xfc\xdft", 1))}, Limits{}, "control.tar: ./control: not valid UTF-8"},
		{"Installed-Size", deb{control: controlTar(t, withControl("Installed-Size", "Installed-Size: 12 MB\n"))}, Limits{}, `field Installed-Size: "12 MB" is not a number`},
		{"hard link outside", deb{data: dataTar(t, tarEntry{name: "./usr/bin/x", typ: tar.TypeLink, link: "../etc/shadow"})}, Limits{}, `./usr/bin/x: hard link target: name "../etc/shadow"`},
		{"newline in a data name", deb{data: dataTar(t, tarEntry{name: "./usr/bin/x\ny"})}, Limits{}, `name "./usr/bin/x\ny" contains control character 0xa`},
		{"absolute data name", deb{data: dataTar(t, tarEntry{name: "/etc/passwd"})}, Limits{}, `data.tar: absolute name "/etc/passwd"`},
		{"data over MaxData", deb{}, Limits{MaxData: 1024}, "data.tar: reading the tar header after ./usr/: compress: data exceeds size limit (limit 1024 bytes): MaxData"},
		{"data after the tar archive", deb{}, Limits{}, "data.tar: after the end of the tar archive: non-zero byte at offset 0 of the padding"},
		{"data after the zstd stream", deb{format: compress.Zstd}, Limits{}, "data.tar.zst: after the end of the tar archive: compress: zstd: invalid input: magic number mismatch"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.deb.members(t)
			switch c.name {
			case "lzma data":
				m[2].name = "data.tar.lzma"
			case "data after the tar archive", "data after the zstd stream":
				m[2].data = append(m[2].data, "junk"...)
			}
			_, err := Inspect(bytes.NewReader(arArchive(t, m...)), c.lim)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Inspect = %v, want an error wrapping ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Inspect error\n\t%v\nwant it to contain\n\t%s", err, c.want)
			}
		})
	}
}

func TestInspectFile(t *testing.T) {
	file := filepath.Join("testdata", "valid", "hello_xz.deb")
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	info, err := InspectFile(file, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	checkInfo(t, info, data, "hello", "1.2.3+git20261124.42.abcdef0", "amd64")

	bad := filepath.Join(corpusDir, "control-filename.deb")
	_, err = InspectFile(bad, Limits{})
	want := bad + `: invalid package: control.tar.xz: ./control: field "Filename" may only be set by the publisher`
	if !errors.Is(err, ErrInvalid) || err.Error() != want {
		t.Errorf("InspectFile = %v\nwant %s", err, want)
	}

	_, err = InspectFile(filepath.Join(t.TempDir(), "missing.deb"), Limits{})
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrInvalid) {
		t.Errorf("InspectFile(missing) = %v, want fs.ErrNotExist without ErrInvalid", err)
	}
}

// failingReader returns its data, then err.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

// TestReaderError checks that a failing reader is not reported as an
// invalid package: the upload can be retried.
func TestReaderError(t *testing.T) {
	data := deb{format: compress.Xz}.bytes(t)
	diskErr := errors.New("input/output error")
	_, err := Inspect(&failingReader{data: data[:len(data)/2], err: diskErr}, Limits{})
	if !errors.Is(err, diskErr) || errors.Is(err, ErrInvalid) {
		t.Errorf("Inspect = %v, want the reader's error without ErrInvalid", err)
	}
}

// countingReader counts bytes and calls.
type countingReader struct {
	r     io.Reader
	bytes int64
	eof   int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.bytes += int64(n)
	if err == io.EOF {
		c.eof++
	}
	return n, err
}

// TestReadsOnce checks that Inspect reads its input once, to its end, and
// hashes exactly what it read.
func TestReadsOnce(t *testing.T) {
	data := deb{format: compress.Zstd, extra: []arMember{{"_gpgorigin", []byte("sig")}}}.bytes(t)
	cr := &countingReader{r: bytes.NewReader(data)}
	info, err := Inspect(cr, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if cr.bytes != int64(len(data)) || info.Size != cr.bytes {
		t.Errorf("read %d bytes, Size %d, file %d", cr.bytes, info.Size, len(data))
	}
	if !info.Signed {
		t.Error("Signed = false with a _gpgorigin member")
	}
}

func TestDataLimit(t *testing.T) {
	l := DefaultLimits()
	for _, c := range []struct{ compressed, want int64 }{
		{0, 64 << 20},
		{1 << 20, 64<<20 + 200<<20},
		{40 << 20, (64 + 8000) << 20},
		{41 << 20, 8 << 30},      // 64 MiB + 8200 MiB is over MaxData
		{9999999999, 8 << 30},    // the largest ar member
		{(1 << 63) - 1, 8 << 30}, // no overflow
	} {
		if got := l.dataLimit(c.compressed); got != c.want {
			t.Errorf("dataLimit(%d) = %d, want %d", c.compressed, got, c.want)
		}
	}
	huge := Limits{MaxData: 1 << 62, MaxRatio: 1 << 40}.withDefaults()
	if got := huge.dataLimit(1 << 30); got != 1<<62 {
		t.Errorf("dataLimit with a huge ratio = %d, want MaxData", got)
	}
}

// TestBombs checks that decompression bombs fail with compress.ErrTooLarge,
// quickly and in little memory, with the default limits.
func TestBombs(t *testing.T) {
	bombs := map[string][]byte{}
	for _, name := range []string{"data-zstd-bomb.deb", "control-xz-bomb.deb"} {
		data, err := os.ReadFile(filepath.Join(corpusDir, name))
		if err != nil {
			t.Fatal(err)
		}
		bombs[name] = data
	}
	// 8 GiB of zeros in 256 KiB: the limit stops it after 64 MiB and a bit.
	m := deb{format: compress.Zstd}.members(t)
	m[2] = arMember{"data.tar.zst", zstdBombTar(t, 8<<30)}
	bombs["8 GiB zstd"] = arArchive(t, m...)

	for name, data := range bombs {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Inspect(bytes.NewReader(data), DefaultLimits())
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, compress.ErrTooLarge) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("Inspect = %v, want ErrTooLarge and ErrInvalid", err)
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d bytes refused in %v, %d KiB allocated: %v", len(data), elapsed, alloc>>10, err)
			if elapsed > 10*time.Second {
				t.Errorf("took %v", elapsed)
			}
			if alloc > 32<<20 {
				t.Errorf("allocated %d MiB", alloc>>20)
			}
		})
	}
}

// TestBuildWriteDeb inspects what debflow's own builder writes, signed and
// not, in every compression.
func TestBuildWriteDeb(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "hello")
	if err := os.WriteFile(script, []byte(helloScript), 0o755); err != nil {
		t.Fatal(err)
	}
	control, err := debian.ParseParagraph([]byte(goodControl))
	if err != nil {
		t.Fatal(err)
	}
	control.Delete("Installed-Size") // WriteDeb adds it
	key, err := signing.Generate("Debflow Test <test@example.com>", signing.Ed25519, fixtureTime)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []compress.Format{compress.Xz, compress.Zstd, compress.Gzip, compress.None} {
		for _, signer := range []signing.Signer{nil, key} {
			name := string(f)
			if signer != nil {
				name += "-signed"
			}
			t.Run(name, func(t *testing.T) {
				var buf bytes.Buffer
				pkg := &build.Package{
					Control: control,
					Entries: []build.Entry{
						{Path: "/usr/bin/hello", Kind: build.KindFile, Mode: 0o755, Owner: "root", Group: "root", Source: script},
						{Path: "/usr/bin/hi", Kind: build.KindSymlink, Mode: 0o777, Owner: "root", Group: "root", Target: "hello"},
					},
				}
				opts := build.DebOptions{Compression: f, ModTime: fixtureTime, Signer: signer, TempDir: dir}
				if err := build.WriteDeb(&buf, pkg, opts); err != nil {
					t.Fatal(err)
				}
				info, err := Inspect(bytes.NewReader(buf.Bytes()), Limits{})
				if err != nil {
					t.Fatal(err)
				}
				checkInfo(t, info, buf.Bytes(), "hello", "1.2.3+git20261124.42.abcdef0", "amd64")
				if info.Signed != (signer != nil) {
					t.Errorf("Signed = %v", info.Signed)
				}
			})
		}
	}
}

// TestDpkgAgrees checks that dpkg-deb accepts what Inspect accepts, and
// reads the same fields: the valid fixtures, and a package that dpkg-deb
// builds itself.
func TestDpkgAgrees(t *testing.T) {
	dpkgDebPath := dpkgDeb(t)
	files := []string{}
	for _, fx := range validFixtures {
		files = append(files, filepath.Join("testdata", "valid", fx.file))
	}

	// A package from dpkg-deb --build, in its default compression.
	root := t.TempDir()
	for name, body := range map[string]string{
		"DEBIAN/control":                  goodControl,
		"usr/bin/hello":                   helloScript,
		"usr/share/doc/hello/copyright":   copyright,
		"usr/share/doc/hello/empty/.keep": "",
	} {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	built := filepath.Join(t.TempDir(), "hello_dpkg.deb")
	if out, err := exec.Command(dpkgDebPath, "--root-owner-group", "--build", root, built).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	files = append(files, built)

	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			if msg := dpkgVerdict(t, dpkgDebPath, file); msg != "" {
				t.Fatalf("dpkg-deb refuses a package that Inspect accepts: %s", msg)
			}
			info, err := InspectFile(file, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command(dpkgDebPath, "--field", file).Output()
			if err != nil {
				t.Fatal(err)
			}
			p, err := debian.ParseParagraph(out)
			if err != nil {
				t.Fatalf("parsing dpkg-deb --field: %v\n%s", err, out)
			}
			for _, f := range p {
				if got := info.Control.Get(f.Name); got != f.Value {
					t.Errorf("field %s: dpkg-deb says %q, Inspect %q", f.Name, f.Value, got)
				}
			}
		})
	}
}

// TestHasher writes inputs of several sizes in pieces of awkward sizes:
// none, less than a chunk (hashed inline, no goroutines), exactly one, one
// and a byte, and more than all the chunks hold, so that chunks are split,
// filled and recycled.
func TestHasher(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{0, 17, hashChunkSize - 1, hashChunkSize, hashChunkSize + 1, hashChunks*hashChunkSize*3 + 17} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		h := newHasher()
		for rest := data; len(rest) > 0; {
			n := min(len(rest), 1+rng.IntN(3*hashChunkSize/2))
			if _, err := h.Write(rest[:n]); err != nil {
				t.Fatal(err)
			}
			rest = rest[n:]
		}
		m, s256 := md5.Sum(data), sha256.Sum256(data)
		want := []string{hex.EncodeToString(m[:]), hex.EncodeToString(s256[:])}
		g1, g2 := h.sums()
		if got := []string{g1, g2}; !slices.Equal(got, want) {
			t.Errorf("%d bytes: sums = %q, want %q", size, got, want)
		}
		if h.size != int64(len(data)) {
			t.Errorf("%d bytes: size = %d, want %d", size, h.size, len(data))
		}
		if wantStarted := size > hashChunkSize; h.started != wantStarted {
			t.Errorf("%d bytes: digest goroutines started = %v, want %v", size, h.started, wantStarted)
		}
		h.stop() // a second stop is harmless
	}
}

// TestLargePackage inspects a package of several MiB, whose reads go
// around the buffers rather than through them.
func TestLargePackage(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	body := make([]byte, 6<<20)
	for i := range body {
		body[i] = byte(rng.Uint32())
	}
	for _, f := range []compress.Format{compress.None, compress.Gzip} {
		data := deb{format: f, data: dataTar(t, tarEntry{name: "./usr/share/hello/noise", body: string(body)})}.bytes(t)
		info, err := Inspect(bytes.NewReader(data), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		checkInfo(t, info, data, "hello", "1.2.3+git20261124.42.abcdef0", "amd64")
	}
}
