package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

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
	uid     string
	out     string
	algo    string
	expires time.Duration
}

func newKeyGenerateCmd(e env) *cobra.Command {
	var o keyGenerateOptions
	cmd := &cobra.Command{
		Use:   "generate --uid \"Name <mail>\" --out FILE",
		Short: "Write a new armored OpenPGP secret key (mode 0600)",
		Long: `Generate writes a new OpenPGP secret key, armored, to a file that it
creates with mode 0600. It never overwrites a file (exit 5 when --out
exists).

The default is an Ed25519 key in the v4 EdDSA form that Debian 12's gpgv and
apt accept (the newer RFC 9580 Ed25519 and v6 keys are rejected there).
--algo rsa4096 makes an RSA key for older verifiers. --expires sets the
key's expiry ('debflow check' warns before it; devices refuse signatures
of an expired key, so add its successor in time).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runKeyGenerate(o, e)
		},
	}
	cmd.Flags().StringVar(&o.uid, "uid", "", `user id, "Name <mail>" (required)`)
	cmd.Flags().StringVar(&o.out, "out", "", "file to create (required)")
	cmd.Flags().StringVar(&o.algo, "algo", string(signing.Ed25519), "ed25519 or rsa4096")
	cmd.Flags().DurationVar(&o.expires, "expires", 0, "the key expires this long after now (default: never), such as 17520h for two years")
	cmd.MarkFlagRequired("uid")
	cmd.MarkFlagRequired("out")
	return cmd
}

func runKeyGenerate(o keyGenerateOptions, e env) error {
	algo, err := signing.ParseAlgorithm(o.algo)
	if err != nil {
		return usageError{err}
	}
	if o.expires < 0 {
		return usagef("--expires %s: must not be negative", o.expires)
	}
	key, err := signing.GenerateExpiring(o.uid, algo, e.now(), o.expires)
	if err != nil {
		return usageError{err}
	}
	if err := key.WriteSecretFile(o.out); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s key %s to %s\n", algo, key.Fingerprint(), o.out)
	if exp := key.Expires(); !exp.IsZero() {
		fmt.Fprintf(e.stderr, "it expires at %s\n", exp.UTC().Format(time.RFC3339))
	}
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
	key, err := loadKey(g, e)
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

// envKeyFile names a file holding the signing key: GitLab cannot mask a
// multi-line variable, so there the key is a File variable, whose value
// is a path.
const envKeyFile = "DEBFLOW_KEY_FILE"

// loadKey loads the signing key of --key, else $DEBFLOW_KEY, else the file
// $DEBFLOW_KEY_FILE names. Every command that signs takes its key here,
// so that a DEBFLOW_KEY or DEBFLOW_KEY_FILE that is set but empty (a
// missing CI secret) fails each of them (exit 4).
func loadKey(g *globalOptions, e env) (*signing.Key, error) {
	keys, err := loadKeys(g, e)
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// loadKeys loads every key of --key (repeated), else every armored key in
// $DEBFLOW_KEY.
func loadKeys(g *globalOptions, e env) ([]*signing.Key, error) {
	file, fileSet := e.lookup(envKeyFile)
	if len(g.keyFiles) > 0 || !fileSet {
		return signing.LoadKeys(g.keyFiles, e.lookup)
	}
	if _, set := e.lookup(signing.EnvKey); set {
		return nil, usagef("both %s and %s are set: unset one", signing.EnvKey, envKeyFile)
	}
	if strings.TrimSpace(file) == "" {
		return nil, &signing.KeyError{Source: envKeyFile, Err: errors.New("set but empty (is the CI file variable missing?); unset it to run without a key")}
	}
	keys, err := signing.LoadKeys([]string{file}, e.lookup)
	if err != nil {
		return nil, fmt.Errorf("$%s: %w", envKeyFile, err)
	}
	return keys, nil
}

// keyFlag is --key: repeatable; the first one is also globalOptions.keyFile.
type keyFlag struct{ g *globalOptions }

func (f *keyFlag) String() string {
	if f.g == nil {
		return ""
	}
	return strings.Join(f.g.keyFiles, ",")
}

func (f *keyFlag) Set(v string) error {
	f.g.keyFiles = append(f.g.keyFiles, v)
	f.g.keyFile = f.g.keyFiles[0]
	return nil
}

func (f *keyFlag) Type() string { return "file" }

// lookup reads an environment variable as os.LookupEnv does. Without a
// lookupEnv, a variable counts as set when its value is not empty.
func (e env) lookup(name string) (string, bool) {
	if e.lookupEnv != nil {
		return e.lookupEnv(name)
	}
	v := e.getenv(name)
	return v, v != ""
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
