package ci

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// update rewrites the golden files: go test ./ci/ -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files under ci/testdata")

// golden compares got with testdata/NAME.golden, or rewrites that file with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run with -update to accept):\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}

var sampleChanges = []snapshot.Change{
	{Package: "hello", Arch: "amd64", Kind: snapshot.Upgraded, From: "1.0", To: "1.1", Appeared: []string{"1.1"}},
	{Package: "newpkg", Arch: "arm64", Kind: snapshot.Added, To: "0.3~rc1", Appeared: []string{"0.3~rc1"}},
	{Package: "oldlib", Arch: "all", Kind: snapshot.Removed, From: "2.1", Disappeared: []string{"2.1"}},
	{Package: "tool", Arch: "amd64", Kind: snapshot.Downgraded, From: "3.0", To: "2.9", Appeared: []string{"2.9"}, Disappeared: []string{"3.0"}},
}

func TestGoldenPromoteComment(t *testing.T) {
	base := PromoteOutcome{Number: 7, Stage: "canary", Snapshot: "2026-01-02", Commit: mergeSHA, RunURL: "https://github.com/acme/fleet/actions/runs/42"}
	for name, o := range map[string]PromoteOutcome{
		"promoted": with(base, func(o *PromoteOutcome) {
			o.Result = &repo.PromoteResult{Previous: "2026-01-01"}
			o.Changes = sampleChanges
		}),
		"first": with(base, func(o *PromoteOutcome) {
			o.Result = &repo.PromoteResult{}
			o.Changes = sampleChanges[1:2]
			o.RunURL = ""
		}),
		"rollback": with(base, func(o *PromoteOutcome) {
			o.Result = &repo.PromoteResult{Previous: "2026-01-03", Rollback: true}
			o.Changes = sampleChanges[3:]
		}),
		"noop": with(base, func(o *PromoteOutcome) { o.Result = &repo.PromoteResult{NoOp: true} }),
		"diff-error": with(base, func(o *PromoteOutcome) {
			o.Result = &repo.PromoteResult{Previous: "2026-01-01"}
			o.DiffErr = errors.New("reading 2026-01-01: gone")
		}),
		"refused": with(base, func(o *PromoteOutcome) {
			o.Stage = "production"
			o.Refused = fmt.Errorf("%w: 2026-01-02 has never been in canary, which comes before production", snapshot.ErrOutOfOrder)
			o.Serving = "2026-01-01"
		}),
		"gate-soak": with(base, func(o *PromoteOutcome) {
			o.Stage = "production"
			o.Refused = &snapshot.GateError{Stage: "production", Previous: "canary", Snapshot: "2026-01-02",
				Gate: snapshot.Gate{Soak: 48 * time.Hour, RequireVerdict: true}, Soaked: 10 * time.Hour, SoakLeft: 38 * time.Hour, NoVerdict: true}
			o.Serving = "2026-01-01"
		}),
		"gate-failed": with(base, func(o *PromoteOutcome) {
			o.Stage = "production"
			o.Refused = &snapshot.GateError{Stage: "production", Previous: "canary", Snapshot: "2026-01-02",
				Gate: snapshot.Gate{Soak: 48 * time.Hour, RequireVerdict: true}, Soaked: 50 * time.Hour,
				Failed: &snapshot.Verdict{Note: "boot loop on rev B boards", By: "rig-3", When: "2026-01-03T08:00:00Z"}}
			o.Serving = "2026-01-01"
		}),
	} {
		t.Run(name, func(t *testing.T) {
			golden(t, "comment-"+name+".md", PromoteComment(o))
		})
	}
}

func with(o PromoteOutcome, f func(*PromoteOutcome)) PromoteOutcome {
	f(&o)
	return o
}

func TestStatusDescription(t *testing.T) {
	long := errors.New(strings.Repeat("x", 300))
	for _, tc := range []struct {
		o     PromoteOutcome
		state string
		want  string
	}{
		{PromoteOutcome{Stage: "canary", Snapshot: "b", Result: &repo.PromoteResult{Previous: "a"}}, "success", "promoted canary from a to b"},
		{PromoteOutcome{Stage: "canary", Snapshot: "b", Result: &repo.PromoteResult{}}, "success", "promoted canary from (nothing) to b"},
		{PromoteOutcome{Stage: "canary", Snapshot: "a", Result: &repo.PromoteResult{Previous: "b", Rollback: true}}, "success", "rolled canary back from b to a"},
		{PromoteOutcome{Stage: "canary", Snapshot: "a", Result: &repo.PromoteResult{NoOp: true}}, "success", "canary serves a already"},
		{PromoteOutcome{Stage: "canary", Snapshot: "a", Refused: errors.New("no such suite: a\nmore")}, "failure", "refused: no such suite: a"},
		{PromoteOutcome{Refused: long}, "failure", "refused: " + strings.Repeat("x", 130) + "…"},
	} {
		if got := tc.o.StatusDescription(); got != tc.want || tc.o.State() != tc.state {
			t.Errorf("%+v: %q %q, want %q %q", tc.o, tc.o.State(), got, tc.state, tc.want)
		}
	}
}

func TestGoldenProposalBody(t *testing.T) {
	created := time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)
	for name, p := range map[string]Proposal{
		"frozen": {Snapshot: "2026-01-02", Base: "canary", File: "stages/canary.yaml", Previous: "2026-01-01", Changes: sampleChanges,
			Info: repo.SnapshotInfo{Created: created, Source: "development", SourceGeneration: 12, Packages: 40}},
		"pick": {Snapshot: "2026-01-02.02", Base: "production", File: "production.yaml", Previous: "2026-01-01", Changes: sampleChanges[:1],
			Info: repo.SnapshotInfo{Created: created, Source: "development", Base: "2026-01-01", Picks: []string{"hello=1.1", "tool=2.9"}, Packages: 40},
			Gate: "production takes a snapshot only after canary has served it for 48h0m0s and has a passing verdict for it (debflow verdict). Now: canary has served it for 10h0m0s of the 48h0m0s soak time, 38h0m0s left; no verdict for it in canary."},
		"new-file": {Snapshot: "2026-01-02", Base: "canary", File: "canary.yaml", Changes: []snapshot.Change{},
			Info: repo.SnapshotInfo{Source: "development", SourceGeneration: 3}, DiffErr: errors.New("cannot read")},
	} {
		t.Run(name, func(t *testing.T) {
			if got := ProposalTitle(p); got != "Promote "+p.Snapshot+" to "+p.Base {
				t.Errorf("title %q", got)
			}
			golden(t, "proposal-"+name+".md", ProposalBody(p))
		})
	}
}
