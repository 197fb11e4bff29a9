package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
)

// opsRepo is a repository for the remove, list and suite commands, run
// in-process.
type opsRepo struct {
	t    *testing.T
	root string
	key  string
	debs string
}

func newOpsRepo(t *testing.T) *opsRepo {
	dir := t.TempDir()
	secret, _, _ := testkit.KeyFile(t, dir)
	return &opsRepo{t: t, root: filepath.Join(dir, "repo"), key: secret, debs: t.TempDir()}
}

// run runs debflow with --repo and returns its exit status, stdout and
// stderr.
func (o *opsRepo) run(args ...string) (int, string, string) {
	o.t.Helper()
	var stdout, stderr bytes.Buffer
	args = append([]string{"--repo", o.root}, args...)
	code := Execute("test", args, env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, now: time.Now})
	return code, stdout.String(), stderr.String()
}

func (o *opsRepo) mustRun(args ...string) string {
	o.t.Helper()
	code, out, errOut := o.run(args...)
	if code != 0 {
		o.t.Fatalf("debflow %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

func (o *opsRepo) publish(extra []string, debs ...testkit.Deb) {
	o.t.Helper()
	args := append([]string{"publish", "--quiet", "--key", o.key}, extra...)
	for _, d := range debs {
		args = append(args, testkit.WriteDeb(o.t, o.debs, d))
	}
	o.mustRun(args...)
}

// wantExit runs a command that must fail with code, leave the tree as it
// was and say want on stderr.
func (o *opsRepo) wantExit(code int, want string, args ...string) {
	o.t.Helper()
	before := testkit.TreeHash(o.t, o.root)
	got, out, errOut := o.run(args...)
	if got != code || !strings.Contains(errOut, want) {
		o.t.Errorf("debflow %s: exit %d, want %d with %q\n%s%s", strings.Join(args, " "), got, code, want, out, errOut)
	}
	if testkit.TreeHash(o.t, o.root) != before {
		o.t.Errorf("debflow %s changed the tree", strings.Join(args, " "))
	}
}

func TestRemoveCommand(t *testing.T) {
	o := newOpsRepo(t)
	o.publish(nil,
		testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"},
		testkit.Deb{Name: "hello", Version: "2:1.1", Arch: "amd64"},
		testkit.Deb{Name: "docs", Version: "1.0", Arch: "all"})
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "1-before")

	out := o.mustRun("remove", "--dry-run", "hello=2:1.1")
	if out != "would remove hello_2:1.1_amd64 from development\n" {
		t.Errorf("dry run printed %q", out)
	}
	o.wantExit(exitInput, "no such package in development (component main): nope, hello=9.9, docs/arm64; nothing was removed",
		"remove", "--key", o.key, "hello", "nope", "hello=9.9", "docs/arm64")
	o.wantExit(exitInput, "invalid package spec", "remove", "--key", o.key, "Hello")
	o.wantExit(exitInput, "no such suite", "remove", "--key", o.key, "--suite", "nope", "hello")
	o.wantExit(exitConflict, "1-before is a snapshot", "remove", "--key", o.key, "--suite", "1-before", "hello")
	o.wantExit(exitConflict, "canary is a stage", "remove", "--key", o.key, "--suite", "canary", "hello")
	o.wantExit(exitKey, "", "remove", "hello")

	out = o.mustRun("remove", "--key", o.key, "hello=2:1.1", "docs")
	if out != "removed docs_1.0_all from development\nremoved hello_2:1.1_amd64 from development\n" {
		t.Errorf("remove printed %q", out)
	}
	var res struct {
		Removed   []string `json:"removed"`
		PoolFreed []string `json:"pool_freed"`
	}
	out = o.mustRun("remove", "--json", "--key", o.key, "hello")
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.Removed[0] != "hello_1.0_amd64" || res.PoolFreed == nil || len(res.PoolFreed) != 0 {
		t.Errorf("--json: %s", out)
	}
	if !strings.Contains(out, `"pool_freed": []`) {
		t.Errorf("an empty list is not []: %s", out)
	}
}
