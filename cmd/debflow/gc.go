package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

func newGCCmd(g *globalOptions, e env) *cobra.Command {
	var dryRun bool
	var lockTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "gc --repo DIR [--dry-run]",
		Short: "Remove pool files that no suite lists",
		Long: `GC removes pool files that no suite lists any more, such as those left by
an interrupted publish. It reads every index of the repository.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// A dry run reads through an overlay: no lock file in the tree.
			r, _, err := openRepoMaybeDry(g, e, false, dryRun)
			if err != nil {
				return err
			}
			res, err := r.GC(cmd.Context(), lockTimeout, dryRun)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, res)
			}
			verb := "removed"
			if dryRun {
				verb = "would remove"
			}
			for _, n := range res.Removed {
				fmt.Fprintf(e.stdout, "%s %s\n", verb, n)
			}
			fmt.Fprintf(e.stderr, "%s %d pool file(s), %d bytes; %d kept\n", verb, len(res.Removed), res.Bytes, res.Kept)
			return nil
		},
	}
	addDryRun(cmd, &dryRun)
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}
