package debfile

import (
	"archive/tar"
	"bytes"
	"compress/bzip2"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/debflow/debflow/internal/compress"
)

var update = flag.Bool("update", false, "rewrite testdata/malformed and internal/debfile/testdata/valid from their generators")

// corpusDir holds the malformed packages, shared with other tests of the
// module.
const corpusDir = "../../testdata/malformed"

// corpusCase is one malformed package: how it is made, what Inspect must
// say about it, and what dpkg-deb does with it.
type corpusCase struct {
	file string
	how  string // one line for README.md
	want string // a fragment of Inspect's error
	// dpkg is what dpkg-deb 1.21.22 says when running --info, --show and
	// --contents: "accepts" or "rejects", then a note. TestCorpusDpkg
	// checks the first word with the installed dpkg-deb.
	dpkg string
	gen  func(t testing.TB) []byte
}

// corpus is the source of testdata/malformed: the files and README.md are
// written from it by "go test ./internal/debfile -run TestCorpus -update".
var corpus = []corpusCase{
	{
		file: "garbage.deb",
		how:  "2 KiB of pseudo-random bytes (math/rand/v2 PCG seeded 1, 2)",
		want: "not a .deb file: malformed ar archive: not an ar archive (bad magic)",
		dpkg: "rejects: not a Debian format archive",
		gen: func(t testing.TB) []byte {
			rng := rand.New(rand.NewPCG(1, 2))
			b := make([]byte, 2048)
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		},
	},
	{
		file: "empty.deb",
		how:  "an empty file",
		want: "not a .deb file: malformed ar archive: not an ar archive (bad magic)",
		dpkg: "rejects: unexpected end of file in archive magic version number",
		gen:  func(t testing.TB) []byte { return []byte{} },
	},
	{
		file: "truncated.deb",
		how:  "the valid xz fixture cut in half",
		want: "malformed ar archive: member data truncated",
		dpkg: "rejects: --info: unexpected end of file or stream",
		gen: func(t testing.TB) []byte {
			b := deb{format: compress.Xz}.bytes(t)
			return b[:len(b)/2]
		},
	},
	{
		file: "member-size-past-eof.deb",
		how:  "a valid xz package whose data.tar.xz header declares 100000 bytes more than the file holds",
		want: "data.tar.xz: malformed ar archive: member data truncated, 100000 bytes missing",
		dpkg: "rejects: --contents: unexpected end of file or stream (--info and --show stop before data.tar)",
		gen: func(t testing.TB) []byte {
			m := deb{format: compress.Xz}.members(t)
			return append(arArchive(t, m[:2]...), rawArMember(m[2].name, int64(len(m[2].data))+100000, m[2].data)...)
		},
	},
	{
		file: "trailing-garbage.deb",
		how:  "the valid xz fixture followed by the 30 bytes \"garbage after the last member\\n\"",
		want: "after data.tar.xz: malformed ar archive: truncated header",
		dpkg: "accepts: it ignores what follows data.tar",
		gen: func(t testing.TB) []byte {
			return append(deb{format: compress.Xz}.bytes(t), "garbage after the last member\n"...)
		},
	},
	{
		file: "wrong-order.deb",
		how:  "members debian-binary, data.tar.xz, control.tar.xz",
		want: "member data.tar.xz comes before control.tar",
		dpkg: "rejects: has premature member 'data.tar.xz' before 'control.tar'",
		gen: func(t testing.TB) []byte {
			m := deb{format: compress.Xz}.members(t)
			m[1], m[2] = m[2], m[1]
			return arArchive(t, m...)
		},
	},
	{
		file: "missing-data.deb",
		how:  "members debian-binary and control.tar.xz only",
		want: "no data.tar[.gz|.xz|.zst] member after control.tar.xz",
		dpkg: "rejects: --contents: unexpected end of file in archive member header",
		gen: func(t testing.TB) []byte {
			return arArchive(t, deb{format: compress.Xz}.members(t)[:2]...)
		},
	},
	{
		file: "unknown-member.deb",
		how:  "the valid xz members followed by a member \"postinst\" holding a shell script",
		want: "unknown member postinst after data.tar.xz",
		dpkg: "accepts: it ignores members after data.tar",
		gen: func(t testing.TB) []byte {
			return deb{format: compress.Xz, extra: []arMember{{"postinst", []byte("#!/bin/sh\necho pwned\n")}}}.bytes(t)
		},
	},
	{
		file: "duplicate-data.deb",
		how:  "the valid xz members followed by a second data.tar.xz",
		want: "duplicate member data.tar.xz",
		dpkg: "accepts: it reads the first data.tar.xz and ignores the second",
		gen: func(t testing.TB) []byte {
			m := deb{format: compress.Xz}.members(t)
			return arArchive(t, append(m, m[2])...)
		},
	},
	{
		file: "debian-binary-3.0.deb",
		how:  "a valid xz package whose debian-binary holds \"3.0\\n\"",
		want: `debian-binary: format version "3.0\n" is not 2.x`,
		dpkg: "rejects: archive is format version 3.0; get a newer dpkg-deb",
		gen:  func(t testing.TB) []byte { return deb{format: compress.Xz, version: "3.0\n"}.bytes(t) },
	},
	{
		file: "data-bzip2.deb",
		how:  "a valid package whose data member is data.tar.bz2 (bzip2 -9 of the valid data.tar, embedded in corpus_test.go)",
		want: "data.tar.bz2: bzip2 compression is not supported",
		dpkg: "accepts: dpkg still reads bzip2",
		gen: func(t testing.TB) []byte {
			m := deb{format: compress.Xz}.members(t)
			m[2] = arMember{"data.tar.bz2", dataTarBzip2(t)}
			return arArchive(t, m...)
		},
	},
	{
		file: "no-control-file.deb",
		how:  "a valid xz package whose control.tar holds ./ and ./md5sums but no ./control",
		want: "control.tar.xz: no ./control file",
		dpkg: "rejects: --show: failed to open package info file …/control",
		gen: func(t testing.TB) []byte {
			control := tarArchive(t, dir("./"), tarEntry{name: "./md5sums", body: md5Line("usr/bin/hello", helloScript)})
			return deb{format: compress.Xz, control: control}.bytes(t)
		},
	},
	{
		file: "control-absolute-name.deb",
		how:  "a valid xz package whose control.tar also holds /etc/cron.d/hello",
		want: `control.tar.xz: absolute name "/etc/cron.d/hello"`,
		dpkg: "accepts: tar strips the leading \"/\" when dpkg-deb extracts control.tar",
		gen: func(t testing.TB) []byte {
			control := controlTar(t, goodControl, tarEntry{name: "/etc/cron.d/hello", body: "* * * * * root /tmp/x\n"})
			return deb{format: compress.Xz, control: control}.bytes(t)
		},
	},
	{
		file: "control-second-stanza.deb",
		how:  "./control whose Description value went through a template with raw newlines: \"\\n\\nPackage: hello\\nVersion: 9.9.9\\n…\" adds a second stanza",
		want: "control.tar.xz: ./control: control syntax error: more than 1 stanza",
		dpkg: "rejects: --show: several package info entries found, only one allowed",
		gen: func(t testing.TB) []byte {
			control := goodControl + "\nPackage: hello\nVersion: 9.9.9\nArchitecture: amd64\nFilename: pool/main/h/hello/evil.deb\nDescription: injected\n"
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "control-char.deb",
		how:  "./control whose Description synopsis holds a carriage return: \"greets the world\\rFilename: evil.deb\"",
		want: "control.tar.xz: ./control: control syntax error: field Description: control character 0xd",
		dpkg: "accepts: the carriage return stays in the value",
		gen: func(t testing.TB) []byte {
			control := strings.Replace(goodControl, "greets the world", "greets the world\rFilename: evil.deb", 1)
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "control-blank-continuation.deb",
		how:  "./control whose Description ends with a continuation line of only \" \\t\", then \"Filename: pool/evil.deb\": a stanza break for some parsers, a continuation for others",
		want: "control.tar.xz: ./control: control syntax error: more than 1 stanza",
		dpkg: "rejects: --show: blank line in value of field 'Description'",
		gen: func(t testing.TB) []byte {
			control := goodControl + " \t\nFilename: pool/evil.deb\n"
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "control-filename.deb",
		how:  "./control with \"Filename: pool/main/h/hello/hello_1.2.3_amd64.deb\", set by the uploader",
		want: `control.tar.xz: ./control: field "Filename" may only be set by the publisher`,
		dpkg: "accepts: Filename is an ordinary field to dpkg-deb",
		gen: func(t testing.TB) []byte {
			control := withControl("Filename", "Filename: pool/main/h/hello/hello_1.2.3_amd64.deb\n")
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "control-sha256-lowercase.deb",
		how:  "./control with \"sha256: \" and 64 zeros: field names are case-insensitive",
		want: `control.tar.xz: ./control: field "sha256" may only be set by the publisher`,
		dpkg: "accepts: SHA256 is an ordinary field to dpkg-deb",
		gen: func(t testing.TB) []byte {
			control := withControl("sha256", "sha256: "+strings.Repeat("0", 64)+"\n")
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "control-status.deb",
		how:  "./control with \"Status: install ok installed\", a dpkg database field",
		want: `control.tar.xz: ./control: field "Status" belongs to dpkg's status database`,
		dpkg: "rejects: --show: value for 'Status' field not allowed in this context",
		gen: func(t testing.TB) []byte {
			control := withControl("Status", "Status: install ok installed\n")
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "invalid-package-name.deb",
		how:  "./control with \"Package: Hello_World\"",
		want: `control.tar.xz: ./control: field Package: invalid package name "Hello_World"`,
		dpkg: "accepts: --show folds the name to hello_world, which dpkg allows",
		gen: func(t testing.TB) []byte {
			control := withControl("Package", "Package: Hello_World\n")
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "invalid-version.deb",
		how:  "./control with \"Version: v1.2.3\", a git tag used as is",
		want: `control.tar.xz: ./control: field Version: invalid version "v1.2.3"`,
		dpkg: "rejects: --show: 'Version' field value 'v1.2.3': version number does not start with digit",
		gen: func(t testing.TB) []byte {
			control := withControl("Version", "Version: v1.2.3\n")
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "missing-description.deb",
		how:  "./control without the Description field",
		want: "control.tar.xz: ./control: field Description is missing",
		dpkg: "accepts: --show only warns \"missing 'Description' field\"",
		gen: func(t testing.TB) []byte {
			return deb{format: compress.Xz, control: controlTar(t, withControl("Description", ""))}.bytes(t)
		},
	},
	{
		file: "bad-depends.deb",
		how:  "./control with \"Depends: libhello (= ${binary:Version})\", a substitution variable left in",
		want: `control.tar.xz: ./control: field Depends: "libhello (= ${binary:Version})": invalid version`,
		dpkg: "rejects: --show: version '${binary:Version}': epoch in version is empty",
		gen: func(t testing.TB) []byte {
			control := withControl("Depends", "Depends: libhello (= ${binary:Version})\n")
			return deb{format: compress.Xz, control: controlTar(t, control)}.bytes(t)
		},
	},
	{
		file: "control-gzip-corrupt.deb",
		how:  "a valid gzip package whose control.tar.gz has its CRC-32 trailer inverted",
		want: "control.tar.gz: after the end of the tar archive: gzip: invalid checksum",
		dpkg: "rejects: --info: internal gzip read error: incorrect data check",
		gen: func(t testing.TB) []byte {
			m := deb{format: compress.Gzip}.members(t)
			gz := m[1].data
			for i := len(gz) - 8; i < len(gz)-4; i++ {
				gz[i] ^= 0xff
			}
			return arArchive(t, m...)
		},
	},
	{
		file: "control-xz-bomb.deb",
		how:  "a valid xz package whose control.tar is followed by 32 MiB of zeros (tar padding) before compression with github.com/ulikunitz/xz, 5 KiB in all",
		want: "control.tar.xz: after the end of the tar archive: compress: data exceeds size limit (limit 16777216 bytes)",
		dpkg: "accepts: tar ignores the padding",
		gen: func(t testing.TB) []byte {
			control := append(controlTar(t, goodControl), make([]byte, 32<<20)...)
			m := deb{format: compress.Xz}.members(t)
			m[1].data = xzHashTable(t, control)
			return arArchive(t, m...)
		},
	},
	{
		file: "data-zstd-bomb.deb",
		how:  "data.tar.zst made by hand: one zstd frame with the tar headers in a raw block, then RLE blocks (4 bytes per 128 KiB) for a 256 MiB file of zeros: 14 KiB in all",
		want: "data.tar.zst: ./usr/share/hello/zeros: compress: data exceeds size limit",
		dpkg: "accepts: it is a well-formed package of 256 MiB",
		gen: func(t testing.TB) []byte {
			m := deb{format: compress.Zstd}.members(t)
			m[2] = arMember{"data.tar.zst", zstdBombTar(t, 256<<20)}
			return arArchive(t, m...)
		},
	},
	{
		file: "data-device-node.deb",
		how:  "a valid xz package whose data.tar also holds ./dev/sda, a block device 8:0",
		want: "data.tar.xz: ./dev/sda: block device: Debian policy forbids device nodes and FIFOs",
		dpkg: "accepts: --contents lists the device",
		gen: func(t testing.TB) []byte {
			data := dataTar(t, dir("./dev/"), tarEntry{name: "./dev/sda", typ: tar.TypeBlock, mode: 0o666})
			return deb{format: compress.Xz, data: data}.bytes(t)
		},
	},
	{
		file: "data-fifo.deb",
		how:  "a valid xz package whose data.tar also holds ./run/hello.fifo, a FIFO",
		want: "data.tar.xz: ./run/hello.fifo: FIFO: Debian policy forbids device nodes and FIFOs",
		dpkg: "accepts: --contents lists the FIFO",
		gen: func(t testing.TB) []byte {
			data := dataTar(t, dir("./run/"), tarEntry{name: "./run/hello.fifo", typ: tar.TypeFifo})
			return deb{format: compress.Xz, data: data}.bytes(t)
		},
	},
	{
		file: "data-dotdot.deb",
		how:  "a valid xz package whose data.tar also holds ./usr/../../etc/cron.d/hello",
		want: `data.tar.xz: name "./usr/../../etc/cron.d/hello" has a ".." component`,
		dpkg: "accepts: --contents lists the name as it is",
		gen: func(t testing.TB) []byte {
			data := dataTar(t, tarEntry{name: "./usr/../../etc/cron.d/hello", body: "* * * * * root /tmp/x\n"})
			return deb{format: compress.Xz, data: data}.bytes(t)
		},
	},
	{
		file: "data-tar-truncated.deb",
		how:  "a valid xz package whose data.tar (before compression) stops 10 bytes into the last file's data",
		want: "data.tar.xz: ./usr/share/doc/hello/copyright: unexpected EOF",
		dpkg: "rejects: --contents: tar: Unexpected EOF in archive",
		gen: func(t testing.TB) []byte {
			data := dataTar(t)
			data = data[:len(data)-1024-512+10] // the end blocks and the last data block
			return deb{format: compress.Xz, data: data}.bytes(t)
		},
	},
}

// dataTarBzip2Hex is "bzip2 -9" (1.0.8) of dataTar(t); TestCorpus checks
// that it still decompresses to that.
const dataTarBzip2Hex = "425a68393141592653590374dde20000b1ff93ca9000406801ff902c3665117fe5dea004000400004000083001395104910d4694f481a06468f500f5068d0f5320c0003400064d000006802a8a2653d4f29ea0f501a019001ea01ea3d4f98173da4bf044d6338b6626c088c30dfb1c344d829a651406c8db2994d02c0dd1214085fd7f58d41581f6039a585a5f2ae8dbb997f329fc6cfdbf06308a2a40d4084b80ce2238c48235f9e38e3a71f4d23c048356a1aeff19854033b34f87b40c674c1da6e43db9e008841701514a2c4a6d600f16a5589c3dd48baa52603d61287031d13eacdae5e7273dd815807884edf5582ca520ec0c75df50effaa908b7798a5f91b2f2ab306465b514d2be5946c05df756015cb21bd11266d6388556faf0433888d0172d14e888fe17579ad0ff1772453850900374dde2"

func dataTarBzip2(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString(dataTarBzip2Hex)
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(bzip2.NewReader(bytes.NewReader(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, dataTar(t)) {
		t.Fatal("dataTarBzip2Hex is not the bzip2 of dataTar: regenerate it")
	}
	return b
}

// xzHashTable compresses with github.com/ulikunitz/xz and its hash table
// match finder. debflow's xz writer uses the binary tree match finder,
// which takes minutes for megabytes of zeros.
func xzHashTable(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.WriterConfig{DictCap: 8 << 20, Matcher: lzma.HashTable4}.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zstdBombTar returns data.tar.zst for a well-formed tar that holds the
// valid data entries and ./usr/share/hello/zeros, a file of size-1024 zero
// bytes, written by hand as one zstd frame: the tar headers in a raw block,
// then the zeros (the file and the two end-of-archive blocks) in RLE blocks
// of 128 KiB, 4 bytes each. No compressor makes it as small.
func zstdBombTar(t testing.TB, size int64) []byte {
	t.Helper()
	var headers bytes.Buffer
	tw := tar.NewWriter(&headers)
	for _, e := range append(dataEntries(), dir("./usr/share/hello/")) {
		if err := tw.WriteHeader(tarHeader(e)); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	zeros := tarHeader(tarEntry{name: "./usr/share/hello/zeros"})
	zeros.Size = size - 1024
	if err := tw.WriteHeader(zeros); err != nil {
		t.Fatal(err)
	}
	// The header is written; the file's data and the end of the archive
	// are all zeros, which the RLE blocks provide.

	const maxBlock = 128 << 10
	// Magic, then a frame header descriptor without checksum, content size
	// or dictionary, and a window descriptor of 2^(10+7) = 128 KiB.
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 7 << 3}
	block := func(typ, n int, last bool) { // a 3-byte little-endian block header
		h := n<<3 | typ<<1
		if last {
			h |= 1
		}
		frame = append(frame, byte(h), byte(h>>8), byte(h>>16))
	}
	if headers.Len() > maxBlock {
		t.Fatal("tar headers do not fit one zstd block")
	}
	block(0, headers.Len(), false) // raw
	frame = append(frame, headers.Bytes()...)
	for left := size; left > 0; left -= maxBlock {
		n := min(left, maxBlock)
		block(1, int(n), left == n) // RLE: the byte to repeat follows
		frame = append(frame, 0)
	}
	return frame
}

func TestCorpus(t *testing.T) {
	if *update {
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, c := range corpus {
			if err := os.WriteFile(filepath.Join(corpusDir, c.file), c.gen(t), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(corpusDir, "README.md"), corpusReadme(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range corpus {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(corpusDir, c.file))
			if err != nil {
				t.Fatalf("%v (go test ./internal/debfile -run TestCorpus -update writes the corpus)", err)
			}
			if len(data) > 16<<10 {
				t.Errorf("%d bytes; the corpus should stay small", len(data))
			}
			_, err = Inspect(bytes.NewReader(data), DefaultLimits())
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Inspect = %v, want an error wrapping ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("Inspect error\n\t%v\nwant it to contain\n\t%s", err, c.want)
			}
		})
	}

	readme, err := os.ReadFile(filepath.Join(corpusDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readme, corpusReadme()) {
		t.Error("testdata/malformed/README.md is not what the corpus table says: run with -update")
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "README.md" && !slices.ContainsFunc(corpus, func(c corpusCase) bool { return c.file == e.Name() }) {
			t.Errorf("%s is in testdata/malformed but not in the corpus table", e.Name())
		}
	}
}

func corpusReadme() []byte {
	var b bytes.Buffer
	b.WriteString(`# Malformed .deb files

Packages that github.com/debflow/debflow/internal/debfile must refuse, one line each: how the file was made,
the fragment of the error that Inspect must return, and what dpkg-deb 1.21.22 does with it (running
` + "`--info`, `--show` and `--contents`" + `; TestCorpusDpkg checks the verdict against the installed dpkg-deb).
"Accepts" does not mean the file is fine: it means a publisher that trusted dpkg-deb alone would let it through.

Do not edit: the files and this README are written from the table in internal/debfile/corpus_test.go by
` + "`go test ./internal/debfile -run TestCorpus -update`" + `. Valid packages are in internal/debfile/testdata/valid.

`)
	for _, c := range corpus {
		fmt.Fprintf(&b, "- `%s`: %s. Inspect: `%s`. dpkg-deb %s.\n", c.file, c.how, c.want, c.dpkg)
	}
	return b.Bytes()
}

// dpkgDeb returns the path of dpkg-deb, or skips the test.
func dpkgDeb(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Skip("dpkg-deb is not installed")
	}
	return p
}

// dpkgVerdict runs dpkg-deb --info (the archive and control.tar), --show
// (which parses ./control as dpkg does when it installs) and --contents
// (data.tar, through tar) on file, and returns the first error message, or
// "" when all three succeed.
func dpkgVerdict(t *testing.T, dpkgDebPath, file string) string {
	t.Helper()
	for _, op := range []string{"--info", "--show", "--contents"} {
		cmd := exec.Command(dpkgDebPath, op, file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			msg := strings.Join(strings.Fields(stderr.String()), " ")
			return fmt.Sprintf("%s: %s (%v)", op, msg, err)
		}
	}
	return ""
}

// TestCorpusDpkg checks the dpkg-deb verdicts recorded in the corpus table.
func TestCorpusDpkg(t *testing.T) {
	dpkgDebPath := dpkgDeb(t)
	for _, c := range corpus {
		t.Run(c.file, func(t *testing.T) {
			msg := dpkgVerdict(t, dpkgDebPath, filepath.Join(corpusDir, c.file))
			switch {
			case msg == "" && !strings.HasPrefix(c.dpkg, "accepts"):
				t.Errorf("dpkg-deb accepts it; the table says %q", c.dpkg)
			case msg != "" && !strings.HasPrefix(c.dpkg, "rejects"):
				t.Errorf("dpkg-deb rejects it (%s); the table says %q", msg, c.dpkg)
			case msg != "":
				t.Logf("dpkg-deb: %s", msg)
			}
		})
	}
}
