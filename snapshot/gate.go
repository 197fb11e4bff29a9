package snapshot

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrGateClosed is wrapped by a *GateError: a stage's gate refuses a
// snapshot.
var ErrGateClosed = errors.New("the stage's gate refuses the snapshot")

// Gate is what a stage requires of a snapshot before taking it, in the
// stage before it (Kargo's verification and soak, for apt).
type Gate struct {
	// Soak is how long the stage before must have served the snapshot
	// continuously.
	Soak time.Duration
	// RequireVerdict: the stage before must have a passing verdict for
	// the snapshot.
	RequireVerdict bool
}

// Verdict is a recorded verification of a snapshot in a stage: by a
// person, a monitoring job or a test rig. A later verdict for the same
// snapshot and stage replaces an earlier one.
type Verdict struct {
	Snapshot string `json:"snapshot"`
	Stage    string `json:"stage"`
	Pass     bool   `json:"pass"`
	Note     string `json:"note,omitempty"`
	By       string `json:"by"`
	When     string `json:"when"` // RFC 3339, UTC
}

// GateError says why a gate refuses a snapshot: everything that is
// missing, so that one refusal tells the whole story.
type GateError struct {
	Stage, Previous, Snapshot string
	Gate                      Gate
	NoVerdict                 bool     // a verdict is required and there is none
	Failed                    *Verdict // the verdict failed
	Soaked                    time.Duration
	SoakLeft                  time.Duration // > 0: the soak time is not over
}

func (e *GateError) Error() string {
	return fmt.Sprintf("%v: %s into %s: %s (--force overrides; it is recorded)", ErrGateClosed, e.Snapshot, e.Stage, e.Missing())
}

func (e *GateError) Is(target error) bool { return target == ErrGateClosed }

// Missing lists what the gate still needs, in words.
func (e *GateError) Missing() string {
	var why []string
	if e.SoakLeft > 0 {
		why = append(why, fmt.Sprintf("%s has served it for %s of the %s soak time, %s left", e.Previous, roundDur(e.Soaked), e.Gate.Soak, roundDur(e.SoakLeft)))
	}
	if e.NoVerdict {
		why = append(why, fmt.Sprintf("no verdict for it in %s (record one: debflow verdict %s --stage %s --pass)", e.Previous, e.Snapshot, e.Previous))
	}
	if e.Failed != nil {
		note := ""
		if e.Failed.Note != "" {
			note = fmt.Sprintf(": %q", e.Failed.Note)
		}
		why = append(why, fmt.Sprintf("its verdict in %s failed (by %s at %s)%s", e.Previous, e.Failed.By, e.Failed.When, note))
	}
	return strings.Join(why, "; ")
}

func roundDur(d time.Duration) time.Duration {
	if d >= time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

// Soaked returns how long a stage has served snap without interruption
// by now, from its history (oldest first): the longest stretch, so that a
// snapshot the stage moved past still counts the time it was served.
func Soaked(history []Promotion, snap string, now time.Time) time.Duration {
	var best time.Duration
	for i, p := range history {
		if p.Snapshot != snap {
			continue
		}
		from, err := time.Parse(time.RFC3339, p.When)
		if err != nil {
			continue
		}
		until := now
		if i+1 < len(history) {
			if t, err := time.Parse(time.RFC3339, history[i+1].When); err == nil {
				until = t
			}
		}
		best = max(best, until.Sub(from))
	}
	return best
}

// GateRequest is what EvaluateGate decides on.
type GateRequest struct {
	Stage, Previous, Snapshot string
	Gate                      Gate
	History                   []Promotion // Previous's committed promotions, oldest first
	Verdict                   *Verdict    // Previous's verdict for Snapshot, if any
	Now                       time.Time
}

// EvaluateGate returns nil when the gate lets the snapshot in, else a
// *GateError naming everything that is missing.
func EvaluateGate(req GateRequest) *GateError {
	e := &GateError{Stage: req.Stage, Previous: req.Previous, Snapshot: req.Snapshot, Gate: req.Gate,
		Soaked: Soaked(req.History, req.Snapshot, req.Now)}
	if req.Gate.Soak > e.Soaked {
		e.SoakLeft = req.Gate.Soak - e.Soaked
	}
	if req.Gate.RequireVerdict {
		switch {
		case req.Verdict == nil:
			e.NoVerdict = true
		case !req.Verdict.Pass:
			e.Failed = req.Verdict
		}
	}
	if e.SoakLeft == 0 && !e.NoVerdict && e.Failed == nil {
		return nil
	}
	return e
}
