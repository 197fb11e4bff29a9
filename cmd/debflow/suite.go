package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

func newSuiteCmd(g *globalOptions, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "suite",
		Short: "List suites; drop rolling suites",
		Long: `A repository holds rolling suites (fed by publish: development, and any
created with publish --create-suite), stages (fed by promote) and snapshots.`,
	}
	cmd.AddCommand(newSuiteListCmd(g, e), newSuiteDropCmd(g, e))
	return cmd
}

func newSuiteListCmd(g *globalOptions, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "list --repo DIR",
		Short: "List every suite: kind (rolling, stage, snapshot), packages, Date",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			all, err := r.Suites(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, all)
			}
			if len(all) == 0 {
				fmt.Fprintln(e.stderr, "no suites")
				return nil
			}
			w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tKIND\tPACKAGES\tDATE\tSERVES")
			for _, s := range all {
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\n", s.Name, s.Kind, s.Packages, s.Date.UTC().Format(time.RFC3339), s.Serves)
			}
			return w.Flush()
		},
	}
}

func newSuiteDropCmd(g *globalOptions, e env) *cobra.Command {
	var dryRun bool
	var lockTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "drop --repo DIR NAME [--dry-run]",
		Short: "Remove a rolling suite and the pool files only it listed",
		Long: `Drop removes a rolling suite: its files under dists/NAME/ (a nested suite
such as NAME/updates keeps its own), its record, and the pool files that no
other suite, snapshot or stage lists. development, the stages and snapshots
are refused (exit 5); snapshots are dropped with 'snapshot drop'. The name
can be created again with publish --create-suite.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			res, err := r.DropSuite(cmd.Context(), args[0], dryRun, lockTimeout)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, res)
			}
			verb, freed := "dropped", "freed"
			if dryRun {
				verb, freed = "would drop", "would free"
			}
			for _, p := range res.PoolFreed {
				fmt.Fprintf(e.stdout, "%s %s\n", freed, p)
			}
			fmt.Fprintf(e.stdout, "%s %s: %d package(s), %d file(s) under dists/%s/, %d pool file(s) freed\n",
				verb, res.Suite, res.Packages, len(res.Files), res.Suite, len(res.PoolFreed))
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be removed, change nothing")
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}
