package ci

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// ProposeRepo is what Propose needs of a debflow repository; *repo.Repo
// has it.
type ProposeRepo interface {
	Snapshot(ctx context.Context, name string) (*repo.SnapshotEntry, error)
	Contents(ctx context.Context, name string) ([]snapshot.Package, error)
}

// ProposeRequest is a release manager's proposal.
type ProposeRequest struct {
	Snapshot string
	File     string // the stage file's path in the IaC repository
	Base     string // the IaC branch of the stage
	Branch   string // the new branch; default ProposalBranch(Base, Snapshot)
	// CreateFile allows a File that does not exist on Base yet (a new
	// stage); without it such a File is refused as a likely typo.
	CreateFile bool
	// Stage is the stage Base declares; default Base.
	Stage string
}

// gateDescriber is a repository that can describe a stage's gate
// (*repo.Repo can); Propose mentions the gate in the pull request body.
type gateDescriber interface {
	DescribeGate(ctx context.Context, stage, snap string) (string, error)
}

// ProposeReport says what Propose did.
type ProposeReport struct {
	NoOp     bool   `json:"noop,omitempty"`     // the file names the snapshot on Base already: nothing was proposed
	Existing bool   `json:"existing,omitempty"` // an open pull request proposes it already: Number and URL are that one's
	Previous string `json:"previous,omitempty"` // what the file named on Base
	Branch   string `json:"branch,omitempty"`
	Number   int    `json:"number,omitempty"`
	URL      string `json:"url,omitempty"` // the pull request's web page
}

// ProposalBranch is the default branch of a proposal.
func ProposalBranch(base, snap string) string {
	return "debflow/promote-" + snap + "-to-" + base
}

// Propose opens a pull request against Base that changes the stage file
// to name Snapshot: it reads the file at Base's head through the contents
// API, creates a branch there, commits the changed file on it, and opens
// the pull request, whose body carries the snapshot's provenance and the
// diff from the snapshot the file named. Everything is read and rendered
// before the first write; a branch left without a pull request by a later
// failure is deleted.
//
// A File that does not exist on Base is refused (ErrStageFile) unless
// CreateFile is set. When an open pull request from the proposal's branch
// into Base exists already, nothing is written and the report is that pull
// request's (Existing).
func Propose(ctx context.Context, gh *Client, r ProposeRepo, req ProposeRequest) (*ProposeReport, error) {
	entry, err := r.Snapshot(ctx, req.Snapshot)
	if err != nil {
		return nil, err
	}
	head, err := gh.BranchHead(ctx, req.Base)
	if err != nil {
		return nil, err
	}
	file, err := gh.GetFile(ctx, req.File, head)
	if err != nil {
		return nil, err
	}
	if file == nil && !req.CreateFile {
		return nil, fmt.Errorf("%w: %s does not exist on %s (a typo? to start a new stage file there, propose with --create-file)", ErrStageFile, req.File, req.Base)
	}
	var old []byte
	p := Proposal{Snapshot: req.Snapshot, Base: req.Base, File: req.File, Info: entry.Info}
	if file != nil {
		old = file.Content
		if p.Previous, err = ReadStageSnapshot(old); err != nil {
			return nil, fmt.Errorf("%s on %s: %w", req.File, req.Base, err)
		}
	}
	rep := &ProposeReport{Previous: p.Previous}
	if p.Previous == req.Snapshot {
		rep.NoOp = true
		return rep, nil
	}
	content, err := SetStageSnapshot(old, req.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("%s on %s: %w", req.File, req.Base, err)
	}
	p.Changes, p.DiffErr = diffServed(ctx, r, p.Previous, req.Snapshot)
	if g, ok := r.(gateDescriber); ok {
		stage := req.Stage
		if stage == "" {
			stage = req.Base
		}
		if p.Gate, err = g.DescribeGate(ctx, stage, req.Snapshot); err != nil {
			return nil, err
		}
	}

	rep.Branch = req.Branch
	if rep.Branch == "" {
		rep.Branch = ProposalBranch(req.Base, req.Snapshot)
	}
	// Proposed before and still open (a re-run job, a second click): that
	// pull request is the answer.
	if rep.Number, rep.URL, err = gh.OpenPull(ctx, req.Base, rep.Branch); err != nil {
		return nil, err
	}
	if rep.Number != 0 {
		rep.Existing = true
		return rep, nil
	}
	if err := gh.CreateBranch(ctx, rep.Branch, head); err != nil {
		var apiErr *APIError
		if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnprocessableEntity {
			return nil, fmt.Errorf("%w (is branch %s left from an earlier proposal? delete it, or give --branch)", err, rep.Branch)
		}
		return nil, err
	}
	put := FileUpdate{
		Path:    req.File,
		Branch:  rep.Branch,
		Message: fmt.Sprintf("%s: serve snapshot %s", req.Base, req.Snapshot),
		Content: content,
	}
	if file != nil {
		put.SHA = file.SHA
	}
	if err := gh.PutFile(ctx, put); err != nil {
		return nil, cleanUp(ctx, gh, rep.Branch, err)
	}
	rep.Number, rep.URL, err = gh.CreatePull(ctx, PullRequest{Title: ProposalTitle(p), Head: rep.Branch, Base: req.Base, Body: ProposalBody(p)})
	if err != nil {
		return nil, cleanUp(ctx, gh, rep.Branch, err)
	}
	return rep, nil
}

// cleanUp deletes a proposal's branch after err, and says whether it could.
func cleanUp(ctx context.Context, gh *Client, branch string, err error) error {
	if derr := gh.DeleteBranch(ctx, branch); derr != nil {
		return fmt.Errorf("%w; branch %s is left behind: %w", err, branch, derr)
	}
	return fmt.Errorf("%w (branch %s deleted again)", err, branch)
}
