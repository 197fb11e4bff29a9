package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
)

// Dynamic completion: names read from the repository that --repo (or
// $DEBFLOW_REPO) names. A completion never fails out loud: without a
// repository, or when reading it fails, it offers nothing.

// nameKind is what a completion offers.
type nameKind int

const (
	snapshotNames nameKind = iota // snapshots
	stageNames                    // stages, the rolling first stage included
	laterStages                   // stages a snapshot can be promoted to
	rollingNames                  // rolling suites (publish, remove)
	suiteNames                    // every suite: rolling, stages, snapshots
)

// completionTimeout bounds how long a completion may read the repository.
const completionTimeout = 5 * time.Second

// repoNames reads the names of kind from the repository, or nil.
func repoNames(g *globalOptions, kind nameKind) []string {
	if g.repo == "" {
		return nil
	}
	st, err := openSpec("--repo", g.repo)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), completionTimeout)
	defer cancel()
	r := repo.New(st, repo.WithLog(io.Discard))
	var out []string
	switch kind {
	case snapshotNames:
		all, err := r.Snapshots(ctx)
		if err != nil {
			return nil
		}
		for _, s := range all {
			out = append(out, s.Name)
		}
	case stageNames, laterStages:
		cfg, found, err := repo.LoadConfig(ctx, st)
		if err != nil || !found {
			return nil
		}
		out = cfg.Stages
		if kind == laterStages && len(out) > 0 {
			out = out[1:]
		}
	case rollingNames, suiteNames:
		all, err := r.Suites(ctx)
		if err != nil {
			return nil
		}
		for _, s := range all {
			if kind == suiteNames || s.Kind == repo.KindRolling {
				out = append(out, s.Name)
			}
		}
	}
	return out
}

// completeNames completes with the names of kind that start with what was
// typed.
func completeNames(g *globalOptions, kind nameKind) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		var out []string
		for _, n := range repoNames(g, kind) {
			if strings.HasPrefix(n, toComplete) {
				out = append(out, n)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

// completeArgs completes the first positional arguments: kinds[i] for the
// i-th, nothing after the last (or the last again with repeat).
func completeArgs(g *globalOptions, repeat bool, kinds ...nameKind) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		i := len(args)
		if i >= len(kinds) {
			if !repeat {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			i = len(kinds) - 1
		}
		return completeNames(g, kinds[i])(cmd, args, toComplete)
	}
}

// argCompletions are the positional arguments that name something in the
// repository, by command path.
func argCompletions(g *globalOptions) map[string]func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	noMore := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	debs := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"deb"}, cobra.ShellCompDirectiveFilterFileExt
	}
	return map[string]func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective){
		"publish":       debs,
		"promote":       completeArgs(g, false, snapshotNames),
		"history":       completeArgs(g, false, stageNames),
		"snapshot show": completeArgs(g, false, snapshotNames),
		"snapshot drop": completeArgs(g, false, snapshotNames),
		"snapshot pick": func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) == 0 {
				return completeNames(g, snapshotNames)(cmd, args, toComplete)
			}
			return noMore(cmd, args, toComplete) // PKG=VERSION
		},
		"snapshot diff": completeArgs(g, false, suiteNames, suiteNames),
		"remove":        noMore,
	}
}

// registerCompletions adds the dynamic completions to every command of
// the tree, those of other files included: positional arguments by the
// table above, and flags by name: --stage, --snapshot and --suite
// everywhere, --to and --from where they name a stage or a suite (copy's
// take directories).
func registerCompletions(root *cobra.Command, g *globalOptions) {
	args := argCompletions(g)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()), " ")
		if f, ok := args[path]; ok && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = f
		}
		for name, kind := range map[string]nameKind{"stage": stageNames, "snapshot": snapshotNames, "suite": suiteNames, "to": laterStages, "from": suiteNames} {
			f := c.LocalNonPersistentFlags().Lookup(name)
			if f == nil {
				continue
			}
			usage := strings.ToLower(f.Usage)
			if strings.Contains(usage, "upstream") {
				continue // mirror create --suite: a suite of the remote archive
			}
			if (name == "to" && !strings.Contains(usage, "stage")) || (name == "from" && !strings.Contains(usage, "suite")) {
				continue
			}
			if name == "suite" && slices.Contains([]string{"publish", "remove"}, path) {
				kind = rollingNames
			}
			_ = c.RegisterFlagCompletionFunc(name, completeNames(g, kind)) // an existing one wins
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
