package ci

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// Nothing is how a diff names the side of a stage that served nothing.
const Nothing = "(nothing)"

// commentMarker ends every comment debflow writes, so that tools can find
// them.
const commentMarker = "<!-- debflow -->"

// PromoteOutcome is what a merge job did: the input of the pull request
// comment and of the deployment status.
type PromoteOutcome struct {
	Number          int    // the pull request
	Stage, Snapshot string // what the stage file declares
	Commit          string // the merge commit
	// Result is the promotion's result; nil when it was refused.
	Result *repo.PromoteResult
	// Refused is why the promotion was refused.
	Refused error
	// Serving is what the stage still serves after a refusal ("" for
	// nothing or unknown).
	Serving string
	// Changes is the diff from Result.Previous (or nothing) to Snapshot.
	Changes []snapshot.Change
	// DiffErr is why Changes could not be computed.
	DiffErr error
	RunURL  string // the workflow run, if known
}

// State is the deployment state: "success" or "failure".
func (o PromoteOutcome) State() string {
	if o.Result == nil {
		return "failure"
	}
	return "success"
}

// StatusDescription is the deployment status's one-line description.
func (o PromoteOutcome) StatusDescription() string {
	switch {
	case o.Result == nil:
		return truncate("refused: "+firstLine(o.Refused), 140)
	case o.Result.NoOp:
		return fmt.Sprintf("%s serves %s already", o.Stage, o.Snapshot)
	case o.Result.Rollback:
		return fmt.Sprintf("rolled %s back from %s to %s", o.Stage, orNothing(o.Result.Previous), o.Snapshot)
	}
	return fmt.Sprintf("promoted %s from %s to %s", o.Stage, orNothing(o.Result.Previous), o.Snapshot)
}

// PromoteComment renders the pull request comment for a merge job: the
// result and, for a promotion, the packages added, removed, upgraded and
// downgraded on the stage.
func PromoteComment(o PromoteOutcome) string {
	var b strings.Builder
	var gate *snapshot.GateError
	switch {
	case o.Result == nil && errors.As(o.Refused, &gate):
		fmt.Fprintf(&b, "### debflow did not promote %s to %s: its gate is closed\n\n", code(o.Stage), code(o.Snapshot))
		fmt.Fprintf(&b, "%s takes a snapshot only after %s has served it for %s", code(o.Stage), code(gate.Previous), gate.Gate.Soak)
		if gate.Gate.RequireVerdict {
			b.WriteString(" and has a passing verdict for it")
		}
		b.WriteString(". Missing:\n\n")
		if gate.SoakLeft > 0 {
			fmt.Fprintf(&b, "- soak time: %s has served it for %s, **%s left**\n", code(gate.Previous), gate.Soaked, gate.SoakLeft)
		}
		if gate.NoVerdict {
			fmt.Fprintf(&b, "- a verdict: none recorded (`debflow verdict %s --stage %s --pass`)\n", o.Snapshot, gate.Previous)
		}
		if gate.Failed != nil {
			fmt.Fprintf(&b, "- a passing verdict: it failed (by %s at %s)", gate.Failed.By, gate.Failed.When)
			if gate.Failed.Note != "" {
				fmt.Fprintf(&b, ": %q", gate.Failed.Note)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		if o.Serving != "" {
			fmt.Fprintf(&b, "Nothing changed: %s still serves %s. ", code(o.Stage), code(o.Serving))
		} else {
			fmt.Fprintf(&b, "Nothing changed on %s. ", code(o.Stage))
		}
		if gate.SoakLeft > 0 && gate.Failed == nil {
			fmt.Fprintf(&b, "Re-run this merge job in %s or later", gate.SoakLeft)
			if gate.NoVerdict {
				b.WriteString(", once the verdict is recorded")
			}
			b.WriteString(".\n")
		} else if gate.Failed == nil {
			b.WriteString("Re-run this merge job once the verdict is recorded.\n")
		} else {
			b.WriteString("Revert this pull request, or override the gate with `debflow promote --force` (recorded in the history).\n")
		}
	case o.Result == nil:
		fmt.Fprintf(&b, "### debflow did not promote %s to %s\n\n", code(o.Stage), code(o.Snapshot))
		fmt.Fprintf(&b, "> %s\n\n", firstLine(o.Refused))
		if o.Serving != "" {
			fmt.Fprintf(&b, "Nothing changed: %s still serves %s. ", code(o.Stage), code(o.Serving))
		} else {
			fmt.Fprintf(&b, "Nothing changed on %s. ", code(o.Stage))
		}
		b.WriteString("The stage file now names a snapshot the stage does not serve: revert this pull request, or fix the file in another one.\n")
	case o.Result.NoOp:
		fmt.Fprintf(&b, "### debflow: %s serves %s already\n\nNothing changed.\n", code(o.Stage), code(o.Snapshot))
	default:
		what := "promoted"
		if o.Result.Rollback {
			what = "rolled back"
		}
		fmt.Fprintf(&b, "### debflow %s %s to %s\n\n", what, code(o.Stage), code(o.Snapshot))
		if o.Result.Previous == "" {
			fmt.Fprintf(&b, "%s served nothing before: every package is new to it.", code(o.Stage))
		} else {
			fmt.Fprintf(&b, "%s served %s before.", code(o.Stage), code(o.Result.Previous))
		}
		if o.Result.Rollback {
			fmt.Fprintf(&b, " %s is older than %s: this is a rollback, and devices follow it down with the pin of `debflow sources --preferences`.", code(o.Snapshot), code(o.Result.Previous))
		}
		if o.Result.Forced {
			b.WriteString(" The order rule was overridden; the history records it.")
		}
		b.WriteString("\n\n")
		writeChanges(&b, orNothing(o.Result.Previous), o.Snapshot, o.Changes, o.DiffErr)
	}
	b.WriteString("\n")
	var foot []string
	if o.Commit != "" {
		foot = append(foot, "Merge commit "+code(shortSHA(o.Commit)))
	}
	if o.RunURL != "" {
		foot = append(foot, "[workflow run]("+o.RunURL+")")
	}
	if len(foot) > 0 {
		b.WriteString(strings.Join(foot, " · ") + "\n")
	}
	b.WriteString(commentMarker + "\n")
	return b.String()
}

// Proposal is what a release manager proposes: the input of the pull
// request body.
type Proposal struct {
	Snapshot string
	Base     string // the IaC branch, the stage
	File     string // the stage file
	Previous string // what the file names on Base now; "" for nothing
	Info     repo.SnapshotInfo
	Changes  []snapshot.Change // from Previous (or nothing) to Snapshot
	DiffErr  error             // why Changes could not be computed
	// Gate says what the stage's gate requires and where the snapshot
	// stands ("" when the stage has no gate).
	Gate string
}

// ProposalTitle is the pull request's title.
func ProposalTitle(p Proposal) string {
	return fmt.Sprintf("Promote %s to %s", p.Snapshot, p.Base)
}

// ProposalBody renders the pull request body: what merging does, the
// snapshot's provenance (its source, or its base and picks), and the diff
// from the snapshot the stage file names now.
func ProposalBody(p Proposal) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Merging this pull request makes %s serve snapshot %s: the merge job runs `debflow github promote`.\n\n", code(p.Base), code(p.Snapshot))
	if p.Previous == "" {
		fmt.Fprintf(&b, "%s names no snapshot on %s yet.\n\n", code(p.File), code(p.Base))
	} else {
		fmt.Fprintf(&b, "%s names %s on %s now.\n\n", code(p.File), code(p.Previous), code(p.Base))
	}
	b.WriteString("#### Provenance\n\n")
	i := p.Info
	if !i.Created.IsZero() {
		fmt.Fprintf(&b, "- created %s\n", i.Created.UTC().Format(time.RFC3339))
	}
	if i.Base == "" {
		fmt.Fprintf(&b, "- frozen from %s (generation %d)\n", code(i.Source), i.SourceGeneration)
	} else {
		picks := make([]string, len(i.Picks))
		for k, pk := range i.Picks {
			picks[k] = code(pk)
		}
		fmt.Fprintf(&b, "- made from snapshot %s with %s picked from %s\n", code(i.Base), strings.Join(picks, ", "), code(i.Source))
	}
	fmt.Fprintf(&b, "- %d packages\n\n", i.Packages)
	if p.Gate != "" {
		fmt.Fprintf(&b, "#### Gate\n\n%s The merge job refuses the promotion, and says so here, until the gate opens.\n\n", p.Gate)
	}
	writeChanges(&b, orNothing(p.Previous), p.Snapshot, p.Changes, p.DiffErr)
	b.WriteString("\n" + commentMarker + "\n")
	return b.String()
}

// writeChanges writes the Markdown diff, or why there is none.
func writeChanges(b *strings.Builder, from, to string, changes []snapshot.Change, diffErr error) {
	if diffErr != nil {
		fmt.Fprintf(b, "The changes could not be listed: %s\n", firstLine(diffErr))
		return
	}
	// A strings.Builder does not fail.
	_ = snapshot.WriteMarkdown(b, from, to, changes)
}

func orNothing(s string) string {
	if s == "" {
		return Nothing
	}
	return s
}

// code renders s as an inline code span.
func code(s string) string {
	return "`" + strings.NewReplacer("`", "'", "\n", " ", "\r", " ").Replace(s) + "`"
}

func firstLine(err error) string {
	if err == nil {
		return ""
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
