package ci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// ErrWrongBranch: a merge pipeline ran on a branch that declares another
// stage than the one it was asked to reconcile.
var ErrWrongBranch = errors.New("stage file on the wrong branch")

// ErrNoStage: the stage to reconcile is no stage of the repository that
// promote feeds.
var ErrNoStage = errors.New("no such stage")

// ReconcileRepo is what Reconcile needs of a debflow repository; *repo.Repo
// has it.
type ReconcileRepo interface {
	PromoteRepo
	History(ctx context.Context, stage string) ([]snapshot.Promotion, error)
	Snapshot(ctx context.Context, name string) (*repo.SnapshotEntry, error)
}

// ReconcileRequest is a merge pipeline's input, on any forge or none.
type ReconcileRequest struct {
	Stage     string // the stage the pipeline reconciles
	StageFile string // the stage file in the checked-out branch
	// Branch is the IaC branch the pipeline runs on, "" when unknown. When
	// given, it must declare Stage (through StageMap).
	Branch   string
	StageMap StageMap
	Commit   string // the IaC commit, for the report
	RunURL   string // the pipeline run, for the report
	// DryRun decides, and lists the changes, without promoting.
	DryRun bool
	// Options are passed to Repo.Promote; By defaults to the CI
	// environment's actor (repo.Promoter).
	Options repo.PromoteOptions
}

// Reconcile makes a stage serve what its stage file declares, under the
// rules of promote: the merge pipeline's step on a forge without a debflow
// integration (GitLab, Gitea, Forgejo, Jenkins, a git hook). The outcome
// says what happened, for a report; a refusal is returned as well, as a
// *RefusedError. Bad input (a stage that does not exist, a branch that
// declares another stage, a stage file that names no valid snapshot) is an
// error before anything changes, and no outcome.
func Reconcile(ctx context.Context, r ReconcileRepo, req ReconcileRequest) (*PromoteOutcome, error) {
	if err := snapshot.ValidStageName(req.Stage); err != nil {
		return nil, fmt.Errorf("--stage: %w", err)
	}
	if req.Branch != "" {
		if declared := req.StageMap.Stage(req.Branch); declared != req.Stage {
			return nil, fmt.Errorf("%w: branch %s declares stage %s, not %s; nothing was promoted", ErrWrongBranch, req.Branch, declared, req.Stage)
		}
	}
	if problem, err := stageProblem(ctx, r, req.Stage); err != nil {
		return nil, err
	} else if problem != "" {
		return nil, fmt.Errorf("%w: --stage %s, %s; nothing was promoted", ErrNoStage, req.Stage, problem)
	}
	snap, err := readStageFile(req.StageFile)
	if err != nil {
		return nil, err
	}
	out := &PromoteOutcome{Stage: req.Stage, Snapshot: snap, Commit: req.Commit, RunURL: req.RunURL}
	var perr error
	if req.DryRun {
		out.Result, perr = planPromotion(ctx, r, snap, req.Stage)
	} else {
		out.Result, perr = r.Promote(ctx, snap, req.Stage, req.Options)
	}
	finishOutcome(ctx, r, out, perr)
	if perr != nil {
		return out, &RefusedError{Stage: req.Stage, Snapshot: snap, Err: perr, Local: true}
	}
	return out, nil
}

// readStageFile returns the snapshot a stage file in the workspace names.
func readStageFile(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%w: %w; nothing was promoted", ErrStageFile, err)
	}
	snap, err := ReadStageSnapshot(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w; nothing was promoted", path, err)
	}
	return snap, nil
}

// finishOutcome records a promotion's result in the outcome: the
// refusal and what the stage still serves, or the diff.
func finishOutcome(ctx context.Context, r PromoteRepo, out *PromoteOutcome, perr error) {
	if perr != nil {
		out.Result = nil
		out.Refused = perr
		out.Serving = serving(ctx, r, out.Stage)
		return
	}
	if !out.Result.NoOp {
		out.Changes, out.DiffErr = diffServed(ctx, r, out.Result.Previous, out.Snapshot)
	}
}

// planPromotion decides a promotion as Repo.Promote would, from what the
// repository says (its stages, what they serve, the history of the stage
// before), and changes nothing.
func planPromotion(ctx context.Context, r ReconcileRepo, snap, stage string) (*repo.PromoteResult, error) {
	info, err := r.Snapshot(ctx, snap)
	if err != nil {
		return nil, err
	}
	st, err := r.Status(ctx)
	if err != nil {
		return nil, err
	}
	var stages []string
	var serving string
	for _, s := range st {
		stages = append(stages, s.Stage)
		if s.Stage == stage {
			serving = s.Serves
		}
	}
	history := map[string][]snapshot.Promotion{}
	for i, s := range stages {
		if i > 0 && i+1 < len(stages) && stages[i+1] == stage {
			if history[s], err = r.History(ctx, s); err != nil {
				return nil, err
			}
		}
	}
	compare := snapshot.CompareNames
	if serving != "" {
		if prev, err := r.Snapshot(ctx, serving); err == nil && !prev.Info.Created.IsZero() && !info.Info.Created.IsZero() {
			a, b := info.Info.Created, prev.Info.Created
			compare = func(x, y string) int {
				if c := a.Compare(b); x == snap && y == serving && c != 0 {
					return c
				}
				return snapshot.CompareNames(x, y)
			}
		}
	}
	d, err := snapshot.DecidePromotion(snapshot.PromotionRequest{
		Stages: stages, To: stage, Snapshot: snap, Serving: serving, History: history, Compare: compare,
	})
	if err != nil {
		return nil, err
	}
	return &repo.PromoteResult{Stage: stage, Snapshot: snap, Previous: serving, NoOp: d.NoOp, Rollback: d.Rollback}, nil
}

// ReconcileText renders an outcome for a terminal: one line, then the
// changes.
func ReconcileText(o PromoteOutcome, dryRun bool) string {
	var b strings.Builder
	line := o.StatusDescription()
	if dryRun && o.Result != nil && !o.Result.NoOp {
		line = "would have " + line
	}
	b.WriteString(line + "\n")
	if o.Result != nil && !o.Result.NoOp {
		if o.DiffErr != nil {
			fmt.Fprintf(&b, "the changes could not be listed: %v\n", o.DiffErr)
		} else {
			_ = snapshot.WriteText(&b, orNothing(o.Result.Previous), o.Snapshot, o.Changes)
		}
	}
	return b.String()
}

// PipelineEnv is what a CI job's environment says about the IaC branch it
// runs on: GitLab CI, GitHub, Gitea and Forgejo Actions, Jenkins. Fields
// are "" when the environment does not say.
type PipelineEnv struct {
	Branch string
	Commit string
	RunURL string
}

// PipelineFromEnv reads the CI environment.
func PipelineFromEnv(getenv func(string) string) PipelineEnv {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	p := PipelineEnv{
		// GitLab; GitHub, Gitea and Forgejo Actions on push; Jenkins
		// multibranch, then its git plugin ("origin/main").
		Branch: first("CI_COMMIT_BRANCH", "GITHUB_REF_NAME", "BRANCH_NAME", "GIT_BRANCH"),
		Commit: first("CI_COMMIT_SHA", "GITHUB_SHA", "GIT_COMMIT"),
		RunURL: first("CI_JOB_URL", "BUILD_URL"),
	}
	if getenv("GITHUB_REF_TYPE") == "tag" && p.Branch == getenv("GITHUB_REF_NAME") {
		p.Branch = ""
	}
	if p.Branch != "" && p.Branch == getenv("GIT_BRANCH") {
		p.Branch = strings.TrimPrefix(p.Branch, "origin/")
	}
	if p.RunURL == "" {
		p.RunURL = RunURL(getenv)
	}
	return p
}
