package snapshot

import (
	"errors"
	"testing"
)

func TestDecidePromotion(t *testing.T) {
	stages := DefaultStages
	history := map[string][]Promotion{
		"canary":     {{Snapshot: "2026-11-01"}, {Snapshot: "2026-11-08"}},
		"production": {{Snapshot: "2026-11-01"}},
	}
	for _, c := range []struct {
		name, to, snap, serving string
		force                   bool
		want                    Decision
		err                     error
	}{
		{"any snapshot enters canary", "canary", "2026-11-20", "2026-11-08", false, Decision{}, nil},
		{"production after canary", "production", "2026-11-08", "2026-11-01", false, Decision{}, nil},
		{"production before canary", "production", "2026-11-20", "2026-11-01", false, Decision{}, ErrOutOfOrder},
		{"forced", "production", "2026-11-20", "2026-11-01", true, Decision{Forced: true}, nil},
		{"no-op", "canary", "2026-11-08", "2026-11-08", false, Decision{NoOp: true}, nil},
		{"rollback", "canary", "2026-11-01", "2026-11-08", false, Decision{Rollback: true}, nil},
		{"rollback to a snapshot never served", "canary", "2026-10-01", "2026-11-08", false, Decision{Rollback: true}, nil},
		{"back to a newer snapshot served before", "canary", "2026-11-08", "2026-11-01", false, Decision{}, nil},
		{"production rollback", "production", "2026-11-01", "2026-11-08", false, Decision{Rollback: true}, nil},
		{"from nothing", "canary", "2026-11-01", "", false, Decision{}, nil},
		{"into development", "development", "2026-11-01", "", false, Decision{}, ErrOutOfOrder},
		{"unknown stage", "staging", "2026-11-01", "", false, Decision{}, ErrUnknownStage},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecidePromotion(PromotionRequest{Stages: stages, To: c.to, Snapshot: c.snap, Serving: c.serving, History: history, Force: c.force})
			if !errors.Is(err, c.err) {
				t.Fatalf("error %v, want %v", err, c.err)
			}
			if err == nil && got != c.want {
				t.Errorf("decision %+v, want %+v", got, c.want)
			}
		})
	}
}

// TestDecidePromotionOrder: the rollback decision follows the order given,
// not the names, when the caller knows the creation times.
func TestDecidePromotionOrder(t *testing.T) {
	created := map[string]int{"2026-11-24-hotfix": 2, "2026-11-24.02": 1}
	req := PromotionRequest{Stages: DefaultStages, To: "canary", Snapshot: "2026-11-24.02", Serving: "2026-11-24-hotfix",
		Compare: func(a, b string) int { return created[a] - created[b] }}
	if d, err := DecidePromotion(req); err != nil || !d.Rollback {
		t.Errorf("to the older snapshot: %+v, %v", d, err)
	}
	req.Snapshot, req.Serving = req.Serving, req.Snapshot
	if d, err := DecidePromotion(req); err != nil || d.Rollback {
		t.Errorf("to the newer snapshot: %+v, %v", d, err)
	}
}

func TestValidStages(t *testing.T) {
	if err := ValidStages(DefaultStages); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{{"development"}, {"development", "canary", "canary"}, {"development", "2026-01-01"}, {"dev", "Canary"}} {
		if err := ValidStages(bad); err == nil {
			t.Errorf("ValidStages(%v) accepted", bad)
		}
	}
}
