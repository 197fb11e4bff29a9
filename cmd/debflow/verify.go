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
		Long: `Verify checks what apt would, and more: the InRelease and Release.gpg
signatures of every suite, every index file (named and by-hash) against its
Release hashes, and the size and hashes of every pool file an index lists.
It lists the problems and exits 6 when there are any.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kr, err := loadKeyring(g, e, o.keyring)
			if err != nil {
				return err
			}
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			rep, err := r.Verify(cmd.Context(), kr)
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
