package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

type stageSetOptions struct {
	soak           time.Duration
	requireVerdict bool
	lockTimeout    time.Duration
}

func newStageCmd(g *globalOptions, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stage",
		Short: "Configure what a stage requires before it takes a snapshot (the gate)",
		Long: `Stage groups the commands that configure stages. 'stage set' changes the
"gates" of .debflow/config.json, and nothing that devices see.`,
		Example: `  debflow stage set production --soak 48h --require-verdict`,
	}
	cmd.AddCommand(newStageSetCmd(g, e))
	return cmd
}

func newStageSetCmd(g *globalOptions, e env) *cobra.Command {
	var o stageSetOptions
	cmd := &cobra.Command{
		Use:   "set STAGE [--soak DURATION] [--require-verdict]",
		Short: "Set a stage's gate: soak time and verdict required in the stage before it",
		Long: `Stage set writes, into .debflow/config.json ("gates"), what a stage requires
of a snapshot before promote lets it in: that the stage before it has served
the snapshot continuously for --soak, and with --require-verdict that the
stage before it has a passing verdict for it ('debflow verdict'). It
replaces the stage's gate; with neither flag it removes it. Nothing devices
see changes. Gates apply from the third stage on (production, after canary).

A promotion the gate refuses exits 5 and changes nothing; 'promote --force'
overrides it and the history records what was overridden.`,
		Example: `  debflow stage set production --soak 48h --require-verdict
  debflow stage set production --soak 24h
  debflow stage set production    # remove the gate`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.soak < 0 {
				return usagef("--soak %s: must not be negative", o.soak)
			}
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			gate := repo.StageGate{Soak: repo.Duration(o.soak), RequireVerdict: o.requireVerdict}
			cfg, err := r.SetGate(cmd.Context(), args[0], gate, o.lockTimeout)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, struct {
					Stage string          `json:"stage"`
					Gate  *repo.StageGate `json:"gate"`
				}{args[0], gateOf(cfg, args[0])})
			}
			if gate == (repo.StageGate{}) {
				fmt.Fprintf(e.stdout, "%s has no gate\n", args[0])
				return nil
			}
			fmt.Fprintf(e.stdout, "%s: soak %s", args[0], o.soak)
			if o.requireVerdict {
				fmt.Fprint(e.stdout, ", passing verdict required")
			}
			fmt.Fprintln(e.stdout)
			return nil
		},
	}
	f := cmd.Flags()
	f.DurationVar(&o.soak, "soak", 0, "how long the stage before must have served a snapshot")
	f.BoolVar(&o.requireVerdict, "require-verdict", false, "require a passing verdict from the stage before")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

func gateOf(cfg *repo.Config, stage string) *repo.StageGate {
	if g, ok := cfg.Gates[stage]; ok {
		return &g
	}
	return nil
}
