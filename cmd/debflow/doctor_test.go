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

	"github.com/debflow/debflow/internal/testkit"
)

func doctorRun(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute("test", append([]string{"doctor"}, args...), env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }, now: time.Now})
	return code, stdout.String(), stderr.String()
}

// TestDoctor: with nothing on PATH, doctor names each missing tool and the
// package to install, and exits 1; given a repository and a key, it checks
// that the key is one of the repository's; --json gives the same.
func TestDoctor(t *testing.T) {
	code, out, _ := doctorRun(t, map[string]string{"PATH": t.TempDir()})
	if code != exitFailure {
		t.Errorf("empty PATH: exit %d, want 1", code)
	}
	for _, want := range []string{"problem gpgv: not on PATH", "fix: apt-get install gpgv", "problem dpkg-deb", "fix: apt-get install dpkg", "problem go: not on PATH", "note    reprepro"} {
		if !strings.Contains(out, want) {
			t.Errorf("empty PATH: no %q in\n%s", want, out)
		}
	}

	testkit.Need(t, "go", "dpkg-deb", "dpkg", "gpgv", "gpg", "apt-get")
	o := newOpsRepo(t)
	o.publish(nil, testkit.Deb{Name: "hello", Version: "1.0"})
	path := map[string]string{"PATH": os.Getenv("PATH")}
	code, out, errOut := doctorRun(t, path, "--repo", o.root, "--key", o.key)
	if code != 0 || !strings.Contains(out, "ok      repository:") || !strings.Contains(out, "ok      key expiry: never expires") {
		t.Errorf("all well: exit %d\n%s%s", code, out, errOut)
	}

	other := filepath.Join(t.TempDir(), "other.key")
	o.mustRun("key", "generate", "--uid", "Other <other@example.com>", "--out", other)
	code, out, _ = doctorRun(t, path, "--repo", o.root, "--key", other, "--json")
	var checks []doctorCheck
	if err := json.Unmarshal([]byte(out), &checks); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	found := false
	for _, c := range checks {
		if c.Check == "key" && c.Status == "problem" && strings.Contains(c.Detail, "not one of the repository's signing keys") && strings.Contains(c.Fix, "key add") {
			found = true
		}
	}
	if code != exitFailure || !found {
		t.Errorf("a foreign key: exit %d\n%s", code, out)
	}

	code, out, _ = doctorRun(t, path, "--repo", t.TempDir())
	if code != exitFailure || !strings.Contains(out, "problem repository: no debflow repository") {
		t.Errorf("no repository: exit %d\n%s", code, out)
	}
}

// TestDoctorGoVersionMatchesGoMod: doctor asks for the Go that go.mod does.
func TestDoctorGoVersionMatchesGoMod(t *testing.T) {
	data, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(data)
	if m == nil || string(m[1]) != minGo {
		t.Errorf("go.mod says go %s, doctor minGo %s", m[1], minGo)
	}
}

func TestCompareDotted(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		sign int
	}{{"2.3.10", "2.3.9", 1}, {"2.6", "2.6.0", 0}, {"1.0", "1.1", -1}} {
		if got := compareDotted(tc.a, tc.b); (got > 0) != (tc.sign > 0) || (got < 0) != (tc.sign < 0) {
			t.Errorf("compareDotted(%s, %s) = %d", tc.a, tc.b, got)
		}
	}
}
