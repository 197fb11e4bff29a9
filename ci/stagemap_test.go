package ci

import (
	"errors"
	"testing"
)

func TestParseStageMap(t *testing.T) {
	m, err := ParseStageMap([]string{"main=production, stage/canary=canary", "beta=canary"})
	if err != nil {
		t.Fatal(err)
	}
	for branch, want := range map[string]string{"main": "production", "stage/canary": "canary", "beta": "canary", "production": "production", "qa": "qa"} {
		if got := m.Stage(branch); got != want {
			t.Errorf("Stage(%q) = %q, want %q", branch, got, want)
		}
	}
	if got, want := m.String(), "beta=canary,main=production,stage/canary=canary"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	empty, err := ParseStageMap(nil)
	if err != nil || empty.Stage("canary") != "canary" {
		t.Errorf("empty map: %v, %v", empty, err)
	}
	for _, bad := range []string{"main", "=canary", "main=", "main=Canary", "main=1abc", "main=canary,main=production"} {
		if _, err := ParseStageMap([]string{bad}); !errors.Is(err, ErrStageMap) {
			t.Errorf("ParseStageMap(%q) = %v, want ErrStageMap", bad, err)
		}
	}
}
