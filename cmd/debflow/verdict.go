package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

type verdictOptions struct {
	stage       string
	pass, fail  bool
	note        string
	lockTimeout time.Duration
}

func newVerdictCmd(g *globalOptions, e env) *cobra.Command {
	var o verdictOptions
	cmd := &cobra.Command{
		Use:   "verdict SNAPSHOT --stage STAGE (--pass | --fail) [--note TEXT]",
		Short: "Record whether a snapshot passed its verification in a stage",
		Long: `Verdict records, in .debflow/verdicts/STAGE.json, whether a snapshot passed
its verification in a stage: from a person, a monitoring job or a test rig,
with who (the CI job, or $USER@host) and when. A later verdict for the same
snapshot and stage replaces the earlier one. The gate of the next stage
('debflow stage set --require-verdict') reads it; a failing verdict's note
is quoted when the gate refuses. Nothing devices see changes.`,
		Example: `  debflow verdict 2026-11-24.02 --stage canary --pass --note "fleet health green for 48h"
  debflow verdict 2026-11-24.02 --stage canary --fail --note "boot loop on rev B boards"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.stage == "" {
				return usagef("--stage STAGE is required")
			}
			if o.pass == o.fail {
				return usagef("give exactly one of --pass and --fail")
			}
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			v, err := r.RecordVerdict(cmd.Context(), snapshot.Verdict{Snapshot: args[0], Stage: o.stage, Pass: o.pass, Note: o.note}, o.lockTimeout)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, v)
			}
			what := "passed"
			if !v.Pass {
				what = "failed"
			}
			fmt.Fprintf(e.stdout, "%s %s in %s (by %s at %s)\n", v.Snapshot, what, v.Stage, v.By, v.When)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stage, "stage", "", "the stage the snapshot was verified in (required)")
	f.BoolVar(&o.pass, "pass", false, "the snapshot passed")
	f.BoolVar(&o.fail, "fail", false, "the snapshot failed")
	f.StringVar(&o.note, "note", "", "what was verified, or what failed")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}
