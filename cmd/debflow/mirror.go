package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

func newMirrorCmd(g *globalOptions, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mirror",
		Short: "Filtered, verified mirrors of upstream apt repositories (Debian)",
		Long: `A mirror copies part of an upstream apt repository (Debian, an aptly or
reprepro repository) into this one, as the suite dists/NAME/: verified
against upstream's key and the listed hashes, filtered in aptly's query
syntax, closed over dependencies, and re-signed with this repository's key,
Origin, Label, Codename and Valid-Until. Its packages share the pool.
"snapshot create --from development --from NAME" freezes it together with
the fleet's own packages.`,
	}
	cmd.AddCommand(newMirrorCreateCmd(g, e), newMirrorUpdateCmd(g, e), newMirrorListCmd(g, e), newMirrorDropCmd(g, e))
	return cmd
}

type mirrorCreateOptions struct {
	m           repo.Mirror
	keyring     string
	lockTimeout time.Duration
}

func newMirrorCreateCmd(g *globalOptions, e env) *cobra.Command {
	var o mirrorCreateOptions
	cmd := &cobra.Command{
		Use:   "create NAME --url URL --suite SUITE --keyring PUB [--component C]... [--arch A]... [--filter QUERY] [--with-deps [--deps-from SUITE]...]",
		Short: "Record a mirror definition (mirror update fetches it)",
		Long: `Create records a mirror in the tree (.debflow/mirrors/NAME.json), with a
copy of the upstream keyring. Nothing is fetched until "mirror update".

--filter takes aptly's query syntax: "nginx | Priority (required)",
"Name (>= 1.0)", "$Source (glibc)", "!Name (% *-dbg)", and "," for "and".
--with-deps adds, from upstream, what the selected packages need through
Depends and Pre-Depends (the first satisfiable alternative, as apt does),
on every architecture, Architecture: all included. What the suites named by
--deps-from (development, other mirrors: the other sources of a combined
snapshot) already provide is not mirrored again.

--ignore-signatures mirrors without checking upstream's signature (hashes
are still checked); it is recorded, and every update warns about it.
URL may be http://, https:// or file:// (adopting an aptly or reprepro
repository: see "Moving from aptly" in the README).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.m.Name = args[0]
			if o.keyring != "" {
				data, err := os.ReadFile(o.keyring)
				if err != nil {
					return fmt.Errorf("%w: --keyring: %w", repo.ErrInput, err)
				}
				if o.m.Keyring, err = repo.ArmorKeyring(data); err != nil {
					return err
				}
			}
			if o.m.IgnoreSignatures {
				fmt.Fprintf(e.stderr, "warning: mirror %s: --ignore-signatures: upstream's signature will NOT be checked\n", o.m.Name)
			}
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			m, err := r.CreateMirror(cmd.Context(), o.m, o.lockTimeout)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, m)
			}
			fmt.Fprintf(e.stdout, "mirror %s: %s %s [%s] [%s]\n", m.Name, m.URL, m.Suite, strings.Join(m.Components, " "), strings.Join(m.Architectures, " "))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.m.URL, "url", "", "the upstream repository root (http://, https://, file://)")
	f.StringVar(&o.m.Suite, "suite", "", "the upstream suite (dists/SUITE), such as bookworm")
	f.StringArrayVar(&o.m.Components, "component", nil, "a component to mirror (repeatable; default main)")
	f.StringArrayVar(&o.m.Architectures, "arch", nil, "an architecture to mirror (repeatable; default the repository's)")
	f.StringVar(&o.keyring, "keyring", "", "upstream's public key(s), armored or binary (such as /usr/share/keyrings/debian-archive-keyring.gpg)")
	f.StringVar(&o.m.Filter, "filter", "", "packages to take, in aptly's query syntax (default: all)")
	f.BoolVar(&o.m.WithDeps, "with-deps", false, "also take what the selected packages depend on")
	f.StringArrayVar(&o.m.DepsFrom, "deps-from", nil, "a suite or mirror whose packages satisfy dependencies too (repeatable)")
	f.BoolVar(&o.m.IgnoreSignatures, "ignore-signatures", false, "do not check upstream's signature (loud, and recorded)")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	_ = cmd.MarkFlagRequired("url")
	_ = cmd.MarkFlagRequired("suite")
	return cmd
}

func newMirrorUpdateCmd(g *globalOptions, e env) *cobra.Command {
	var o repo.MirrorUpdateOptions
	cmd := &cobra.Command{
		Use:   "update NAME --repo DIR --key FILE",
		Short: "Bring the mirror suite dists/NAME/ up to date with upstream",
		Long: `Update fetches upstream's InRelease (or Release and Release.gpg) and
verifies it with the mirror's keyring; an unchanged upstream ends there,
after one request. Otherwise it fetches each Packages index (checked against
the Release), applies the filter and the dependency closure, downloads the
packages the pool does not hold yet (in parallel; each checked against its
listed size and SHA256 before it is stored) and publishes the suite. A
failure leaves the served mirror suite as it was; packages already checked
stay in the pool, so the next update resumes. Every request is bounded by
--timeout (connecting, waiting, and any stall while reading).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			m := startMeter(g, e, "updating mirror "+args[0], nil)
			defer m.Stop()
			r, _, err := openRepoMaybeDry(g, e, true, false, m)
			if err != nil {
				return err
			}
			res, err := r.UpdateMirror(cmd.Context(), args[0], o)
			m.Stop()
			if res != nil {
				for _, w := range res.Warnings {
					fmt.Fprintf(e.stderr, "warning: %s\n", w)
				}
			}
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, res)
			}
			for _, u := range res.Unresolved {
				fmt.Fprintf(e.stderr, "unresolved dependency: %s\n", u)
			}
			if res.Unchanged {
				fmt.Fprintf(e.stdout, "mirror %s: upstream unchanged (generation %d, %d packages, %d request)\n", res.Mirror, res.Generation, res.Packages, res.Requests)
				return nil
			}
			fmt.Fprintf(e.stdout, "mirror %s: generation %d, %d packages, %d downloaded (%d bytes), %d requests\n",
				res.Mirror, res.Generation, res.Packages, res.Downloaded, res.Bytes, res.Requests)
			return nil
		},
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", repo.DefaultMirrorTimeout, "limit for each upstream request (connect, answer, any stall)")
	cmd.Flags().IntVar(&o.Parallel, "parallel", 4, "concurrent downloads")
	cmd.Flags().DurationVar(&o.ValidFor, "valid-for", 0, "write Valid-Until = Date + this (default: the mirror's setting, or development's)")
	cmd.Flags().DurationVar(&o.LockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

func newMirrorListCmd(g *globalOptions, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "list --repo DIR",
		Short: "List the mirrors: upstream, filter, last update",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			all, err := r.Mirrors(cmd.Context())
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, all)
			}
			if len(all) == 0 {
				fmt.Fprintln(e.stderr, "no mirrors")
				return nil
			}
			for _, m := range all {
				state := "never updated"
				if m.State != nil {
					state = fmt.Sprintf("generation %d, %d packages, updated %s", m.Generation, m.State.Packages, m.Updated.UTC().Format(time.RFC3339))
				}
				extra := ""
				if m.Filter != "" {
					extra += " filter " + fmt.Sprintf("%q", m.Filter)
				}
				if m.WithDeps {
					extra += " with-deps"
				}
				if m.IgnoreSignatures {
					extra += " IGNORE-SIGNATURES"
				}
				fmt.Fprintf(e.stdout, "%s\t%s %s\t%s\t%s\n", m.Name, m.URL, m.Suite, strings.TrimSpace(extra), state)
			}
			return nil
		},
	}
}

func newMirrorDropCmd(g *globalOptions, e env) *cobra.Command {
	var lockTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "drop NAME --repo DIR",
		Short: "Unpublish a mirror suite and forget its definition (snapshots keep their packages; gc frees the rest)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			if err := r.DropMirror(cmd.Context(), args[0], lockTimeout); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "dropped mirror %s\n", args[0])
			return nil
		},
	}
	cmd.Flags().DurationVar(&lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}
