package ci

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/debflow/debflow/ci/githubtest"
	"github.com/debflow/debflow/repo"
)

const canaryFile = "# canary: the first hundred devices\nsnapshot: 2026-01-01 # see the PR history\nowner: ops\n"

func newProposeSetup(t *testing.T, files map[string]string) (*githubtest.Fleet, *githubtest.Server, *Client) {
	t.Helper()
	fleet := githubtest.NewFleet(t)
	srv := githubtest.New(t, "acme", "fleet-iac")
	srv.SetBranch("canary", "c0ffee", files)
	gh, _ := newTestClient(t, srv)
	return fleet, srv, gh
}

func TestPropose(t *testing.T) {
	fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
	rep, err := Propose(context.Background(), gh, fleet.Repo, ProposeRequest{Snapshot: "2026-01-02", File: "stages/canary.yaml", Base: "canary"})
	if err != nil {
		t.Fatal(err)
	}
	wantRoutes(t, srv,
		"GET /repos/acme/fleet-iac/git/ref/heads/canary",
		"GET /repos/acme/fleet-iac/contents/stages/canary.yaml",
		"GET /repos/acme/fleet-iac/pulls",
		"POST /repos/acme/fleet-iac/git/refs",
		"PUT /repos/acme/fleet-iac/contents/stages/canary.yaml",
		"POST /repos/acme/fleet-iac/pulls")
	reqs := srv.Requests()
	if reqs[1].Query != "ref=c0ffee" {
		t.Errorf("contents read at %q, want the head commit", reqs[1].Query)
	}
	if b := reqs[3].Body; b["ref"] != "refs/heads/debflow/promote-2026-01-02-to-canary" || b["sha"] != "c0ffee" {
		t.Errorf("ref %v", b)
	}
	put := reqs[4].Body
	if put["branch"] != "debflow/promote-2026-01-02-to-canary" || put["sha"] != "blob-c0ffee-stages/canary.yaml" || put["message"] != "canary: serve snapshot 2026-01-02" {
		t.Errorf("put %v", put)
	}
	want := strings.Replace(canaryFile, "2026-01-01", "2026-01-02", 1)
	if got := decodeContent(t, put); got != want {
		t.Errorf("new stage file\n%s\nwant\n%s", got, want)
	}
	if f, _ := srv.File("debflow/promote-2026-01-02-to-canary", "stages/canary.yaml"); f.Content != want {
		t.Errorf("branch holds %q", f.Content)
	}
	if f, _ := srv.File("canary", "stages/canary.yaml"); f.Content != canaryFile {
		t.Errorf("base changed: %q", f.Content)
	}
	pr := reqs[5].Body
	if pr["title"] != "Promote 2026-01-02 to canary" || pr["head"] != "debflow/promote-2026-01-02-to-canary" || pr["base"] != "canary" {
		t.Errorf("pull %v", pr)
	}
	wantContains(t, "body", pr["body"].(string),
		"Merging this pull request makes `canary` serve snapshot `2026-01-02`",
		"`stages/canary.yaml` names `2026-01-01` on `canary` now.",
		"- frozen from `development` (generation ",
		"- 4 packages",
		"#### Changes from `2026-01-01` to `2026-01-02`",
		"| upgraded | `hello` | `amd64` | `1.0` | `1.1` |",
		"| added | `newpkg` | `amd64` |  | `0.1` |")
	if rep.URL != srv.URL+"/acme/fleet-iac/pull/102" || rep.Number != 102 || rep.Previous != "2026-01-01" {
		t.Errorf("report %+v", rep)
	}
}

func TestProposePick(t *testing.T) {
	fleet, srv, gh := newProposeSetup(t, map[string]string{"canary.yaml": "snapshot: '2026-01-01'\n"})
	if _, err := Propose(context.Background(), gh, fleet.Repo, ProposeRequest{Snapshot: "2026-01-03", File: "canary.yaml", Base: "canary", Branch: "hotfix"}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if got := decodeContent(t, reqs[4].Body); got != "snapshot: '2026-01-03'\n" {
		t.Errorf("new stage file %q", got)
	}
	if reqs[3].Body["ref"] != "refs/heads/hotfix" {
		t.Errorf("branch %v", reqs[3].Body)
	}
	wantContains(t, "body", reqs[5].Body["body"].(string),
		"- made from snapshot `2026-01-01` with `hello=1.1` picked from `development`",
		"| upgraded | `hello` | `amd64` | `1.0` | `1.1` |")
}

func TestProposeNewStageFile(t *testing.T) {
	fleet, srv, gh := newProposeSetup(t, map[string]string{})
	if _, err := Propose(context.Background(), gh, fleet.Repo, ProposeRequest{Snapshot: "2026-01-01", File: "production.yaml", Base: "canary", CreateFile: true}); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if _, ok := reqs[4].Body["sha"]; ok || decodeContent(t, reqs[4].Body) != "snapshot: \"2026-01-01\"\n" {
		t.Errorf("create %v", reqs[4].Body)
	}
	wantContains(t, "body", reqs[5].Body["body"].(string), "`production.yaml` names no snapshot on `canary` yet.",
		"#### Changes from `(nothing)` to `2026-01-01`", "2 added, 0 removed")
}

func TestProposeNoOp(t *testing.T) {
	fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
	rep, err := Propose(context.Background(), gh, fleet.Repo, ProposeRequest{Snapshot: "2026-01-01", File: "stages/canary.yaml", Base: "canary"})
	if err != nil || !rep.NoOp {
		t.Fatalf("%+v, %v", rep, err)
	}
	wantRoutes(t, srv, "GET /repos/acme/fleet-iac/git/ref/heads/canary", "GET /repos/acme/fleet-iac/contents/stages/canary.yaml")
}

func TestProposeFailures(t *testing.T) {
	ctx := context.Background()
	req := ProposeRequest{Snapshot: "2026-01-02", File: "stages/canary.yaml", Base: "canary"}

	t.Run("unknown snapshot", func(t *testing.T) {
		fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
		r := req
		r.Snapshot = "2099-01-01"
		if _, err := Propose(ctx, gh, fleet.Repo, r); !errors.Is(err, repo.ErrNoSuite) {
			t.Errorf("%v, want ErrNoSuite", err)
		}
		wantRoutes(t, srv)
	})
	t.Run("no base branch", func(t *testing.T) {
		fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
		r := req
		r.Base = "beta"
		_, err := Propose(ctx, gh, fleet.Repo, r)
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(err.Error(), "GitHub read branch beta (GET /repos/acme/fleet-iac/git/ref/heads/beta): HTTP 404") {
			t.Errorf("%v", err)
		}
		wantRoutes(t, srv, "GET /repos/acme/fleet-iac/git/ref/heads/beta")
	})
	t.Run("bad stage file on base", func(t *testing.T) {
		fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": "- a list\n"})
		if _, err := Propose(ctx, gh, fleet.Repo, req); !errors.Is(err, ErrStageFile) {
			t.Errorf("%v, want ErrStageFile", err)
		}
		if len(srv.Requests()) != 2 {
			t.Errorf("wrote after a bad file: %v", srv.Routes())
		}
	})
	t.Run("branch exists", func(t *testing.T) {
		fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
		srv.SetBranch(ProposalBranch("canary", "2026-01-02"), "0ld", nil)
		_, err := Propose(ctx, gh, fleet.Repo, req)
		if err == nil || !strings.Contains(err.Error(), "HTTP 422: Reference already exists (is branch debflow/promote-2026-01-02-to-canary left from an earlier proposal?") {
			t.Errorf("%v", err)
		}
		if got := srv.Routes(); got[len(got)-1] != "POST /repos/acme/fleet-iac/git/refs" {
			t.Errorf("went on after the branch: %v", got)
		}
	})
	t.Run("pull request refused: branch deleted", func(t *testing.T) {
		fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
		srv.Fail("POST /repos/acme/fleet-iac/pulls", githubtest.Reply{Status: 422, Body: `{"message":"Validation Failed","errors":[{"message":"A pull request already exists for acme:debflow/promote-2026-01-02-to-canary."}]}`})
		_, err := Propose(ctx, gh, fleet.Repo, req)
		if err == nil || !strings.Contains(err.Error(), "A pull request already exists") || !strings.Contains(err.Error(), "(branch debflow/promote-2026-01-02-to-canary deleted again)") {
			t.Errorf("%v", err)
		}
		wantRoutes(t, srv,
			"GET /repos/acme/fleet-iac/git/ref/heads/canary",
			"GET /repos/acme/fleet-iac/contents/stages/canary.yaml",
			"GET /repos/acme/fleet-iac/pulls",
			"POST /repos/acme/fleet-iac/git/refs",
			"PUT /repos/acme/fleet-iac/contents/stages/canary.yaml",
			"POST /repos/acme/fleet-iac/pulls",
			"DELETE /repos/acme/fleet-iac/git/refs/heads/debflow/promote-2026-01-02-to-canary")
		if _, ok := srv.Ref("heads/debflow/promote-2026-01-02-to-canary"); ok {
			t.Error("branch left behind")
		}
	})
	t.Run("commit fails and cleanup fails", func(t *testing.T) {
		fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
		srv.Fail("PUT /repos/acme/fleet-iac/contents/stages/canary.yaml", githubtest.Reply{Status: 409, Body: `{"message":"sha does not match"}`})
		srv.Fail("DELETE /repos/acme/fleet-iac/git/refs/heads/debflow/promote-2026-01-02-to-canary", githubtest.Reply{Status: 403, Body: `{"message":"Forbidden"}`})
		_, err := Propose(ctx, gh, fleet.Repo, req)
		if err == nil || !strings.Contains(err.Error(), "HTTP 409: sha does not match; branch debflow/promote-2026-01-02-to-canary is left behind: ") {
			t.Errorf("%v", err)
		}
	})
}

// TestProposeExistingPullRequest: proposing again while the first pull
// request is open answers with that pull request and writes nothing; once
// it is closed, the left-over branch is reported as before.
func TestProposeExistingPullRequest(t *testing.T) {
	fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
	req := ProposeRequest{Snapshot: "2026-01-02", File: "stages/canary.yaml", Base: "canary"}
	first, err := Propose(context.Background(), gh, fleet.Repo, req)
	if err != nil {
		t.Fatal(err)
	}
	n := len(srv.Requests())
	again, err := Propose(context.Background(), gh, fleet.Repo, req)
	if err != nil || !again.Existing || again.URL != first.URL || again.Number != first.Number {
		t.Fatalf("%+v, %v; want the open pull request %s", again, err, first.URL)
	}
	if routes := srv.Routes()[n:]; strings.Join(routes, " ") != "GET /repos/acme/fleet-iac/git/ref/heads/canary GET /repos/acme/fleet-iac/contents/stages/canary.yaml GET /repos/acme/fleet-iac/pulls" {
		t.Errorf("requests: %v", routes)
	}
	if q := srv.Requests()[n+2].Query; !strings.Contains(q, "base=canary") || !strings.Contains(q, "head=acme%3Adebflow%2Fpromote-2026-01-02-to-canary") || !strings.Contains(q, "state=open") {
		t.Errorf("pulls listed with %q", q)
	}
	if len(srv.Pulls()) != 1 {
		t.Errorf("pull requests: %+v", srv.Pulls())
	}
	// Another base, or another snapshot, is another proposal.
	srv.SetBranch("production", "beef", map[string]string{"stages/canary.yaml": canaryFile})
	other := req
	other.Base = "production"
	if rep, err := Propose(context.Background(), gh, fleet.Repo, other); err != nil || rep.Existing || rep.URL == first.URL {
		t.Errorf("production: %+v, %v", rep, err)
	}
	srv.ClosePull(first.Number)
	if _, err := Propose(context.Background(), gh, fleet.Repo, req); err == nil || !strings.Contains(err.Error(), "left from an earlier proposal") {
		t.Errorf("after closing: %v", err)
	}
}

// TestProposeMissingFile: a stage file that does not exist on the base
// branch is refused before anything is written, unless CreateFile says a
// new one is meant.
func TestProposeMissingFile(t *testing.T) {
	fleet, srv, gh := newProposeSetup(t, map[string]string{"stages/canary.yaml": canaryFile})
	req := ProposeRequest{Snapshot: "2026-01-02", File: "stages/canery.yaml", Base: "canary"}
	_, err := Propose(context.Background(), gh, fleet.Repo, req)
	if !errors.Is(err, ErrStageFile) || !strings.Contains(err.Error(), "stages/canery.yaml does not exist on canary") {
		t.Errorf("%v", err)
	}
	wantRoutes(t, srv, "GET /repos/acme/fleet-iac/git/ref/heads/canary", "GET /repos/acme/fleet-iac/contents/stages/canery.yaml")
}
