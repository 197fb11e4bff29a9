package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

func newRepairCmd(g *globalOptions, e env) *cobra.Command {
	var keyring, stages string
	var lockTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "repair --repo DIR (--keyring PUB | --key FILE) [--stages s1,s2,...]",
		Short: "Rebuild debflow's records from the served, signed tree",
		Long: `Repair rebuilds what debflow keeps under .debflow/ (the configuration, the
suite records, the pinned list) from the files devices are served, after
they were lost (cp -a repo/* new/ skips .debflow/, so does a careless rsync).
Only suites whose Release.gpg verifies with the key, and whose InRelease
carries that Release, are taken. Nothing served changes and nothing is
deleted. Stage histories cannot be recovered: the next promotion of a
repaired stage may need --force.

Commands that would drop packages, delete pool files or re-sign refuse
(exit 5) while records are missing, and point here.

Example:
  debflow repair --repo /srv/apt --keyring fleet.pub.asc`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kr, err := loadKeyring(g, e, keyring)
			if err != nil {
				return err
			}
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			res, err := r.Repair(cmd.Context(), repo.RepairOptions{Keyring: kr, Stages: splitList(stages), LockTimeout: lockTimeout})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, res)
			}
			if res.Config {
				fmt.Fprintln(e.stdout, "rebuilt .debflow/config.json")
			}
			for _, s := range res.Records {
				fmt.Fprintf(e.stdout, "rebuilt the record of %s\n", s)
			}
			if !res.Config && len(res.Records) == 0 {
				fmt.Fprintln(e.stdout, "nothing to repair: every served suite has its record")
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&keyring, "keyring", "", "public key(s) that verify the served Release files (default: the public part of --key)")
	cmd.Flags().StringVar(&stages, "stages", "", "the fleet's stages, when the configuration is rebuilt and they are not the default")
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}
