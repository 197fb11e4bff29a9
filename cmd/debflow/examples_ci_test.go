package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"
)

// parsedLine parses a debflow command line of an example with the real
// command tree (as TestExamplePipelinesCommandLines does) and returns the
// command with its flags set.
func parsedLine(t *testing.T, where, line string) *cobra.Command {
	t.Helper()
	args := shellWords(expandPlaceholders(line))[1:]
	if err := checkCommandLine(args); err != nil {
		t.Fatalf("%s: %q: %v", where, line, err)
	}
	root := newRootCmd("test", env{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, now: time.Now})
	cmd, rest, _ := root.Find(args)
	_ = cmd.ParseFlags(rest)
	return cmd
}

func TestGitLabPromotePipelineCommands(t *testing.T) {
	data, err := os.ReadFile("../../ci/gitlab/promote.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	for _, job := range []string{"plan", "reconcile"} {
		j, _ := p[job].(map[string]any)
		script, _ := j["script"].([]any)
		var lines []string
		for _, s := range script {
			lines = append(lines, debflowCommands(s.(string))...)
		}
		if len(lines) != 1 || j["extends"] != ".debflow" || j["rules"] == nil {
			t.Fatalf("job %s: %v (debflow lines %q)", job, j, lines)
		}
		cmd := parsedLine(t, job, lines[0])
		f := cmd.Flags()
		if cmd.Name() != "reconcile" || !f.Changed("stage") || !f.Changed("snapshot-file") || !f.Changed("markdown") {
			t.Errorf("%s: %q", job, lines[0])
		}
		if dry := f.Changed("dry-run"); dry != (job == "plan") {
			t.Errorf("%s: --dry-run %v", job, dry)
		}
	}
	if j, _ := p["reconcile"].(map[string]any); j["resource_group"] == nil {
		t.Error("the reconcile job would run promotions of a stage concurrently (no resource_group)")
	}
}

func TestPostReceiveHookCommands(t *testing.T) {
	const hook = "../../ci/hooks/post-receive"
	data, err := os.ReadFile(hook)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(hook); err != nil || fi.Mode()&0o111 == 0 {
		t.Errorf("the hook is not executable: %v", err)
	}
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if i := strings.Index(l, "debflow reconcile"); i >= 0 && !strings.HasPrefix(strings.TrimSpace(l), "#") {
			lines = append(lines, strings.TrimSuffix(strings.TrimSpace(l[i:]), "; then"))
		}
	}
	if len(lines) != 1 {
		t.Fatalf("debflow lines %q", lines)
	}
	cmd := parsedLine(t, "post-receive", strings.ReplaceAll(lines[0], "$key_args ", ""))
	for _, f := range []string{"stage", "branch", "snapshot-file"} {
		if !cmd.Flags().Changed(f) {
			t.Errorf("the hook does not give --%s", f)
		}
	}
}
