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
	preferences bool
}

func newSourcesCmd(g *globalOptions, e env) *cobra.Command {
	var o sourcesOptions
	cmd := &cobra.Command{
		Use:   "sources --url URL (--stage STAGE | --snapshot NAME) (--key FILE | --keyring PUB | --keyring-path PATH)",
		Short: "Print the apt source entry a device of a stage needs",
		Long: `Sources prints a deb822 .sources entry for devices. Its Signed-By embeds
the armored public key (apt >= 2.3.10, Debian 12), or names a keyring on
the device with --keyring-path. --format list prints the one-line format
for old devices, which needs --keyring-path.

--preferences prints, instead, the apt preferences entry (for
/etc/apt/preferences.d/) that pins the stage at priority 1001: apt never
downgrades on its own, and with this pin a device follows a rollback of its
stage down to the older version.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			suite := o.stage
			if o.preferences {
				cfg := repo.DefaultConfig()
				if g.repo != "" {
					st, err := openStorage(g)
					if err != nil {
						return err
					}
					if cfg, _, err = repo.LoadConfig(cmd.Context(), st); err != nil {
						return err
					}
				}
				fmt.Fprint(e.stdout, repo.Preferences(cfg, suite))
				return nil
			}
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
	f.StringVar(&o.url, "url", "", "where devices reach the repository root (required, except with --preferences)")
	f.StringVar(&o.stage, "stage", "development", "the suite the devices follow")
	f.StringVar(&o.keyring, "keyring", "", "public key to embed (default: the public part of --key)")
	f.StringVar(&o.keyringPath, "keyring-path", "", "name this keyring on the device instead of embedding the key")
	f.StringVar(&o.format, "format", "deb822", "deb822 or list")
	f.StringVar(&o.snapshot, "snapshot", "", "follow this snapshot instead of a stage")
	f.BoolVar(&o.preferences, "preferences", false, "print an apt preferences entry pinning the stage above 1000 (devices then follow rollbacks), using --repo's Origin and Label")
	f.StringSliceVar(&o.components, "component", []string{"main"}, "components")
	return cmd
}
