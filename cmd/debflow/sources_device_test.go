package main

import (
	"encoding/json"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/debflow/debflow/ci/githubtest"
)

// TestSourcesAnsible: --format ansible prints two tasks that write exactly
// what --format deb822 and --preferences print, with modules Debian 12's
// ansible-core 2.14 has; --ansible-deb822-module uses deb822_repository
// with the same key; --format json carries the same data. Hostile values
// are refused as for the other formats.
func TestSourcesAnsible(t *testing.T) {
	fleet := githubtest.NewFleet(t)
	base := []string{"sources", "--repo", fleet.Dir, "--key", fleet.KeyFile, "--url", "http://apt.example.com/fleet", "--stage", "canary"}
	run := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := ghRun(t, nil, append(append([]string{}, base...), args...)...)
		if code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr)
		}
		return stdout
	}
	sources, pin := run(), run("--preferences")

	var tasks []map[string]any
	if err := yaml.Unmarshal([]byte(run("--format", "ansible")), &tasks); err != nil || len(tasks) != 2 {
		t.Fatalf("tasks %v, %v", tasks, err)
	}
	for i, want := range []struct{ dest, content string }{{deviceSourcesPath, sources}, {devicePinPath, pin}} {
		c, _ := tasks[i]["ansible.builtin.copy"].(map[string]any)
		if c["dest"] != want.dest || c["content"] != want.content || c["mode"] != "0644" || len(tasks[i]) != 3 {
			t.Errorf("task %d: %v\nwant content %q", i, tasks[i], want.content)
		}
	}
	if !strings.Contains(pin, "a=canary\nPin-Priority: 1001\n") || !strings.Contains(sources, "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
		t.Fatalf("fixture: %q %q", sources, pin)
	}

	if err := yaml.Unmarshal([]byte(run("--format", "ansible", "--ansible-deb822-module")), &tasks); err != nil || len(tasks) != 2 {
		t.Fatalf("tasks %v, %v", tasks, err)
	}
	m, _ := tasks[0]["ansible.builtin.deb822_repository"].(map[string]any)
	key, _ := m["signed_by"].(string)
	if m["name"] != "debflow" || m["suites"].([]any)[0] != "canary" || m["uris"].([]any)[0] != "http://apt.example.com/fleet" ||
		!strings.HasPrefix(key, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n") || !strings.HasSuffix(key, "-----END PGP PUBLIC KEY BLOCK-----\n") {
		t.Errorf("deb822_repository task %v", tasks[0])
	}
	if c, _ := tasks[1]["ansible.builtin.copy"].(map[string]any); c["content"] != pin {
		t.Errorf("pin task %v", tasks[1])
	}

	var d deviceJSON
	if err := json.Unmarshal([]byte(run("--format", "json")), &d); err != nil || d.Sources != sources || d.Preferences != pin || d.Suite != "canary" ||
		d.SignedBy != key || d.SourcesPath != deviceSourcesPath || len(d.Components) != 1 {
		t.Errorf("json %+v, %v", d, err)
	}

	for _, args := range [][]string{
		{"--format", "ansible", "--component", "main\n- name: x"},
		{"--format", "ansible", "--url", "http://h/\n- name: x"},
		{"--format", "json", "--keyring-path", "/k\n\"x\": 1"},
		{"--format", "ansible", "--preferences"},
		{"--format", "deb822", "--ansible-deb822-module"},
		{"--format", "yaml"},
	} {
		code, stdout, stderr := ghRun(t, nil, append(append([]string{}, base...), args...)...)
		if code != exitUsage || stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
		}
	}
}
