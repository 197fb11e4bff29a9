package ci

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/google/go-github/v60/github"
)

// PullRequestEvent is what Promote needs of a pull_request event.
type PullRequestEvent struct {
	Action   string // "closed" for the merge job
	Number   int
	Merged   bool
	Base     string // the branch merged into
	MergeSHA string // the merge commit (the squash or rebase result too)
	URL      string // the pull request's web page
	MergedBy string // the login of who merged
	Repo     string // OWNER/NAME, from the event
}

// ReadEvent reads the event file GitHub Actions names in GITHUB_EVENT_PATH.
func ReadEvent(path string) (PullRequestEvent, error) {
	if path == "" {
		return PullRequestEvent{}, fmt.Errorf("%w: GITHUB_EVENT_PATH is not set (run this in a GitHub Actions job on pull_request)", ErrEvent)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return PullRequestEvent{}, fmt.Errorf("%w: %w", ErrEvent, err)
	}
	ev, err := ParseEvent(data)
	if err != nil {
		return PullRequestEvent{}, fmt.Errorf("%s: %w", path, err)
	}
	return ev, nil
}

// ParseEvent parses a pull_request event and checks that it is a closed
// pull request: the merge job must run on "closed" only, and a merged one
// must name its base branch and merge commit.
func ParseEvent(data []byte) (PullRequestEvent, error) {
	var raw github.PullRequestEvent
	if err := json.Unmarshal(data, &raw); err != nil {
		return PullRequestEvent{}, fmt.Errorf("%w: %w", ErrEvent, err)
	}
	pr := raw.GetPullRequest()
	if pr == nil {
		return PullRequestEvent{}, fmt.Errorf("%w: not a pull_request event (no pull_request object)", ErrEvent)
	}
	ev := PullRequestEvent{
		Action:   raw.GetAction(),
		Number:   raw.GetNumber(),
		Merged:   pr.GetMerged(),
		Base:     pr.GetBase().GetRef(),
		MergeSHA: pr.GetMergeCommitSHA(),
		URL:      pr.GetHTMLURL(),
		MergedBy: pr.GetMergedBy().GetLogin(),
		Repo:     raw.GetRepo().GetFullName(),
	}
	if ev.Number == 0 {
		ev.Number = pr.GetNumber()
	}
	if ev.Action != "closed" {
		return PullRequestEvent{}, fmt.Errorf("%w: pull request action %q, want \"closed\" (on: pull_request: types: [closed])", ErrEvent, ev.Action)
	}
	if ev.Number <= 0 {
		return PullRequestEvent{}, fmt.Errorf("%w: no pull request number", ErrEvent)
	}
	if ev.Merged && (ev.Base == "" || ev.MergeSHA == "") {
		return PullRequestEvent{}, fmt.Errorf("%w: merged pull request #%d without base branch or merge commit", ErrEvent, ev.Number)
	}
	return ev, nil
}

// RunURL returns the web page of the current GitHub Actions run, from
// GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID, or "" outside
// Actions.
func RunURL(getenv func(string) string) string {
	server, repo, run := getenv("GITHUB_SERVER_URL"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID")
	if server == "" || repo == "" || run == "" {
		return ""
	}
	return server + "/" + repo + "/actions/runs/" + run
}
