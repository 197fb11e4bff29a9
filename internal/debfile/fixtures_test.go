package debfile

import (
	"archive/tar"
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
)

// Fixtures are built by hand, member by member, so that tests can break
// any part of them. Everything is deterministic: fixed times, root
// ownership, and debflow's reproducible compressors.

var fixtureTime = time.Unix(1700000000, 0).UTC()

// goodControl is the control file of every valid fixture.
const goodControl = `Package: hello
Version: 1.2.3+git20261124.42.abcdef0
Architecture: amd64
Maintainer: Debflow CI <ci@example.com>
Installed-Size: 1
Depends: libc6 (>= 2.36)
Section: misc
Priority: optional
Description: greets the world
 A tiny package that debflow's inspector tests accept.
`

// helloScript and copyright are the files of every valid fixture.
const (
	helloScript = "#!/bin/sh\necho hello\n"
	copyright   = "Copyright: 2026 Debflow authors\nLicense: MIT\n"
)

type arMember struct {
	name string
	data []byte
}

// arArchive writes members with internal/ar, as a real package is written.
func arArchive(t testing.TB, members ...arMember) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := ar.NewWriter(&buf)
	for _, m := range members {
		if err := w.WriteHeader(&ar.Header{Name: m.name, ModTime: fixtureTime, Mode: 0o100644, Size: int64(len(m.data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(m.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawArMember formats a member by hand, with a declared size that need not
// match its data, which internal/ar refuses to write.
func rawArMember(name string, size int64, data []byte) []byte {
	hdr := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8o%-10d`\n", name, fixtureTime.Unix(), 0, 0, 0o100644, size)
	return append([]byte(hdr), data...)
}

type tarEntry struct {
	name string
	typ  byte // tar.TypeReg when zero
	mode int64
	body string
	link string
}

// tarArchive writes an uncompressed tar with GNU headers owned by root,
// as dpkg-deb writes them.
func tarArchive(t testing.TB, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		if err := tw.WriteHeader(tarHeader(e)); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func tarHeader(e tarEntry) *tar.Header {
	hdr := &tar.Header{
		Name: e.name, Typeflag: e.typ, Mode: e.mode, Size: int64(len(e.body)), Linkname: e.link,
		Uname: "root", Gname: "root", ModTime: fixtureTime, Format: tar.FormatGNU,
	}
	if hdr.Typeflag == 0 {
		hdr.Typeflag = tar.TypeReg
	}
	if hdr.Mode == 0 {
		hdr.Mode = 0o644
		if hdr.Typeflag == tar.TypeDir {
			hdr.Mode = 0o755
		}
	}
	if hdr.Typeflag == tar.TypeBlock || hdr.Typeflag == tar.TypeChar {
		hdr.Devmajor, hdr.Devminor = 8, 0 // /dev/sda
	}
	return hdr
}

func dir(name string) tarEntry { return tarEntry{name: name, typ: tar.TypeDir} }

// controlTar is a control.tar holding ./control and ./md5sums for dataTar's
// files, then extra entries.
func controlTar(t testing.TB, control string, extra ...tarEntry) []byte {
	t.Helper()
	entries := []tarEntry{
		dir("./"),
		{name: "./control", body: control},
		{name: "./md5sums", body: md5Line("usr/bin/hello", helloScript) + md5Line("usr/share/doc/hello/copyright", copyright)},
	}
	return tarArchive(t, append(entries, extra...)...)
}

func md5Line(name, body string) string {
	sum := md5.Sum([]byte(body))
	return hex.EncodeToString(sum[:]) + "  " + name + "\n"
}

// dataEntries are the entries of a valid data.tar.
func dataEntries(extra ...tarEntry) []tarEntry {
	entries := []tarEntry{
		dir("./"), dir("./usr/"), dir("./usr/bin/"),
		{name: "./usr/bin/hello", mode: 0o755, body: helloScript},
		dir("./usr/share/"), dir("./usr/share/doc/"), dir("./usr/share/doc/hello/"),
		{name: "./usr/share/doc/hello/copyright", body: copyright},
	}
	return append(entries, extra...)
}

func dataTar(t testing.TB, extra ...tarEntry) []byte {
	t.Helper()
	return tarArchive(t, dataEntries(extra...)...)
}

func compressed(t testing.TB, f compress.Format, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := compress.NewWriter(&buf, f)
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

// deb describes a package to write; zero fields take valid defaults.
type deb struct {
	format  compress.Format // None when empty
	version string          // debian-binary, "2.0\n" when empty
	control []byte          // uncompressed control.tar
	data    []byte          // uncompressed data.tar
	extra   []arMember      // after data.tar
}

func (d deb) members(t testing.TB) []arMember {
	t.Helper()
	if d.format == "" {
		d.format = compress.None
	}
	if d.version == "" {
		d.version = "2.0\n"
	}
	if d.control == nil {
		d.control = controlTar(t, goodControl)
	}
	if d.data == nil {
		d.data = dataTar(t)
	}
	ext := d.format.Ext()
	return append([]arMember{
		{"debian-binary", []byte(d.version)},
		{"control.tar" + ext, compressed(t, d.format, d.control)},
		{"data.tar" + ext, compressed(t, d.format, d.data)},
	}, d.extra...)
}

func (d deb) bytes(t testing.TB) []byte {
	t.Helper()
	return arArchive(t, d.members(t)...)
}

// withControl returns goodControl with the named field (and its
// continuation lines) replaced by line, or line added before Description
// when the field is absent; an empty line deletes the field.
func withControl(field, line string) string {
	var out []string
	found, skipping := false, false
	for _, l := range strings.SplitAfter(goodControl, "\n") {
		if skipping && strings.HasPrefix(l, " ") {
			continue
		}
		skipping = false
		switch {
		case strings.HasPrefix(l, field+":"):
			found, skipping = true, true
			out = append(out, line)
		case strings.HasPrefix(l, "Description:") && !found:
			out = append(out, line, l)
		default:
			out = append(out, l)
		}
	}
	return strings.Join(out, "")
}

// validFixtures are the committed valid packages under testdata/valid.
var validFixtures = []struct {
	file   string
	format compress.Format
}{
	{"hello_xz.deb", compress.Xz},
	{"hello_zst.deb", compress.Zstd},
	{"hello_gz.deb", compress.Gzip},
	{"hello_none.deb", compress.None},
}

func readOrUpdate(t *testing.T, file string, gen func() []byte) []byte {
	t.Helper()
	if *update {
		data := gen()
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return data
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/debfile -update to write the fixtures)", err)
	}
	return data
}
