package repo

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// SuiteEntry is one suite in a listing.
type SuiteEntry struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"` // rolling, stage or snapshot
	Packages int       `json:"packages"`
	Date     time.Time `json:"date"`             // the Release's Date
	Serves   string    `json:"serves,omitempty"` // a stage: the snapshot it serves
}

// kindRank orders a listing: rolling suites, stages, snapshots.
var kindRank = map[string]int{KindRolling: 0, KindStage: 1, KindSnapshot: 2}

// Suites lists every suite, stage and snapshot (not dropped ones), rolling
// suites first, then stages, then snapshots, each by name. Package counts
// of rolling suites and stages are read from their indexes; a snapshot's
// is recorded.
func (r *Repo) Suites(ctx context.Context) ([]SuiteEntry, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	out := []SuiteEntry{}
	for _, name := range names {
		s, err := r.loadSuiteReadOnly(ctx, cfg, name)
		if err != nil {
			return nil, err
		}
		if s.state.Kind == KindDropped {
			continue
		}
		e := SuiteEntry{Name: name, Kind: s.state.Kind, Date: s.release.Date, Serves: s.state.Serves}
		if s.state.Kind == KindSnapshot && s.state.Snapshot != nil {
			e.Packages = s.state.Snapshot.Packages
		} else {
			c, err := r.contents(ctx, s)
			if err != nil {
				return nil, err
			}
			e.Packages = len(c.stanza)
		}
		out = append(out, e)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if a, b := kindRank[out[i].Kind], kindRank[out[j].Kind]; a != b {
			return a < b
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// rollingSuites lists the rolling suites by name, from the records only.
func (r *Repo) rollingSuites(ctx context.Context) ([]string, error) {
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		var st SuiteState
		if _, err := readJSON(ctx, r.st, suiteStateName(name), &st); err != nil {
			return nil, err
		}
		if st.Kind == KindRolling {
			out = append(out, name)
		}
	}
	return out, nil
}

// checkNewSuite refuses to create a rolling suite by accident (a typo in
// --suite): publishing into a suite that does not exist needs create,
// except for development and the repository's first stage.
func (r *Repo) checkNewSuite(ctx context.Context, cfg Config, s *suite, create bool) error {
	if s.exists || create || s.name == "development" || len(cfg.Stages) > 0 && s.name == cfg.Stages[0] {
		return nil
	}
	rolling, err := r.rollingSuites(ctx)
	if err != nil {
		return err
	}
	have := "none yet"
	if len(rolling) > 0 {
		have = strings.Join(rolling, ", ")
	}
	return fmt.Errorf("%w: %s (rolling suites: %s); to create a new suite, publish with --create-suite", ErrNoSuite, s.name, have)
}

// DropSuiteResult says what dropping a rolling suite did, or would do.
type DropSuiteResult struct {
	Suite     string   `json:"suite"`
	DryRun    bool     `json:"dry_run"`
	Packages  int      `json:"packages"`
	Files     []string `json:"files"`      // removed under dists/SUITE/
	PoolFreed []string `json:"pool_freed"` // pool files nothing else lists
}

// DropSuite removes a rolling suite: its files under dists/NAME/ (not
// those of nested suites such as NAME/updates), its record, and the pool
// files that no other suite, snapshot or stage lists. development, the
// stages and snapshots are refused with ErrConflict. The name can be used
// again (publish --create-suite).
//
// The Release files go first, so apt sees no suite rather than a broken
// one; the record next (the commit point: a drop interrupted before it is
// undone by the next command, which restores the Release files from the
// record); then the indexes and the pool files.
func (r *Repo) DropSuite(ctx context.Context, name string, dryRun bool, timeout time.Duration) (*DropSuiteResult, error) {
	if err := ValidSuiteName(name); err != nil {
		return nil, err
	}
	var res *DropSuiteResult
	drop := func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		if slices.Contains(cfg.Stages, name) {
			return fmt.Errorf("%w: %s is a stage of this repository (%s) and cannot be dropped", ErrConflict, name, strings.Join(cfg.Stages, " -> "))
		}
		if name == "development" {
			return fmt.Errorf("%w: development is the default suite and cannot be dropped", ErrConflict)
		}
		var s *suite
		if dryRun {
			s, err = r.loadSuiteReadOnly(ctx, cfg, name)
			if err == nil && s.state.Kind == KindDropped {
				err = fmt.Errorf("%w: %s was dropped", ErrNoSuite, name)
			}
		} else {
			s, err = r.loadExisting(ctx, cfg, name)
		}
		if err != nil {
			return err
		}
		if s.state.Kind != KindRolling {
			return fmt.Errorf("%w: %s is a %s; suite drop removes rolling suites only (snapshot drop removes snapshots)", ErrConflict, name, s.state.Kind)
		}
		c, err := r.contents(ctx, s)
		if err != nil {
			return err
		}
		var stanzas []*Stanza
		seen := map[string]bool{}
		for _, st := range c.stanza {
			if !seen[st.Filename] {
				seen[st.Filename] = true
				stanzas = append(stanzas, st)
			}
		}
		freed, err := r.unreferenced(ctx, name, stanzas)
		if err != nil {
			return err
		}
		sort.Strings(freed)
		files, err := r.ownedFiles(ctx, name)
		if err != nil {
			return err
		}
		res = &DropSuiteResult{Suite: name, DryRun: dryRun, Packages: len(c.stanza), Files: files, PoolFreed: freed}
		if dryRun {
			return nil
		}
		dir := suiteDir(name)
		for _, n := range []string{"InRelease", "Release.gpg", "Release"} {
			if err := r.st.Delete(ctx, dir+n); err != nil {
				return err
			}
		}
		if err := r.st.Sync(ctx); err != nil {
			return err
		}
		if err := r.st.Delete(ctx, suiteStateName(name)); err != nil {
			return err
		}
		for _, f := range files {
			if err := r.st.Delete(ctx, f); err != nil {
				return fmt.Errorf("suite %s dropped, but removing %s failed: %w", name, f, err)
			}
		}
		for _, f := range freed {
			if err := r.st.Delete(ctx, f); err != nil {
				return fmt.Errorf("suite %s dropped, but removing %s failed: %w", name, f, err)
			}
		}
		return r.st.Sync(ctx)
	}
	if dryRun {
		// A dry run writes nothing, not even the lock file.
		err := drop(ctx)
		return res, err
	}
	err := r.locked(ctx, lockTimeout(timeout), drop)
	return res, err
}

// ownedFiles lists the files under dists/NAME/ that belong to suite NAME:
// its Release files and everything under COMPONENT/binary-ARCH/. Files of
// a nested suite (NAME/updates lives in dists/NAME/updates/) and anything
// else are left alone.
func (r *Repo) ownedFiles(ctx context.Context, name string) ([]string, error) {
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	var nested []string
	for _, n := range names {
		if strings.HasPrefix(n, name+"/") {
			nested = append(nested, n)
		}
	}
	objs, err := r.st.List(ctx, suiteDir(name))
	if err != nil {
		return nil, err
	}
	files := []string{}
	for _, o := range objs {
		if !suiteOwns(strings.TrimPrefix(o.Name, suiteDir(name))) {
			continue
		}
		other := false
		for _, n := range nested {
			if rest, ok := strings.CutPrefix(o.Name, suiteDir(n)); ok && suiteOwns(rest) {
				other = true
				break
			}
		}
		if !other {
			files = append(files, o.Name)
		}
	}
	return files, nil
}

// suiteOwns reports whether rest, a path under dists/SUITE/, is one of the
// files debflow writes for a suite.
func suiteOwns(rest string) bool {
	switch rest {
	case "InRelease", "Release", "Release.gpg":
		return true
	}
	parts := strings.SplitN(rest, "/", 3)
	return len(parts) == 3 && strings.HasPrefix(parts[1], "binary-")
}
