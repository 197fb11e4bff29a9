package repo

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/debflow/debflow/snapshot"
)

// StageGate is what a stage requires of a snapshot in the stage before it
// (Config.Gates): a soak time and, optionally, a passing verdict.
type StageGate struct {
	Soak           Duration `json:"soak,omitempty"`
	RequireVerdict bool     `json:"require_verdict,omitempty"`
}

func (g StageGate) gate() *snapshot.Gate {
	return &snapshot.Gate{Soak: time.Duration(g.Soak), RequireVerdict: g.RequireVerdict}
}

func verdictsName(stage string) string { return metaDir + "verdicts/" + stage + ".json" }

// validateGates checks Config.Gates: only stages after the second have a
// stage before them that serves snapshots, and soak times are not
// negative.
func validateGates(c Config) error {
	for stage, g := range c.Gates {
		i := slices.Index(c.Stages, stage)
		switch {
		case i < 0:
			return fmt.Errorf("gates: %q is not a stage (stages: %s)", stage, strings.Join(c.Stages, ", "))
		case i < 2:
			return fmt.Errorf("gates: %s takes any snapshot (the stage before it, %s, is fed by publish); gates apply from the third stage on", stage, c.Stages[0])
		case g.Soak < 0:
			return fmt.Errorf("gates: %s: soak %s is negative", stage, time.Duration(g.Soak))
		}
	}
	return nil
}

// SetGate sets what a stage requires (a zero gate removes it) in the
// repository's configuration. It changes nothing devices see.
func (r *Repo) SetGate(ctx context.Context, stage string, g StageGate, timeout time.Duration) (*Config, error) {
	var out Config
	err := r.locked(ctx, lockTimeout(timeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		if !slices.Contains(cfg.Stages, stage) {
			return fmt.Errorf("%w %q (stages: %s)", snapshot.ErrUnknownStage, stage, strings.Join(cfg.Stages, ", "))
		}
		gates := map[string]StageGate{}
		for k, v := range cfg.Gates {
			gates[k] = v
		}
		if g == (StageGate{}) {
			delete(gates, stage)
		} else {
			gates[stage] = g
		}
		cfg.Gates = gates
		if len(gates) == 0 {
			cfg.Gates = nil
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		out = cfg
		return r.writeConfig(ctx, &cfg)
	})
	return &out, err
}

// RecordVerdict records a verification of a snapshot in a stage; it
// replaces an earlier verdict for the same snapshot and stage. by
// defaults to the CI job, or $USER@host.
func (r *Repo) RecordVerdict(ctx context.Context, v snapshot.Verdict, timeout time.Duration) (*snapshot.Verdict, error) {
	if v.By == "" {
		v.By = promoter()
	}
	v.When = r.now().UTC().Format(time.RFC3339)
	err := r.locked(ctx, lockTimeout(timeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		if i := slices.Index(cfg.Stages, v.Stage); i < 1 {
			if i == 0 {
				return fmt.Errorf("%w: %s is the rolling stage; verdicts are about snapshots a stage serves", snapshot.ErrUnknownStage, v.Stage)
			}
			return fmt.Errorf("%w %q (stages: %s)", snapshot.ErrUnknownStage, v.Stage, strings.Join(cfg.Stages, ", "))
		}
		var snapState SuiteState
		found, err := readJSON(ctx, r.st, suiteStateName(v.Snapshot), &snapState)
		if err != nil {
			return err
		}
		if !found || snapState.Kind != KindSnapshot {
			return fmt.Errorf("%w: no snapshot %s", ErrNoSuite, v.Snapshot)
		}
		all, err := r.verdicts(ctx, v.Stage)
		if err != nil {
			return err
		}
		all = slices.DeleteFunc(all, func(o snapshot.Verdict) bool { return o.Snapshot == v.Snapshot })
		all = append(all, v)
		return writeJSON(ctx, r.st, verdictsName(v.Stage), all)
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// verdicts reads a stage's verdicts, oldest first.
func (r *Repo) verdicts(ctx context.Context, stage string) ([]snapshot.Verdict, error) {
	var all []snapshot.Verdict
	if _, err := readJSON(ctx, r.st, verdictsName(stage), &all); err != nil {
		return nil, err
	}
	return all, nil
}

// verdict returns a stage's verdict for a snapshot, or nil.
func (r *Repo) verdict(ctx context.Context, stage, snap string) (*snapshot.Verdict, error) {
	all, err := r.verdicts(ctx, stage)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Snapshot == snap {
			return &all[i], nil
		}
	}
	return nil, nil
}

// DescribeGate says, in a sentence, what stage's gate requires and where
// snap stands against it now; "" when the stage has no gate.
func (r *Repo) DescribeGate(ctx context.Context, stage, snap string) (string, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return "", err
	}
	g, ok := cfg.Gates[stage]
	i := slices.Index(cfg.Stages, stage)
	if !ok || i < 2 {
		return "", nil
	}
	prev := cfg.Stages[i-1]
	want := fmt.Sprintf("%s takes a snapshot only after %s has served it for %s", stage, prev, time.Duration(g.Soak))
	if g.RequireVerdict {
		want += " and has a passing verdict for it (debflow verdict)"
	}
	var hist []snapshot.Promotion
	if s, err := r.loadSuiteReadOnly(ctx, cfg, prev); err == nil {
		if hist, err = r.stageHistory(ctx, s); err != nil {
			return "", err
		}
	}
	v, err := r.verdict(ctx, prev, snap)
	if err != nil {
		return "", err
	}
	ge := snapshot.EvaluateGate(snapshot.GateRequest{Stage: stage, Previous: prev, Snapshot: snap, Gate: *g.gate(), History: hist, Verdict: v, Now: r.now()})
	if ge == nil {
		return want + ". " + snap + " meets it now.", nil
	}
	return want + ". Now: " + ge.Missing() + ".", nil
}
