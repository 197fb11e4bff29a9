package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

type sourcesOptions struct {
	url         string
	stage       string
	keyring     string
	keyringPath string
	format      string
	components  []string
	snapshot    string
}

func newSourcesCmd(g *globalOptions, e env) *cobra.Command {
	var o sourcesOptions
	cmd := &cobra.Command{
		Use:   "sources --url URL (--stage STAGE | --snapshot NAME) (--key FILE | --keyring PUB | --keyring-path PATH)",
		Short: "Print the apt source entry a device of a stage needs",
		Long: `Sources prints a deb822 .sources entry for devices. Its Signed-By embeds
the armored public key (apt >= 2.3.10, Debian 12), or names a keyring on
the device with --keyring-path. --format list prints the one-line format
for old devices, which needs --keyring-path.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			suite := o.stage
			if o.snapshot != "" {
				suite = o.snapshot
			}
			so := repo.SourcesOptions{URL: o.url, Suite: suite, Components: o.components, KeyringPath: o.keyringPath}
			var out string
			var err error
			switch o.format {
			case "deb822":
				if so.KeyringPath == "" {
					if so.ArmoredKey, err = armoredPublicKey(g, e, o.keyring); err != nil {
						return err
					}
				}
				out, err = repo.Deb822(so)
			case "list":
				out, err = repo.OneLine(so)
			default:
				return usagef("--format %q: want deb822 or list", o.format)
			}
			if err != nil {
				return usageError{err}
			}
			fmt.Fprint(e.stdout, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "where devices reach the repository root (required)")
	f.StringVar(&o.stage, "stage", "development", "the suite the devices follow")
	f.StringVar(&o.keyring, "keyring", "", "public key to embed (default: the public part of --key)")
	f.StringVar(&o.keyringPath, "keyring-path", "", "name this keyring on the device instead of embedding the key")
	f.StringVar(&o.format, "format", "deb822", "deb822 or list")
	f.StringVar(&o.snapshot, "snapshot", "", "follow this snapshot instead of a stage")
	f.StringSliceVar(&o.components, "component", []string{"main"}, "components")
	cmd.MarkFlagRequired("url")
	return cmd
}
