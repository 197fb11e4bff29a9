package snapshot

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// DefaultStages is the path every package travels: development is fed by
// publish, every later stage by promote.
var DefaultStages = []string{"development", "canary", "production"}

// Errors of promotion decisions.
var (
	ErrUnknownStage = errors.New("unknown stage")
	ErrOutOfOrder   = errors.New("promotion out of order")
)

// Promotion is one entry of a stage's history.
type Promotion struct {
	Snapshot string `json:"snapshot"`
	Previous string `json:"previous,omitempty"` // what the stage served before
	Forced   bool   `json:"forced,omitempty"`   // the order rule was overridden
	When     string `json:"when"`               // RFC 3339, UTC
	By       string `json:"by,omitempty"`       // who or what promoted (CI job, user)
}

// Decision is what promoting a snapshot to a stage amounts to.
type Decision struct {
	NoOp     bool // the stage serves the snapshot already
	Rollback bool // the stage served this snapshot before, and something else since
	Forced   bool // allowed only because of --force
}

// ValidStages checks a repository's stage list: at least two stages, each
// a valid stage name, no duplicates.
func ValidStages(stages []string) error {
	if len(stages) < 2 {
		return fmt.Errorf("%w: need at least two stages (a rolling one and one to promote to), got %v", ErrBadName, stages)
	}
	for i, s := range stages {
		if err := ValidStageName(s); err != nil {
			return err
		}
		if slices.Contains(stages[:i], s) {
			return fmt.Errorf("%w: stage %s is listed twice", ErrBadName, s)
		}
	}
	return nil
}

// DecidePromotion applies the promotion rules. stages is the ordered list
// (the first is the rolling stage, fed by publish); history holds each
// stage's promotions, oldest first; serving is what the target serves now.
//
//   - Nothing is promoted into the first stage.
//   - Any snapshot may enter the second stage.
//   - A later stage takes a snapshot only after the stage before it had it
//     (at any time: a rollback to what the stage before served earlier is
//     in order). force overrides this, and the decision says so.
//   - Promoting what the stage serves already is a no-op.
func DecidePromotion(stages []string, to, snap, serving string, history map[string][]Promotion, force bool) (Decision, error) {
	i := slices.Index(stages, to)
	switch {
	case i < 0:
		return Decision{}, fmt.Errorf("%w %q (stages: %s)", ErrUnknownStage, to, strings.Join(stages, ", "))
	case i == 0:
		return Decision{}, fmt.Errorf("%w: %s is fed by publish, not promote", ErrOutOfOrder, to)
	}
	if serving == snap {
		return Decision{NoOp: true}, nil
	}
	d := Decision{}
	for _, p := range history[to] {
		if p.Snapshot == snap {
			d.Rollback = true
		}
	}
	if i == 1 {
		return d, nil
	}
	prev := stages[i-1]
	for _, p := range history[prev] {
		if p.Snapshot == snap {
			return d, nil
		}
	}
	if !force {
		return Decision{}, fmt.Errorf("%w: %s has never been in %s, which comes before %s (use --force to override; it is recorded)",
			ErrOutOfOrder, snap, prev, to)
	}
	d.Forced = true
	return d, nil
}
