package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

// runShown runs a command line an example shows (argv[0] is debflow) and
// returns its exit status and output.
func runShown(t *testing.T, argv []string, now time.Time) (int, string) {
	t.Helper()
	if len(argv) < 2 || !strings.HasSuffix(argv[0], "debflow") {
		t.Fatalf("the example's command is not debflow: %q", argv)
	}
	var stdout bytes.Buffer
	code := Execute("test", argv[1:], env{stdout: &stdout, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, now: func() time.Time { return now }})
	return code, stdout.String()
}

// TestIcingaExample runs the CheckCommand of ci/monitoring/debflow.conf
// as Icinga 2 would: its command array with the $macros$ replaced by the
// vars (the repository and keyring pointed at a test repository).
func TestIcingaExample(t *testing.T) {
	conf, err := os.ReadFile("../../ci/monitoring/debflow.conf")
	if err != nil {
		t.Fatal(err)
	}
	f := newCheckFleet(t, true)
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`(?m)^\s*vars\.(\w+) = "([^"]*)"`).FindAllStringSubmatch(string(conf), -1) {
		vars[m[1]] = m[2]
	}
	vars["debflow_repo"], vars["debflow_keyring"] = f.root, f.keyring
	m := regexp.MustCompile(`(?m)^\s*command = \[(.*)\]`).FindStringSubmatch(string(conf))
	if m == nil {
		t.Fatal("no command = [ ... ] in debflow.conf")
	}
	var argv []string
	for _, q := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(m[1], -1) {
		arg := regexp.MustCompile(`\$(\w+)\$`).ReplaceAllStringFunc(q[1], func(s string) string {
			v, ok := vars[strings.Trim(s, "$")]
			if !ok {
				t.Fatalf("macro %s has no value in the example's vars", s)
			}
			return v
		})
		argv = append(argv, arg)
	}
	code, out := runShown(t, argv, f.t0.Add(time.Hour))
	if code != 0 || !strings.HasPrefix(out, "DEBFLOW OK - ") || !strings.Contains(out, "'valid_until_production'=") {
		t.Errorf("icinga command %q: %d\n%s", argv, code, out)
	}
	code, out = runShown(t, argv, f.t0.Add(5*24*time.Hour))
	if code != 1 || !strings.HasPrefix(out, "DEBFLOW WARNING - ") {
		t.Errorf("icinga command 5 days later: %d\n%s", code, out)
	}
}

// TestDatadogExample runs the COMMAND of ci/monitoring/debflow_check.py
// with the instance its docstring shows, and checks that the JSON has
// every field the check reads.
func TestDatadogExample(t *testing.T) {
	src, err := os.ReadFile("../../ci/monitoring/debflow_check.py")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^COMMAND = (\[.*\])$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("no COMMAND = [...] in debflow_check.py")
	}
	var command []string
	if err := json.Unmarshal(m[1], &command); err != nil { // a Python list of strings is JSON
		t.Fatal(err)
	}
	if py, err := exec.LookPath("python3"); err == nil {
		// The file itself must be valid Python and define the same COMMAND.
		out, err := exec.Command(py, "-c", "import json,sys; sys.path.insert(0, '../../ci/monitoring'); import debflow_check as d; print(json.dumps(d.COMMAND))").Output()
		if err != nil || strings.TrimSpace(string(out)) != string(m[1]) {
			t.Fatalf("python3 reads COMMAND as %q (%v), want %s", out, err, m[1])
		}
	}
	f := newCheckFleet(t, true)
	var argv []string
	for _, a := range command {
		argv = append(argv, strings.NewReplacer("{repo}", f.root, "{keyring}", f.keyring).Replace(a))
	}
	for _, c := range []struct {
		after  time.Duration
		code   int
		status string
	}{{time.Hour, 0, "OK"}, {6*24*time.Hour + 12*time.Hour, 2, "CRITICAL"}} {
		code, out := runShown(t, argv, f.t0.Add(c.after))
		var rep struct {
			Status  string `json:"status"`
			Summary string `json:"summary"`
			Checks  []struct {
				Check   string  `json:"check"`
				Subject *string `json:"subject"`
				Status  string  `json:"status"`
				Message string  `json:"message"`
			} `json:"checks"`
			Metrics []struct {
				Label string   `json:"label"`
				Value *float64 `json:"value"`
			} `json:"metrics"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || code != c.code || rep.Status != c.status || rep.Summary == "" || len(rep.Checks) == 0 || len(rep.Metrics) == 0 {
			t.Fatalf("datadog command %q: %d %v\n%s", argv, code, err, out)
		}
		for _, ch := range rep.Checks {
			if ch.Check == "" || ch.Message == "" || ch.Status == "" {
				t.Errorf("a finding lacks a field the check reads: %+v", ch)
			}
		}
		for _, me := range rep.Metrics {
			if me.Label == "" || me.Value == nil {
				t.Errorf("a metric lacks a field the check reads: %+v", me)
			}
		}
	}
}
