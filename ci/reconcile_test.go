package ci

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debflow/debflow/ci/githubtest"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

func writeStageFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "stage.yaml")
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestReconcilePromotesWhatTheFileDeclares(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	ctx := context.Background()
	out, err := Reconcile(ctx, fleet.Repo, ReconcileRequest{
		Stage: "canary", StageFile: writeStageFile(t, "# canary\nsnapshot: 2026-01-02\nnotes: x\n"),
		Branch: "canary", Commit: mergeSHA, RunURL: "https://gitlab.example/fleet/-/jobs/9",
		Options: repo.PromoteOptions{By: "bob via GitLab CI https://gitlab.example/fleet/-/jobs/9"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := fleet.Serves(t, "canary"); got != "2026-01-02" {
		t.Fatalf("canary serves %q", got)
	}
	h, err := fleet.Repo.History(ctx, "canary")
	if err != nil {
		t.Fatal(err)
	}
	if by := h[len(h)-1].By; by != "bob via GitLab CI https://gitlab.example/fleet/-/jobs/9" {
		t.Errorf("history says by %q", by)
	}
	wantContains(t, "comment", PromoteComment(*out),
		"### debflow promoted `canary` to `2026-01-02`",
		"| upgraded | `hello` | `amd64` | `1.0` | `1.1` |",
		"Merge commit `4f5e6d7c8b9a`",
		"[workflow run](https://gitlab.example/fleet/-/jobs/9)")
	wantContains(t, "text", ReconcileText(*out, false), "promoted canary from 2026-01-01 to 2026-01-02\n", "hello", "newpkg")

	// The same declaration again: a no-op.
	out, err = Reconcile(ctx, fleet.Repo, ReconcileRequest{Stage: "canary", StageFile: writeStageFile(t, "snapshot: 2026-01-02\n")})
	if err != nil || !out.Result.NoOp {
		t.Fatalf("second run: %+v, %v", out, err)
	}
	// A revert on the branch: a rollback.
	out, err = Reconcile(ctx, fleet.Repo, ReconcileRequest{Stage: "canary", StageFile: writeStageFile(t, "snapshot: 2026-01-01\n")})
	if err != nil || !out.Result.Rollback || fleet.Serves(t, "canary") != "2026-01-01" {
		t.Fatalf("revert: %+v, %v", out.Result, err)
	}
}

// TestReconcileBadInput: nothing is promoted, and the error is bad input
// (or a refusal) naming what is wrong.
func TestReconcileBadInput(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	for _, tc := range []struct {
		name, stage, branch, file string
		want                      error
		msg                       string
	}{
		{"no snapshot key", "canary", "", "rollout: all\n", ErrStageFile, `no "snapshot" key`},
		{"empty file", "canary", "", "", ErrStageFile, "empty"},
		{"null snapshot", "canary", "", "snapshot:\n", ErrStageFile, "must name a snapshot"},
		{"unknown snapshot", "canary", "", "snapshot: 2099-01-01\n", repo.ErrNoSuite, "did not promote canary to 2099-01-01, nothing changed"},
		{"a path", "canary", "", "snapshot: ../../etc/passwd\n", ErrStageFile, "line 1"},
		{"a newline", "canary", "", "snapshot: \"2026-01-02\\nSuites: x\"\n", ErrStageFile, "line 1"},
		{"no such stage", "qa", "", "snapshot: 2026-01-02\n", ErrNoStage, "--stage qa, which is no stage of the repository (stages: canary, production)"},
		{"the rolling suite", "development", "", "snapshot: 2026-01-02\n", ErrNoStage, "the rolling suite"},
		{"a hostile stage", "canary/../x", "", "snapshot: 2026-01-02\n", snapshot.ErrBadName, "--stage"},
		{"the wrong branch", "production", "canary", "snapshot: 2026-01-01\n", ErrWrongBranch, "branch canary declares stage canary, not production"},
		{"out of order", "production", "production", "snapshot: 2026-01-02\n", snapshot.ErrOutOfOrder, "has never been in canary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, dry := range []bool{false, true} {
				out, err := Reconcile(context.Background(), fleet.Repo, ReconcileRequest{
					Stage: tc.stage, Branch: tc.branch, StageFile: writeStageFile(t, tc.file), DryRun: dry})
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
					t.Fatalf("dry-run %v: %v; want %v with %q", dry, err, tc.want, tc.msg)
				}
				var refused *RefusedError
				if errors.As(err, &refused) != (out != nil) {
					t.Errorf("a refusal comes with an outcome, bad input without: %v, %+v", err, out)
				}
				if c, p := fleet.Serves(t, "canary"), fleet.Serves(t, "production"); c != "2026-01-01" || p != "" {
					t.Fatalf("canary serves %q, production %q: something was promoted", c, p)
				}
			}
		})
	}
}

// TestReconcileDryRunDecidesAsPromote: --dry-run's decision is the one
// promote makes, and changes nothing.
func TestReconcileDryRunDecidesAsPromote(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	ctx := context.Background()
	plan := func(stage, snap string) *PromoteOutcome {
		t.Helper()
		out, err := Reconcile(ctx, fleet.Repo, ReconcileRequest{Stage: stage, StageFile: writeStageFile(t, "snapshot: "+snap+"\n"), DryRun: true})
		if err != nil {
			t.Fatalf("dry run %s to %s: %v", stage, snap, err)
		}
		return out
	}
	out := plan("canary", "2026-01-02")
	if r := out.Result; r.NoOp || r.Rollback || r.Previous != "2026-01-01" || len(out.Changes) != 2 || fleet.Serves(t, "canary") != "2026-01-01" {
		t.Errorf("dry run: %+v %v", r, out.Changes)
	}
	if got := ReconcileText(*out, true); !strings.HasPrefix(got, "would have promoted canary from 2026-01-01 to 2026-01-02\n") {
		t.Errorf("dry-run text %q", got)
	}
	if !plan("canary", "2026-01-01").Result.NoOp {
		t.Error("dry run of what canary serves is not a no-op")
	}
	if _, err := fleet.Repo.Promote(ctx, "2026-01-02", "canary", repo.PromoteOptions{By: "t"}); err != nil {
		t.Fatal(err)
	}
	if !plan("canary", "2026-01-01").Result.Rollback {
		t.Error("dry run back to 2026-01-01 is not a rollback")
	}
	if r := plan("production", "2026-01-02").Result; r.NoOp || r.Previous != "" {
		t.Errorf("production after canary had it: %+v", r)
	}
	if fleet.Serves(t, "production") != "" || fleet.Serves(t, "canary") != "2026-01-02" {
		t.Error("a dry run changed something")
	}
}

func TestPipelineFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want PipelineEnv
	}{
		{"gitlab", map[string]string{"GITLAB_CI": "true", "CI_COMMIT_BRANCH": "canary", "CI_COMMIT_SHA": "abc", "CI_JOB_URL": "https://gl/j/1"}, PipelineEnv{"canary", "abc", "https://gl/j/1"}},
		{"forgejo", map[string]string{"GITHUB_REF_NAME": "production", "GITHUB_SHA": "def", "GITHUB_SERVER_URL": "https://code", "GITHUB_REPOSITORY": "o/iac", "GITHUB_RUN_ID": "5"}, PipelineEnv{"production", "def", "https://code/o/iac/actions/runs/5"}},
		{"jenkins git plugin", map[string]string{"GIT_BRANCH": "origin/canary", "GIT_COMMIT": "123", "BUILD_URL": "https://j/job/iac/7/"}, PipelineEnv{"canary", "123", "https://j/job/iac/7/"}},
		{"jenkins multibranch", map[string]string{"BRANCH_NAME": "canary", "GIT_BRANCH": "origin/canary"}, PipelineEnv{Branch: "canary"}},
		{"a tag", map[string]string{"GITHUB_REF_TYPE": "tag", "GITHUB_REF_NAME": "v1"}, PipelineEnv{}},
		{"nothing", map[string]string{}, PipelineEnv{}},
	} {
		if got := PipelineFromEnv(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
