package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

func newSnapshotCmd(g *globalOptions, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Freeze suites into dated, immutable snapshots; pick fixes; diff",
		Long: `A snapshot is a complete, signed apt suite of its own (dists/NAME), sharing
the pool with every other suite. Its package indexes never change after
creation; only refresh re-signs its Release. Snapshot names start with a
digit and stage names with a letter, so they never collide.`,
	}
	cmd.AddCommand(
		newSnapshotCreateCmd(g, e),
		newSnapshotPickCmd(g, e),
		newSnapshotDiffCmd(g, e),
		newSnapshotListCmd(g, e),
		newSnapshotShowCmd(g, e),
		newSnapshotDropCmd(g, e),
	)
	return cmd
}

type snapshotCreateOptions struct {
	from, name  string
	sources     []string // create: --from, repeatable
	lockTimeout time.Duration
	dryRun      bool
}

func newSnapshotCreateCmd(g *globalOptions, e env) *cobra.Command {
	var o snapshotCreateOptions
	cmd := &cobra.Command{
		Use:   "create --repo DIR --key FILE [--from development] [--from MIRROR]... [--name NAME]",
		Short: "Freeze a suite into a new snapshot and print its name",
		Long: `Create freezes the current content of a suite (development by default)
and prints the new snapshot's name as the last line of stdout. The default
name is the UTC date, YYYY-MM-DD; later snapshots of the same day get a
suffix that still sorts by time (YYYY-MM-DD.02, .03, ...). A name is never
reused.

Given --from more than once (development and mirrors, say), it freezes them
together into one snapshot: for each package name and architecture, the
source with the newest version gives it, and the snapshot's provenance
(snapshot show) lists what each source gave and which package of which
source won over another's.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, ov, err := openRepoMaybeDry(g, e, true, o.dryRun)
			if err != nil {
				return err
			}
			res, err := r.CreateSnapshot(cmd.Context(), repo.SnapshotOptions{Sources: o.sources, Name: o.name, LockTimeout: o.lockTimeout})
			if err != nil {
				return err
			}
			if ov != nil {
				return printDryRun(cmd.Context(), g, e, ov, res, func(w io.Writer) {
					fmt.Fprintf(w, "would create snapshot %s of %s: %d packages\n", res.Name, strings.Join(o.sources, " + "), res.Packages)
				})
			}
			if g.json {
				return printJSON(e, res)
			}
			fmt.Fprintf(progress(g, e), "snapshot of %s: %d packages\n", strings.Join(o.sources, " + "), res.Packages)
			fmt.Fprintln(e.stdout, res.Name)
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&o.sources, "from", []string{"development"}, "a suite or mirror to freeze (repeat to combine several)")
	cmd.Flags().StringVar(&o.name, "name", "", "the snapshot's name (default: the UTC date)")
	addDryRun(cmd, &o.dryRun)
	cmd.Flags().DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

func newSnapshotPickCmd(g *globalOptions, e env) *cobra.Command {
	var o snapshotCreateOptions
	cmd := &cobra.Command{
		Use:   "pick --repo DIR --key FILE BASE PKG=VERSION... [--from SUITE_OR_SNAPSHOT] [--name NAME]",
		Short: "Make a new snapshot: BASE with picked package versions",
		Long: `Pick makes a new snapshot from BASE with each named package replaced by,
or added at, that version, taken from development unless --from says
otherwise. BASE stays untouched. It prints the new name as the last line,
warns about each Depends or Pre-Depends that BASE satisfied and the new
snapshot does not (what BASE lacked already is not news), and records its
provenance (the base and the picks).`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var picks []snapshot.Pick
			for _, a := range args[1:] {
				p, err := snapshot.ParsePick(a)
				if err != nil {
					return err
				}
				picks = append(picks, p)
			}
			r, ov, err := openRepoMaybeDry(g, e, true, o.dryRun)
			if err != nil {
				return err
			}
			res, err := r.PickSnapshot(cmd.Context(), args[0], picks, repo.SnapshotOptions{From: o.from, Name: o.name, LockTimeout: o.lockTimeout})
			if err != nil {
				return err
			}
			if ov != nil {
				return printDryRun(cmd.Context(), g, e, ov, res, func(w io.Writer) {
					for _, warn := range res.Warnings {
						fmt.Fprintf(e.stderr, "warning: %s\n", warn)
					}
					fmt.Fprintf(w, "would create snapshot %s: %s with %s\n", res.Name, args[0], strings.Join(args[1:], " "))
				})
			}
			if g.json {
				return printJSON(e, res)
			}
			for _, w := range res.Warnings {
				fmt.Fprintf(e.stderr, "warning: %s\n", w)
			}
			fmt.Fprintln(e.stdout, res.Name)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.from, "from", "development", "the suite or snapshot to take the packages from")
	cmd.Flags().StringVar(&o.name, "name", "", "the new snapshot's name (default: the UTC date)")
	addDryRun(cmd, &o.dryRun)
	cmd.Flags().DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

func newSnapshotDiffCmd(g *globalOptions, e env) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Say what changed from A to B (snapshots, suites or stages)",
		Long: `Diff lists each package and architecture that was added, removed,
upgraded or downgraded from A to B, comparing the highest version on each
side (what apt would install), and the versions that appeared or
disappeared. Unchanged packages are not listed. --json gives the same for
scripts, --markdown a table for pull requests.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			changes, err := r.Diff(cmd.Context(), args[0], args[1])
			if err != nil {
				return err
			}
			switch {
			case g.json:
				return printJSON(e, changes)
			case markdown:
				return snapshot.WriteMarkdown(e.stdout, args[0], args[1], changes)
			}
			return snapshot.WriteText(e.stdout, args[0], args[1], changes)
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print a Markdown table")
	return cmd
}

func newSnapshotListCmd(g *globalOptions, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "list --repo DIR",
		Short: "List snapshots: name, creation time, packages, provenance, stages",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			all, err := r.Snapshots(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, all)
			}
			if len(all) == 0 {
				fmt.Fprintln(e.stderr, "no snapshots")
				return nil
			}
			rows := [][]string{{"NAME", "CREATED", "PACKAGES", "PROVENANCE", "STAGES"}}
			for _, s := range all {
				rows = append(rows, []string{s.Name, s.Info.Created.UTC().Format(time.RFC3339),
					fmt.Sprint(s.Info.Packages), provenance(s.Info), strings.Join(s.ServedBy, ",")})
			}
			return writeTable(e.stdout, rows)
		},
	}
}

func provenance(i repo.SnapshotInfo) string {
	if i.Base == "" {
		return fmt.Sprintf("%s (generation %d)", i.Source, i.SourceGeneration)
	}
	return fmt.Sprintf("%s + %s from %s", i.Base, strings.Join(i.Picks, " "), i.Source)
}

func newSnapshotShowCmd(g *globalOptions, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "show --repo DIR NAME",
		Short: "Show one snapshot",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			s, err := r.Snapshot(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, s)
			}
			fmt.Fprintf(e.stdout, "Name: %s\nCreated: %s\nPackages: %d\nSource: %s (generation %d)\n",
				s.Name, s.Info.Created.UTC().Format(time.RFC3339), s.Info.Packages, s.Info.Source, s.Info.SourceGeneration)
			if s.Info.Base != "" {
				fmt.Fprintf(e.stdout, "Base: %s\nPicks: %s\n", s.Info.Base, strings.Join(s.Info.Picks, " "))
			}
			for _, src := range s.Info.Sources {
				fmt.Fprintf(e.stdout, "From: %s (%s, generation %d): %d packages\n", src.Suite, src.Kind, src.Generation, src.Packages)
			}
			for _, sh := range s.Info.Shadowed {
				fmt.Fprintf(e.stdout, "Newer wins: %s\n", sh)
			}
			fmt.Fprintf(e.stdout, "Stages: %s\n", strings.Join(s.ServedBy, " "))
			return nil
		},
	}
}

func newSnapshotDropCmd(g *globalOptions, e env) *cobra.Command {
	var lockTimeout time.Duration
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "drop --repo DIR NAME",
		Short: "Remove a snapshot no stage serves (gc frees its pool files)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, ov, err := openRepoMaybeDry(g, e, false, dryRun)
			if err != nil {
				return err
			}
			if err := r.DropSnapshot(cmd.Context(), args[0], lockTimeout); err != nil {
				return err
			}
			if ov != nil {
				return printDryRun(cmd.Context(), g, e, ov, map[string]string{"dropped": args[0]}, func(w io.Writer) {
					fmt.Fprintf(w, "would drop %s\n", args[0])
				})
			}
			if g.json {
				return printJSON(e, map[string]string{"dropped": args[0]})
			}
			fmt.Fprintf(e.stdout, "dropped %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	addDryRun(cmd, &dryRun)
	return cmd
}
