package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

func newRefreshCmd(g *globalOptions, e env) *cobra.Command {
	var validFor, lockTimeout time.Duration
	var allowChange bool
	cmd := &cobra.Command{
		Use:   "refresh --repo DIR --key FILE [--valid-for DURATION]",
		Short: "Re-sign every suite's Release with a new Date and Valid-Until",
		Long: `Refresh re-signs the Release files of every suite with a new Date and
Valid-Until, without touching an index. Fleets whose Release files carry
Valid-Until run it from cron, well before the validity ends.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var extra []repo.Option
			if allowChange {
				extra = append(extra, repo.WithReleaseInfoChange())
			}
			r, err := openRepo(g, e, true, extra...)
			if err != nil {
				return err
			}
			res, err := r.Refresh(cmd.Context(), validFor, lockTimeout)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, res)
			}
			for _, s := range res.Suites {
				fmt.Fprintf(e.stdout, "refreshed %s\n", s)
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&validFor, "valid-for", 0, "new validity (default: each suite's own)")
	cmd.Flags().BoolVar(&allowChange, "allow-releaseinfo-change", false, "re-sign suites whose Origin, Label or Codename the configuration changed (devices must accept it too)")
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}
