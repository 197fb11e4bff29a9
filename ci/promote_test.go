package ci

import (
	"context"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debflow/debflow/ci/githubtest"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

const mergeSHA = "4f5e6d7c8b9a4f5e6d7c8b9a4f5e6d7c8b9a0011"

// promoteSetup is a fleet, a fake GitHub, and a workspace whose stage file
// names snap.
type promoteSetup struct {
	fleet *githubtest.Fleet
	srv   *githubtest.Server
	gh    *Client
	file  string
}

func newPromoteSetup(t *testing.T, stageFile string) *promoteSetup {
	t.Helper()
	s := &promoteSetup{fleet: githubtest.NewFleet(t), srv: githubtest.New(t, "acme", "fleet")}
	s.gh, _ = newTestClient(t, s.srv)
	s.file = filepath.Join(t.TempDir(), "stage.yaml")
	if err := os.WriteFile(s.file, []byte(stageFile), 0o644); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *promoteSetup) promote(base string) (*PromoteReport, error) {
	return Promote(context.Background(), s.gh, s.fleet.Repo, PromoteRequest{
		Event:     PullRequestEvent{Action: "closed", Number: 7, Merged: true, Base: base, MergeSHA: mergeSHA, MergedBy: "alice"},
		StageFile: s.file,
		RunURL:    "https://github.com/acme/fleet/actions/runs/42",
	})
}

// wantRoutes checks the requests' methods and paths.
func wantRoutes(t *testing.T, srv *githubtest.Server, want ...string) {
	t.Helper()
	got := srv.Routes()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func body(t *testing.T, srv *githubtest.Server, i int) map[string]any {
	t.Helper()
	reqs := srv.Requests()
	if i >= len(reqs) {
		t.Fatalf("no request %d", i)
	}
	return reqs[i].Body
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s lacks %q:\n%s", what, sub, s)
		}
	}
}

func TestPromoteMerged(t *testing.T) {
	s := newPromoteSetup(t, "# canary\nsnapshot: 2026-01-02\n")
	rep, err := s.promote("canary")
	if err != nil {
		t.Fatal(err)
	}
	wantRoutes(t, s.srv,
		"POST /repos/acme/fleet/deployments",
		"POST /repos/acme/fleet/deployments/101/statuses",
		"POST /repos/acme/fleet/issues/7/comments")
	dep := body(t, s.srv, 0)
	if dep["ref"] != mergeSHA || dep["environment"] != "canary" || dep["auto_merge"] != false || len(dep["required_contexts"].([]any)) != 0 {
		t.Errorf("deployment %v", dep)
	}
	payload, _ := dep["payload"].(map[string]any)
	if payload["snapshot"] != "2026-01-02" || payload["stage"] != "canary" || payload["pull_request"] != float64(7) || payload["tool"] != "debflow" {
		t.Errorf("deployment payload %v", payload)
	}
	st := body(t, s.srv, 1)
	if st["state"] != "success" || st["description"] != "promoted canary from 2026-01-01 to 2026-01-02" || st["log_url"] != "https://github.com/acme/fleet/actions/runs/42" {
		t.Errorf("deployment status %v", st)
	}
	comment, _ := body(t, s.srv, 2)["body"].(string)
	wantContains(t, "comment", comment,
		"### debflow promoted `canary` to `2026-01-02`",
		"`canary` served `2026-01-01` before.",
		"#### Changes from `2026-01-01` to `2026-01-02`",
		"| upgraded | `hello` | `amd64` | `1.0` | `1.1` |",
		"| added | `newpkg` | `amd64` |  | `0.1` |",
		"1 added, 0 removed, 1 upgraded, 0 downgraded.",
		"Merge commit `4f5e6d7c8b9a`",
		"[workflow run](https://github.com/acme/fleet/actions/runs/42)")
	if got := s.fleet.Serves(t, "canary"); got != "2026-01-02" {
		t.Errorf("canary serves %q", got)
	}
	h, err := s.fleet.Repo.History(context.Background(), "canary")
	if err != nil {
		t.Fatal(err)
	}
	if by := h[len(h)-1].By; by != "alice merged acme/fleet#7 (https://github.com/acme/fleet/actions/runs/42)" {
		t.Errorf("history says by %q", by)
	}
	if !rep.Merged || rep.DeploymentID != 101 || !strings.Contains(rep.CommentURL, "/pull/7#issuecomment-") {
		t.Errorf("report %+v", rep)
	}
}

func TestPromoteIntoEmptyStageListsEverythingAdded(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-01\n")
	if _, err := Promote(context.Background(), s.gh, s.fleet.Repo, PromoteRequest{
		Event:     PullRequestEvent{Action: "closed", Number: 9, Merged: true, Base: "main", MergeSHA: mergeSHA},
		StageMap:  StageMap{"main": "production"},
		StageFile: s.file,
	}); err != nil {
		t.Fatal(err)
	}
	if env := body(t, s.srv, 0)["environment"]; env != "production" {
		t.Errorf("environment %v, want the mapped stage", env)
	}
	if _, ok := body(t, s.srv, 1)["log_url"]; ok {
		t.Errorf("log_url without a run: %v", body(t, s.srv, 1))
	}
	comment, _ := body(t, s.srv, 2)["body"].(string)
	wantContains(t, "comment", comment,
		"`production` served nothing before: every package is new to it.",
		"#### Changes from `(nothing)` to `2026-01-01`",
		"| added | `hello` | `amd64` |  | `1.0` |",
		"| added | `tool` | `all` |  | `1.0` |",
		"2 added, 0 removed, 0 upgraded, 0 downgraded.")
	if got := s.fleet.Serves(t, "production"); got != "2026-01-01" {
		t.Errorf("production serves %q", got)
	}
}

func TestPromoteUnmergedDoesNothing(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-02\n")
	rep, err := Promote(context.Background(), s.gh, s.fleet.Repo, PromoteRequest{
		Event: PullRequestEvent{Action: "closed", Number: 7, Base: "canary"}, StageFile: s.file})
	if err != nil || rep.Merged {
		t.Fatalf("%+v, %v", rep, err)
	}
	wantRoutes(t, s.srv)
	if got := s.fleet.Serves(t, "canary"); got != "2026-01-01" {
		t.Errorf("canary serves %q", got)
	}
}

func TestPromoteNoOp(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-01\n")
	if _, err := s.promote("canary"); err != nil {
		t.Fatal(err)
	}
	if st := body(t, s.srv, 1); st["state"] != "success" || st["description"] != "canary serves 2026-01-01 already" {
		t.Errorf("status %v", st)
	}
	comment, _ := body(t, s.srv, 2)["body"].(string)
	wantContains(t, "comment", comment, "### debflow: `canary` serves `2026-01-01` already", "Nothing changed.")
}

func TestPromoteRefused(t *testing.T) {
	for _, tc := range []struct {
		name, base, file string
		sentinel         error
		serving          string
	}{
		{"out of order", "production", "snapshot: 2026-01-02\n", snapshot.ErrOutOfOrder, ""},
		{"unknown snapshot", "canary", "snapshot: 2099-01-01\n", repo.ErrNoSuite, "2026-01-01"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newPromoteSetup(t, tc.file)
			before := map[string]string{"canary": s.fleet.Serves(t, "canary"), "production": s.fleet.Serves(t, "production")}
			_, err := s.promote(tc.base)
			var refused *RefusedError
			if !errors.As(err, &refused) || !errors.Is(err, tc.sentinel) || errors.Is(err, ErrNotReported) || refused.ReportErr != nil {
				t.Fatalf("%v; want a reported refusal matching %v", err, tc.sentinel)
			}
			wantContains(t, "error", err.Error(), "did not promote "+tc.base, "(reported on GitHub)")
			wantRoutes(t, s.srv,
				"POST /repos/acme/fleet/deployments",
				"POST /repos/acme/fleet/deployments/101/statuses",
				"POST /repos/acme/fleet/issues/7/comments")
			st := body(t, s.srv, 1)
			if st["state"] != "failure" || !strings.HasPrefix(st["description"].(string), "refused: ") || len([]rune(st["description"].(string))) > 140 {
				t.Errorf("status %v", st)
			}
			comment, _ := body(t, s.srv, 2)["body"].(string)
			wantContains(t, "comment", comment, "### debflow did not promote `"+tc.base+"`", "> ", tc.sentinel.Error())
			if tc.serving != "" {
				wantContains(t, "comment", comment, "Nothing changed: `"+tc.base+"` still serves `"+tc.serving+"`.")
			}
			for stage, was := range before {
				if got := s.fleet.Serves(t, stage); got != was {
					t.Errorf("%s serves %q, was %q", stage, got, was)
				}
			}
		})
	}
}

// TestPromoteUnmappedBranch: a merge into a branch that maps to no stage
// of the repository, or to its rolling suite, is refused before anything
// is created on GitHub, and nothing changes.
func TestPromoteUnmappedBranch(t *testing.T) {
	for _, tc := range []struct{ base, want string }{
		{"qa", "bad stage map: branch qa maps to qa, which is no stage of the repository (stages: canary, production); give --stage-map qa=STAGE"},
		{"development", "bad stage map: branch development maps to development, the rolling suite that publish feeds"},
	} {
		t.Run(tc.base, func(t *testing.T) {
			s := newPromoteSetup(t, "snapshot: 2026-01-02\n")
			before := testkit.TreeHash(t, s.fleet.Dir)
			_, err := s.promote(tc.base)
			if !errors.Is(err, ErrStageMap) || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("%v; want %s", err, tc.want)
			}
			wantRoutes(t, s.srv)
			if after := testkit.TreeHash(t, s.fleet.Dir); after != before {
				t.Error("the repository changed")
			}
		})
	}
}

func TestPromoteWithoutDeploymentPromotesNothing(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-02\n")
	s.srv.Fail("POST /repos/acme/fleet/deployments", githubtest.Reply{Status: 403, Body: `{"message":"Resource not accessible by integration"}`})
	_, err := s.promote("canary")
	if err == nil || !strings.HasPrefix(err.Error(), "nothing was promoted: GitHub create deployment") || !strings.Contains(err.Error(), "HTTP 403: Resource not accessible by integration") {
		t.Fatalf("%v", err)
	}
	wantRoutes(t, s.srv, "POST /repos/acme/fleet/deployments")
	if got := s.fleet.Serves(t, "canary"); got != "2026-01-01" {
		t.Errorf("canary serves %q", got)
	}
}

func TestPromoteNotReported(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-02\n")
	s.srv.Fail("POST /repos/acme/fleet/deployments/101/statuses", githubtest.Reply{Status: 404, Body: `{"message":"Not Found"}`})
	s.srv.Fail("POST /repos/acme/fleet/issues/7/comments", githubtest.Reply{Status: 502}, githubtest.Reply{Status: 502}, githubtest.Reply{Status: 502})
	_, err := s.promote("canary")
	if !errors.Is(err, ErrNotReported) {
		t.Fatalf("%v, want ErrNotReported", err)
	}
	wantContains(t, "error", err.Error(),
		"promoted canary to 2026-01-02, but GitHub was not told: ",
		"GitHub create deployment status (POST /repos/acme/fleet/deployments/101/statuses): HTTP 404: Not Found",
		"GitHub comment on pull request (POST /repos/acme/fleet/issues/7/comments): HTTP 502")
	var apiErr *APIError
	if !errors.As(err, &apiErr) {
		t.Errorf("no *APIError in %v", err)
	}
	// The promotion happened, and the comment was tried three times after
	// the status failed.
	if got := s.fleet.Serves(t, "canary"); got != "2026-01-02" {
		t.Errorf("canary serves %q", got)
	}
	wantRoutes(t, s.srv,
		"POST /repos/acme/fleet/deployments",
		"POST /repos/acme/fleet/deployments/101/statuses",
		"POST /repos/acme/fleet/issues/7/comments",
		"POST /repos/acme/fleet/issues/7/comments",
		"POST /repos/acme/fleet/issues/7/comments")
}

func TestPromoteRefusedAndNotReported(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-02\n")
	s.srv.Fail("POST /repos/acme/fleet/issues/7/comments", githubtest.Reply{Status: 403, Body: `{"message":"rate limited"}`,
		Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1900000000"}})
	_, err := s.promote("production")
	if !errors.Is(err, snapshot.ErrOutOfOrder) || errors.Is(err, ErrNotReported) {
		t.Fatalf("%v; want the refusal, not ErrNotReported", err)
	}
	wantContains(t, "error", err.Error(), "did not promote production to 2026-01-02: ", "; and GitHub was not told: ", "rate limit exceeded", "resets at 2030-03-17T17:46:40Z")
}

func TestPromoteRetriesTransientStatus(t *testing.T) {
	s := newPromoteSetup(t, "snapshot: 2026-01-02\n")
	s.srv.Fail("POST /repos/acme/fleet/deployments/101/statuses", githubtest.Reply{Status: 503})
	if _, err := s.promote("canary"); err != nil {
		t.Fatal(err)
	}
	wantRoutes(t, s.srv,
		"POST /repos/acme/fleet/deployments",
		"POST /repos/acme/fleet/deployments/101/statuses",
		"POST /repos/acme/fleet/deployments/101/statuses",
		"POST /repos/acme/fleet/issues/7/comments")
}

func TestPromoteBadStageFile(t *testing.T) {
	s := newPromoteSetup(t, "owner: ops\n")
	if _, err := s.promote("canary"); !errors.Is(err, ErrStageFile) {
		t.Fatalf("%v, want ErrStageFile", err)
	}
	s.file = filepath.Join(t.TempDir(), "missing.yaml")
	if _, err := s.promote("canary"); !errors.Is(err, ErrStageFile) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%v, want ErrStageFile", err)
	}
	wantRoutes(t, s.srv)
}

// decodeContent returns the base64 content of a contents API request.
func decodeContent(t *testing.T, b map[string]any) string {
	t.Helper()
	data, err := base64.StdEncoding.DecodeString(b["content"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
