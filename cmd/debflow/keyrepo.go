package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/signing"
)

// newKeyAddCmd and newKeyRetireCmd change which keys may sign a
// repository: the explicit steps of a key rotation.
func newKeyAddCmd(g *globalOptions, e env) *cobra.Command {
	return newKeyChangeCmd(g, e, "added", (*repo.Repo).AddKey, cobra.Command{
		Use:   "add --repo DIR (PUBLIC-KEY-FILE | FINGERPRINT)",
		Short: "Let another key sign the repository",
		Long: `Add records another key as one that may sign the repository. Until a key
is recorded, a command signed with it is refused (exit 4), so that a wrong
CI secret never re-signs what devices read. Devices must trust the new key
(install it in their keyring) before it signs anything.`,
		Example: `  debflow key add --repo /srv/apt new-key.pub.asc`,
	})
}

func newKeyRetireCmd(g *globalOptions, e env) *cobra.Command {
	return newKeyChangeCmd(g, e, "retired", (*repo.Repo).RetireKey, cobra.Command{
		Use:   "retire --repo DIR (PUBLIC-KEY-FILE | FINGERPRINT)",
		Short: "Stop a key from signing the repository",
		Long: `Retire removes a key from those that may sign the repository. The last key
cannot be retired.`,
		Example: `  debflow key retire --repo /srv/apt 0123456789ABCDEF0123456789ABCDEF01234567`,
	})
}

// newKeyChangeCmd makes key add or key retire: one argument, a key file or
// a fingerprint, and change applied to the repository's signing keys.
func newKeyChangeCmd(g *globalOptions, e env, verb string,
	change func(*repo.Repo, context.Context, string, time.Duration) (*repo.KeyChange, error), base cobra.Command) *cobra.Command {
	var lockTimeout time.Duration
	cmd := &base
	cmd.Args = cobra.ExactArgs(1)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fp, err := keyFingerprint(args[0])
		if err != nil {
			return err
		}
		r, err := openRepo(g, e, false)
		if err != nil {
			return err
		}
		res, err := change(r, cmd.Context(), fp, lockTimeout)
		return printKeyChange(g, e, res, err, verb, fp)
	}
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

// keyFingerprint reads the primary key fingerprint from a key file, or
// takes the argument as a fingerprint (spaces allowed, any case).
func keyFingerprint(arg string) (string, error) {
	if data, err := os.ReadFile(arg); err == nil {
		kr, err := signing.ReadKeyring(data)
		if err != nil {
			return "", fmt.Errorf("%s: %w", arg, err)
		}
		fps := kr.Fingerprints()
		if len(fps) != 1 {
			return "", usagef("%s holds %d keys; give one key, or its fingerprint", arg, len(fps))
		}
		return fps[0], nil
	}
	fp := strings.ToUpper(strings.ReplaceAll(arg, " ", ""))
	if (len(fp) != 40 && len(fp) != 64) || strings.Trim(fp, "0123456789ABCDEF") != "" {
		return "", usagef("%q is neither a key file nor a fingerprint (40 or 64 hex digits)", arg)
	}
	return fp, nil
}

func printKeyChange(g *globalOptions, e env, res *repo.KeyChange, err error, verb, fp string) error {
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e, res)
	}
	if !res.Changed {
		verb = "unchanged"
	}
	fmt.Fprintf(e.stdout, "%s %s; signing keys: %s\n", verb, fp, strings.Join(res.Keys, ", "))
	return nil
}
