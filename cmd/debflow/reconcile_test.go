package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/ci/githubtest"
)

func reconcileRun(t *testing.T, envv map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute("test", args, env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return envv[k] }, now: time.Now})
	return code, stdout.String(), stderr.String()
}

func TestReconcileCommand(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	file := filepath.Join(t.TempDir(), "stage.yaml")
	write := func(s string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	base := []string{"--repo", fleet.Dir, "reconcile", "--snapshot-file", file}
	gitlab := map[string]string{"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "carol", "CI_JOB_URL": "https://gl/iac/-/jobs/3", "CI_COMMIT_BRANCH": "canary", "CI_COMMIT_SHA": "0123456789abcdef"}

	for _, tc := range []struct {
		name, file string
		args       []string
		env        map[string]string
		code       int
		stderr     string
	}{
		{"no snapshot", "rollout: all\n", []string{"--stage", "canary"}, nil, exitInput, `bad stage file: no "snapshot" key`},
		{"unknown snapshot", "snapshot: 2099-01-01\n", []string{"--stage", "canary"}, nil, exitInput, "did not promote canary to 2099-01-01"},
		{"a path", "snapshot: ../x\n", []string{"--stage", "canary"}, nil, exitInput, "bad stage file: line 1"},
		{"a newline", "snapshot: \"a\\nb\"\n", []string{"--stage", "canary"}, nil, exitInput, "bad stage file: line 1"},
		{"no such stage", "snapshot: 2026-01-02\n", []string{"--stage", "qa"}, nil, exitInput, "no such stage"},
		{"the wrong branch (CI)", "snapshot: 2026-01-02\n", []string{"--stage", "production"}, gitlab, exitInput, "branch canary declares stage canary, not production"},
		{"the wrong branch (flag)", "snapshot: 2026-01-02\n", []string{"--stage", "canary", "--branch", "main", "--stage-map", "main=production"}, nil, exitInput, "branch main declares stage production"},
		{"no stage flag", "snapshot: 2026-01-02\n", nil, nil, exitUsage, "--stage STAGE and --snapshot-file PATH are required"},
	} {
		write(tc.file)
		args := append(append(append([]string{}, base...), "--key", fleet.KeyFile), tc.args...)
		code, _, stderr := reconcileRun(t, tc.env, args...)
		if code != tc.code || !strings.Contains(stderr, tc.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, stderr, tc.code, tc.stderr)
		}
		if fleet.Serves(t, "canary") != "2026-01-01" || fleet.Serves(t, "production") != "" {
			t.Fatalf("%s: something was promoted", tc.name)
		}
	}

	write("snapshot: 2026-01-02\n")
	code, out, stderr := reconcileRun(t, gitlab, append(base, "--stage", "canary", "--dry-run", "--json")...)
	var j struct {
		DryRun  bool `json:"dry_run"`
		Result  struct{ Previous string }
		Changes []struct{ Package, Change string }
	}
	if err := json.Unmarshal([]byte(out), &j); code != 0 || err != nil || !j.DryRun || j.Result.Previous != "2026-01-01" || len(j.Changes) != 2 {
		t.Fatalf("dry run --json: %d %q %v %s", code, out, err, stderr)
	}
	if fleet.Serves(t, "canary") != "2026-01-01" {
		t.Fatal("--dry-run promoted")
	}
	code, out, stderr = reconcileRun(t, gitlab, append(base, "--key", fleet.KeyFile, "--stage", "canary", "--markdown")...)
	if code != 0 || !strings.Contains(out, "### debflow promoted `canary` to `2026-01-02`") || !strings.Contains(out, "Merge commit `0123456789ab`") ||
		!strings.Contains(out, "[workflow run](https://gl/iac/-/jobs/3)") {
		t.Fatalf("--markdown: %d %q %s", code, out, stderr)
	}
	h, err := fleet.Repo.History(t.Context(), "canary")
	if err != nil || h[len(h)-1].By != "carol via GitLab CI https://gl/iac/-/jobs/3" {
		t.Errorf("history: %+v %v", h, err)
	}
	code, out, _ = reconcileRun(t, nil, append(base, "--key", fleet.KeyFile, "--stage", "canary")...)
	if code != 0 || out != "canary serves 2026-01-02 already\n" {
		t.Errorf("again: %d %q", code, out)
	}
}
