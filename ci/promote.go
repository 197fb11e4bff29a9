package ci

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// PromoteRepo is what Promote needs of a debflow repository; *repo.Repo
// has it.
type PromoteRepo interface {
	Promote(ctx context.Context, snap, stage string, opts repo.PromoteOptions) (*repo.PromoteResult, error)
	Contents(ctx context.Context, name string) ([]snapshot.Package, error)
	Status(ctx context.Context) ([]repo.StageStatus, error)
}

// PromoteRequest is a merge job's input.
type PromoteRequest struct {
	Event     PullRequestEvent // a merged pull request (see ParseEvent)
	StageMap  StageMap
	StageFile string // the stage file in the checked-out workspace
	RunURL    string // the workflow run, for the deployment and the comment
	// Options are passed to Repo.Promote; By defaults to who merged.
	Options repo.PromoteOptions
}

// PromoteReport says what a merge job did.
type PromoteReport struct {
	Merged       bool // false: the pull request was closed unmerged, and nothing was done
	Outcome      PromoteOutcome
	DeploymentID int64
	CommentURL   string
}

// DeploymentPayload is the payload of the deployments debflow creates.
type DeploymentPayload struct {
	Tool        string `json:"tool"` // "debflow"
	Stage       string `json:"stage"`
	Snapshot    string `json:"snapshot"`
	PullRequest int    `json:"pull_request"`
}

// Promote carries out a closed pull request. One closed unmerged is a
// successful no-op that makes no request. For a merged one, it maps the base branch to a
// stage, reads the snapshot from the stage file, creates a GitHub
// deployment, promotes, posts the deployment status and comments on the
// pull request with the result and the diff.
//
// Nothing is promoted unless the deployment exists. A refused promotion is
// reported the same way and returned as a *RefusedError. A promotion that
// happened but was not fully reported returns a *NotReportedError
// (ErrNotReported).
func Promote(ctx context.Context, gh *Client, r PromoteRepo, req PromoteRequest) (*PromoteReport, error) {
	ev := req.Event
	if !ev.Merged {
		return &PromoteReport{}, nil
	}
	stage := req.StageMap.Stage(ev.Base)
	if problem, err := stageProblem(ctx, r, stage); err != nil {
		return nil, err
	} else if problem != "" {
		if !strings.HasPrefix(problem, "the rolling") {
			problem += "; give --stage-map " + ev.Base + "=STAGE"
		}
		return nil, fmt.Errorf("%w: branch %s maps to %s, %s; nothing was promoted", ErrStageMap, ev.Base, stage, problem)
	}
	snap, err := readStageFile(req.StageFile)
	if err != nil {
		return nil, err
	}

	id, err := gh.CreateDeployment(ctx, Deployment{
		Ref:         ev.MergeSHA,
		Environment: stage,
		Description: fmt.Sprintf("debflow: promote %s to %s", stage, snap),
		Payload:     DeploymentPayload{Tool: "debflow", Stage: stage, Snapshot: snap, PullRequest: ev.Number},
	})
	if err != nil {
		return nil, fmt.Errorf("nothing was promoted: %w", err)
	}

	opts := req.Options
	if opts.By == "" {
		opts.By = promotedBy(ev, gh.Repository(), req.RunURL)
	}
	out := PromoteOutcome{Number: ev.Number, Stage: stage, Snapshot: snap, Commit: ev.MergeSHA, RunURL: req.RunURL}
	res, perr := r.Promote(ctx, snap, stage, opts)
	out.Result = res
	finishOutcome(ctx, r, &out, perr)

	// Report both ways, whatever happens to the other.
	rep := &PromoteReport{Merged: true, Outcome: out, DeploymentID: id}
	var reportErrs []error
	if err := gh.CreateDeploymentStatus(ctx, id, DeploymentStatus{State: out.State(), Description: out.StatusDescription(), LogURL: req.RunURL}); err != nil {
		reportErrs = append(reportErrs, err)
	}
	url, err := gh.Comment(ctx, ev.Number, PromoteComment(out))
	if err != nil {
		reportErrs = append(reportErrs, err)
	}
	rep.CommentURL = url
	reportErr := errors.Join(reportErrs...)

	switch {
	case perr != nil:
		return rep, &RefusedError{Stage: stage, Snapshot: snap, Err: perr, ReportErr: reportErr}
	case reportErr != nil:
		return rep, &NotReportedError{Stage: stage, Snapshot: snap, Err: reportErr}
	}
	return rep, nil
}

// stageProblem says, before anything changes, why a stage cannot be
// promoted to: it is no stage of the repository, or its rolling suite,
// which promote does not feed. "" is no problem.
func stageProblem(ctx context.Context, r PromoteRepo, stage string) (string, error) {
	st, err := r.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("nothing was promoted: reading the repository's stages: %w", err)
	}
	var names []string
	for _, s := range st {
		if s.Rolling {
			if s.Stage == stage {
				return "the rolling suite that publish feeds", nil
			}
			continue
		}
		if s.Stage == stage {
			return "", nil
		}
		names = append(names, s.Stage)
	}
	return fmt.Sprintf("which is no stage of the repository (stages: %s)", strings.Join(names, ", ")), nil
}

// promotedBy describes the promoter for the stage's history.
func promotedBy(ev PullRequestEvent, repository, runURL string) string {
	who := ev.MergedBy
	if who == "" {
		who = "someone"
	}
	s := fmt.Sprintf("%s merged %s#%d", who, repository, ev.Number)
	if runURL != "" {
		s += " (" + runURL + ")"
	}
	return s
}

// serving returns what a stage serves, or "" when that cannot be told.
func serving(ctx context.Context, r PromoteRepo, stage string) string {
	st, err := r.Status(ctx)
	if err != nil {
		return ""
	}
	for _, s := range st {
		if s.Stage == stage {
			return s.Serves
		}
	}
	return ""
}

// diffServed compares what a stage served before (nothing when before is
// "") with a snapshot.
func diffServed(ctx context.Context, r interface {
	Contents(context.Context, string) ([]snapshot.Package, error)
}, before, after string) ([]snapshot.Change, error) {
	var a []snapshot.Package
	if before != "" {
		var err error
		if a, err = r.Contents(ctx, before); err != nil {
			return nil, err
		}
	}
	b, err := r.Contents(ctx, after)
	if err != nil {
		return nil, err
	}
	return snapshot.Diff(a, b), nil
}
