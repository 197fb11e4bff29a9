package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
)

// TestKeyFileVariable: DEBFLOW_KEY_FILE names a file holding the key (a
// GitLab File variable); empty, missing or given with DEBFLOW_KEY too, it
// fails before anything changes.
func TestKeyFileVariable(t *testing.T) {
	o := newOpsRepo(t)
	deb := testkit.WriteDeb(t, o.debs, testkit.Deb{Name: "hello", Version: "1.0"})
	_, _, armored := testkit.KeyFile(t, t.TempDir())
	run := func(vars map[string]string, args ...string) (int, string) {
		var stdout, stderr bytes.Buffer
		lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
		code := Execute("test", append([]string{"--repo", o.root}, args...), env{stdout: &stdout, stderr: &stderr,
			getenv: func(k string) string { return vars[k] }, lookupEnv: lookup, now: time.Now})
		return code, stderr.String()
	}
	if code, errOut := run(map[string]string{"DEBFLOW_KEY_FILE": o.key}, "publish", deb); code != 0 {
		t.Fatalf("publish with DEBFLOW_KEY_FILE: exit %d: %s", code, errOut)
	}
	before := testkit.TreeHash(t, o.root)
	for _, tc := range []struct {
		vars map[string]string
		code int
		want string
	}{
		{map[string]string{"DEBFLOW_KEY_FILE": ""}, exitKey, "DEBFLOW_KEY_FILE: set but empty"},
		{map[string]string{"DEBFLOW_KEY_FILE": filepath.Join(t.TempDir(), "nope")}, exitKey, "$DEBFLOW_KEY_FILE: "},
		{map[string]string{"DEBFLOW_KEY_FILE": o.key, "DEBFLOW_KEY": armored}, exitUsage, "both DEBFLOW_KEY and DEBFLOW_KEY_FILE are set"},
		{map[string]string{"DEBFLOW_KEY": ""}, exitKey, "set but empty"}, // unchanged
	} {
		code, errOut := run(tc.vars, "refresh")
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d with %q", tc.vars, code, errOut, tc.code, tc.want)
		}
	}
	if testkit.TreeHash(t, o.root) != before {
		t.Error("a refused key changed the tree")
	}
	// --key wins over the variable.
	if code, errOut := run(map[string]string{"DEBFLOW_KEY_FILE": "/nope"}, "refresh", "--key", o.key); code != 0 {
		t.Errorf("--key with a bad DEBFLOW_KEY_FILE: exit %d: %s", code, errOut)
	}
}
