package ci

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/ci/githubtest"
)

// newTestClient returns a Client on the fake whose retries do not wait;
// waits counts the waits.
func newTestClient(t *testing.T, srv *githubtest.Server) (*Client, *int) {
	t.Helper()
	waits := 0
	c, err := NewClient(Config{APIURL: srv.URL, Token: "t0k3n", Repository: srv.Owner + "/" + srv.Repo,
		Retry: Retry{Wait: func(ctx context.Context, try int) error { waits++; return ctx.Err() }}})
	if err != nil {
		t.Fatal(err)
	}
	return c, &waits
}

func TestNewClientConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no token":      {Repository: "a/b"},
		"no repository": {Token: "x"},
		"bad repo":      {Token: "x", Repository: "a/b/c"},
		"bad URL":       {Token: "x", Repository: "a/b", APIURL: "ftp://example.com"},
		"no host":       {Token: "x", Repository: "a/b", APIURL: "http://"},
	} {
		if _, err := NewClient(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
	}
	env := map[string]string{"GITHUB_API_URL": "https://ghe.example.com/api/v3", "GITHUB_TOKEN": "x", "GITHUB_REPOSITORY": "acme/fleet"}
	c, err := NewClient(ConfigFromEnv(func(k string) string { return env[k] }))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.gh.BaseURL.String(); got != "https://ghe.example.com/api/v3/" {
		t.Errorf("Enterprise base URL %s", got)
	}
	c, _ = NewClient(Config{Token: "x", Repository: "acme/fleet"})
	if got := c.gh.BaseURL.String(); got != "https://api.github.com/" {
		t.Errorf("default base URL %s", got)
	}
}

func TestClientSendsToken(t *testing.T) {
	srv := githubtest.New(t, "acme", "fleet")
	srv.SetBranch("canary", "c0ffee", nil)
	c, _ := newTestClient(t, srv)
	if sha, err := c.BranchHead(context.Background(), "canary"); err != nil || sha != "c0ffee" {
		t.Fatalf("BranchHead = %q, %v", sha, err)
	}
	if got := srv.Requests()[0].Auth; got != "Bearer t0k3n" {
		t.Errorf("Authorization %q", got)
	}
}

func TestClientRetriesTransientFailures(t *testing.T) {
	srv := githubtest.New(t, "acme", "fleet")
	c, waits := newTestClient(t, srv)
	ctx := context.Background()

	srv.Fail("POST /repos/acme/fleet/issues/3/comments", githubtest.Reply{Status: 502, Body: "bad gateway"}, githubtest.Reply{Status: 503, Body: `{"message":"busy"}`})
	if _, err := c.Comment(ctx, 3, "hi"); err != nil {
		t.Fatalf("after two 5xx: %v", err)
	}
	if got := len(srv.Requests()); got != 3 || *waits != 2 {
		t.Errorf("%d requests, %d waits; want 3 and 2", got, *waits)
	}

	srv.Fail("POST /repos/acme/fleet/issues/4/comments", githubtest.Reply{Status: 500}, githubtest.Reply{Status: 500}, githubtest.Reply{Status: 500, Body: `{"message":"oops"}`})
	_, err := c.Comment(ctx, 4, "hi")
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 || apiErr.Tries != 3 {
		t.Fatalf("after three 5xx: %#v", err)
	}
	if want := "GitHub comment on pull request (POST /repos/acme/fleet/issues/4/comments): HTTP 500: oops (after 3 tries)"; err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}

	srv.Drop("POST /repos/acme/fleet/issues/5/comments", 1)
	if _, err := c.Comment(ctx, 5, "hi"); err != nil {
		t.Errorf("after a dropped connection: %v", err)
	}
	srv.Drop("POST /repos/acme/fleet/issues/6/comments", 3)
	_, err = c.Comment(ctx, 6, "hi")
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 0 || !strings.Contains(err.Error(), "no reply") {
		t.Errorf("after three dropped connections: %v", err)
	}
}

func TestClientDoesNotRetryClientErrors(t *testing.T) {
	srv := githubtest.New(t, "acme", "fleet")
	c, waits := newTestClient(t, srv)
	srv.Fail("POST /repos/acme/fleet/deployments", githubtest.Reply{Status: 422,
		Body: `{"message":"Validation Failed","errors":[{"resource":"Deployment","field":"ref","code":"invalid"},{"message":"No ref found for: abc"}]}`})
	_, err := c.CreateDeployment(context.Background(), Deployment{Ref: "abc", Environment: "canary"})
	want := "GitHub create deployment (POST /repos/acme/fleet/deployments): HTTP 422: Validation Failed; Deployment ref invalid; No ref found for: abc"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
	if len(srv.Requests()) != 1 || *waits != 0 {
		t.Errorf("%d requests, %d waits", len(srv.Requests()), *waits)
	}
}

func TestClientRateLimits(t *testing.T) {
	reset := time.Now().Add(10 * time.Minute).Truncate(time.Second)
	for name, tc := range map[string]struct {
		reply     githubtest.Reply
		status    int
		wantReset time.Time
	}{
		"primary": {githubtest.Reply{Status: 403, Body: `{"message":"API rate limit exceeded for installation"}`,
			Header: map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Limit": "1000", "X-RateLimit-Reset": fmt.Sprint(reset.Unix())}}, 403, reset},
		"secondary": {githubtest.Reply{Status: 403, Body: `{"message":"You have exceeded a secondary rate limit","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`,
			Header: map[string]string{"Retry-After": "600"}}, 403, reset},
		"429": {githubtest.Reply{Status: 429, Body: `{"message":"Too Many Requests"}`, Header: map[string]string{"Retry-After": "600"}}, 429, reset},
	} {
		t.Run(name, func(t *testing.T) {
			srv := githubtest.New(t, "acme", "fleet")
			c, waits := newTestClient(t, srv)
			srv.Fail("POST /repos/acme/fleet/deployments/1/statuses", tc.reply)
			err := c.CreateDeploymentStatus(context.Background(), 1, DeploymentStatus{State: "success"})
			var apiErr *APIError
			if !errors.As(err, &apiErr) || !apiErr.RateLimit || apiErr.StatusCode != tc.status {
				t.Fatalf("%#v", err)
			}
			if d := apiErr.Reset.Sub(tc.wantReset); d < -5*time.Second || d > 5*time.Second {
				t.Errorf("reset %v, want about %v", apiErr.Reset, tc.wantReset)
			}
			if !strings.Contains(err.Error(), "rate limit exceeded (HTTP") || !strings.Contains(err.Error(), "resets at ") {
				t.Errorf("message %q", err)
			}
			if len(srv.Requests()) != 1 || *waits != 0 {
				t.Errorf("rate limit retried: %d requests, %d waits", len(srv.Requests()), *waits)
			}
		})
	}
}

func TestClientStopsWaitingOnCancel(t *testing.T) {
	srv := githubtest.New(t, "acme", "fleet")
	c, err := NewClient(Config{APIURL: srv.URL, Token: "x", Repository: "acme/fleet"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	srv.Fail("POST /repos/acme/fleet/pulls", githubtest.Reply{Status: 502}, githubtest.Reply{Status: 502})
	start := time.Now()
	_, _, err = c.CreatePull(ctx, PullRequest{Title: "t", Head: "h", Base: "b"})
	if err == nil || time.Since(start) > 900*time.Millisecond {
		t.Errorf("%v after %v; want an error well before the 1-second backoff", err, time.Since(start))
	}
}

func TestGetFileMissing(t *testing.T) {
	srv := githubtest.New(t, "acme", "fleet")
	srv.SetBranch("canary", "c0ffee", map[string]string{"stage.yaml": "snapshot: 2026-01-01\n"})
	c, _ := newTestClient(t, srv)
	f, err := c.GetFile(context.Background(), "stage.yaml", "c0ffee")
	if err != nil || string(f.Content) != "snapshot: 2026-01-01\n" || f.SHA == "" {
		t.Fatalf("GetFile = %+v, %v", f, err)
	}
	f, err = c.GetFile(context.Background(), "other.yaml", "c0ffee")
	if err != nil || f != nil {
		t.Errorf("missing file: %+v, %v", f, err)
	}
	if got := srv.Requests()[0]; got.Path != "/repos/acme/fleet/contents/stage.yaml" || got.Query != "ref=c0ffee" {
		t.Errorf("request %+v", got)
	}
}
