package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

func newListCmd(g *globalOptions, e env) *cobra.Command {
	var o repo.ListOptions
	cmd := &cobra.Command{
		Use:   "list --repo DIR [--suite development | --snapshot NAME]",
		Short: "List the packages of a suite, stage or snapshot",
		Long: `List prints each package of a suite (development by default), stage or
snapshot: name, version and architecture, one line each, sorted by name, then
version in dpkg order, then architecture. --json prints an array of objects.
An unknown suite or snapshot is bad input (exit 3).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Suite != "" && o.Snapshot != "" {
				return usagef("give --suite or --snapshot, not both")
			}
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			pkgs, err := r.List(cmd.Context(), o)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, pkgs)
			}
			w := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			for _, p := range pkgs {
				fmt.Fprintf(w, "%s\t%s\t%s\n", p.Name, p.Version, p.Architecture)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringVar(&o.Suite, "suite", "", "a rolling suite or stage (default development)")
	cmd.Flags().StringVar(&o.Snapshot, "snapshot", "", "a snapshot")
	return cmd
}
