package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/dryrun"
)

// dryRunHelp is the --dry-run flag's help, the same on every command.
const dryRunHelp = "print what would change, change nothing (the command runs against an in-memory copy of its writes)"

// addDryRun adds --dry-run to cmd.
func addDryRun(cmd *cobra.Command, dry *bool) {
	cmd.Flags().BoolVar(dry, "dry-run", false, dryRunHelp)
}

// openRepoMaybeDry opens the repository; with dry, over an overlay that
// keeps every write in memory, so that the command runs for real and the
// tree stays as it is (no lock file either). ov is nil without dry. m,
// when given, counts what the command reads and writes (progress).
func openRepoMaybeDry(g *globalOptions, e env, sign, dry bool, m ...*meter) (r *repo.Repo, ov *dryrun.Storage, err error) {
	st, err := openStorage(g)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range m {
		st = meterStorage(st, m)
	}
	if dry {
		ov = dryrun.New(st)
		st = ov
	}
	r, err = openRepoOn(st, g, e, sign)
	return r, ov, err
}

// dryRunPlan is what --dry-run --json prints: the command's own result,
// as the real run would print it, and the files that would change.
type dryRunPlan struct {
	DryRun  bool            `json:"dry_run"`
	Result  any             `json:"result"`
	Changes *dryrun.Changes `json:"changes"`
}

// printDryRun prints a dry run's plan: with --json the plan, else the
// command's own lines (text, already worded "would ...") and then each
// file that would be added (+), replaced (~) or deleted (-).
func printDryRun(ctx context.Context, g *globalOptions, e env, ov *dryrun.Storage, res any, text func(w io.Writer)) error {
	ch, err := ov.Changes(ctx)
	if err != nil {
		return fmt.Errorf("dry run: comparing with the repository: %w", err)
	}
	if g.json {
		return printJSON(e, dryRunPlan{DryRun: true, Result: res, Changes: ch})
	}
	if text != nil {
		text(e.stdout)
	}
	writeChanges(e.stdout, ch)
	return nil
}

func writeChanges(w io.Writer, ch *dryrun.Changes) {
	for _, c := range ch.Added {
		fmt.Fprintf(w, "  + %s (%d bytes)\n", c.Name, c.Size)
	}
	for _, c := range ch.Replaced {
		fmt.Fprintf(w, "  ~ %s (%d bytes)\n", c.Name, c.Size)
	}
	for _, c := range ch.Deleted {
		fmt.Fprintf(w, "  - %s (%d bytes)\n", c.Name, c.Size)
	}
	fmt.Fprintf(w, "dry run: would add %d file(s) (%d bytes), replace %d, delete %d (%d bytes freed); nothing was changed\n",
		len(ch.Added), ch.BytesAdded, len(ch.Replaced), len(ch.Deleted), ch.BytesFreed)
}
