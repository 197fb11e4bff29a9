package ci

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestParseEvent(t *testing.T) {
	ev, err := ParseEvent([]byte(`{"action":"closed","number":7,"repository":{"full_name":"acme/fleet"},
		"pull_request":{"number":7,"merged":true,"merge_commit_sha":"abc","html_url":"https://github.com/acme/fleet/pull/7",
		"base":{"ref":"canary"},"merged_by":{"login":"alice"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := PullRequestEvent{Action: "closed", Number: 7, Merged: true, Base: "canary", MergeSHA: "abc",
		URL: "https://github.com/acme/fleet/pull/7", MergedBy: "alice", Repo: "acme/fleet"}
	if ev != want {
		t.Errorf("got %+v\nwant %+v", ev, want)
	}
	ev, err = ParseEvent([]byte(`{"action":"closed","number":8,"pull_request":{"merged":false,"base":{"ref":"canary"}}}`))
	if err != nil || ev.Merged {
		t.Errorf("unmerged: %+v, %v", ev, err)
	}
	for name, bad := range map[string]string{
		"not JSON":        `{`,
		"push event":      `{"ref":"refs/heads/main"}`,
		"opened":          `{"action":"opened","number":1,"pull_request":{}}`,
		"no number":       `{"action":"closed","pull_request":{"merged":false}}`,
		"merged, no base": `{"action":"closed","number":1,"pull_request":{"merged":true,"merge_commit_sha":"x"}}`,
		"merged, no sha":  `{"action":"closed","number":1,"pull_request":{"merged":true,"base":{"ref":"canary"}}}`,
	} {
		if _, err := ParseEvent([]byte(bad)); !errors.Is(err, ErrEvent) {
			t.Errorf("%s: %v, want ErrEvent", name, err)
		}
	}
	if _, err := ReadEvent(""); !errors.Is(err, ErrEvent) {
		t.Errorf("no path: %v", err)
	}
	if _, err := ReadEvent(filepath.Join(t.TempDir(), "missing.json")); !errors.Is(err, ErrEvent) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestRunURL(t *testing.T) {
	env := map[string]string{"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/fleet", "GITHUB_RUN_ID": "42"}
	if got, want := RunURL(func(k string) string { return env[k] }), "https://github.com/acme/fleet/actions/runs/42"; got != want {
		t.Errorf("RunURL = %q, want %q", got, want)
	}
	delete(env, "GITHUB_RUN_ID")
	if got := RunURL(func(k string) string { return env[k] }); got != "" {
		t.Errorf("outside Actions: %q", got)
	}
}
