package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/debflow/debflow/ci"
	"github.com/debflow/debflow/ci/githubtest"
)

// ghRun runs debflow in-process with the given environment and returns its
// exit status, stdout and stderr.
func ghRun(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute("test", args, env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }, now: time.Now})
	return code, stdout.String(), stderr.String()
}

// ghSetup is a fleet repository, a fake GitHub, and the Actions
// environment of a merge job.
type ghSetup struct {
	fleet *githubtest.Fleet
	srv   *githubtest.Server
	dir   string // the workspace
	vars  map[string]string
}

func newGHSetup(t *testing.T) *ghSetup {
	t.Helper()
	s := &ghSetup{fleet: githubtest.NewFleet(t), srv: githubtest.New(t, "acme", "fleet-iac"), dir: t.TempDir()}
	s.vars = map[string]string{
		"GITHUB_API_URL":    s.srv.URL,
		"GITHUB_TOKEN":      "ghs_test",
		"GITHUB_REPOSITORY": "acme/fleet-iac",
		"GITHUB_SERVER_URL": "https://github.com",
		"GITHUB_RUN_ID":     "4242",
		"GITHUB_EVENT_PATH": filepath.Join(s.dir, "event.json"),
	}
	return s
}

// event writes the pull_request event and the stage file.
func (s *ghSetup) event(t *testing.T, merged bool, base, stageFile string) {
	t.Helper()
	ev := map[string]any{
		"action": "closed",
		"number": 12,
		"pull_request": map[string]any{
			"number": 12, "merged": merged, "merge_commit_sha": "feedbeef00112233445566778899aabbccddeeff",
			"base": map[string]any{"ref": base}, "merged_by": map[string]any{"login": "alice"},
			"html_url": "https://github.com/acme/fleet-iac/pull/12",
		},
		"repository": map[string]any{"full_name": "acme/fleet-iac"},
	}
	data, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.vars["GITHUB_EVENT_PATH"], data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, "stage.yaml"), []byte(stageFile), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (s *ghSetup) promote(t *testing.T, extra ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"github", "promote", "--snapshot-file", filepath.Join(s.dir, "stage.yaml"), "--repo", s.fleet.Dir, "--key", s.fleet.KeyFile}, extra...)
	return ghRun(t, s.vars, args...)
}

func wantGHRoutes(t *testing.T, srv *githubtest.Server, want ...string) {
	t.Helper()
	if got := srv.Routes(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("requests:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestGitHubPromoteMerged(t *testing.T) {
	s := newGHSetup(t)
	s.event(t, true, "canary", "# canary\nsnapshot: 2026-01-02\n")
	code, stdout, stderr := s.promote(t)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	wantGHRoutes(t, s.srv,
		"POST /repos/acme/fleet-iac/deployments",
		"POST /repos/acme/fleet-iac/deployments/101/statuses",
		"POST /repos/acme/fleet-iac/issues/12/comments")
	reqs := s.srv.Requests()
	for _, r := range reqs {
		if r.Auth != "Bearer ghs_test" {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Auth)
		}
	}
	dep := reqs[0].Body
	if dep["ref"] != "feedbeef00112233445566778899aabbccddeeff" || dep["environment"] != "canary" {
		t.Errorf("deployment %v", dep)
	}
	if p, _ := dep["payload"].(map[string]any); p["snapshot"] != "2026-01-02" {
		t.Errorf("payload %v", dep["payload"])
	}
	if st := reqs[1].Body; st["state"] != "success" || st["log_url"] != "https://github.com/acme/fleet-iac/actions/runs/4242" {
		t.Errorf("status %v", st)
	}
	comment := reqs[2].Body["body"].(string)
	for _, want := range []string{"### debflow promoted `canary` to `2026-01-02`", "| upgraded | `hello` | `amd64` | `1.0` | `1.1` |", "| added | `newpkg` |"} {
		if !strings.Contains(comment, want) {
			t.Errorf("comment lacks %q:\n%s", want, comment)
		}
	}
	if !strings.HasPrefix(stdout, "promoted canary from 2026-01-01 to 2026-01-02 (deployment 101; ") {
		t.Errorf("stdout %q", stdout)
	}
	if got := s.fleet.Serves(t, "canary"); got != "2026-01-02" {
		t.Errorf("canary serves %q", got)
	}
	// The history says who merged, from the event.
	code, stdout, _ = ghRun(t, nil, "history", "--repo", s.fleet.Dir, "canary")
	if code != 0 || !strings.Contains(stdout, "2026-01-01 -> 2026-01-02  by alice merged acme/fleet-iac#12 (https://github.com/acme/fleet-iac/actions/runs/4242)") {
		t.Errorf("history (exit %d):\n%s", code, stdout)
	}
}

func TestGitHubPromoteStageMap(t *testing.T) {
	s := newGHSetup(t)
	s.event(t, true, "main", "snapshot: 2026-01-01\n")
	code, _, stderr := s.promote(t, "--stage-map", "main=production,beta=canary", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if env := s.srv.Requests()[0].Body["environment"]; env != "production" {
		t.Errorf("environment %v", env)
	}
	if got := s.fleet.Serves(t, "production"); got != "2026-01-01" {
		t.Errorf("production serves %q", got)
	}
	if code, _, stderr := s.promote(t, "--stage-map", "main"); code != exitUsage || !strings.Contains(stderr, "bad stage map") {
		t.Errorf("bad --stage-map: exit %d: %s", code, stderr)
	}
}

func TestGitHubPromoteUnmerged(t *testing.T) {
	s := newGHSetup(t)
	s.event(t, false, "canary", "snapshot: 2026-01-02\n")
	delete(s.vars, "GITHUB_TOKEN") // not needed to do nothing
	code, stdout, stderr := s.promote(t)
	if code != 0 || stdout != "pull request #12 was closed without merging: nothing to promote\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	wantGHRoutes(t, s.srv)
	if got := s.fleet.Serves(t, "canary"); got != "2026-01-01" {
		t.Errorf("canary serves %q", got)
	}
}

func TestGitHubPromoteRefused(t *testing.T) {
	for _, tc := range []struct {
		name, base, snap string
		code             int
		msg              string
	}{
		{"out of order", "production", "2026-01-02", exitConflict, "debflow: did not promote production to 2026-01-02 (reported on GitHub): promotion out of order: "},
		{"unknown snapshot", "canary", "2099-01-01", exitInput, "debflow: did not promote canary to 2099-01-01 (reported on GitHub): no such suite"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newGHSetup(t)
			s.event(t, true, tc.base, "snapshot: "+tc.snap+"\n")
			code, _, stderr := s.promote(t)
			if code != tc.code || !strings.HasPrefix(stderr, tc.msg) {
				t.Errorf("exit %d (want %d): %s", code, tc.code, stderr)
			}
			wantGHRoutes(t, s.srv,
				"POST /repos/acme/fleet-iac/deployments",
				"POST /repos/acme/fleet-iac/deployments/101/statuses",
				"POST /repos/acme/fleet-iac/issues/12/comments")
			reqs := s.srv.Requests()
			if st := reqs[1].Body; st["state"] != "failure" || !strings.HasPrefix(fmt.Sprint(st["description"]), "refused: ") {
				t.Errorf("status %v", st)
			}
			if c := reqs[2].Body["body"].(string); !strings.Contains(c, "### debflow did not promote `"+tc.base+"` to `"+tc.snap+"`") {
				t.Errorf("comment:\n%s", c)
			}
		})
	}
}

func TestGitHubPromoteAPIErrors(t *testing.T) {
	t.Run("deployment refused: nothing promoted", func(t *testing.T) {
		s := newGHSetup(t)
		s.event(t, true, "canary", "snapshot: 2026-01-02\n")
		s.srv.Fail("POST /repos/acme/fleet-iac/deployments", githubtest.Reply{Status: 403, Body: `{"message":"Resource not accessible by integration"}`})
		code, _, stderr := s.promote(t)
		want := "debflow: nothing was promoted: GitHub create deployment (POST /repos/acme/fleet-iac/deployments): HTTP 403: Resource not accessible by integration\n"
		if code != exitFailure || stderr != want {
			t.Errorf("exit %d, stderr\n%s\nwant\n%s", code, stderr, want)
		}
		wantGHRoutes(t, s.srv, "POST /repos/acme/fleet-iac/deployments")
		if got := s.fleet.Serves(t, "canary"); got != "2026-01-01" {
			t.Errorf("canary serves %q", got)
		}
	})
	t.Run("status and comment refused: promoted, not told", func(t *testing.T) {
		s := newGHSetup(t)
		s.event(t, true, "canary", "snapshot: 2026-01-02\n")
		s.srv.Fail("POST /repos/acme/fleet-iac/deployments/101/statuses", githubtest.Reply{Status: 422, Body: `{"message":"Validation Failed"}`})
		s.srv.Fail("POST /repos/acme/fleet-iac/issues/12/comments", githubtest.Reply{Status: 403, Body: `{"message":"API rate limit exceeded"}`,
			Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1900000000"}})
		code, _, stderr := s.promote(t)
		if code != exitNotReported {
			t.Errorf("exit %d, want %d", code, exitNotReported)
		}
		for _, want := range []string{
			"debflow: promoted canary to 2026-01-02, but GitHub was not told: ",
			"GitHub create deployment status (POST /repos/acme/fleet-iac/deployments/101/statuses): HTTP 422: Validation Failed",
			"GitHub comment on pull request (POST /repos/acme/fleet-iac/issues/12/comments): rate limit exceeded (HTTP 403), resets at 2030-03-17T17:46:40Z",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr)
			}
		}
		if got := s.fleet.Serves(t, "canary"); got != "2026-01-02" {
			t.Errorf("canary serves %q", got)
		}
	})
	t.Run("GitHub unreachable", func(t *testing.T) {
		waits := 0
		githubRetry = ci.Retry{Wait: func(context.Context, int) error { waits++; return nil }}
		defer func() { githubRetry = ci.Retry{} }()
		s := newGHSetup(t)
		s.event(t, true, "canary", "snapshot: 2026-01-02\n")
		s.vars["GITHUB_API_URL"] = "http://127.0.0.1:1"
		code, _, stderr := s.promote(t)
		if code != exitFailure || !strings.Contains(stderr, "debflow: nothing was promoted: GitHub create deployment (POST /repos/acme/fleet-iac/deployments): no reply: ") ||
			!strings.HasSuffix(stderr, " (after 3 tries)\n") || waits != 2 {
			t.Errorf("exit %d, %d waits: %s", code, waits, stderr)
		}
	})
	t.Run("no token", func(t *testing.T) {
		s := newGHSetup(t)
		s.event(t, true, "canary", "snapshot: 2026-01-02\n")
		delete(s.vars, "GITHUB_TOKEN")
		if code, _, stderr := s.promote(t); code != exitUsage || !strings.Contains(stderr, "GITHUB_TOKEN") {
			t.Errorf("exit %d: %s", code, stderr)
		}
		wantGHRoutes(t, s.srv)
	})
	t.Run("bad event", func(t *testing.T) {
		s := newGHSetup(t)
		s.event(t, true, "canary", "snapshot: 2026-01-02\n")
		if err := os.WriteFile(s.vars["GITHUB_EVENT_PATH"], []byte(`{"action":"opened","number":3,"pull_request":{}}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := s.promote(t); code != exitInput || !strings.Contains(stderr, `pull request action "opened"`) {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
	t.Run("bad stage file", func(t *testing.T) {
		s := newGHSetup(t)
		s.event(t, true, "canary", "snapshots: 2026-01-02\n")
		if code, _, stderr := s.promote(t); code != exitInput || !strings.Contains(stderr, `bad stage file: no "snapshot" key`) {
			t.Errorf("exit %d: %s", code, stderr)
		}
		wantGHRoutes(t, s.srv)
	})
}

func TestGitHubPropose(t *testing.T) {
	s := newGHSetup(t)
	s.srv.SetBranch("canary", "c0ffee", map[string]string{"stage.yaml": "snapshot: 2026-01-01 # canary\n"})
	code, stdout, stderr := ghRun(t, s.vars, "github", "propose", "2026-01-02", "--file", "stage.yaml", "--base", "canary", "--repo", s.fleet.Dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if want := s.srv.URL + "/acme/fleet-iac/pull/102\n"; stdout != want {
		t.Errorf("stdout %q, want %q", stdout, want)
	}
	wantGHRoutes(t, s.srv,
		"GET /repos/acme/fleet-iac/git/ref/heads/canary",
		"GET /repos/acme/fleet-iac/contents/stage.yaml",
		"GET /repos/acme/fleet-iac/pulls",
		"POST /repos/acme/fleet-iac/git/refs",
		"PUT /repos/acme/fleet-iac/contents/stage.yaml",
		"POST /repos/acme/fleet-iac/pulls")
	reqs := s.srv.Requests()
	if b := reqs[3].Body; b["ref"] != "refs/heads/debflow/promote-2026-01-02-to-canary" || b["sha"] != "c0ffee" {
		t.Errorf("branch %v", b)
	}
	content, _ := base64.StdEncoding.DecodeString(fmt.Sprint(reqs[4].Body["content"]))
	if string(content) != "snapshot: 2026-01-02 # canary\n" || reqs[4].Body["sha"] != "blob-c0ffee-stage.yaml" {
		t.Errorf("put %v (%q)", reqs[4].Body, content)
	}
	pr := reqs[5].Body
	if pr["base"] != "canary" || pr["head"] != "debflow/promote-2026-01-02-to-canary" || pr["title"] != "Promote 2026-01-02 to canary" ||
		!strings.Contains(fmt.Sprint(pr["body"]), "#### Changes from `2026-01-01` to `2026-01-02`") {
		t.Errorf("pull %v", pr)
	}

	// Proposed again once merged: nothing to do.
	s.srv.SetBranch("canary", "d00d", map[string]string{"stage.yaml": "snapshot: 2026-01-02\n"})
	code, stdout, stderr = ghRun(t, s.vars, "github", "propose", "2026-01-02", "--file", "stage.yaml", "--base", "canary", "--repo", s.fleet.Dir)
	if code != 0 || stdout != "" || stderr != "stage.yaml names 2026-01-02 on canary already: nothing to propose\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestGitHubProposeErrors(t *testing.T) {
	s := newGHSetup(t)
	s.srv.SetBranch("canary", "c0ffee", map[string]string{"stage.yaml": "snapshot: 2026-01-01\n"})
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"2026-01-02", "--base", "canary"}, exitUsage, "--file PATH and --base BRANCH are required"},
		{[]string{"2026-01-02", "--file", "stage.yaml", "--base", "canary", "--nope"}, exitUsage, "unknown flag: --nope"},
		{[]string{"2099-01-01", "--file", "stage.yaml", "--base", "canary"}, exitInput, "no such suite"},
		{[]string{"2026-01-02", "--file", "stage.yaml", "--base", "beta"}, exitFailure, "GitHub read branch beta (GET /repos/acme/fleet-iac/git/ref/heads/beta): HTTP 404: Not Found"},
		{[]string{"2026-01-02", "--file", "stage.yaml", "--base", "canary", "--github-repo", "acme"}, exitUsage, `repository "acme" is not OWNER/NAME`},
	} {
		args := append([]string{"github", "propose", "--repo", s.fleet.Dir}, tc.args...)
		if code, _, stderr := ghRun(t, s.vars, args...); code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%v: exit %d (want %d): %s", tc.args, code, tc.code, stderr)
		}
	}
}

// TestGitHubProposeTwice: a proposal that is open already is answered with
// its URL (exit 0); a stage file missing on the base branch is refused
// (exit 3) unless --create-file says a new one is meant.
func TestGitHubProposeTwice(t *testing.T) {
	s := newGHSetup(t)
	s.srv.SetBranch("canary", "c0ffee", map[string]string{"stage.yaml": "snapshot: 2026-01-01\n"})
	args := []string{"github", "propose", "2026-01-02", "--file", "stage.yaml", "--base", "canary", "--repo", s.fleet.Dir}
	code, first, stderr := ghRun(t, s.vars, args...)
	if code != 0 || first == "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, again, stderr := ghRun(t, s.vars, args...)
	if code != 0 || again != first || !strings.Contains(stderr, "proposes 2026-01-02 for canary already") {
		t.Errorf("again: exit %d, stdout %q (first %q), stderr %q", code, again, first, stderr)
	}
	code, out, _ := ghRun(t, s.vars, append(args, "--json")...)
	var rep ci.ProposeReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || !rep.Existing || rep.URL+"\n" != first {
		t.Errorf("--json: exit %d, %s", code, out)
	}
	if n := len(s.srv.Pulls()); n != 1 {
		t.Errorf("%d pull requests", n)
	}

	s.srv.SetBranch("production", "beef", map[string]string{"stage.yaml": "snapshot: 2026-01-01\n"})
	missing := []string{"github", "propose", "2026-01-01", "--file", "production.yaml", "--base", "production", "--repo", s.fleet.Dir}
	before := len(s.srv.Requests())
	if code, stdout, stderr := ghRun(t, s.vars, missing...); code != exitInput || stdout != "" || !strings.Contains(stderr, "production.yaml does not exist on production") {
		t.Errorf("missing file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	for _, r := range s.srv.Requests()[before:] {
		if r.Method != "GET" {
			t.Errorf("missing file: %s %s", r.Method, r.Path)
		}
	}
	if code, stdout, stderr := ghRun(t, s.vars, append(missing, "--create-file")...); code != 0 || !strings.Contains(stdout, "/pull/") {
		t.Errorf("--create-file: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestGitHubPromoteUnmappedBranch: a merge into a branch that maps to no
// stage is refused (exit 2) before any deployment is created.
func TestGitHubPromoteUnmappedBranch(t *testing.T) {
	s := newGHSetup(t)
	s.event(t, true, "main", "snapshot: 2026-01-02\n")
	code, stdout, stderr := s.promote(t)
	if code != exitUsage || stdout != "" || !strings.Contains(stderr, "branch main maps to main, which is no stage of the repository (stages: canary, production); give --stage-map main=STAGE") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	wantGHRoutes(t, s.srv)
	if code, _, stderr := s.promote(t, "--stage-map", "main=canary"); code != 0 {
		t.Errorf("mapped: exit %d: %s", code, stderr)
	}
}

// TestExampleWorkflowCommands checks every debflow command line in the
// example pipelines under ci/ against the real command tree: the command
// exists and takes those flags and that many arguments.
func TestExampleWorkflowCommands(t *testing.T) {
	files, err := filepath.Glob("../../ci/*/*.yml")
	if err != nil || len(files) < 4 {
		t.Fatalf("example pipelines: %v, %v", files, err)
	}
	seen := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, script := range scripts(&doc) {
			for _, line := range debflowCommands(script) {
				seen++
				args := shellWords(expandPlaceholders(line))
				t.Logf("%s: %q", filepath.Base(file), args)
				if err := checkCommandLine(args[1:]); err != nil {
					t.Errorf("%s: %q: %v", file, line, err)
				}
			}
		}
	}
	if seen < 7 {
		t.Errorf("found only %d debflow command lines", seen)
	}
	// The checker itself refuses what the CLI refuses.
	for _, bad := range []string{"debflow github promote --snapshot-fil x", "debflow publish", "debflow snapshot nope", "debflow github propose a b --file f --base b"} {
		if err := checkCommandLine(shellWords(bad)[1:]); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// scripts returns every shell script in a pipeline: GitHub Actions "run"
// values and GitLab "script", "before_script" and "after_script" items.
func scripts(n *yaml.Node) []string {
	var out []string
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			switch {
			case k == "run" && v.Kind == yaml.ScalarNode:
				out = append(out, v.Value)
			case (k == "script" || k == "before_script" || k == "after_script") && v.Kind == yaml.SequenceNode:
				for _, item := range v.Content {
					out = append(out, item.Value)
				}
			}
		}
	}
	for _, c := range n.Content {
		out = append(out, scripts(c)...)
	}
	return out
}

// debflowCommand finds debflow invocations: at the start of a line, after
// "$(", or after a pipe or a command separator; each ends at a closing
// parenthesis, a pipe, a separator or a redirection.
var debflowCommand = regexp.MustCompile(`(?m)(?:^\s*|\$\(\s*|[|;&]\s*)(debflow\s[^)|;&>\n]*)`)

func debflowCommands(script string) []string {
	script = strings.ReplaceAll(script, "\\\n", " ")
	var out []string
	for _, m := range debflowCommand.FindAllStringSubmatch(script, -1) {
		out = append(out, strings.TrimSpace(m[1]))
	}
	return out
}

// expandPlaceholders replaces ${{ ... }} expressions and $VAR / ${VAR}
// references with a dummy word.
var placeholder = regexp.MustCompile(`\$\{\{[^}]*\}\}|\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)

func expandPlaceholders(s string) string {
	return placeholder.ReplaceAllString(s, "x")
}

// shellWords splits a command line as a POSIX shell would for plain words
// and single- and double-quoted strings.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' || c == '"':
			inWord = true
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// checkCommandLine finds the command args name in the real command tree and
// checks its flags and argument count without running it.
func checkCommandLine(args []string) error {
	root := newRootCmd("test", env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, now: time.Now})
	cmd, rest, err := root.Find(args)
	if err != nil {
		return err
	}
	if !cmd.Runnable() {
		return fmt.Errorf("%s is not a command that runs", cmd.CommandPath())
	}
	if err := cmd.ParseFlags(rest); err != nil {
		return err
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return err
	}
	return cmd.ValidateArgs(cmd.Flags().Args())
}
