package snapshot

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
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
	Rollback bool   `json:"rollback,omitempty"` // Snapshot is older than Previous
	Forced   bool   `json:"forced,omitempty"`   // the order rule was overridden
	// ForcedGate says what a forced promotion overrode of the stage's
	// gate ("" when the gate was open or there is none).
	ForcedGate string `json:"forced_gate,omitempty"`
	When       string `json:"when"`         // RFC 3339, UTC
	By         string `json:"by,omitempty"` // who or what promoted (CI job, user)
}

// Decision is what promoting a snapshot to a stage amounts to.
type Decision struct {
	NoOp     bool // the stage serves the snapshot already
	Rollback bool // the snapshot is older than the one the stage serves
	Forced   bool // allowed only because of --force
	// ForcedGate is what Force overrode of the stage's gate.
	ForcedGate string
}

// PromotionRequest is what DecidePromotion decides on. Everything in it
// must be what the stages have committed, never what a promotion meant to
// do: a promotion that failed before its commit point must not count.
type PromotionRequest struct {
	Stages   []string // the ordered stages; the first is the rolling one, fed by publish
	To       string   // the stage to promote to
	Snapshot string   // the snapshot to promote
	Serving  string   // what To serves now; "" for nothing
	// History holds the committed promotions of each stage, oldest first.
	// Only the stage before To is consulted.
	History map[string][]Promotion
	// Compare orders snapshots: negative when a is older than b. nil
	// means CompareNames.
	Compare func(a, b string) int
	Force   bool
	// Gate is To's gate (nil: none); Verdict is the verdict of the stage
	// before To for Snapshot (nil: none); Now is the time the soak is
	// measured at.
	Gate    *Gate
	Verdict *Verdict
	Now     time.Time
}

// CompareNames orders snapshot names by the time they stand for: default
// names (NextName) sort by creation time byte-wise, so this is byte order.
// Callers that know the snapshots' creation times should order by those
// first, for custom names.
func CompareNames(a, b string) int { return strings.Compare(a, b) }

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

// DecidePromotion applies the promotion rules:
//
//   - Nothing is promoted into the first stage.
//   - Any snapshot may enter the second stage.
//   - A later stage takes a snapshot only after the stage before it had it
//     (at any time: a rollback to what the stage before served earlier is
//     in order). Force overrides this, and the decision says so.
//   - Promoting what the stage serves already is a no-op.
//   - A promotion to a snapshot older than the one served (in the order of
//     Compare) is a rollback, and nothing else is: a promotion back to a
//     newer snapshot the stage served before is not.
//   - A stage with a Gate takes a snapshot only when the stage before it
//     has served it for the soak time and, if required, has a passing
//     verdict for it (a *GateError otherwise). Force overrides this too,
//     and the decision says what it overrode.
func DecidePromotion(req PromotionRequest) (Decision, error) {
	d, err := decideOrder(req)
	if err != nil || d.NoOp || req.Gate == nil {
		return d, err
	}
	i := slices.Index(req.Stages, req.To)
	if i < 2 {
		return d, nil
	}
	prev := req.Stages[i-1]
	ge := EvaluateGate(GateRequest{Stage: req.To, Previous: prev, Snapshot: req.Snapshot, Gate: *req.Gate,
		History: req.History[prev], Verdict: req.Verdict, Now: req.Now})
	switch {
	case ge == nil:
		return d, nil
	case !req.Force:
		return Decision{}, ge
	}
	d.Forced, d.ForcedGate = true, ge.Missing()
	return d, nil
}

func decideOrder(req PromotionRequest) (Decision, error) {
	stages, to, snap := req.Stages, req.To, req.Snapshot
	i := slices.Index(stages, to)
	switch {
	case i < 0:
		return Decision{}, fmt.Errorf("%w %q (stages: %s)", ErrUnknownStage, to, strings.Join(stages, ", "))
	case i == 0:
		return Decision{}, fmt.Errorf("%w: %s is fed by publish, not promote", ErrOutOfOrder, to)
	}
	if req.Serving == snap {
		return Decision{NoOp: true}, nil
	}
	compare := req.Compare
	if compare == nil {
		compare = CompareNames
	}
	d := Decision{Rollback: req.Serving != "" && compare(snap, req.Serving) < 0}
	if i == 1 {
		return d, nil
	}
	prev := stages[i-1]
	for _, p := range req.History[prev] {
		if p.Snapshot == snap {
			return d, nil
		}
	}
	if !req.Force {
		return Decision{}, fmt.Errorf("%w: %s has never been in %s, which comes before %s (use --force to override; it is recorded)",
			ErrOutOfOrder, snap, prev, to)
	}
	d.Forced = true
	return d, nil
}
