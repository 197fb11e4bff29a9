package snapshot

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestDecidePromotionGate: every way a gate refuses (no verdict, a
// failing verdict, soak time left), all three at once, an open gate, and
// --force recording what it overrode.
func TestDecidePromotionGate(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	hist := map[string][]Promotion{"canary": {{Snapshot: "s1", When: t0.Format(time.RFC3339)}}}
	pass := &Verdict{Snapshot: "s1", Stage: "canary", Pass: true, By: "rig", When: t0.Format(time.RFC3339)}
	fail := &Verdict{Snapshot: "s1", Stage: "canary", Pass: false, Note: "boot loop on rev B boards", By: "rig", When: t0.Format(time.RFC3339)}
	gate := &Gate{Soak: 48 * time.Hour, RequireVerdict: true}
	req := func(now time.Duration, v *Verdict, force bool) PromotionRequest {
		return PromotionRequest{Stages: DefaultStages, To: "production", Snapshot: "s1", History: hist, Gate: gate, Verdict: v, Now: t0.Add(now), Force: force}
	}
	for _, c := range []struct {
		name string
		req  PromotionRequest
		want []string // in the error; nil: allowed
	}{
		{"no verdict", req(72*time.Hour, nil, false), []string{"no verdict for it in canary"}},
		{"failing verdict", req(72*time.Hour, fail, false), []string{"failed", `"boot loop on rev B boards"`}},
		{"soak left", req(10*time.Hour, pass, false), []string{"10h0m0s of the 48h0m0s soak time, 38h0m0s left"}},
		{"everything missing", req(time.Hour, nil, false), []string{"47h0m0s left", "no verdict"}},
		{"open", req(48*time.Hour, pass, false), nil},
	} {
		d, err := DecidePromotion(c.req)
		if c.want == nil {
			if err != nil || d.Forced {
				t.Errorf("%s: %+v %v", c.name, d, err)
			}
			continue
		}
		var ge *GateError
		if !errors.Is(err, ErrGateClosed) || !errors.As(err, &ge) {
			t.Errorf("%s: %v, want a gate refusal", c.name, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not say %q", c.name, err, w)
			}
		}
	}
	if ge := EvaluateGate(GateRequest{Gate: *gate, History: hist["canary"], Snapshot: "s1", Verdict: pass, Now: t0.Add(10 * time.Hour)}); ge == nil || ge.SoakLeft != 38*time.Hour {
		t.Errorf("SoakLeft: %+v", ge)
	}
	d, err := DecidePromotion(req(time.Hour, fail, true))
	if err != nil || !d.Forced || !strings.Contains(d.ForcedGate, "boot loop") || !strings.Contains(d.ForcedGate, "47h0m0s left") {
		t.Errorf("forced: %+v %v", d, err)
	}
	// The soak counts the longest stretch canary served s1, even after it
	// moved on.
	moved := []Promotion{{Snapshot: "s1", When: t0.Format(time.RFC3339)}, {Snapshot: "s2", When: t0.Add(50 * time.Hour).Format(time.RFC3339)}}
	if got := Soaked(moved, "s1", t0.Add(100*time.Hour)); got != 50*time.Hour {
		t.Errorf("Soaked after moving on = %s, want 50h", got)
	}
}
