package main

import (
	"bytes"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/signing"
)

func newKeyCmd(g *globalOptions, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Generate and export OpenPGP signing keys",
	}
	cmd.AddCommand(newKeyGenerateCmd(e), newKeyExportCmd(g, e), newKeyAddCmd(g, e), newKeyRetireCmd(g, e))
	return cmd
}

type keyGenerateOptions struct {
	uid  string
	out  string
	algo string
}

func newKeyGenerateCmd(e env) *cobra.Command {
	var o keyGenerateOptions
	cmd := &cobra.Command{
		Use:   "generate --uid \"Name <mail>\" --out FILE",
		Short: "Write a new armored OpenPGP secret key (mode 0600)",
		Long: `Generate writes a new OpenPGP secret key, armored, to a file that it
creates with mode 0600. It never overwrites a file.

The default is an Ed25519 key in the v4 EdDSA form that Debian 12's gpgv and
apt accept (the newer RFC 9580 Ed25519 and v6 keys are rejected there).
--algo rsa4096 makes an RSA key for older verifiers.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeyGenerate(o, e)
		},
	}
	cmd.Flags().StringVar(&o.uid, "uid", "", `user id, "Name <mail>" (required)`)
	cmd.Flags().StringVar(&o.out, "out", "", "file to create (required)")
	cmd.Flags().StringVar(&o.algo, "algo", string(signing.Ed25519), "ed25519 or rsa4096")
	cmd.MarkFlagRequired("uid")
	cmd.MarkFlagRequired("out")
	return cmd
}

func runKeyGenerate(o keyGenerateOptions, e env) error {
	algo, err := signing.ParseAlgorithm(o.algo)
	if err != nil {
		return usageError{err}
	}
	key, err := signing.Generate(o.uid, algo, e.now())
	if err != nil {
		return usageError{err}
	}
	var buf bytes.Buffer
	if err := key.WriteSecret(&buf); err != nil {
		return err
	}
	f, err := os.OpenFile(o.out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if os.IsExist(err) {
			return usagef("%s exists already; refusing to overwrite a key", o.out)
		}
		return err
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		os.Remove(o.out)
		return fmt.Errorf("writing %s: %w", o.out, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(o.out)
		return fmt.Errorf("writing %s: %w", o.out, err)
	}
	fmt.Fprintf(e.stderr, "wrote %s key %s to %s\n", algo, key.Fingerprint(), o.out)
	return nil
}

type keyExportOptions struct {
	binary bool
	out    string
}

func newKeyExportCmd(g *globalOptions, e env) *cobra.Command {
	var o keyExportOptions
	cmd := &cobra.Command{
		Use:   "export [--key FILE] [--binary] [--out FILE]",
		Short: "Print the public key, armored or as a binary keyring",
		Long: `Export prints the public part of the signing key (--key FILE, or
$DEBFLOW_KEY). --binary writes a binary keyring instead, as apt wants it in
/etc/apt/keyrings/*.gpg; it is written to --out, or to stdout when that is
not a terminal.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeyExport(g, o, e)
		},
	}
	cmd.Flags().BoolVar(&o.binary, "binary", false, "write a binary keyring instead of armored text")
	cmd.Flags().StringVar(&o.out, "out", "", "write to this file instead of stdout")
	return cmd
}

func runKeyExport(g *globalOptions, o keyExportOptions, e env) error {
	key, err := signing.LoadKey(g.keyFile, e.getenv)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := key.WritePublic(&buf, !o.binary); err != nil {
		return err
	}
	if o.out == "" {
		if o.binary && isTerminal(e.stdout) {
			return usagef("refusing to write a binary keyring to a terminal; use --out FILE or redirect stdout")
		}
		_, err := e.stdout.Write(buf.Bytes())
		return err
	}
	return os.WriteFile(o.out, buf.Bytes(), 0o644)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
