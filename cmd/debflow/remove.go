package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

type removeOptions struct {
	suite, component string
	dryRun           bool
	lockTimeout      time.Duration
}

func newRemoveCmd(g *globalOptions, e env) *cobra.Command {
	var o removeOptions
	cmd := &cobra.Command{
		Use:   "remove --repo DIR --key FILE [--suite development] [--component main] NAME[=VERSION][/ARCH]...",
		Short: "Remove packages from a rolling suite (all or nothing)",
		Long: `Remove takes packages out of a rolling suite: NAME removes every version and
architecture of it, NAME=VERSION one version (epochs included, as in
hello=2:1.0), NAME=VERSION/ARCH or NAME/ARCH one architecture. An
Architecture: all package goes from every architecture's index.

All or nothing: when an argument matches no package, remove names every such
argument (exit 3) and changes nothing. Snapshots and stages keep what they
hold, and their pool files stay; a pool file that no suite, snapshot or stage
lists any more is deleted. Stages and snapshots themselves are refused
(exit 5): they change only by promote and snapshot pick.

--dry-run prints what would be removed and changes nothing (no key needed).`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRemove(cmd.Context(), g, o, e, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.suite, "suite", "development", "the rolling suite to remove from")
	f.StringVar(&o.component, "component", "main", "the component")
	f.BoolVar(&o.dryRun, "dry-run", false, "print what would be removed, change nothing")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

func runRemove(ctx context.Context, g *globalOptions, o removeOptions, e env, args []string) error {
	specs := make([]repo.PackageSpec, 0, len(args))
	for _, a := range args {
		p, err := repo.ParsePackageSpec(a)
		if err != nil {
			return err
		}
		specs = append(specs, p)
	}
	r, err := openRepo(g, e, !o.dryRun)
	if err != nil {
		return err
	}
	res, err := r.Remove(ctx, specs, repo.RemoveOptions{Suite: o.suite, Component: o.component, DryRun: o.dryRun, LockTimeout: o.lockTimeout})
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e, res)
	}
	verb, freed := "removed", "freed"
	if res.DryRun {
		verb, freed = "would remove", "would free"
	}
	for _, k := range res.Removed {
		fmt.Fprintf(e.stdout, "%s %s from %s\n", verb, k, res.Suite)
	}
	for _, p := range res.PoolFreed {
		fmt.Fprintf(progress(g, e), "%s %s\n", freed, p)
	}
	return nil
}
