package ci

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// TestPromoteGateRefusal: a merge into production whose gate is closed is
// refused, and the comment says what is missing and how long the soak has
// left, so that the operator can re-run the job later.
func TestPromoteGateRefusal(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-01\n")
	if _, err := s.fleet.Repo.SetGate(context.Background(), "production", repo.StageGate{Soak: repo.Duration(48 * time.Hour), RequireVerdict: true}, time.Second); err != nil {
		t.Fatal(err)
	}
	_, err := s.promote("production")
	var refused *RefusedError
	if !errors.As(err, &refused) || !errors.Is(err, snapshot.ErrGateClosed) {
		t.Fatalf("%v; want a reported gate refusal", err)
	}
	comment, _ := body(t, s.srv, 2)["body"].(string)
	wantContains(t, "comment", comment, "its gate is closed", "- soak time: `canary` has served it for ", "left**",
		"- a verdict: none recorded (`debflow verdict 2026-01-01 --stage canary --pass`)", "Re-run this merge job in ")
	if got := s.fleet.Serves(t, "production"); got != "" {
		t.Errorf("production serves %q after a refusal", got)
	}
}

// TestProposeMentionsGate: the pull request body of a proposal into a
// gated stage says what the gate requires and where the snapshot stands.
func TestProposeMentionsGate(t *testing.T) {
	fleet, srv, gh := newProposeSetup(t, nil)
	srv.SetBranch("production", "d00d", map[string]string{"production.yaml": "snapshot: 2026-01-02\n"})
	if _, err := fleet.Repo.SetGate(context.Background(), "production", repo.StageGate{Soak: repo.Duration(24 * time.Hour), RequireVerdict: true}, time.Second); err != nil {
		t.Fatal(err)
	}
	if _, err := Propose(context.Background(), gh, fleet.Repo, ProposeRequest{Snapshot: "2026-01-01", File: "production.yaml", Base: "production"}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	pr := reqs[len(reqs)-1].Body
	b, _ := pr["body"].(string)
	if !strings.Contains(b, "#### Gate") || !strings.Contains(b, "production takes a snapshot only after canary has served it for 24h0m0s and has a passing verdict") || !strings.Contains(b, "no verdict for it in canary") {
		t.Errorf("body does not describe the gate:\n%s", b)
	}
}
