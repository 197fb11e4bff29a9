package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// runAt runs debflow in-process with the clock at now.
func runAt(t *testing.T, now time.Time, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute("test", args, env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, now: func() time.Time { return now }})
	return code, stdout.String(), stderr.String()
}

// TestGate: production takes a snapshot only after it soaked 48h in
// canary with a passing verdict. Each refusal (no verdict, a failing
// verdict quoted, soak time left) exits 5 and leaves the tree as it was;
// a later verdict replaces an earlier one; with everything met the
// promotion goes through; status shows verdict and soak.
func TestGate(t *testing.T) {
	f := newCheckFleet(t, false)
	h := time.Hour
	if code, out, errOut := runAt(t, f.t0, "--repo", f.root, "stage", "set", "production", "--soak", "48h", "--require-verdict"); code != 0 || !strings.Contains(out, "soak 48h") {
		t.Fatalf("stage set: %d %q %q", code, out, errOut)
	}
	if code, _, errOut := runAt(t, f.t0, "--repo", f.root, "stage", "set", "canary", "--soak", "1h"); code != 3 || !strings.Contains(errOut, "third stage") {
		t.Errorf("a gate on canary (fed from development): %d %q", code, errOut)
	}
	promote := func(at time.Duration, extra ...string) (int, string, string) {
		return runAt(t, f.t0.Add(at), append([]string{"--repo", f.root, "promote", "--key", f.secret, f.snap, "--to", "production"}, extra...)...)
	}
	refused := func(at time.Duration, want ...string) {
		t.Helper()
		before := testkit.TreeHash(t, f.root)
		code, _, errOut := promote(at)
		if code != 5 {
			t.Errorf("promote at t0+%s: exit %d, want 5 (%s)", at, code, errOut)
		}
		for _, w := range want {
			if !strings.Contains(errOut, w) {
				t.Errorf("promote at t0+%s: %q does not say %q", at, errOut, w)
			}
		}
		if after := testkit.TreeHash(t, f.root); after != before {
			t.Errorf("a refused promotion changed the tree")
		}
	}
	refused(h, "no verdict for it in canary", "47h0m0s left")
	refused(72*h, "no verdict")
	if code, out, errOut := runAt(t, f.t0.Add(2*h), "--repo", f.root, "verdict", f.snap, "--stage", "canary", "--fail", "--note", "boot loop on rev B boards"); code != 0 || !strings.Contains(out, "failed in canary") {
		t.Fatalf("verdict --fail: %d %q %q", code, out, errOut)
	}
	refused(72*h, `"boot loop on rev B boards"`)
	if code, _, errOut := runAt(t, f.t0.Add(3*h), "--repo", f.root, "verdict", f.snap, "--stage", "canary", "--pass"); code != 0 {
		t.Fatalf("verdict --pass: %d %q", code, errOut)
	}
	refused(10*h, "38h0m0s left")

	code, out, _ := runAt(t, f.t0.Add(10*h), "--repo", f.root, "--json", "status")
	var st []repo.StageStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 0 || len(st) != 3 {
		t.Fatalf("status --json: %d %v %s", code, err, out)
	}
	if c := st[1]; c.Verdict == nil || !c.Verdict.Pass || c.Verdict.By == "" || c.SoakElapsed != repo.Duration(10*h) || c.SoakRequired != repo.Duration(48*h) || !c.VerdictRequired {
		t.Errorf("status of canary: %+v", c)
	}
	if p := st[2]; p.Gate == nil || p.Gate.Soak != repo.Duration(48*h) {
		t.Errorf("status of production: %+v", p)
	}
	if _, out, _ := runAt(t, f.t0.Add(10*h), "--repo", f.root, "status"); !strings.Contains(out, "canary: "+f.snap+" soaked 10h0m0s of 48h0m0s; verdict: pass") {
		t.Errorf("status:\n%s", out)
	}

	if code, out, errOut := promote(49 * h); code != 0 || !strings.Contains(out, "promoted production") || strings.Contains(out, "overridden") {
		t.Errorf("promote with the gate met: %d %q %q", code, out, errOut)
	}
}

// TestGateForce: --force overrides a closed gate, and the history says
// what it overrode. check warns about a snapshot that soaked past the
// gate's time without a verdict.
func TestGateForce(t *testing.T) {
	f := newCheckFleet(t, false)
	if code, _, errOut := runAt(t, f.t0, "--repo", f.root, "stage", "set", "production", "--soak", "24h", "--require-verdict"); code != 0 {
		t.Fatal(errOut)
	}
	runPlugin(t, f.t0.Add(12*time.Hour), "--repo", f.root, "--keyring", f.keyring).has(t, "OK", "")
	runPlugin(t, f.t0.Add(30*time.Hour), "--repo", f.root, "--keyring", f.keyring).has(t, "WARNING", "has no verdict")

	code, out, errOut := runAt(t, f.t0.Add(time.Hour), "--repo", f.root, "promote", "--key", f.secret, f.snap, "--to", "production", "--force")
	if code != 0 || !strings.Contains(out, "gate of production was overridden") {
		t.Fatalf("promote --force: %d %q %q", code, out, errOut)
	}
	_, out, _ = runAt(t, f.t0.Add(time.Hour), "--repo", f.root, "--json", "history", "production")
	var hist []struct {
		Forced     bool   `json:"forced"`
		ForcedGate string `json:"forced_gate"`
	}
	if err := json.Unmarshal([]byte(out), &hist); err != nil || len(hist) != 1 || !hist[0].Forced || !strings.Contains(hist[0].ForcedGate, "no verdict") || !strings.Contains(hist[0].ForcedGate, "23h0m0s left") {
		t.Errorf("history after a forced gate: %v %s", err, out)
	}
}
