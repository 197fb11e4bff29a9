package repo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/debflow/debflow/repo"
)

// TestConfigGates: gates are read strictly: an unknown key inside a gate,
// a stage that does not exist or takes any snapshot, a negative soak are
// refused.
func TestConfigGates(t *testing.T) {
	base := `{"origin":"o","label":"l","codename":"fleet","architectures":["amd64"],"index_compression":["gz"],"stages":["development","canary","production"],`
	good, err := repo.ParseConfig([]byte(base + `"gates":{"production":{"soak":"48h0m0s","require_verdict":true}}}`))
	if err != nil || !good.Gates["production"].RequireVerdict || good.Gates["production"].Soak != repo.Duration(48*3600e9) {
		t.Fatalf("a valid gate: %+v %v", good.Gates, err)
	}
	for gates, want := range map[string]string{
		`{"production":{"soak":"1h","wait":true}}`: "unknown field",
		`{"staging":{"soak":"1h"}}`:                `"staging" is not a stage`,
		`{"canary":{"soak":"1h"}}`:                 "third stage",
		`{"production":{"soak":"-1h"}}`:            "negative",
		`{"production":{"soak":"soon"}}`:           "invalid duration",
	} {
		_, err := repo.ParseConfig([]byte(base + `"gates":` + gates + `}`))
		if !errors.Is(err, repo.ErrBadConfig) || !strings.Contains(err.Error(), want) {
			t.Errorf("gates %s: %v, want %q", gates, err, want)
		}
	}
}
