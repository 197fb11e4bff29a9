package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

type verifyOptions struct {
	keyring string
}

// errVerify marks a verification that found problems (exit 6).
type errVerify struct{ n int }

func (e errVerify) Error() string { return fmt.Sprintf("verify found %d problem(s)", e.n) }

func newVerifyCmd(g *globalOptions, e env) *cobra.Command {
	var o verifyOptions
	cmd := &cobra.Command{
		Use:   "verify --repo DIR [--key FILE | --keyring PUB]",
		Short: "Check every signature, index and pool file of the repository",
		Long: `Verify checks what apt would, and more, for every suite apt could be
pointed at: every dists/**/InRelease (or Release) in the tree and every suite
debflow records. For each it checks the InRelease and Release.gpg signatures,
that Valid-Until has not passed and Date is not in the future, every index
file (by-hash and named) against the hashes InRelease lists, and the size and
hashes of every pool file an index lists. Missing or inconsistent metadata is
a problem too: a served suite with no record in .debflow/suites, a recorded
suite with no InRelease or one that does not carry the recorded Release, a
missing .debflow/config.json, and a path that holds no repository at all.

Verify takes no lock and changes nothing, so monitoring can run it while
publishes happen: each suite is read from one InRelease, its indexes by hash,
and a suite that moves while it is read is read again.

It lists the problems and exits 6 when there are any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kr, err := loadKeyring(g, e, o.keyring)
			if err != nil {
				return err
			}
			m := startMeter(g, e, "verifying", nil)
			defer m.Stop()
			st, err := openStorage(g)
			if err != nil {
				return err
			}
			r, err := openRepoOn(meterStorage(st, m), g, e, false)
			if err != nil {
				return err
			}
			rep, err := r.Verify(cmd.Context(), kr)
			m.Stop()
			if err != nil {
				return err
			}
			if g.json {
				if err := printJSON(e, rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintln(e.stdout, p)
				}
				if len(rep.Problems) == 0 {
					fmt.Fprintf(e.stdout, "ok: %d suite(s), %d index files, %d pool files\n", len(rep.Suites), rep.Indexes, rep.PoolFiles)
				}
			}
			if len(rep.Problems) > 0 {
				return errVerify{len(rep.Problems)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&o.keyring, "keyring", "", "public keyring to verify with (default: the public part of --key)")
	return cmd
}
