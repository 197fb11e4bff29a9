// Package testkit makes what tests across debflow need: a signing key made
// once per test binary, and small valid .deb files built in memory.
package testkit

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/build"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/signing"
)

var (
	keyOnce sync.Once
	key     *signing.Key
	keyErr  error
)

// Key returns an Ed25519 test key, the same for the whole test binary.
func Key(t testing.TB) *signing.Key {
	t.Helper()
	keyOnce.Do(func() {
		key, keyErr = signing.Generate("debflow test <test@example.com>", signing.Ed25519, time.Now().Add(-24*time.Hour))
	})
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return key
}

// KeyFile writes the test key's secret, binary public keyring and armored
// public key into dir and returns their paths.
func KeyFile(t testing.TB, dir string) (secret, keyring, armored string) {
	t.Helper()
	k := Key(t)
	var s, b, a bytes.Buffer
	if err := k.WriteSecret(&s); err != nil {
		t.Fatal(err)
	}
	if err := k.WritePublic(&b, false); err != nil {
		t.Fatal(err)
	}
	if err := k.WritePublic(&a, true); err != nil {
		t.Fatal(err)
	}
	secret, keyring, armored = filepath.Join(dir, "key.asc"), filepath.Join(dir, "keyring.gpg"), filepath.Join(dir, "key.pub.asc")
	for name, data := range map[string][]byte{secret: s.Bytes(), keyring: b.Bytes(), armored: a.Bytes()} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return secret, keyring, armored
}

// Deb describes a small package for tests.
type Deb struct {
	Name, Version, Arch string
	Depends             string
	Payload             string // content of /usr/share/NAME/payload; default derives from the identity
}

// WriteDeb builds the package into dir and returns its path.
func WriteDeb(t testing.TB, dir string, d Deb) string {
	t.Helper()
	if d.Arch == "" {
		d.Arch = "amd64"
	}
	if d.Payload == "" {
		d.Payload = d.Name + " " + d.Version + " " + d.Arch + "\n"
	}
	src := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(src, []byte(d.Payload), 0o644); err != nil {
		t.Fatal(err)
	}
	control := debian.Paragraph{
		{Name: "Package", Value: d.Name},
		{Name: "Version", Value: d.Version},
		{Name: "Architecture", Value: d.Arch},
		{Name: "Maintainer", Value: "Test <test@example.com>"},
	}
	if d.Depends != "" {
		control = append(control, debian.Field{Name: "Depends", Value: d.Depends})
	}
	control = append(control, debian.Field{Name: "Description", Value: "test package " + d.Name})
	pkg := &build.Package{
		Control: control,
		Entries: []build.Entry{{Path: "/usr/share/" + d.Name + "/payload", Kind: build.KindFile, Mode: 0o644, Owner: "root", Group: "root", Source: src}},
	}
	file := filepath.Join(dir, d.Name+"_"+d.Version+"_"+d.Arch+".deb")
	var buf bytes.Buffer
	if err := build.WriteDeb(&buf, pkg, build.DebOptions{Compression: compress.Gzip, ModTime: time.Unix(1700000000, 0), TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// Need skips the test when a tool is missing.
func Need(t testing.TB, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/run installs it)", tool)
		}
	}
}

// TreeHash returns a digest of every file under dir (names and contents),
// to check that a refused command changed nothing.
func TreeHash(t testing.TB, dir string) string {
	t.Helper()
	var b bytes.Buffer
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".debflow/lock" {
			return nil // the lock file records its last holder
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		b.WriteString(rel + "\x00")
		b.Write(data)
		b.WriteString("\x00")
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return hashHex(b.Bytes())
}
