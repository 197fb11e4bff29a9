package ci

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v60/github"
)

// DefaultAPIURL is GitHub's REST API; GitHub Enterprise and tests set
// GITHUB_API_URL instead.
const DefaultAPIURL = "https://api.github.com"

// Config says where the GitHub API is and who calls it.
type Config struct {
	APIURL     string // the REST API root; default DefaultAPIURL
	Token      string // a token with the permissions the command needs
	Repository string // OWNER/NAME
	// HTTPClient sends the requests; default one with a 30-second timeout.
	HTTPClient *http.Client
	Retry      Retry
}

// ConfigFromEnv reads the variables GitHub Actions provides:
// GITHUB_API_URL, GITHUB_TOKEN and GITHUB_REPOSITORY.
func ConfigFromEnv(getenv func(string) string) Config {
	return Config{
		APIURL:     getenv("GITHUB_API_URL"),
		Token:      getenv("GITHUB_TOKEN"),
		Repository: getenv("GITHUB_REPOSITORY"),
	}
}

// Retry bounds how transient failures (no reply, HTTP 5xx) are retried.
// Rate limits are not retried: their error says when they end.
type Retry struct {
	// Attempts is how many times a call is sent at most; default 3.
	Attempts int
	// Wait waits before try number try+1 (try counts from 1); default
	// try seconds, cut short by ctx.
	Wait func(ctx context.Context, try int) error
}

func (r Retry) attempts() int {
	if r.Attempts <= 0 {
		return 3
	}
	return r.Attempts
}

func (r Retry) wait(ctx context.Context, try int) error {
	if r.Wait != nil {
		return r.Wait(ctx, try)
	}
	t := time.NewTimer(time.Duration(try) * time.Second)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Client makes the few GitHub REST calls debflow needs, on one repository:
// deployments, deployment statuses, issue comments, git refs, contents and
// pulls. Every error is an *APIError.
type Client struct {
	gh          *github.Client
	owner, name string
	retry       Retry
}

// NewClient checks cfg and returns a Client.
func NewClient(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, fmt.Errorf("%w: no token (GITHUB_TOKEN)", ErrConfig)
	}
	owner, name, ok := strings.Cut(cfg.Repository, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: repository %q is not OWNER/NAME (GITHUB_REPOSITORY)", ErrConfig, cfg.Repository)
	}
	api := cfg.APIURL
	if api == "" {
		api = DefaultAPIURL
	}
	base, err := url.Parse(strings.TrimSuffix(api, "/") + "/")
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("%w: API URL %q is not an http(s) URL (GITHUB_API_URL)", ErrConfig, api)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	gh := github.NewClient(hc).WithAuthToken(cfg.Token)
	// GITHUB_API_URL is the API root as it is (…/api/v3 on GitHub
	// Enterprise), so it is used unchanged rather than through
	// WithEnterpriseURLs, which would append api/v3/ to a test server.
	gh.BaseURL = base
	gh.UserAgent = "debflow"
	return &Client{gh: gh, owner: owner, name: name, retry: cfg.Retry}, nil
}

// Repository returns OWNER/NAME.
func (c *Client) Repository() string { return c.owner + "/" + c.name }

// do runs one API call with retries of transient failures, and turns its
// error into an *APIError.
func do[T any](ctx context.Context, c *Client, call, method, path string, fn func(context.Context) (T, *github.Response, error)) (T, error) {
	var zero T
	for try := 1; ; try++ {
		v, resp, err := fn(ctx)
		if err == nil {
			return v, nil
		}
		apiErr := newAPIError(call, method, path, resp, err)
		apiErr.Tries = try
		if ctx.Err() != nil || !apiErr.transient() || try >= c.retry.attempts() {
			return zero, apiErr
		}
		if werr := c.retry.wait(ctx, try); werr != nil {
			return zero, apiErr
		}
	}
}

// newAPIError classifies a go-github error.
func newAPIError(call, method, path string, resp *github.Response, err error) *APIError {
	e := &APIError{Call: call, Method: method, Path: path, Err: err}
	if resp != nil && resp.Response != nil {
		e.StatusCode = resp.StatusCode
	}
	var rl *github.RateLimitError
	var abuse *github.AbuseRateLimitError
	var er *github.ErrorResponse
	var accepted *github.AcceptedError
	switch {
	case errors.As(err, &rl):
		e.RateLimit, e.Message, e.Reset = true, rl.Message, rl.Rate.Reset.Time
		e.StatusCode = statusOf(rl.Response, e.StatusCode)
	case errors.As(err, &abuse):
		e.RateLimit, e.Message = true, abuse.Message
		e.StatusCode = statusOf(abuse.Response, e.StatusCode)
		if abuse.RetryAfter != nil {
			e.Reset = time.Now().Add(*abuse.RetryAfter)
		}
	case errors.As(err, &er):
		e.StatusCode = statusOf(er.Response, e.StatusCode)
		e.Message = errorMessage(er)
		if e.StatusCode == http.StatusTooManyRequests {
			e.RateLimit = true
			if er.Response != nil {
				e.Reset = retryAfter(er.Response.Header)
			}
		}
	case errors.As(err, &accepted):
		e.StatusCode = http.StatusAccepted
		e.Message = "accepted for later processing, not done"
	case e.StatusCode != 0 && (e.StatusCode < 200 || e.StatusCode > 299):
		// A reply that go-github could not decode.
		e.Message = err.Error()
	case e.StatusCode != 0:
		// A success status with a reply that does not make sense.
		e.Message = "unexpected reply: " + err.Error()
	}
	return e
}

func statusOf(r *http.Response, fallback int) int {
	if r != nil {
		return r.StatusCode
	}
	return fallback
}

// errorMessage joins GitHub's message with its error details.
func errorMessage(er *github.ErrorResponse) string {
	msg := er.Message
	for _, d := range er.Errors {
		detail := d.Message
		if detail == "" {
			detail = strings.TrimSpace(strings.Join([]string{d.Resource, d.Field, d.Code}, " "))
		}
		if detail != "" {
			msg += "; " + detail
		}
	}
	return msg
}

// retryAfter reads a Retry-After header in seconds.
func retryAfter(h http.Header) time.Time {
	if s, err := strconv.Atoi(h.Get("Retry-After")); err == nil {
		return time.Now().Add(time.Duration(s) * time.Second)
	}
	return time.Time{}
}

func (c *Client) repoPath(rest string) string {
	return "/repos/" + c.owner + "/" + c.name + "/" + rest
}

// Deployment is a GitHub deployment to create.
type Deployment struct {
	Ref         string // a commit SHA, branch or tag
	Environment string
	Description string
	Payload     any // a JSON object
}

// CreateDeployment creates a deployment and returns its id. The commit
// statuses of Ref are not required, and nothing is merged: the pull request
// was reviewed and merged already.
func (c *Client) CreateDeployment(ctx context.Context, d Deployment) (int64, error) {
	return do(ctx, c, "create deployment", "POST", c.repoPath("deployments"), func(ctx context.Context) (int64, *github.Response, error) {
		dep, resp, err := c.gh.Repositories.CreateDeployment(ctx, c.owner, c.name, &github.DeploymentRequest{
			Ref:              github.String(d.Ref),
			Environment:      github.String(d.Environment),
			Description:      github.String(d.Description),
			Payload:          d.Payload,
			AutoMerge:        github.Bool(false),
			RequiredContexts: &[]string{},
		})
		return dep.GetID(), resp, err
	})
}

// DeploymentStatus is a deployment status to post.
type DeploymentStatus struct {
	State       string // "success", "failure", ...
	Description string // at most 140 characters; longer ones are cut
	LogURL      string // the workflow run
}

// CreateDeploymentStatus posts a status of deployment id.
func (c *Client) CreateDeploymentStatus(ctx context.Context, id int64, s DeploymentStatus) error {
	path := c.repoPath(fmt.Sprintf("deployments/%d/statuses", id))
	_, err := do(ctx, c, "create deployment status", "POST", path, func(ctx context.Context) (struct{}, *github.Response, error) {
		req := &github.DeploymentStatusRequest{State: github.String(s.State), Description: github.String(truncate(s.Description, 140))}
		if s.LogURL != "" {
			req.LogURL = github.String(s.LogURL)
		}
		_, resp, err := c.gh.Repositories.CreateDeploymentStatus(ctx, c.owner, c.name, id, req)
		return struct{}{}, resp, err
	})
	return err
}

// Comment comments on pull request (or issue) number and returns the
// comment's URL.
func (c *Client) Comment(ctx context.Context, number int, body string) (string, error) {
	path := c.repoPath(fmt.Sprintf("issues/%d/comments", number))
	return do(ctx, c, "comment on pull request", "POST", path, func(ctx context.Context) (string, *github.Response, error) {
		cm, resp, err := c.gh.Issues.CreateComment(ctx, c.owner, c.name, number, &github.IssueComment{Body: github.String(body)})
		return cm.GetHTMLURL(), resp, err
	})
}

// BranchHead returns the commit SHA a branch points at.
func (c *Client) BranchHead(ctx context.Context, branch string) (string, error) {
	return do(ctx, c, "read branch "+branch, "GET", c.repoPath("git/ref/heads/"+branch), func(ctx context.Context) (string, *github.Response, error) {
		ref, resp, err := c.gh.Git.GetRef(ctx, c.owner, c.name, "heads/"+branch)
		if err == nil && ref.GetObject().GetSHA() == "" {
			err = fmt.Errorf("branch %s: reply has no commit SHA", branch)
		}
		return ref.GetObject().GetSHA(), resp, err
	})
}

// CreateBranch creates a branch at a commit.
func (c *Client) CreateBranch(ctx context.Context, branch, sha string) error {
	_, err := do(ctx, c, "create branch "+branch, "POST", c.repoPath("git/refs"), func(ctx context.Context) (struct{}, *github.Response, error) {
		_, resp, err := c.gh.Git.CreateRef(ctx, c.owner, c.name, &github.Reference{
			Ref:    github.String("refs/heads/" + branch),
			Object: &github.GitObject{SHA: github.String(sha)},
		})
		return struct{}{}, resp, err
	})
	return err
}

// DeleteBranch deletes a branch.
func (c *Client) DeleteBranch(ctx context.Context, branch string) error {
	_, err := do(ctx, c, "delete branch "+branch, "DELETE", c.repoPath("git/refs/heads/"+branch), func(ctx context.Context) (struct{}, *github.Response, error) {
		resp, err := c.gh.Git.DeleteRef(ctx, c.owner, c.name, "heads/"+branch)
		return struct{}{}, resp, err
	})
	return err
}

// File is a file read through the contents API.
type File struct {
	Content []byte
	SHA     string // the blob SHA, needed to update the file
}

// GetFile reads a file at ref; it returns nil, nil when there is no such
// file there.
func (c *Client) GetFile(ctx context.Context, path, ref string) (*File, error) {
	return do(ctx, c, "read "+path, "GET", c.repoPath("contents/"+path+"?ref="+url.QueryEscape(ref)), func(ctx context.Context) (*File, *github.Response, error) {
		fc, dir, resp, err := c.gh.Repositories.GetContents(ctx, c.owner, c.name, path, &github.RepositoryContentGetOptions{Ref: ref})
		if resp != nil && resp.StatusCode == http.StatusNotFound {
			return nil, resp, nil
		}
		if err != nil {
			return nil, resp, err
		}
		if fc == nil || dir != nil {
			return nil, resp, fmt.Errorf("%s is a directory", path)
		}
		text, err := fc.GetContent()
		if err != nil {
			return nil, resp, err
		}
		return &File{Content: []byte(text), SHA: fc.GetSHA()}, resp, nil
	})
}

// FileUpdate is a commit of one file through the contents API.
type FileUpdate struct {
	Path, Branch, Message string
	Content               []byte
	SHA                   string // the replaced blob; "" creates the file
}

// PutFile commits a file on a branch.
func (c *Client) PutFile(ctx context.Context, u FileUpdate) error {
	_, err := do(ctx, c, "write "+u.Path, "PUT", c.repoPath("contents/"+u.Path), func(ctx context.Context) (struct{}, *github.Response, error) {
		opts := &github.RepositoryContentFileOptions{
			Message: github.String(u.Message),
			Content: u.Content,
			Branch:  github.String(u.Branch),
		}
		if u.SHA != "" {
			opts.SHA = github.String(u.SHA)
		}
		_, resp, err := c.gh.Repositories.UpdateFile(ctx, c.owner, c.name, u.Path, opts)
		return struct{}{}, resp, err
	})
	return err
}

// PullRequest is a pull request to open.
type PullRequest struct {
	Title, Head, Base, Body string
}

// CreatePull opens a pull request and returns its number and URL.
func (c *Client) CreatePull(ctx context.Context, p PullRequest) (int, string, error) {
	type created struct {
		number int
		url    string
	}
	res, err := do(ctx, c, "open pull request", "POST", c.repoPath("pulls"), func(ctx context.Context) (created, *github.Response, error) {
		pr, resp, err := c.gh.PullRequests.Create(ctx, c.owner, c.name, &github.NewPullRequest{
			Title: github.String(p.Title),
			Head:  github.String(p.Head),
			Base:  github.String(p.Base),
			Body:  github.String(p.Body),
		})
		return created{pr.GetNumber(), pr.GetHTMLURL()}, resp, err
	})
	return res.number, res.url, err
}

// OpenPull returns the open pull request from branch head into base:
// its number and URL, or 0 and "" when there is none.
func (c *Client) OpenPull(ctx context.Context, base, head string) (int, string, error) {
	type found struct {
		number int
		url    string
	}
	res, err := do(ctx, c, "list pull requests", "GET", c.repoPath("pulls"), func(ctx context.Context) (found, *github.Response, error) {
		prs, resp, err := c.gh.PullRequests.List(ctx, c.owner, c.name, &github.PullRequestListOptions{
			State: "open", Base: base, Head: c.owner + ":" + head,
		})
		if err != nil {
			return found{}, resp, err
		}
		// The filters are GitHub's; check them anyway, since an API that
		// ignored one would make debflow point at another proposal.
		for _, pr := range prs {
			if pr.GetState() == "open" && pr.GetBase().GetRef() == base && pr.GetHead().GetRef() == head {
				return found{pr.GetNumber(), pr.GetHTMLURL()}, resp, nil
			}
		}
		return found{}, resp, nil
	})
	return res.number, res.url, err
}

// truncate cuts s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
