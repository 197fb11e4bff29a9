package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

type publishOptions struct {
	suite            string
	component        string
	keep             int
	indexCompression string
	validFor         time.Duration
	lockTimeout      time.Duration
	createSuite      bool
	dryRun           bool
}

func newPublishCmd(g *globalOptions, e env) *cobra.Command {
	var o publishOptions
	cmd := &cobra.Command{
		Use:   "publish --repo DIR --key FILE [--suite development] [--component main] [--keep N] FILE.deb...",
		Short: "Add packages to a rolling suite (all or nothing)",
		Long: `Publish checks every .deb, then adds them all to a rolling suite, or none.
The first publish into an empty or missing directory creates the repository.

Republishing an identical file is a no-op. A different file with the same
name, version and architecture is refused (exit 5) and nothing changes.

Concurrent publishers take turns: one that has to wait says so, and gives up
after --lock-timeout. A publisher killed at any point leaves the previous
state served; the next command completes or cleans up.

--keep N keeps the newest N versions of each package and architecture in
the suite, and removes the pool files no other suite still lists.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPublish(cmd, g, o, e, args)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.suite, "suite", "development", "the rolling suite to publish into")
	f.StringVar(&o.component, "component", "main", "the component")
	f.IntVar(&o.keep, "keep", 0, "keep the newest N versions of each package and architecture (0: all)")
	f.StringVar(&o.indexCompression, "index-compression", "", `compressed indexes next to each Packages: a list of gz and xz (default "gz,xz", or the repository's setting)`)
	f.DurationVar(&o.validFor, "valid-for", 0, "write Valid-Until = Date + this (e.g. 168h); refresh before it passes")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for another publisher")
	f.BoolVar(&o.createSuite, "create-suite", false, "create --suite if it does not exist (development and the first stage need not)")
	addDryRun(cmd, &o.dryRun)
	return cmd
}

func parseIndexCompression(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, c := range strings.Split(s, ",") {
		switch c = strings.TrimSpace(c); c {
		case "gz", "xz":
			out = append(out, c)
		case "", "none":
		default:
			return nil, usagef("--index-compression: unknown %q (want gz and/or xz)", c)
		}
	}
	return out, nil
}

// publishMemoryLimit is the soft heap limit a publish of n files runs
// under unless GOMEMLIMIT says otherwise: a large ingest then collects
// garbage sooner instead of letting its heap double (10,000 packages:
// peak RSS 86 MB without, 49 MB with, the same time). A batch of 10,000
// holds about 22 MB at its peak, and some 1.5 to 3 KiB more for each
// further package (more with a large suite's index beside it): past 10,000
// the limit grows by 4 KiB a package, for a limit below what the batch
// holds keeps the collector running without pause (a 12,500-package batch
// into a 37,500-package suite took three times the CPU under a fixed
// 32 MiB). It stops growing at 54 MiB: a batch of 25,000 into a suite of
// 25,000 holds about 45 MB, and more room would only let the heap grow (to
// 103 MB of RSS under 89 MiB, 80 MB under 54 MiB). It is a hint to the
// collector, never a cause of failure.
func publishMemoryLimit(n int) int64 {
	return min(30<<20+int64(max(0, n-10_000))*4<<10, 54<<20)
}

func runPublish(cmd *cobra.Command, g *globalOptions, o publishOptions, e env, files []string) error {
	if e.getenv("GOMEMLIMIT") == "" {
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(publishMemoryLimit(len(files))))
	}
	comps, err := parseIndexCompression(o.indexCompression)
	if err != nil {
		return err
	}
	m := newMeter(g, e, "publishing", nil)
	defer m.Stop()
	r, ov, err := openRepoMaybeDry(g, e, true, o.dryRun, m)
	if err != nil {
		return err
	}
	// Every input is read here, once, before the lock: a pipe or a FIFO
	// cannot keep the lock held, and what is stored is what was checked.
	pkgs, err := repo.InspectProgress(cmd.Context(), files, terminalProgress(g, e, "checking packages"))
	if err != nil {
		return err
	}
	defer repo.ClosePackages(pkgs)
	m.Start(progressDelay, progressEvery)
	res, err := r.Publish(cmd.Context(), pkgs, repo.PublishOptions{
		Suite:            o.suite,
		Component:        o.component,
		Keep:             o.keep,
		IndexCompression: comps,
		ValidFor:         o.validFor,
		LockTimeout:      o.lockTimeout,
		CreateSuite:      o.createSuite,
	})
	m.Stop()
	if err != nil {
		return err
	}
	if ov != nil {
		return printDryRun(cmd.Context(), g, e, ov, res, func(w io.Writer) { writePublished(w, res, o.keep, "would add", "would remove") })
	}
	if g.json {
		return printJSON(e, res)
	}
	writePublished(e.stdout, res, o.keep, "added", "removed")
	return nil
}

func writePublished(w io.Writer, res *repo.PublishResult, keep int, added, removed string) {
	for _, k := range res.Added {
		fmt.Fprintf(w, "%s %s to %s\n", added, k, res.Suite)
	}
	for _, k := range res.Unchanged {
		fmt.Fprintf(w, "unchanged %s (already in %s)\n", k, res.Suite)
	}
	for _, k := range res.Removed {
		fmt.Fprintf(w, "%s %s (--keep %d)\n", removed, k, keep)
	}
}
