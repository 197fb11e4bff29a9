package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
)

// complete runs cobra's __complete and returns the candidates and the
// directive line.
func complete(t *testing.T, vars map[string]string, args ...string) ([]string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute("test", append([]string{"__complete"}, args...), env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }, now: time.Now})
	if code != 0 {
		t.Fatalf("__complete %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var out []string
	for _, l := range lines[:len(lines)-1] {
		out = append(out, strings.SplitN(l, "\t", 2)[0])
	}
	return out, lines[len(lines)-1]
}

// TestDynamicCompletion: snapshot, stage and suite names come from the
// repository given by --repo or $DEBFLOW_REPO; .deb files for publish;
// nothing, silently, without a repository.
func TestDynamicCompletion(t *testing.T) {
	o := newOpsRepo(t)
	o.publish(nil, testkit.Deb{Name: "hello", Version: "1.0"})
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "2025-06-01")
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "2025-06-02")
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "2025-07-01")
	o.mustRun("promote", "--quiet", "--key", o.key, "2025-06-01", "--to", "canary")
	repo := []string{"--repo", o.root}
	env := map[string]string{"DEBFLOW_REPO": o.root}

	for _, tc := range []struct {
		vars map[string]string
		args []string
		want []string
	}{
		{nil, append(repo, "promote", ""), []string{"2025-06-01", "2025-06-02", "2025-07-01"}},
		{nil, append(repo, "promote", "2025-06"), []string{"2025-06-01", "2025-06-02"}},
		{env, []string{"promote", "2025-07-01", "--to", ""}, []string{"canary", "production"}},
		{env, []string{"snapshot", "show", "2025-07"}, []string{"2025-07-01"}},
		{env, []string{"snapshot", "drop", ""}, []string{"2025-06-01", "2025-06-02", "2025-07-01"}},
		{env, []string{"snapshot", "pick", "2025-06-0"}, []string{"2025-06-01", "2025-06-02"}},
		{env, []string{"snapshot", "pick", "2025-06-01", ""}, nil},
		{env, []string{"snapshot", "diff", "2025-06-01", "c"}, []string{"canary"}},
		{env, []string{"history", ""}, []string{"development", "canary", "production"}},
		{env, []string{"sources", "--stage", "p"}, []string{"production"}},
		{env, []string{"list", "--snapshot", "2025-07"}, []string{"2025-07-01"}},
		{env, []string{"publish", "--suite", ""}, []string{"development"}},
		{env, []string{"list", "--suite", "d"}, []string{"development"}},
		{env, []string{"copy", "--to", ""}, nil}, // a directory, not a stage
		{nil, []string{"promote", ""}, nil},      // no repository: nothing, silently
		{nil, []string{"--repo", filepath.Join(o.root, "missing"), "promote", ""}, nil},
	} {
		got, _ := complete(t, tc.vars, tc.args...)
		if !slices.Equal(got, tc.want) {
			t.Errorf("__complete %s: %q, want %q", strings.Join(tc.args, " "), got, tc.want)
		}
	}

	// publish completes .deb files (cobra's directive 8: filter by extension).
	got, directive := complete(t, env, "publish", "")
	if !slices.Equal(got, []string{"deb"}) || directive != ":8" {
		t.Errorf("publish: %q %s, want deb files", got, directive)
	}

	// A broken repository: silent, no error output, no candidates.
	if err := os.WriteFile(filepath.Join(o.root, ".debflow", "config.json"), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := complete(t, env, "promote", "2025-07-01", "--to", ""); len(got) != 0 {
		t.Errorf("broken repository: %q", got)
	}
}
