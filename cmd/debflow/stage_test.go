package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// stageRun runs debflow in-process on a repository.
func stageRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute("test", args, env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, now: time.Now})
	return code, stdout.String(), stderr.String()
}

// failRelease fails the writes of one suite's Release files, as a kill
// after the commit point would leave them.
type failRelease struct {
	repo.Storage
	suite string
}

func (s *failRelease) Put(ctx context.Context, name string, r io.Reader) error {
	if strings.HasPrefix(name, "dists/"+s.suite+"/") && strings.Contains(name, "Release") {
		return syscall.ENOSPC
	}
	return s.Storage.Put(ctx, name, r)
}

// TestStageWordsAndPending: promote calls only a move to an older snapshot
// a rollback; history marks it; status reports an interrupted promotion
// as pending, with what devices get; history --json of an empty stage is
// [].
func TestStageWordsAndPending(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "repo")
	key, _, _ := testkit.KeyFile(t, dir)
	st, err := repo.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(st, repo.WithSigner(testkit.Key(t)))
	ctx := context.Background()
	var snaps []string
	for _, v := range []string{"1.0", "2.0", "3.0"} {
		pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, dir, testkit.Deb{Name: "hello", Version: v, Arch: "amd64"})})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Publish(ctx, pkgs, repo.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := r.CreateSnapshot(ctx, repo.SnapshotOptions{})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, res.Name)
	}
	a, b, c := snaps[0], snaps[1], snaps[2]

	if code, out, _ := stageRun(t, "--repo", root, "history", "--json", "production"); code != 0 || strings.TrimSpace(out) != "[]" {
		t.Errorf("history --json of an empty stage: %d %q", code, out)
	}
	for _, step := range []struct{ snap, want string }{
		{b, "promoted canary: nothing -> " + b},
		{a, "rolled back canary: " + b + " -> " + a},
		{b, "promoted canary: " + a + " -> " + b}, // served before, but newer
	} {
		code, out, errOut := stageRun(t, "--repo", root, "promote", "--key", key, step.snap, "--to", "canary")
		if code != 0 || strings.TrimSpace(out) != step.want {
			t.Errorf("promote %s: %d %q %q, want %q", step.snap, code, out, errOut, step.want)
		}
	}
	code, out, _ := stageRun(t, "--repo", root, "--json", "promote", "--key", key, a, "--to", "canary")
	var res repo.PromoteResult
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || !res.Rollback {
		t.Errorf("promote --json to an older snapshot: %d %q %v", code, out, err)
	}
	code, out, _ = stageRun(t, "--repo", root, "--json", "promote", "--key", key, b, "--to", "canary")
	res = repo.PromoteResult{}
	if err := json.Unmarshal([]byte(out), &res); code != 0 || err != nil || res.Rollback || strings.Contains(out, "rollback") {
		t.Errorf("promote --json to a newer snapshot: %d %q %v", code, out, err)
	}
	_, out, _ = stageRun(t, "--repo", root, "history", "canary")
	if n := strings.Count(out, "(rollback)"); n != 2 {
		t.Errorf("history marks %d rollbacks, want 2:\n%s", n, out)
	}

	// A promotion to c interrupted after its commit point.
	crashing := repo.New(&failRelease{Storage: st, suite: "canary"}, repo.WithSigner(testkit.Key(t)))
	if _, err := crashing.Promote(ctx, c, "canary", repo.PromoteOptions{}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	_, out, _ = stageRun(t, "--repo", root, "status")
	if !strings.Contains(out, "canary: a promotion to "+c+" was interrupted; devices get "+b) {
		t.Errorf("status does not report the interrupted promotion:\n%s", out)
	}
	_, out, _ = stageRun(t, "--repo", root, "--json", "status")
	var sts []repo.StageStatus
	if err := json.Unmarshal([]byte(out), &sts); err != nil {
		t.Fatal(err)
	}
	if sts[1].Serves != b || sts[1].Pending != c {
		t.Errorf("status --json: canary %+v, want serves %s, pending %s", sts[1], b, c)
	}
	_, out, _ = stageRun(t, "--repo", root, "history", "canary")
	if strings.Contains(out, "-> "+c) {
		t.Errorf("history lists the interrupted promotion:\n%s", out)
	}
}

// TestClockBehindExitCode: a runner whose clock is far behind the
// repository is refused with exit 5, saying the clock is wrong.
func TestClockBehindExitCode(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "repo")
	key, _, _ := testkit.KeyFile(t, dir)
	deb1 := testkit.WriteDeb(t, dir, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})
	deb2 := testkit.WriteDeb(t, dir, testkit.Deb{Name: "hello", Version: "2.0", Arch: "amd64"})
	if code, _, errOut := stageRun(t, "--repo", root, "publish", "--key", key, deb1); code != 0 {
		t.Fatalf("publish: %d %s", code, errOut)
	}
	var stdout, stderr bytes.Buffer
	behind := func() time.Time { return time.Now().Add(-time.Hour) }
	code := Execute("test", []string{"--repo", root, "publish", "--key", key, deb2},
		env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, now: behind})
	if code != exitConflict || !strings.Contains(stderr.String(), "the clock is wrong") {
		t.Errorf("publish with the clock an hour behind: exit %d, %q", code, stderr.String())
	}
}
