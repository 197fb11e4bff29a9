package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

type initOptions struct {
	origin, label, codename string
	arch, stages, compress  string
	allowReleaseInfoChange  bool
	lockTimeout             time.Duration
}

func newInitCmd(g *globalOptions, e env) *cobra.Command {
	var o initOptions
	cmd := &cobra.Command{
		Use:   "init --repo DIR [--origin O] [--label L] [--codename C] [--arch a,b] [--stages s1,s2,...]",
		Short: "Create a repository with its settings, or change them",
		Long: `Init creates a repository in a new or empty directory (never in one that
holds other files), with the Origin, Label, Codename, architectures, stages and
index compression given; the others take their defaults. The default Origin is
"debflow-" and eight random hex digits, so that two repositories never share a
device's apt pin. With --key (or DEBFLOW_KEY) it records the signing key;
otherwise the first signing command does.

On an existing repository it changes the settings given. Changing Origin,
Label or Codename once suites exist makes every device stop updating until
its administrator runs apt-get update --allow-releaseinfo-change; it needs
--allow-releaseinfo-change here, and a refresh with the same flag re-signs
the suites.

Example:
  debflow init --repo /srv/apt --origin "Example Fleet" --label fleet \
    --codename fleet --arch amd64,arm64 --stages development,canary,production`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd, g, o, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.origin, "origin", "", `Release Origin (default "debflow-" and eight random hex digits)`)
	f.StringVar(&o.label, "label", "", `Release Label (default "debflow")`)
	f.StringVar(&o.codename, "codename", "", `Release Codename (default "fleet")`)
	f.StringVar(&o.arch, "arch", "", "architectures every suite lists, comma-separated (default amd64,arm64,armhf)")
	f.StringVar(&o.stages, "stages", "", "the fleet's stages in order, comma-separated (default development,canary,production)")
	f.StringVar(&o.compress, "index-compression", "", "compressed indexes: gz and/or xz (default gz,xz)")
	f.BoolVar(&o.allowReleaseInfoChange, "allow-releaseinfo-change", false, "accept a change of Origin, Label or Codename (devices must accept it too)")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func runInit(cmd *cobra.Command, g *globalOptions, o initOptions, e env) error {
	var extra []repo.Option
	if o.allowReleaseInfoChange {
		extra = append(extra, repo.WithReleaseInfoChange())
	}
	sign := g.keyFile != "" || e.getenv("DEBFLOW_KEY") != ""
	r, err := openRepo(g, e, sign, extra...)
	if err != nil {
		return err
	}
	cfg, err := r.Init(cmd.Context(), repo.InitOptions{
		Origin: o.origin, Label: o.label, Codename: o.codename,
		Architectures: splitList(o.arch), Stages: splitList(o.stages), IndexCompression: splitList(o.compress),
		LockTimeout: o.lockTimeout,
	})
	if err != nil {
		return err
	}
	if g.json {
		return printJSON(e, cfg)
	}
	fmt.Fprintf(e.stdout, "repository %s: Origin %q, Label %q, Codename %q, architectures %s, stages %s\n",
		g.repo, cfg.Origin, cfg.Label, cfg.Codename, strings.Join(cfg.Architectures, ","), strings.Join(cfg.Stages, ","))
	return nil
}
