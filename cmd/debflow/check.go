package main

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/ci"
	"github.com/debflow/debflow/repo"
)

type checkOptions struct {
	keyring    string
	warn, crit time.Duration
	keyWarn    time.Duration
	keyCrit    time.Duration
	expect     []string
	fromGit    string
	stageFile  string
	stageMap   []string
	maxSoak    time.Duration
}

// checkExit carries a monitoring status out of RunE as the process exit
// code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN), after the output is
// printed.
type checkExit struct{ state repo.CheckState }

func (e checkExit) Error() string { return "check: " + e.state.String() }

func newCheckCmd(g *globalOptions, e env) *cobra.Command {
	var o checkOptions
	cmd := &cobra.Command{
		Use:   "check --repo DIR (--keyring PUB | --key FILE) [--warn 72h] [--crit 24h] [--expect STAGE=SNAPSHOT]... [--max-soak D]",
		Short: "Monitoring plugin: signatures, Valid-Until, key expiry, indexes, drift, stuck canaries",
		Long: `Check is a monitoring plugin for Icinga, Nagios, Naemon, Netdata and (with
--json) Datadog. It reads the tree and changes nothing; it never hashes the
pool ('debflow verify' does), so it can run every few minutes.

It checks that every served suite's InRelease verifies with the keyring and
that every index file it lists is there by name and by hash, with the listed
size and hashes (CRITICAL otherwise); the time left before each stage's
Valid-Until against --warn and --crit, and that no stage lacks a Valid-Until
while others have one (WARNING); the time left before each signing key
expires against --key-warn and --key-crit; each --expect STAGE=SNAPSHOT, or
the stage files of the IaC repository's branches (--expect-from-git DIR),
against what the stage serves (drift is CRITICAL); a snapshot that stayed in
an intermediate stage longer than --max-soak without reaching the next one
(WARNING); and a snapshot that has soaked long enough for the next stage's
gate but has no verdict (WARNING). A missing or unreadable repository is
UNKNOWN.

Output: the first line is "DEBFLOW STATUS - summary | perfdata", with
perfdata 'label'=value[UOM];warn;crit;min;max (seconds until each Valid-Until
and key expiry, each stage's age, the package count per stage), then one
line per problem. Exit status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (the
monitoring-plugin convention, not debflow's usual codes).`,
		Example: `  debflow check --repo /srv/apt --keyring /usr/share/keyrings/fleet.gpg --warn 72h --crit 24h
  debflow check --repo /srv/apt --keyring fleet.gpg --expect canary=2026-11-24.1 --expect production=2026-11-20.1 --max-soak 168h
  debflow check --repo /srv/apt --keyring fleet.gpg --expect-from-git /srv/fleet-iac --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep := runCheck(cmd, g, o, e)
			if g.json {
				if err := printJSON(e, rep); err != nil {
					return err
				}
			} else {
				fmt.Fprint(e.stdout, rep.Plugin())
			}
			if rep.Status != repo.CheckOK {
				return checkExit{rep.Status}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.keyring, "keyring", "", "public keyring to verify with (else the public part of --key)")
	f.DurationVar(&o.warn, "warn", 72*time.Hour, "WARNING when a stage's Valid-Until is nearer than this")
	f.DurationVar(&o.crit, "crit", 24*time.Hour, "CRITICAL when a stage's Valid-Until is nearer than this")
	f.DurationVar(&o.keyWarn, "key-warn", 30*24*time.Hour, "WARNING when a signing key expires sooner than this")
	f.DurationVar(&o.keyCrit, "key-crit", 7*24*time.Hour, "CRITICAL when a signing key expires sooner than this")
	f.StringArrayVar(&o.expect, "expect", nil, "STAGE=SNAPSHOT the stage must serve (repeatable)")
	f.StringVar(&o.fromGit, "expect-from-git", "", "read what each stage must serve from the stage files of this IaC git repository's branches")
	f.StringVar(&o.stageFile, "stage-file", "stage.yaml", "with --expect-from-git: the stage file's path in each branch")
	f.StringSliceVar(&o.stageMap, "stage-map", nil, "with --expect-from-git: BRANCH=STAGE pairs, for branches not named after their stage")
	f.DurationVar(&o.maxSoak, "max-soak", 0, "WARNING when an intermediate stage has served a snapshot longer than this without the next stage taking it")
	return cmd
}

// runCheck never fails: what keeps it from checking is UNKNOWN.
func runCheck(cmd *cobra.Command, g *globalOptions, o checkOptions, e env) *repo.CheckReport {
	unknown := func(err error) *repo.CheckReport {
		return &repo.CheckReport{Status: repo.CheckUnknown, Summary: err.Error(),
			Checks:   []repo.CheckFinding{{Check: "repository", Status: repo.CheckUnknown, Message: err.Error()}},
			Problems: []repo.CheckFinding{{Check: "repository", Status: repo.CheckUnknown, Message: err.Error()}},
			Metrics:  []repo.Metric{}}
	}
	expect, err := parseExpect(o.expect)
	if err != nil {
		return unknown(err)
	}
	if o.fromGit != "" {
		m, err := ci.ParseStageMap(o.stageMap)
		if err != nil {
			return unknown(err)
		}
		declared, err := expectFromGit(o.fromGit, o.stageFile, m)
		if err != nil {
			return unknown(err)
		}
		for s, snap := range declared {
			if _, set := expect[s]; !set {
				expect[s] = snap
			}
		}
	}
	kr, err := loadKeyring(g, e, o.keyring)
	if err != nil {
		return unknown(err)
	}
	r, err := openRepo(g, e, false)
	if err != nil {
		return unknown(err)
	}
	return r.Check(cmd.Context(), repo.CheckOptions{Keyring: kr, Warn: o.warn, Crit: o.crit, KeyWarn: o.keyWarn, KeyCrit: o.keyCrit, Expect: expect, MaxSoak: o.maxSoak})
}

func parseExpect(entries []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range entries {
		stage, snap, ok := strings.Cut(kv, "=")
		if !ok || stage == "" || snap == "" {
			return nil, fmt.Errorf("--expect %q: want STAGE=SNAPSHOT", kv)
		}
		out[stage] = snap
	}
	return out, nil
}

// expectFromGit reads, from every local branch of the IaC repository in
// dir (and remote-tracking branch, for a clone nobody checked out), the
// snapshot its stage file names. A branch without the file declares
// nothing.
func expectFromGit(dir, file string, m ci.StageMap) (map[string]string, error) {
	out, err := exec.Command("git", "-C", dir, "for-each-ref", "--format=%(refname)", "refs/heads/", "refs/remotes/").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("--expect-from-git %s: %w", dir, err)
	}
	declared := map[string]string{}
	local := map[string]bool{}
	for _, ref := range strings.Fields(string(out)) {
		var branch string
		if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
			branch = b
			local[b] = true
		} else {
			rest := strings.TrimPrefix(ref, "refs/remotes/")
			_, b, ok := strings.Cut(rest, "/")
			if !ok || b == "HEAD" || local[b] {
				continue
			}
			branch = b
		}
		data, err := exec.Command("git", "-C", dir, "show", ref+":"+file).Output()
		if err != nil {
			continue // the branch has no stage file
		}
		snap, err := ci.ReadStageSnapshot(data)
		if err != nil {
			return nil, fmt.Errorf("--expect-from-git %s: branch %s: %s: %w", dir, branch, file, err)
		}
		declared[m.Stage(branch)] = snap
	}
	return declared, nil
}
