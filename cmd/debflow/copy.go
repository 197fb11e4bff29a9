package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

type copyOptions struct {
	from, to, keyring string
	lockTimeout       time.Duration
}

func newCopyCmd(g *globalOptions, e env) *cobra.Command {
	var o copyOptions
	cmd := &cobra.Command{
		Use:   "copy --from DIR|s3://BUCKET[/PREFIX] --to DIR|s3://BUCKET[/PREFIX] [--key FILE | --keyring PUB]",
		Short: "Copy a repository to another storage (migrate a directory to a bucket), then verify the copy",
		Long: `Copy copies a whole repository, history and snapshots included (debflow's
records under .debflow/ go along), into an empty directory or bucket prefix,
holding both locks. Objects are copied in parallel, in the publisher's order
(pool and by-hash files first, Release files last), their sizes compared,
and the copy is then verified as 'debflow verify' does (exit 6 on problems)
with --keyring, or the public part of --key; without either, only the sizes
are checked.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.from == "" || o.to == "" {
				return usagef("give --from and --to")
			}
			src, err := openSpec("--from", o.from)
			if err != nil {
				return err
			}
			dst, err := openSpec("--to", o.to)
			if err != nil {
				return err
			}
			rep, err := repo.Copy(cmd.Context(), src, dst, "", o.lockTimeout, terminalProgress(g, e, "copying"))
			if err != nil {
				return err
			}
			if !g.json {
				fmt.Fprintf(e.stdout, "copied %d objects (%d bytes) from %s to %s\n", rep.Objects, rep.Bytes, o.from, o.to)
			}
			if o.keyring == "" && g.keyFile == "" && e.getenv("DEBFLOW_KEY") == "" {
				if g.json {
					return printJSON(e, rep)
				}
				return nil
			}
			kr, err := loadKeyring(g, e, o.keyring)
			if err != nil {
				return err
			}
			vrep, err := repo.New(dst).Verify(cmd.Context(), kr)
			if err != nil {
				return err
			}
			if g.json {
				if err := printJSON(e, struct {
					repo.CopyReport
					Verify any `json:"verify"`
				}{rep, vrep}); err != nil {
					return err
				}
			} else {
				for _, p := range vrep.Problems {
					fmt.Fprintln(e.stdout, p)
				}
				if len(vrep.Problems) == 0 {
					fmt.Fprintf(e.stdout, "verified: %d suite(s), %d index files, %d pool files\n", len(vrep.Suites), vrep.Indexes, vrep.PoolFiles)
				}
			}
			if len(vrep.Problems) > 0 {
				return errVerify{len(vrep.Problems)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.from, "from", "", "the repository to copy")
	cmd.Flags().StringVar(&o.to, "to", "", "where to copy it (empty)")
	cmd.Flags().StringVar(&o.keyring, "keyring", "", "public keyring to verify the copy with (default: the public part of --key)")
	cmd.Flags().DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher of either repository")
	return cmd
}
