package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/ci/githubtest"
	"github.com/debflow/debflow/internal/testkit"
)

// commandTree returns every command of the real tree, root included, as
// argument paths ("snapshot create" is {"snapshot", "create"}).
func commandTree(t *testing.T) []*cobra.Command {
	t.Helper()
	root := newRootCmd("test", env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, now: time.Now})
	var out []*cobra.Command
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		out = append(out, c)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out
}

// argPath is a command's path without the root's name.
func argPath(c *cobra.Command) []string {
	return strings.Fields(c.CommandPath())[1:]
}

// TestUnknownSubcommandEveryLevel: a mistyped subcommand is refused with
// exit 2 and a suggestion, under every command that has subcommands, also
// when flags follow it.
func TestUnknownSubcommandEveryLevel(t *testing.T) {
	groups := 0
	for _, c := range commandTree(t) {
		if !c.HasSubCommands() {
			continue
		}
		groups++
		sub := c.Commands()[0].Name()
		typo := sub[:len(sub)-1]
		for _, extra := range [][]string{nil, {"--lock-timeout", "1s"}} {
			args := append(append(argPath(c), typo), extra...)
			code, stdout, stderr := ghRun(t, nil, args...)
			if code != exitUsage || !strings.Contains(stderr, "Did you mean this?\n\t"+sub+"\n") || stdout != "" {
				t.Errorf("debflow %s: exit %d, stdout %q, stderr %q", strings.Join(args, " "), code, stdout, stderr)
			}
		}
	}
	if groups < 4 { // root, key, snapshot, github at least
		t.Errorf("only %d commands with subcommands", groups)
	}
	for _, tc := range []struct{ args, want string }{
		{"snapshot creat", "unknown command \"creat\" for \"debflow snapshot\"\n\nDid you mean this?\n\tcreate\n"},
		{"creat", "Did you mean this?\n\tmirror create\n\tsnapshot create\n"},
		{"github promot", "Did you mean this?\n\tpromote\n"},
		{"snapshot nothing-like-it", "unknown command \"nothing-like-it\" for \"debflow snapshot\"\n\nRun 'debflow snapshot --help'"},
	} {
		code, _, stderr := ghRun(t, nil, strings.Fields(tc.args)...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("debflow %s: exit %d, stderr %q, want %q", tc.args, code, stderr, tc.want)
		}
	}
	// Alone, a group still prints its help.
	if code, stdout, _ := ghRun(t, nil, "snapshot"); code != 0 || !strings.Contains(stdout, "Available Commands:") {
		t.Errorf("debflow snapshot: exit %d, %q", code, stdout)
	}
}

// TestJSONEverywhere runs every command of the tree with --json against a
// small repository: each either prints valid JSON on stdout (and nothing
// else there), or refuses with exit 2. A command marked as having no JSON
// output must refuse, saying so. The commands listed in good get arguments
// that make them succeed; they must print JSON without a null in it.
func TestJSONEverywhere(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	work := t.TempDir()
	deb := testkit.WriteDeb(t, work, testkit.Deb{Name: "later", Version: "2.0", Arch: "amd64"})
	good := map[string][]string{
		"status":          nil,
		"history":         {"canary"},
		"verify":          nil,
		"refresh":         nil,
		"gc":              {"--dry-run"},
		"publish":         {deb},
		"snapshot list":   nil,
		"snapshot show":   {"2026-01-01"},
		"snapshot diff":   {"2026-01-01", "2026-01-02"},
		"snapshot create": {"--name", "2026-02-01"},
		"snapshot pick":   {"2026-01-01", "hello=1.1", "--name", "2026-02-02"},
		"promote":         {"2026-01-02", "--to", "canary"},
		"build":           {"--spec", mustAbs("../../testdata/example/nfpm.yaml"), "--out", filepath.Join(work, "dist"), "--version", "1.0.0", "--unsigned"},
	}
	ran := map[string]bool{}
	for _, c := range commandTree(t) {
		if !c.Runnable() {
			continue
		}
		path := strings.Join(argPath(c), " ")
		_, none := c.Annotations[jsonAnnotation]
		args := append(argPath(c), "--json", "--repo", fleet.Dir, "--key", fleet.KeyFile)
		extra, isGood := good[path]
		args = append(args, extra...)
		code, stdout, stderr := ghRunWithin(t, 2*time.Minute, args...)
		ran[path] = true
		switch {
		case none:
			if code != exitUsage || !strings.Contains(stderr, "has no JSON output") || stdout != "" {
				t.Errorf("debflow %s: exit %d, stdout %q, stderr %q; want a refusal of --json", strings.Join(args, " "), code, stdout, stderr)
			}
		case code == 0 || isGood:
			if code != 0 {
				t.Errorf("debflow %s: exit %d: %s", strings.Join(args, " "), code, stderr)
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(stdout), &v); err != nil || stdout == "" {
				t.Errorf("debflow %s: stdout is not JSON (%v):\n%s", strings.Join(args, " "), err, stdout)
			}
			if isGood && strings.Contains(stdout, "null") {
				t.Errorf("debflow %s: null in the JSON:\n%s", strings.Join(args, " "), stdout)
			}
		case code != exitUsage:
			t.Errorf("debflow %s: exit %d (want 0 with JSON, or 2): %s", strings.Join(args, " "), code, stderr)
		case stdout != "":
			t.Errorf("debflow %s: exit 2 with stdout %q", strings.Join(args, " "), stdout)
		}
	}
	for path := range good {
		if !ran[path] {
			t.Errorf("command %q is not in the tree any more", path)
		}
	}
}

// ghRunWithin is ghRun that fails the test when the command has not
// returned within d (such as a server started with --json).
func ghRunWithin(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code           int
		stdout, stderr string
	}
	done := make(chan result, 1)
	go func() {
		var stdout, stderr bytes.Buffer
		code := Execute("test", args, env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, now: time.Now})
		done <- result{code, stdout.String(), stderr.String()}
	}()
	select {
	case r := <-done:
		return r.code, r.stdout, r.stderr
	case <-time.After(d):
		t.Fatalf("debflow %s: still running after %v", strings.Join(args, " "), d)
		return 0, "", ""
	}
}

// TestWriteJSON: nil lists and maps are written as [] and {}, wherever
// they are, and nothing is HTML-escaped.
func TestWriteJSON(t *testing.T) {
	type item struct {
		Name  string   `json:"name"`
		Tags  []string `json:"tags"`
		Empty []int    `json:"empty,omitempty"`
	}
	type report struct {
		Items   []item            `json:"items"`
		Ptr     *item             `json:"ptr"`
		Fields  map[string]string `json:"fields"`
		Any     any               `json:"any"`
		When    time.Time         `json:"when"`
		Note    string            `json:"note"`
		private []string
	}
	var b bytes.Buffer
	v := report{Items: []item{{Name: "a"}}, Ptr: &item{Name: "p"}, Any: []item(nil), Note: "<a & b>", private: []string{"x"}}
	if err := writeJSON(&b, v); err != nil {
		t.Fatal(err)
	}
	want := `{
  "items": [
    {
      "name": "a",
      "tags": []
    }
  ],
  "ptr": {
    "name": "p",
    "tags": []
  },
  "fields": {},
  "any": [],
  "when": "0001-01-01T00:00:00Z",
  "note": "<a & b>"
}
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := writeJSON(&b, []string(nil)); err != nil || b.String() != "[]\n" {
		t.Errorf("nil list: %q, %v", b.String(), err)
	}
}

// TestSourcesRefusesInjection: no value given on the command line can add
// a line (a field) to a sources entry, and --url must be an absolute http,
// https or file URL. Each is refused with exit 2, naming the flag, and
// nothing is printed.
func TestSourcesRefusesInjection(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	base := []string{"sources", "--repo", fleet.Dir, "--key", fleet.KeyFile}
	for _, tc := range []struct {
		args []string
		flag string
	}{
		{[]string{"--url", "http://h/\nTrusted: yes"}, "--url"},
		{[]string{"--url", "http://h/x\rTrusted: yes"}, "--url"},
		{[]string{"--url", "http://h/", "--keyring-path", "/etc/apt/keyrings/k.gpg\nTrusted: yes"}, "--keyring-path"},
		{[]string{"--url", "http://h/", "--keyring-path", "/k.gpg\x00"}, "--keyring-path"},
		{[]string{"--url", "http://h/", "--keyring-path", "/etc/apt/keyrings/k.gpg trusted=yes", "--format", "list"}, "--keyring-path"},
		{[]string{"--url", "http://h/", "--keyring-path", "keyrings/k.gpg"}, "--keyring-path"},
		{[]string{"--url", "http://h/", "--stage", "development\nTrusted: yes"}, "--stage"},
		{[]string{"--url", "http://h/", "--component", "main\nTrusted: yes"}, "--component"},
		{[]string{"--url", "ftp://h/fleet"}, "--url"},
		{[]string{"--url", "apt.example.com/fleet"}, "--url"},
		{[]string{"--url", "/srv/fleet"}, "--url"},
		{[]string{"--url", "http:/fleet"}, "--url"},
		{[]string{"--url", "file:fleet"}, "--url"},
		{[]string{"--url", "http://h/fleet#x"}, "--url"},
		{[]string{"--url", "http://h/fleet?x=1"}, "--url"},
		{[]string{"--keyring-path", "/k.gpg"}, "--url"},
	} {
		code, stdout, stderr := ghRun(t, nil, append(base, tc.args...)...)
		if code != exitUsage || stdout != "" || !strings.Contains(stderr, tc.flag) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit 2 naming %s", tc.args, code, stdout, stderr, tc.flag)
		}
	}
	// What is accepted is written back as net/url writes it.
	code, stdout, stderr := ghRun(t, nil, append(base, "--url", "https://apt.example.com/a fleet", "--keyring-path", "/etc/apt/keyrings/fleet.gpg")...)
	if code != 0 || !strings.Contains(stdout, "URIs: https://apt.example.com/a%20fleet\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	code, stdout, stderr = ghRun(t, nil, append(base, "--url", "file:///srv/fleet", "--keyring-path", "/etc/apt/keyrings/fleet.gpg", "--format", "list")...)
	if code != 0 || stdout != "deb [signed-by=/etc/apt/keyrings/fleet.gpg] file:///srv/fleet development main\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// Brackets and spaces cannot end the one-line form's URL: they are
	// escaped.
	code, stdout, stderr = ghRun(t, nil, append(base, "--url", "http://h/fleet] trusted=yes [x", "--keyring-path", "/k.gpg", "--format", "list")...)
	if code != 0 || stdout != "deb [signed-by=/k.gpg] http://h/fleet%5D%20trusted=yes%20%5Bx development main\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

// TestSourcesNeedsTheRepository: the stage, snapshot and components must
// be the repository's (a typo exits 3), and --preferences pins the Origin
// and Label that the stage's Release carries, never a default.
func TestSourcesNeedsTheRepository(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	entry := []string{"sources", "--repo", fleet.Dir, "--url", "http://apt.example.com/fleet", "--keyring-path", "/etc/apt/keyrings/fleet.gpg"}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--stage", "prodution"}, exitInput, "--stage prodution: no such suite"},
		{[]string{"--snapshot", "2099-01-01"}, exitInput, "--snapshot 2099-01-01: no such suite"},
		{[]string{"--snapshot", "canary"}, exitInput, "--snapshot: invalid name"},
		{[]string{"--stage", "canary", "--component", "contrib"}, exitInput, "--component contrib: invalid component name: canary has components main"},
		{[]string{"--stage", "canary", "--snapshot", "2026-01-01"}, exitUsage, "not both"},
	} {
		code, stdout, stderr := ghRun(t, nil, append(entry, tc.args...)...)
		if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.msg) {
			t.Errorf("%q: exit %d (want %d), stdout %q, stderr %q", tc.args, code, tc.code, stdout, stderr)
		}
	}
	for _, tc := range []struct {
		args  []string
		suite string
		note  bool
	}{
		{[]string{"--stage", "canary"}, "canary", false},
		{[]string{"--snapshot", "2026-01-03"}, "2026-01-03", false},
		{[]string{"--stage", "production"}, "production", true}, // configured, serves nothing yet
	} {
		code, stdout, stderr := ghRun(t, nil, append(entry, tc.args...)...)
		if code != 0 || !strings.Contains(stdout, "\nSuites: "+tc.suite+"\n") || strings.Contains(stderr, "serves nothing yet") != tc.note {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", tc.args, code, stdout, stderr)
		}
	}

	// A directory that holds no repository, or none at all.
	empty := t.TempDir()
	for _, args := range [][]string{
		{"sources", "--repo", empty, "--stage", "production", "--preferences"},
		{"sources", "--repo", empty, "--url", "http://h/", "--keyring-path", "/k.gpg"},
	} {
		if code, stdout, stderr := ghRun(t, nil, args...); code != exitInput || stdout != "" || !strings.Contains(stderr, "--repo "+empty+": no debflow repository") {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
	if code, stdout, stderr := ghRun(t, nil, "sources", "--stage", "production", "--preferences"); code != exitUsage || stdout != "" || !strings.Contains(stderr, "no repository") {
		t.Errorf("--preferences without --repo: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}

	// The pin carries the served Origin and Label: a config.json edited
	// since then does not change what devices see, so not the pin either.
	cfgFile := filepath.Join(fleet.Dir, ".debflow", "config.json")
	data, err := os.ReadFile(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	served, err := os.ReadFile(filepath.Join(fleet.Dir, "dists", "canary", "Release"))
	if err != nil {
		t.Fatal(err)
	}
	origin := regexp.MustCompile(`(?m)^Origin: (.*)$`).FindSubmatch(served)
	if origin == nil || string(origin[1]) != cfg["origin"] {
		t.Fatalf("canary's Release has Origin %q, the configuration %q", origin, cfg["origin"])
	}
	cfg["origin"], cfg["label"] = "edited", "edited"
	data, _ = json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := ghRun(t, nil, "sources", "--repo", fleet.Dir, "--stage", "canary", "--preferences")
	if code != 0 || !strings.Contains(stdout, "Pin: release o="+string(origin[1])+",l=debflow,a=canary\n") {
		t.Errorf("canary pin: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	// A stage that serves nothing yet is pinned with the configuration's,
	// which its first promotion will carry; one that cannot be a pin value
	// is refused.
	code, stdout, _ = ghRun(t, nil, "sources", "--repo", fleet.Dir, "--stage", "production", "--preferences")
	if code != 0 || !strings.Contains(stdout, "Pin: release o=edited,l=edited,a=production\n") {
		t.Errorf("production pin: exit %d, stdout %q", code, stdout)
	}
	cfg["origin"] = "acme\nPin-Priority: 1001"
	data, _ = json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := ghRun(t, nil, "sources", "--repo", fleet.Dir, "--stage", "production", "--preferences"); code == 0 || stdout != "" {
		t.Errorf("origin with a line break: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
