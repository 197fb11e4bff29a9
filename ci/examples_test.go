package ci

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// workflow is the part of a GitHub Actions workflow the checks read.
type workflow struct {
	Name        string                    `yaml:"name"`
	On          map[string]any            `yaml:"on"`
	Permissions map[string]string         `yaml:"permissions"`
	Jobs        map[string]workflowJob    `yaml:"jobs"`
	Concurrency map[string]any            `yaml:"concurrency"`
	Env         map[string]string         `yaml:"env"`
	Rest        map[string]map[string]any `yaml:",inline"`
}

type workflowJob struct {
	RunsOn any               `yaml:"runs-on"`
	Needs  any               `yaml:"needs"`
	If     string            `yaml:"if"`
	Env    map[string]string `yaml:"env"`
	Steps  []struct {
		Name string            `yaml:"name"`
		ID   string            `yaml:"id"`
		Uses string            `yaml:"uses"`
		With map[string]any    `yaml:"with"`
		Env  map[string]string `yaml:"env"`
		Run  string            `yaml:"run"`
	} `yaml:"steps"`
}

func readWorkflow(t *testing.T, name string) workflow {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("github", name))
	if err != nil {
		t.Fatal(err)
	}
	var w workflow
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&w); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if len(w.Rest) > 0 {
		t.Errorf("%s: unexpected keys %v", name, w.Rest)
	}
	if w.Name == "" || len(w.On) == 0 || len(w.Jobs) == 0 || len(w.Permissions) == 0 {
		t.Errorf("%s: wants name, on, permissions and jobs", name)
	}
	for jn, j := range w.Jobs {
		if j.RunsOn == nil || len(j.Steps) == 0 {
			t.Errorf("%s: job %s wants runs-on and steps", name, jn)
		}
		for i, s := range j.Steps {
			if (s.Uses == "") == (s.Run == "") {
				t.Errorf("%s: job %s step %d wants one of uses and run", name, jn, i)
			}
			if s.Uses != "" && !strings.Contains(s.Uses, "@v") {
				t.Errorf("%s: %s is not pinned to a version", name, s.Uses)
			}
		}
	}
	return w
}

func TestExampleWorkflowsParse(t *testing.T) {
	files, err := filepath.Glob("github/*.yml")
	if err != nil || len(files) != 3 {
		t.Fatalf("github workflows: %v, %v", files, err)
	}
	pkg := readWorkflow(t, "package.yml")
	if _, ok := pkg.On["push"]; !ok {
		t.Error("package.yml does not run on push")
	}
	if got := pkg.Jobs["build"].Steps[0]; got.Uses != "actions/checkout@v4" || got.With["fetch-depth"] != 0 {
		t.Errorf("package.yml checks out without the history: %+v", got)
	}

	rel := readWorkflow(t, "release.yml")
	if _, ok := rel.On["workflow_dispatch"]; !ok || len(rel.On) != 1 {
		t.Errorf("release.yml triggers: %v", rel.On)
	}
	if rel.Permissions["contents"] != "write" || rel.Permissions["pull-requests"] != "write" {
		t.Errorf("release.yml permissions %v", rel.Permissions)
	}

	pro := readWorkflow(t, "promote.yml")
	pr, _ := pro.On["pull_request"].(map[string]any)
	if types, _ := pr["types"].([]any); len(types) != 1 || types[0] != "closed" {
		t.Errorf("promote.yml runs on %v, want pull_request closed only", pro.On)
	}
	if pro.Permissions["deployments"] != "write" || pro.Permissions["pull-requests"] != "write" || pro.Permissions["contents"] != "read" {
		t.Errorf("promote.yml permissions %v", pro.Permissions)
	}
	for _, s := range pro.Jobs["promote"].Steps {
		if s.Uses == "actions/checkout@v4" && s.With["ref"] != "${{ github.event.pull_request.merge_commit_sha }}" {
			t.Errorf("promote.yml checks out %v, want the merge commit", s.With["ref"])
		}
	}
	for _, w := range []workflow{rel, pro} {
		if j := w.Jobs[firstKey(w.Jobs)]; j.Env["GITHUB_TOKEN"] == "" {
			t.Errorf("%s: GITHUB_TOKEN is not passed to debflow", w.Name)
		}
	}
}

func firstKey[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys[0]
}

func TestExampleGitLabPipelineParses(t *testing.T) {
	data, err := os.ReadFile("gitlab/package.gitlab-ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	stages, _ := p["stages"].([]any)
	if len(stages) != 2 {
		t.Fatalf("stages %v", p["stages"])
	}
	if v, _ := p["variables"].(map[string]any); v["GIT_DEPTH"] != 0 {
		t.Errorf("GIT_DEPTH %v, want 0 (the whole history)", v["GIT_DEPTH"])
	}
	for _, job := range []string{"build", "publish"} {
		j, _ := p[job].(map[string]any)
		if script, _ := j["script"].([]any); len(script) == 0 || !slices.Contains(stages, j["stage"]) {
			t.Errorf("job %s: %v", job, j)
		}
	}
}
