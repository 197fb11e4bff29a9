package repo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// suiteNames lists every suite debflow records, sorted.
func (r *Repo) suiteNames(ctx context.Context) ([]string, error) {
	objs, err := r.st.List(ctx, suitesDir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, o := range objs {
		if n, ok := strings.CutSuffix(strings.TrimPrefix(o.Name, suitesDir), ".json"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names, nil
}

// referenced returns the pool files among names that some suite other
// than except still lists. Only the indexes whose component and
// architecture match a candidate are read.
func (r *Repo) referenced(ctx context.Context, except string, names []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(names) == 0 {
		return out, nil
	}
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	suites, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	pinned, err := r.pinned(ctx)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if pinned[n] {
			out[n] = true
		}
	}
	// Snapshots are covered by the pinned list, and stages serve
	// snapshots: only the other rolling suites are read.
	for _, name := range suites {
		if name == except {
			continue
		}
		s, err := r.loadSuiteReadOnly(ctx, cfg, name)
		if err != nil {
			return nil, err
		}
		if s.state.Kind != KindRolling {
			continue
		}
		for file := range s.release.Files {
			comp, arch, ok := splitIndexName(file)
			if !ok || !strings.HasSuffix(file, "/Packages") || !wantsIndex(names, comp, arch) {
				continue
			}
			idx, err := r.index(ctx, s, comp, arch)
			if err != nil {
				return nil, err
			}
			for _, st := range idx.byKey {
				if want[st.Filename] {
					out[st.Filename] = true
				}
			}
		}
	}
	return out, nil
}

// wantsIndex reports whether an index of comp/arch can list any of the
// pool files: pool/COMP/.../NAME_VERSION_ARCH.deb; Architecture: all
// files are in every architecture's index.
func wantsIndex(names []string, comp, arch string) bool {
	for _, n := range names {
		if strings.HasPrefix(n, "pool/"+comp+"/") && (strings.HasSuffix(n, "_"+arch+".deb") || strings.HasSuffix(n, "_all.deb")) {
			return true
		}
	}
	return false
}

// loadSuiteReadOnly reads a suite's recorded state without repairing it.
func (r *Repo) loadSuiteReadOnly(ctx context.Context, cfg Config, name string) (*suite, error) {
	s := &suite{name: name, indexes: map[string]*Index{}, changed: map[string]bool{}}
	found, err := readJSON(ctx, r.st, suiteStateName(name), &s.state)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %s", ErrNoSuite, name)
	}
	s.exists = true
	if s.state.Kind == KindDropped {
		s.release = &Release{Files: map[string]Hashes{}}
		return s, nil
	}
	if s.release, err = ParseRelease(s.state.Release); err != nil {
		return nil, fmt.Errorf("suite %s: recorded %w", name, err)
	}
	return s, nil
}

// freePool deletes the pool files of dropped packages that no other suite
// lists, and returns their names.
func (r *Repo) freePool(ctx context.Context, suite string, dropped []*Stanza) ([]string, error) {
	var names []string
	for _, st := range dropped {
		names = append(names, st.Filename)
	}
	keep, err := r.referenced(ctx, suite, names)
	if err != nil {
		return nil, err
	}
	var freed []string
	for _, n := range names {
		if keep[n] {
			continue
		}
		if err := r.st.Delete(ctx, n); err != nil {
			return freed, err
		}
		freed = append(freed, n)
	}
	return freed, nil
}

// GCResult says what a collection removed.
type GCResult struct {
	Removed []string `json:"removed"`
	Bytes   int64    `json:"bytes"`
	Kept    int      `json:"kept"`
}

// GC removes pool files that no suite lists, such as those left by a
// publish that was interrupted before its commit point. It reads every
// index, so it costs in proportion to the whole repository; publish frees
// pool files itself as it drops them.
func (r *Repo) GC(ctx context.Context, lockTimeout time.Duration, dryRun bool) (*GCResult, error) {
	res := &GCResult{}
	err := r.locked(ctx, lockTimeout, func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		suites, err := r.suiteNames(ctx)
		if err != nil {
			return err
		}
		live := map[string]bool{}
		for _, name := range suites {
			s, err := r.loadSuiteReadOnly(ctx, cfg, name)
			if err != nil {
				return err
			}
			for file := range s.release.Files {
				comp, arch, ok := splitIndexName(file)
				if !ok || !strings.HasSuffix(file, "/Packages") {
					continue
				}
				idx, err := r.index(ctx, s, comp, arch)
				if err != nil {
					return err
				}
				for _, st := range idx.byKey {
					live[st.Filename] = true
				}
			}
		}
		objs, err := r.st.List(ctx, "pool/")
		if err != nil {
			return err
		}
		for _, o := range objs {
			if live[o.Name] {
				res.Kept++
				continue
			}
			if !dryRun {
				if err := r.st.Delete(ctx, o.Name); err != nil {
					return err
				}
			}
			res.Removed = append(res.Removed, o.Name)
			res.Bytes += o.Size
		}
		return nil
	})
	return res, err
}
