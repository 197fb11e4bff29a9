package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/signing"
)

// runWith runs debflow in-process with exactly the environment vars (a
// variable present with "" is set but empty) and returns its exit status,
// stdout and stderr.
func runWith(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	code := Execute("test", args, env{
		stdout: &stdout, stderr: &stderr, now: time.Now,
		getenv:    func(k string) string { return vars[k] },
		lookupEnv: lookup,
	})
	return code, stdout.String(), stderr.String()
}

// exampleSpec copies the example package's tree and returns its spec.
func exampleSpec(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := mustAbs("../../testdata/example")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if fi.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), data, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "nfpm.yaml")
}

func emptyDir(t *testing.T, dir string) {
	t.Helper()
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("%s is not empty: %s", dir, entries[0].Name())
	}
}

// TestEmptyDebflowKeyFailsEverySigner: a DEBFLOW_KEY that is set but empty
// (a CI secret that is not there) is exit 4 for every command that signs,
// never an unsigned build.
func TestEmptyDebflowKeyFailsEverySigner(t *testing.T) {
	spec := exampleSpec(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	vars := map[string]string{"DEBFLOW_KEY": "", "SOURCE_DATE_EPOCH": "1700000000"}
	for _, args := range [][]string{
		{"build", "--spec", spec, "--out", out, "--version", "1.0"},
		{"key", "export"},
		{"publish", "--repo", filepath.Join(dir, "repo"), filepath.Join(dir, "x.deb")},
		{"refresh", "--repo", filepath.Join(dir, "repo")},
	} {
		code, _, stderr := runWith(t, vars, args...)
		if code != exitKey || !strings.Contains(stderr, "DEBFLOW_KEY: set but empty") {
			t.Errorf("%s: exit %d, want %d; stderr: %s", args[0], code, exitKey, stderr)
		}
	}
	emptyDir(t, out)
	// Unset, the build is unsigned, as before.
	delete(vars, "DEBFLOW_KEY")
	if code, _, stderr := runWith(t, vars, "build", "--spec", spec, "--out", out, "--version", "1.0"); code != 0 || !strings.Contains(stderr, "building unsigned") {
		t.Errorf("build without DEBFLOW_KEY: exit %d: %s", code, stderr)
	}
}

func TestRequireSignature(t *testing.T) {
	spec := exampleSpec(t)
	out := filepath.Join(t.TempDir(), "out")
	vars := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	for _, args := range [][]string{
		{"build", "--require-signature", "--spec", spec, "--out", out, "--version", "1.0"},
		{"build", "--require-signature", "--unsigned", "--spec", spec, "--out", out, "--version", "1.0"},
		// Before any work: even a spec that does not exist is not read.
		{"build", "--require-signature", "--spec", filepath.Join(out, "nope.yaml"), "--out", out},
	} {
		code, _, stderr := runWith(t, vars, args...)
		if code != exitKey || !strings.Contains(stderr, "--require-signature") {
			t.Errorf("%v: exit %d, want %d; stderr: %s", args, code, exitKey, stderr)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("--out was created: %v", err)
	}
	key := filepath.Join(t.TempDir(), "key.asc")
	if code, _, stderr := runWith(t, nil, "key", "generate", "--uid", "T <t@example.org>", "--out", key); code != 0 {
		t.Fatalf("key generate: %s", stderr)
	}
	code, stdout, stderr := runWith(t, vars, "build", "--require-signature", "--key", key, "--spec", spec, "--out", out, "--version", "1.0")
	if code != 0 || !strings.HasSuffix(strings.TrimSpace(stdout), ".deb") {
		t.Errorf("signed build under --require-signature: exit %d: %s", code, stderr)
	}
}

// TestKeyExitCodes: a missing or unusable key is 4, refusing to overwrite a
// key file is 5.
func TestKeyExitCodes(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key.asc")
	if code, _, stderr := runWith(t, nil, "key", "generate", "--uid", "T <t@example.org>", "--out", key); code != 0 {
		t.Fatalf("key generate: %s", stderr)
	}
	before, _ := os.ReadFile(key)
	code, _, stderr := runWith(t, nil, "key", "generate", "--uid", "T <t@example.org>", "--out", key)
	if code != exitConflict || !strings.Contains(stderr, key) {
		t.Errorf("key generate over an existing file: exit %d, want %d: %s", code, exitConflict, stderr)
	}
	if after, _ := os.ReadFile(key); !bytes.Equal(before, after) {
		t.Error("the existing key changed")
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		vars map[string]string
		args []string
	}{
		"missing key file": {nil, []string{"key", "export", "--key", filepath.Join(dir, "nope.asc")}},
		"key file a FIFO":  {nil, []string{"key", "export", "--key", fifo}},
		"junk DEBFLOW_KEY": {map[string]string{"DEBFLOW_KEY": "junk"}, []string{"key", "export"}},
		"armored junk":     {map[string]string{"DEBFLOW_KEY": "-----BEGIN PGP PRIVATE KEY BLOCK-----\nxx\n"}, []string{"key", "export"}},
		"public key only":  {nil, []string{"key", "export", "--key", publicKeyFile(t, key)}},
		"missing for build": {map[string]string{"SOURCE_DATE_EPOCH": "1"},
			[]string{"build", "--key", filepath.Join(dir, "nope.asc"), "--spec", exampleSpec(t), "--out", filepath.Join(dir, "out")}},
	} {
		code, _, stderr := runWith(t, c.vars, c.args...)
		if code != exitKey {
			t.Errorf("%s: exit %d, want %d: %s", name, code, exitKey, stderr)
		}
	}
}

func publicKeyFile(t *testing.T, secret string) string {
	t.Helper()
	k, err := signing.LoadKey(secret, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := k.WritePublic(&buf, true); err != nil {
		t.Fatal(err)
	}
	file := secret + ".pub"
	if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// TestBuildFIFOScript: a FIFO as a maintainer script is refused at once
// (exit 3, naming the field and the path); it used to hang the build.
// The build runs as a real process, so that a hang is a timeout, not a
// stuck test binary.
func TestBuildFIFOScript(t *testing.T) {
	spec := exampleSpec(t)
	dir := filepath.Dir(spec)
	fifo := filepath.Join(dir, "scripts", "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(spec)
	data = bytes.Replace(data, []byte("scripts/postinst"), []byte("scripts/fifo"), 1)
	if err := os.WriteFile(spec, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(os.Args[0], "build", "--unsigned", "--version", "1.0", "--spec", spec, "--out", out)
	cmd.Env = append(os.Environ(), "DEBFLOW_TEST_MAIN=1", "SOURCE_DATE_EPOCH=1700000000")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("build hangs on a FIFO as a script")
	}
	if code := cmd.ProcessState.ExitCode(); code != exitInput ||
		!strings.Contains(stderr.String(), "scripts.postinstall") || !strings.Contains(stderr.String(), fifo) {
		t.Errorf("exit %d, want %d, naming scripts.postinstall and %s: %s", code, exitInput, fifo, stderr.String())
	}
	emptyDir(t, out)
}

// TestBuildStopsOnSIGTERM: a build of a large file stops soon after
// SIGTERM, with an error and nothing in --out.
func TestBuildStopsOnSIGTERM(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	f, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: no disk space, but xz takes many seconds to compress it.
	if err := f.Truncate(4 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	spec := filepath.Join(dir, "nfpm.yaml")
	os.WriteFile(spec, []byte("name: big\nversion: 1.0\ndescription: big\ncontents:\n  - src: big\n    dst: /usr/share/big\n"), 0o644)
	out := filepath.Join(dir, "out")
	cmd := exec.Command(os.Args[0], "build", "--unsigned", "--spec", spec, "--out", out)
	cmd.Env = append(os.Environ(), "DEBFLOW_TEST_MAIN=1", "SOURCE_DATE_EPOCH=1700000000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("build did not stop within 15 s of SIGTERM")
	}
	if cmd.ProcessState.Success() {
		t.Error("an interrupted build succeeded")
	}
	emptyDir(t, out)
}

// TestBuildRefusesWhatPublishRefuses: the command checks the spec up front
// and the finished package with publish's inspection; both are exit 3 and
// leave --out empty.
func TestBuildRefusesWhatPublishRefuses(t *testing.T) {
	spec := exampleSpec(t)
	orig, _ := os.ReadFile(spec)
	for name, c := range map[string]struct{ add, want string }{
		"newline in dst":      {"contents:\n  - src: files/README\n    dst: \"/usr/share/x\\ny\"\n", "contents[0].dst"},
		"Filename field":      {"deb:\n  fields:\n    Filename: pool/evil.deb\n", "deb.fields.Filename"},
		"unparsable Enhances": {"deb:\n  fields:\n    Enhances: \"Not A Package!\"\n", "fails the check that publish applies"},
	} {
		data := bytes.Replace(orig, []byte("rpm:\n  group: Unspecified\n"), nil, 1)
		if strings.HasPrefix(c.add, "contents:") {
			data = bytes.Replace(data, []byte("contents:\n"), []byte(c.add), 1)
		} else {
			data = append(data, c.add...)
		}
		if err := os.WriteFile(spec, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), "out")
		code, _, stderr := runWith(t, map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}, "build", "--spec", spec, "--out", out, "--version", "1.0")
		if code != exitInput || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, want %d naming %q: %s", name, code, exitInput, c.want, stderr)
		}
		emptyDir(t, out)
	}
}

// TestBuildCompressionFlag: --compression takes a level after a colon, as
// deb.compression does; a level the format does not have is a usage error
// (exit 2) and writes nothing.
func TestBuildCompressionFlag(t *testing.T) {
	spec := exampleSpec(t)
	vars := map[string]string{"SOURCE_DATE_EPOCH": "1700000000"}
	out := t.TempDir()
	code, stdout, stderr := runWith(t, vars, "build", "--spec", spec, "--out", out, "--version", "1.0", "--compression", "zstd:fastest", "-q")
	if code != 0 {
		t.Fatalf("zstd:fastest: exit %d: %s", code, stderr)
	}
	deb, err := os.ReadFile(strings.TrimSpace(stdout))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(deb, []byte("data.tar.zst")) { // the ar member header
		t.Error("no data.tar.zst member")
	}
	for _, bad := range []string{"xz:9", "gzip:0", "zstd:fatest"} {
		out := t.TempDir()
		code, _, stderr := runWith(t, vars, "build", "--spec", spec, "--out", out, "--version", "1.0", "--compression", bad)
		if code != exitUsage || !strings.Contains(stderr, "compression level") {
			t.Errorf("--compression %s: exit %d, want %d; stderr: %s", bad, code, exitUsage, stderr)
		}
		emptyDir(t, out)
	}
}
