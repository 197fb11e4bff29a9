package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debfile"
	"github.com/debflow/debflow/signing"
)

const exampleSpec = "../testdata/example/nfpm.yaml"

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/run installs it)", tool)
		}
	}
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

var (
	keyOnce sync.Once
	testKey *signing.Key
)

func key(t *testing.T) *signing.Key {
	keyOnce.Do(func() {
		k, err := signing.Generate("Build Test <build@example.com>", signing.Ed25519, time.Now().Add(-time.Hour))
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	return testKey
}

// inspect is the check that publish applies, as the command passes it.
func inspect(r io.Reader) error {
	_, err := debfile.Inspect(r, debfile.Limits{})
	return err
}

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func buildExample(t *testing.T, out string, opts Options) Result {
	t.Helper()
	spec, err := LoadSpec(exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	opts.OutDir = out
	opts.Check = inspect
	if opts.Version == "" {
		opts.Version = "1.0.0"
	}
	if opts.Getenv == nil {
		opts.Getenv = env("SOURCE_DATE_EPOCH", "1700000000")
	}
	res, err := Build(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestExampleWithDpkgDeb(t *testing.T) {
	need(t, "dpkg-deb")
	for _, comp := range []compress.Format{compress.Xz, compress.Zstd, compress.Gzip, compress.None} {
		t.Run(string(comp), func(t *testing.T) {
			res := buildExample(t, t.TempDir(), Options{Compression: comp})
			if filepath.Base(res.Path) != "hello-fleet_1.0.0_amd64.deb" {
				t.Errorf("file name %s", res.Path)
			}
			info := run(t, "dpkg-deb", "--info", res.Path)
			for _, want := range []string{
				"Package: hello-fleet", "Version: 1.0.0", "Architecture: amd64",
				"Depends: bash (>= 4)", "Recommends: ca-certificates", "Section: utils",
				"Installed-Size: ", "Description: Example service for the debflow demo",
				" hello-fleet prints a greeting.",
			} {
				if !strings.Contains(info, want) {
					t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
				}
			}
			if got, want := strings.Join(memberNames(t, res.Path), " "), "debian-binary control.tar"+comp.Ext()+" data.tar"+comp.Ext(); got != want {
				t.Errorf("members %q, want %q", got, want)
			}
			contents := run(t, "dpkg-deb", "--contents", res.Path)
			for _, want := range []string{
				"drwxr-xr-x root/root         0 2023-11-14 22:13 ./\n",
				"-rwxr-xr-x root/root",
				"./usr/bin/hello-fleet\n",
				"lrwxrwxrwx root/root         0 2023-11-14 22:13 ./usr/bin/hello -> /usr/bin/hello-fleet\n",
				"drwxr-x--- root/root         0 2023-11-14 22:13 ./var/lib/hello-fleet/\n",
				"-rw-r--r-- root/root        24 2023-11-14 22:13 ./etc/hello-fleet/hello-fleet.conf\n",
				"drwxr-xr-x root/root         0 2023-11-14 22:13 ./usr/share/doc/\n",
			} {
				if !strings.Contains(contents, want) {
					t.Errorf("dpkg-deb --contents lacks %q:\n%s", want, contents)
				}
			}
			ctrl := t.TempDir()
			run(t, "dpkg-deb", "-e", res.Path, ctrl)
			md5s, _ := os.ReadFile(filepath.Join(ctrl, "md5sums"))
			for _, want := range []string{"  usr/bin/hello-fleet\n", "  etc/hello-fleet/hello-fleet.conf\n", "  usr/share/doc/hello-fleet/README\n"} {
				if !bytes.Contains(md5s, []byte(want)) {
					t.Errorf("md5sums lacks %q:\n%s", want, md5s)
				}
			}
			if conf, _ := os.ReadFile(filepath.Join(ctrl, "conffiles")); string(conf) != "/etc/hello-fleet/hello-fleet.conf\n" {
				t.Errorf("conffiles = %q", conf)
			}
			for _, script := range []string{"postinst", "prerm"} {
				fi, err := os.Stat(filepath.Join(ctrl, script))
				if err != nil || fi.Mode().Perm() != 0o755 {
					t.Errorf("%s: %v, mode %v", script, err, fi.Mode())
				}
			}
			// md5sums must be right, not just present: dpkg-deb -x then md5sum -c.
			root := t.TempDir()
			run(t, "dpkg-deb", "-x", res.Path, root)
			cmd := exec.Command("md5sum", "--quiet", "-c", filepath.Join(ctrl, "md5sums"))
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("md5sum -c: %v\n%s", err, out)
			}
		})
	}
}

func TestMemberOrder(t *testing.T) {
	res := buildExample(t, t.TempDir(), Options{Signer: key(t)})
	names := memberNames(t, res.Path)
	if want := "debian-binary control.tar.xz data.tar.xz _gpgorigin"; strings.Join(names, " ") != want {
		t.Errorf("members %v, want %s", names, want)
	}
}

func memberNames(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := ar.NewReader(f)
	var names []string
	for {
		h, err := r.Next()
		if err == io.EOF {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
}

func TestInstallWithDpkg(t *testing.T) {
	need(t, "dpkg")
	res := buildExample(t, t.TempDir(), Options{})
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "var/log"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	dpkg := func(args ...string) string {
		return run(t, "dpkg", append([]string{"--root=" + root, "--log=/dev/null", "--force-script-chrootless", "--force-depends", "--force-not-root"}, args...)...)
	}
	dpkg("-i", res.Path)
	marker, err := os.ReadFile(filepath.Join(root, "var/lib/hello-fleet/postinst-ran"))
	if err != nil || !strings.HasPrefix(string(marker), "configured") {
		t.Errorf("postinst did not run: %q %v", marker, err)
	}
	if fi, err := os.Stat(filepath.Join(root, "usr/bin/hello-fleet")); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("installed binary: %v", err)
	}
	if target, err := os.Readlink(filepath.Join(root, "usr/bin/hello")); err != nil || target != "/usr/bin/hello-fleet" {
		t.Errorf("symlink: %q %v", target, err)
	}
	status := dpkg("-s", "hello-fleet")
	for _, want := range []string{"Status: install ok installed", "Conffiles:\n /etc/hello-fleet/hello-fleet.conf ", "Version: 1.0.0"} {
		if !strings.Contains(status, want) {
			t.Errorf("dpkg -s lacks %q:\n%s", want, status)
		}
	}
	dpkg("-r", "hello-fleet")
	if _, err := os.Stat(filepath.Join(root, "var/lib/hello-fleet/postinst-ran")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("prerm did not run: %v", err)
	}
}

// TestReproducible builds the example in a copy of its tree twice, then
// touches every source, changes modes that git does not keep and the umask,
// and builds again: the three packages must be identical.
func TestReproducible(t *testing.T) {
	src := copyTree(t, filepath.Dir(exampleSpec))
	spec, err := LoadSpec(filepath.Join(src, "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	build := func() []byte {
		res, err := Build(context.Background(), spec, Options{OutDir: t.TempDir(), Version: "1.0.0", Getenv: env("SOURCE_DATE_EPOCH", "1700000000")})
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(res.Path)
		return data
	}
	first, second := build(), build()
	if !bytes.Equal(first, second) {
		t.Fatal("two builds of the same tree differ")
	}
	// Source modes are kept (less the umask), as nfpm keeps them, so
	// that a 0600 secret stays 0600; times and the builder's umask do
	// not matter.
	future := time.Now().Add(48 * time.Hour)
	filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chtimes(p, future, future)
		}
		return nil
	})
	old := syscall.Umask(0o077)
	third := build()
	syscall.Umask(old)
	if !bytes.Equal(first, third) {
		t.Fatal("touching sources or the umask changed the package")
	}
}

func copyTree(t *testing.T, from string) string {
	t.Helper()
	to := t.TempDir()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return to
}

// TestSignature checks the debsigs origin signature with gpgv over the
// three members, and with debsig-verify under a policy written here.
func TestSignature(t *testing.T) {
	need(t, "gpgv", "debsig-verify")
	k := key(t)
	res := buildExample(t, t.TempDir(), Options{Signer: k})
	dir := t.TempDir()
	keyring := filepath.Join(dir, "keyring.gpg")
	var pub bytes.Buffer
	if err := k.WritePublic(&pub, false); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(keyring, pub.Bytes(), 0o644)

	members := map[string][]byte{}
	f, _ := os.Open(res.Path)
	r := ar.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		members[h.Name], _ = io.ReadAll(r)
	}
	f.Close()
	signed := append(append(append([]byte{}, members["debian-binary"]...), members["control.tar.xz"]...), members["data.tar.xz"]...)
	os.WriteFile(filepath.Join(dir, "signed"), signed, 0o644)
	os.WriteFile(filepath.Join(dir, "sig"), members["_gpgorigin"], 0o644)
	run(t, "gpgv", "--keyring", keyring, filepath.Join(dir, "sig"), filepath.Join(dir, "signed"))

	// debsig-verify looks policies and keyrings up by the long key id.
	fpr := k.Fingerprint()
	keyID := fpr[len(fpr)-16:]
	policies, keyrings := filepath.Join(dir, "policies", keyID), filepath.Join(dir, "keyrings", keyID)
	os.MkdirAll(policies, 0o755)
	os.MkdirAll(keyrings, 0o755)
	os.WriteFile(filepath.Join(keyrings, "debsig.gpg"), pub.Bytes(), 0o644)
	policy := `<?xml version="1.0"?>
<!DOCTYPE Policy SYSTEM "https://www.debian.org/debsig/1.0/policy.dtd">
<Policy xmlns="https://www.debian.org/debsig/1.0/">
  <Origin Name="debflow-test" id="` + keyID + `" Description="debflow test"/>
  <Selection><Required Type="origin" File="debsig.gpg" id="` + keyID + `"/></Selection>
  <Verification MinOptional="0"><Required Type="origin" File="debsig.gpg" id="` + keyID + `"/></Verification>
</Policy>
`
	os.WriteFile(filepath.Join(policies, "debflow.pol"), []byte(policy), 0o644)
	out := run(t, "debsig-verify", "--policies-dir", filepath.Join(dir, "policies"), "--keyrings-dir", filepath.Join(dir, "keyrings"), res.Path)
	if !strings.Contains(out, "Verified package") {
		t.Errorf("debsig-verify: %s", out)
	}
	// A package signed by another key must fail that policy.
	other, err := signing.Generate("Other <other@example.com>", signing.Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	bad := buildExample(t, t.TempDir(), Options{Signer: other})
	if out, err := exec.Command("debsig-verify", "--policies-dir", filepath.Join(dir, "policies"), "--keyrings-dir", filepath.Join(dir, "keyrings"), bad.Path).CombinedOutput(); err == nil {
		t.Errorf("debsig-verify accepted a package signed by another key:\n%s", out)
	}
}

func TestVersionFromGit(t *testing.T) {
	need(t, "git", "dpkg-deb")
	src := copyTree(t, filepath.Dir(exampleSpec))
	git := gitIn(t, src)
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "first")
	git("tag", "v1.2.0")
	git("commit", "-q", "--allow-empty", "-m", "second")
	spec, err := LoadSpec(filepath.Join(src, "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	info, err := DescribeGit(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), spec, Options{OutDir: t.TempDir(), Getenv: env(), CommitField: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "1.2.0+git1." + info.Short
	if res.Version != want {
		t.Errorf("version %s, want %s", res.Version, want)
	}
	out := run(t, "dpkg-deb", "--info", res.Path)
	if !strings.Contains(out, "Version: "+want+"\n") || !strings.Contains(out, CommitField+": "+info.Commit+"\n") {
		t.Errorf("control lacks the git version or commit:\n%s", out)
	}
	// Without SOURCE_DATE_EPOCH, the commit time is every mtime.
	if !strings.Contains(run(t, "dpkg-deb", "--contents", res.Path), " 2023-11-14 22:13 ./usr/bin/hello-fleet") {
		t.Error("mtime is not the commit time")
	}
}

// TestBadInput checks that every kind of bad input names its field or path
// and leaves nothing in the output directory.
func TestBadInput(t *testing.T) {
	base := `name: hello
version: 1.0.0
description: test
maintainer: T <t@example.com>
contents:
  - src: files/hello-fleet
    dst: /usr/bin/hello
`
	cases := []struct {
		name, spec, wantErr string
		opts                Options
		wantIs              error
	}{
		{name: "missing name", spec: strings.Replace(base, "name: hello\n", "", 1), wantErr: "name: missing", wantIs: ErrSpec},
		{name: "bad name", spec: strings.Replace(base, "name: hello", "name: Hello_World", 1), wantErr: `name: invalid package name "Hello_World"`, wantIs: ErrSpec},
		{name: "bad version", spec: strings.Replace(base, "1.0.0", "one", 1), wantErr: `version: invalid version "one"`, wantIs: ErrSpec},
		{name: "bad --version", spec: base, opts: Options{Version: "1.0_1"}, wantErr: `--version: invalid version "1.0_1"`, wantIs: ErrSpec},
		{name: "missing source", spec: strings.Replace(base, "files/hello-fleet", "files/nope", 1), wantErr: "contents[0].src:", wantIs: ErrSpec},
		{name: "duplicate dst", spec: base + "  - src: files/README\n    dst: /usr/bin/hello\n", wantErr: "contents[1].dst: /usr/bin/hello is already in the package", wantIs: ErrSpec},
		{name: "file under a file", spec: base + "  - src: files/README\n    dst: /usr/bin/hello/\n", wantErr: "contents[1].dst: /usr/bin/hello/README needs /usr/bin/hello to be a directory", wantIs: ErrSpec},
		{name: "bad version_schema", spec: base + "version_schema: calver\n", wantErr: "version_schema", wantIs: ErrSpec},
		{name: "unknown override", spec: base + "overrides:\n  debian:\n    depends: [x]\n", wantErr: "overrides.debian: unknown packager", wantIs: ErrSpec},
		{name: "missing changelog", spec: base + "changelog: nope.yaml\n", wantErr: "changelog: ", wantIs: ErrSpec},
		{name: "bad mode", spec: base + "    file_info:\n      mode: 99999\n", wantErr: "contents[0].file_info.mode", wantIs: ErrSpec},
		{name: "mode not a number", spec: base + "    file_info:\n      mode: rwx\n", wantErr: "cannot unmarshal", wantIs: ErrSpec},
		{name: "unknown field", spec: base + "dependz: [x]\n", wantErr: "field dependz not found", wantIs: ErrSpec},
		{name: "unknown type", spec: base + "    type: fifo\n", wantErr: `contents[0].type: unknown type "fifo"`, wantIs: ErrSpec},
		{name: "bad depends", spec: base + "depends: [\"Bash >= 4\"]\n", wantErr: "depends: ", wantIs: ErrSpec},
		{name: "bad arch", spec: base, opts: Options{Arch: "x86 64"}, wantErr: `--arch: invalid architecture "x86 64"`, wantIs: ErrSpec},
		{name: "unknown compression", spec: base, opts: Options{Compression: "lz4"}, wantErr: "compression", wantIs: compress.ErrUnknownFormat},
		{name: "bad compression level", spec: base, opts: Options{Compression: compress.Gzip, Level: 10}, wantErr: `compression: compress: bad compression level "10" for gzip (valid: 1-9)`, wantIs: compress.ErrBadLevel},
		{name: "xz level in the spec", spec: base + "deb:\n  compression: xz:6\n", wantErr: `deb.compression: compress: bad compression level: xz has no compression levels ("6")`, wantIs: ErrSpec},
		{name: "zstd level typo in the spec", spec: base + "deb:\n  compression: zstd:fatest\n", wantErr: `deb.compression: compress: bad compression level "fatest" for zstd (valid: 1-22, fastest, default, better or best)`, wantIs: ErrSpec},
		{name: "zstd level in an override", spec: base + "overrides:\n  deb:\n    deb:\n      compression: zstd:30\n", wantErr: `overrides.deb.deb.compression: compress: bad compression level "30"`, wantIs: ErrSpec},
		{name: "missing script", spec: base + "scripts:\n  postinstall: nope.sh\n", wantErr: "scripts.postinstall", wantIs: ErrSpec},
		// Nothing may block the build: a FIFO would wait for a writer forever.
		{name: "FIFO script", spec: base + "scripts:\n  preinstall: fifo\n", wantErr: "scripts.preinstall: " + "DIR/fifo: not a regular file (a FIFO)", wantIs: ErrSpec},
		{name: "FIFO source", spec: strings.Replace(base, "files/hello-fleet", "fifo", 1), wantErr: "contents[0].src: DIR/fifo: not a regular file", wantIs: ErrSpec},
		// What publish would refuse is refused here, before anything is written.
		{name: "newline in dst", spec: strings.Replace(base, "dst: /usr/bin/hello", `dst: "/usr/bin/he\nllo"`, 1), wantErr: `contents[0].dst: "/usr/bin/he\nllo" contains control character 0xa`, wantIs: ErrSpec},
		{name: "tab in dst", spec: strings.Replace(base, "dst: /usr/bin/hello", `dst: "/usr/bin/he\tllo"`, 1), wantErr: "contents[0].dst:", wantIs: ErrSpec},
		{name: "newline in symlink target", spec: base + "  - src: \"/usr/bin/x\\ny\"\n    dst: /usr/bin/link\n    type: symlink\n", wantErr: "contents[1].src:", wantIs: ErrSpec},
		{name: "newline in owner", spec: base + "    file_info:\n      owner: \"root\\nx\"\n", wantErr: "contents[0].file_info.owner", wantIs: ErrSpec},
		{name: "newline in maintainer", spec: strings.Replace(base, "maintainer: T <t@example.com>", `maintainer: "T <t@example.com>\nFilename: x"`, 1), wantErr: "maintainer:", wantIs: ErrSpec},
		{name: "newline in --arch-expanded dst", spec: strings.Replace(base, "dst: /usr/bin/hello", "dst: /usr/bin/${EVIL}", 1), opts: Options{Getenv: env("EVIL", "a\nb")}, wantErr: "contents[0].dst: after expansion", wantIs: ErrSpec},
		{name: "Filename field", spec: base + "deb:\n  fields:\n    Filename: pool/x.deb\n", wantErr: "deb.fields.Filename: may only be set by the repository", wantIs: ErrSpec},
		{name: "SHA256 field", spec: base + "deb:\n  fields:\n    sha256: abc\n", wantErr: "deb.fields.sha256: may only be set by the repository", wantIs: ErrSpec},
		{name: "Description-md5 field", spec: base + "deb:\n  fields:\n    Description-md5: abc\n", wantErr: "deb.fields.Description-md5", wantIs: ErrSpec},
		{name: "Size field", spec: base + "deb:\n  fields:\n    Size: 1\n", wantErr: "deb.fields.Size", wantIs: ErrSpec},
		{name: "Installed-Size field", spec: base + "deb:\n  fields:\n    Installed-Size: 1\n", wantErr: "deb.fields.Installed-Size", wantIs: ErrSpec},
		{name: "control character in a field", spec: base + "deb:\n  fields:\n    X-Note: \"a\\x1bb\"\n", wantErr: "deb.fields.X-Note", wantIs: ErrSpec},
		// The last guard: a field debflow does not parse, but publish does.
		{name: "bad Enhances", spec: base + "deb:\n  fields:\n    Enhances: \"Not A Package!\"\n", wantErr: "fails the check that publish applies", wantIs: debfile.ErrInvalid},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTree(t, filepath.Dir(exampleSpec))
			if err := syscall.Mkfifo(filepath.Join(dir, "fifo"), 0o600); err != nil {
				t.Fatal(err)
			}
			c.wantErr = strings.ReplaceAll(c.wantErr, "DIR", dir)
			file := filepath.Join(dir, "bad.yaml")
			os.WriteFile(file, []byte(c.spec), 0o644)
			out := filepath.Join(t.TempDir(), "out")
			err := func() error {
				spec, err := LoadSpec(file)
				if err != nil {
					return err
				}
				c.opts.OutDir = out
				c.opts.Check = inspect
				if c.opts.Getenv == nil {
					c.opts.Getenv = env()
				}
				_, err = Build(context.Background(), spec, c.opts)
				return err
			}()
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not contain %q", err, c.wantErr)
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("error %v is not %v", err, c.wantIs)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("left %d file(s) in --out: %v", len(entries), entries[0].Name())
			}
		})
	}
}

// TestWriteFailureLeavesNothing makes the write fail half-way (a source
// file that vanishes after planning) and checks that no partial file
// remains.
func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := copyTree(t, filepath.Dir(exampleSpec))
	spec, err := LoadSpec(filepath.Join(dir, "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	os.Remove(filepath.Join(dir, "files/README"))
	if _, err := Build(context.Background(), spec, Options{OutDir: out, Version: "1.0.0", Getenv: env()}); err == nil || !strings.Contains(err.Error(), "README") {
		t.Fatalf("error %v does not name the missing file", err)
	}
	if entries, _ := os.ReadDir(out); len(entries) > 0 {
		t.Errorf("left %s in --out", entries[0].Name())
	}
}

func TestArchExpansion(t *testing.T) {
	dir := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		os.MkdirAll(filepath.Join(dir, "dist", arch), 0o755)
		os.WriteFile(filepath.Join(dir, "dist", arch, "tool"), []byte("binary for "+arch), 0o755)
	}
	// nfpm reads 2.0 as the semantic version 2.0.0, and so does debflow.
	spec := "name: tool\nversion: 2.0\ndescription: t\narch: amd64\ncontents:\n  - src: dist/${ARCH}/tool\n    dst: /usr/bin/tool\n"
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(spec), 0o644)
	s, err := LoadSpec(filepath.Join(dir, "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), s, Options{OutDir: dir, Arch: "arm64", Getenv: env()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Architecture != "arm64" || filepath.Base(res.Path) != "tool_2.0.0_arm64.deb" {
		t.Errorf("got %+v", res)
	}
	need(t, "dpkg-deb")
	root := t.TempDir()
	run(t, "dpkg-deb", "-x", res.Path, root)
	if b, _ := os.ReadFile(filepath.Join(root, "usr/bin/tool")); string(b) != "binary for arm64" {
		t.Errorf("payload %q", b)
	}
}

func FuzzParseSpec(f *testing.F) {
	seed, _ := os.ReadFile(exampleSpec)
	f.Add(seed)
	f.Add([]byte("name: a\ncontents: [{src: x, dst: /x, type: config}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec(data)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("error does not wrap ErrSpec: %v", err)
			}
			return
		}
		if s.Name == "" {
			t.Fatal("accepted a spec without name")
		}
	})
}

// gitIn returns a function that runs git in dir with a fixed identity and
// commit time (1700000000), isolated from the machine's configuration, and
// fails the test when git fails.
func gitIn(t *testing.T, dir string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@e",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@e", "GIT_AUTHOR_DATE=1700000000 +0000", "GIT_COMMITTER_DATE=1700000000 +0000")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
}

// TestCompressionLevels builds one tree at several levels: a level in the
// spec and the same level from the options give the same package, levels
// sharing a zstd encoder speed give the same package, other levels other
// data members, and dpkg-deb reads them all.
func TestCompressionLevels(t *testing.T) {
	dir := t.TempDir()
	var text bytes.Buffer
	for i := 0; text.Len() < 2<<20; i++ {
		fmt.Fprintf(&text, "line %d: the quick brown fox %d jumps over the lazy dog %x\n", i, i*7%13, i*i)
	}
	if err := os.WriteFile(filepath.Join(dir, "big.txt"), text.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	specText := func(compression string) string {
		s := "name: lvl\nversion: 1.0.0\nmaintainer: T <t@example.com>\ndescription: d\ncontents:\n  - src: big.txt\n    dst: /usr/share/lvl/big.txt\n"
		if compression != "" {
			s += "deb:\n  compression: " + compression + "\n"
		}
		return s
	}
	build := func(compression string, opts Options) []byte {
		t.Helper()
		file := filepath.Join(dir, "nfpm.yaml")
		if err := os.WriteFile(file, []byte(specText(compression)), 0o644); err != nil {
			t.Fatal(err)
		}
		spec, err := LoadSpec(file)
		if err != nil {
			t.Fatal(err)
		}
		opts.OutDir, opts.Check = t.TempDir(), inspect
		opts.Getenv = env("SOURCE_DATE_EPOCH", "1700000000")
		res, err := Build(context.Background(), spec, opts)
		if err != nil {
			t.Fatalf("%s %+v: %v", compression, opts, err)
		}
		if _, err := exec.LookPath("dpkg-deb"); err == nil {
			if out := run(t, "dpkg-deb", "--contents", res.Path); !strings.Contains(out, "./usr/share/lvl/big.txt") {
				t.Errorf("dpkg-deb --contents of the %s package:\n%s", compression, out)
			}
		}
		data, err := os.ReadFile(res.Path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	fastest := build("zstd:fastest", Options{})
	if !bytes.Equal(build("zstd:2", Options{}), fastest) {
		t.Error("zstd:2 and zstd:fastest differ")
	}
	if !bytes.Equal(build("", Options{Compression: compress.Zstd, Level: 1}), fastest) {
		t.Error("--compression zstd:1 and deb.compression zstd:fastest differ")
	}
	def := build("zstd", Options{})
	if !bytes.Equal(build("zstd:3", Options{}), def) {
		t.Error("zstd:3 and zstd differ")
	}
	if bytes.Equal(def, fastest) {
		t.Error("zstd:fastest gave the default's bytes")
	}
	gz1, gz9 := build("gzip:1", Options{}), build("gzip:9", Options{})
	if len(gz9) >= len(gz1) {
		t.Errorf("gzip:9 gave %d bytes, gzip:1 %d", len(gz9), len(gz1))
	}
	// The options win over the spec, level included.
	if !bytes.Equal(build("gzip:1", Options{Compression: compress.Gzip, Level: 9}), gz9) {
		t.Error("--compression gzip:9 over deb.compression gzip:1 is not gzip:9")
	}
	if !bytes.Equal(build("gzip:1", Options{Compression: compress.Gzip}), build("gzip", Options{})) {
		t.Error("--compression gzip over deb.compression gzip:1 is not the default level")
	}
}
