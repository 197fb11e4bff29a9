package main

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

type promoteOptions struct {
	to          string
	force       bool
	validFor    time.Duration
	lockTimeout time.Duration
	dryRun      bool
}

func newPromoteCmd(g *globalOptions, e env) *cobra.Command {
	var o promoteOptions
	cmd := &cobra.Command{
		Use:   "promote --repo DIR --key FILE SNAPSHOT --to STAGE [--force]",
		Short: "Make a stage serve a snapshot, unmodified",
		Long: `Promote makes a stage (canary, production, ...) serve a snapshot: the same
package indexes byte for byte and the same pool files. Its Release differs
only in Suite, Date, Valid-Until and a Snapshot field naming what it serves.

Stages are ordered (development -> canary -> production by default, in
.debflow/config.json). Any snapshot may enter the first stage after
development; each later stage takes a snapshot only after the stage before
it had it. --force overrides this, and the history records it.

Promoting a snapshot older than the one the stage serves (by creation
time) is a rollback, and only that is called one. It gets a Date later than
the stage's previous one (apt ignores an older Date); devices follow it down
with the pin that 'debflow sources --preferences' prints. Promoting the
snapshot a stage serves already is a successful no-op.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.to == "" {
				return usagef("--to STAGE is required")
			}
			r, ov, err := openRepoMaybeDry(g, e, true, o.dryRun)
			if err != nil {
				return err
			}
			res, err := r.Promote(cmd.Context(), args[0], o.to, repo.PromoteOptions{Force: o.force, ValidFor: o.validFor, LockTimeout: o.lockTimeout})
			if err != nil {
				return err
			}
			if ov != nil {
				return printDryRun(cmd.Context(), g, e, ov, res, func(w io.Writer) { writePromoted(w, res, "would promote", "would roll back") })
			}
			if g.json {
				return printJSON(e, res)
			}
			writePromoted(e.stdout, res, "promoted", "rolled back")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.to, "to", "", "the stage (required)")
	f.BoolVar(&o.force, "force", false, "override the order rule (recorded in the history)")
	f.DurationVar(&o.validFor, "valid-for", 0, "write Valid-Until = Date + this for the stage")
	addDryRun(cmd, &o.dryRun)
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

func writePromoted(w io.Writer, res *repo.PromoteResult, promoted, rolledBack string) {
	if res.NoOp {
		fmt.Fprintf(w, "%s serves %s already\n", res.Stage, res.Snapshot)
		return
	}
	what := promoted
	if res.Rollback {
		what = rolledBack
	}
	if res.Forced {
		what += " (forced)"
	}
	fmt.Fprintf(w, "%s %s: %s -> %s\n", what, res.Stage, orNothing(res.Previous), res.Snapshot)
	if res.ForcedGate != "" {
		fmt.Fprintf(w, "the gate of %s was overridden (recorded in the history): %s\n", res.Stage, res.ForcedGate)
	}
}

func newStatusCmd(g *globalOptions, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "status --repo DIR",
		Short: "List every stage with the snapshot it serves and since when",
		Long: `Status lists every stage with the snapshot devices get from it (the one its
served InRelease names), since when, and the Release Date.

A promotion killed after it was recorded but before its Release files were
written is listed as interrupted: devices still get the old snapshot, and
status says so. Status writes nothing and needs no key; the next command
that changes the stage (promoting to it, or to the stage after it, or
refresh) completes the promotion.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			st, err := r.Status(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, st)
			}
			rows := [][]string{{"STAGE", "SERVES", "SINCE", "RELEASE DATE"}}
			for _, s := range st {
				serves := s.Serves
				switch {
				case s.Rolling:
					serves = "(rolling)"
				case serves == "":
					serves = "-"
				}
				rows = append(rows, []string{s.Stage, serves, dash(s.Since), dash(s.Date)})
			}
			if err := writeTable(e.stdout, rows); err != nil {
				return err
			}
			for _, s := range st {
				if s.SoakRequired > 0 || s.VerdictRequired || s.Verdict != nil {
					fmt.Fprintf(e.stdout, "%s: %s soaked %s of %s", s.Stage, dash(s.Serves), time.Duration(s.SoakElapsed), time.Duration(s.SoakRequired))
					switch {
					case s.Verdict != nil && s.Verdict.Pass:
						fmt.Fprintf(e.stdout, "; verdict: pass (by %s at %s)", s.Verdict.By, s.Verdict.When)
					case s.Verdict != nil:
						fmt.Fprintf(e.stdout, "; verdict: FAIL (by %s at %s) %q", s.Verdict.By, s.Verdict.When, s.Verdict.Note)
					case s.VerdictRequired:
						fmt.Fprint(e.stdout, "; verdict: none yet (required)")
					}
					fmt.Fprintln(e.stdout)
				}
				if s.Pending != "" {
					fmt.Fprintf(e.stdout, "%s: a promotion to %s was interrupted; devices get %s until it completes ('debflow promote %s --to %s' completes it)\n",
						s.Stage, s.Pending, orNothing(s.Serves), s.Pending, s.Stage)
				}
			}
			return nil
		},
	}
}

func newHistoryCmd(g *globalOptions, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "history --repo DIR STAGE",
		Short: "Show a stage's promotions: when, from which snapshot to which, forced, by whom",
		Long: `History lists a stage's promotions that devices saw, oldest first: when,
from which snapshot to which, whether it was a rollback (to a snapshot older
than the one served) or forced past the order rule, and by whom (the CI job,
or $USER@host). A promotion that was interrupted is not listed until it
completes (see 'debflow status').`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			h, err := r.History(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, h)
			}
			for _, p := range h {
				note := ""
				if p.Rollback {
					note += " (rollback)"
				}
				if p.Forced {
					note += " (forced)"
				}
				fmt.Fprintf(e.stdout, "%s  %s -> %s%s  by %s\n", p.When, dash(p.Previous), p.Snapshot, note, p.By)
			}
			return nil
		},
	}
}

func orNothing(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
