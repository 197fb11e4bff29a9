package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
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
	cfg, _, err := r.loadConfig(ctx)
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
	if err := r.checkRecordsServed(ctx, suites); err != nil {
		return nil, err
	}
	pinned, err := r.pinnedAmong(ctx, suites)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if pinned[n] {
			out[n] = true
		}
	}
	// Snapshots are covered by the pinned list, and stages serve
	// snapshots: only the other rolling suites and the mirrors are read.
	for _, name := range suites {
		if name == except {
			continue
		}
		s, err := r.loadSuiteReadOnly(ctx, cfg, name)
		if err != nil {
			return nil, err
		}
		if s.state.Kind != KindRolling && s.state.Kind != KindMirror {
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
			for _, st := range idx.stanzaMap() {
				if want[st.Filename] {
					out[st.Filename] = true
				}
			}
		}
	}
	return out, nil
}

// checkRecordsServed makes sure every suite the tree serves has a record
// (suites lists the records), before a command deletes pool files or drops
// packages: a served suite whose record is lost could list any of them.
func (r *Repo) checkRecordsServed(ctx context.Context, suites []string) error {
	h := heldIn(ctx)
	if h != nil && h.servedChecked {
		return nil // passed earlier in this locked command (configcache.go)
	}
	served, err := servedSuites(ctx, r.st)
	if err != nil {
		return err
	}
	for _, s := range served {
		if !slices.Contains(suites, s) {
			return fmt.Errorf("%w: the tree serves suite %s, which has no record in %s; %s",
				ErrNeedsRepair, s, suitesDir, repairHint)
		}
	}
	if h != nil {
		h.servedChecked = true
	}
	return nil
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
	found, err := readJSONVersion(ctx, r.st, suiteStateName(name), &s.state, &s.version)
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

// tempCleaner is implemented by storages that can leave temporary objects
// behind when a writer is killed (FS's ".tmp-*" files).
type tempCleaner interface {
	// Temporaries lists the temporary objects older than age.
	Temporaries(ctx context.Context, age time.Duration) ([]ObjectInfo, error)
	// RemoveTemporary removes one of them.
	RemoveTemporary(ctx context.Context, name string) error
}

// GC removes what no suite needs: pool files that no suite lists (left by
// a publish interrupted before its commit point, or by a dropped
// snapshot), the files of a drop that was interrupted, and the temporary
// files of killed writers once they are older than the grace period.
//
// Before it deletes anything it checks its view against the served truth:
// every suite the tree serves must have a record whose Release is the one
// served, or GC refuses (ErrNeedsRepair), since a pool file that only the
// served indexes list would otherwise be lost. It reads every index, so it
// costs in proportion to the whole repository, and it writes nothing before
// it deletes, so it frees space on a full disk.
func (r *Repo) GC(ctx context.Context, lockTimeout time.Duration, dryRun bool) (*GCResult, error) {
	res := &GCResult{Removed: []string{}}
	err := r.locked(ctx, lockTimeout, func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		suites, leftovers, err := r.checkServed(ctx, cfg)
		if err != nil {
			return err
		}
		live := map[string]bool{}
		for _, s := range suites {
			for file := range s.release.Files {
				comp, arch, ok := splitIndexName(file)
				if !ok || !strings.HasSuffix(file, "/Packages") {
					continue
				}
				idx, err := r.index(ctx, s, comp, arch)
				if err != nil {
					return err
				}
				for _, st := range idx.stanzaMap() {
					live[st.Filename] = true
				}
			}
		}
		remove := func(o ObjectInfo, del func(context.Context, string) error) error {
			if !dryRun {
				if err := del(ctx, o.Name); err != nil {
					return err
				}
			}
			res.Removed = append(res.Removed, o.Name)
			res.Bytes += o.Size
			return nil
		}
		for _, o := range leftovers {
			if err := remove(o, r.st.Delete); err != nil {
				return err
			}
		}
		// A plain Packages that Release lists but debflow no longer
		// stores (see stored): an older debflow's copies, by name and by
		// hash, which nothing updates any more.
		for _, s := range suites {
			for _, file := range slices.Sorted(maps.Keys(s.release.Files)) {
				if stored(s.release, file) {
					continue
				}
				for _, name := range []string{suiteDir(s.name) + file, byHashName(s.name, file, "SHA256", s.release.Files[file].SHA256)} {
					oi, err := r.st.Stat(ctx, name)
					if errors.Is(err, fs.ErrNotExist) {
						continue
					}
					if err != nil {
						return err
					}
					if err := remove(ObjectInfo{Name: name, Size: oi.Size}, r.st.Delete); err != nil {
						return err
					}
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
			if err := remove(o, r.st.Delete); err != nil {
				return err
			}
		}
		if tc, ok := r.st.(tempCleaner); ok {
			tmps, err := tc.Temporaries(ctx, byHashGrace)
			if err != nil {
				return err
			}
			for _, o := range tmps {
				if err := remove(o, tc.RemoveTemporary); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return res, err
}

// checkServed compares debflow's records with the suites the tree serves.
// It returns every recorded suite that is not dropped, and the files left
// under dists/ by drops that were interrupted (once their grace period
// has passed). It refuses (ErrNeedsRepair) a served suite without a record
// and one whose served InRelease is not the recorded Release.
func (r *Repo) checkServed(ctx context.Context, cfg Config) (suites []*suite, leftovers []ObjectInfo, err error) {
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, nil, err
	}
	records := map[string]*suite{}
	for _, name := range names {
		s, err := r.loadSuiteReadOnly(ctx, cfg, name)
		if err != nil {
			return nil, nil, err
		}
		records[name] = s
		if s.state.Kind != KindDropped {
			suites = append(suites, s)
		}
	}
	served, err := servedSuites(ctx, r.st)
	if err != nil {
		return nil, nil, err
	}
	for _, name := range served {
		s := records[name]
		switch {
		case s == nil:
			return nil, nil, fmt.Errorf("%w: the tree serves suite %s, which has no record in %s; %s",
				ErrNeedsRepair, name, suitesDir, repairHint)
		case s.state.Kind == KindDropped:
			if r.now().Sub(s.state.Updated) < byHashGrace {
				continue
			}
			objs, err := r.st.List(ctx, suiteDir(name))
			if err != nil {
				return nil, nil, err
			}
			for _, o := range objs {
				if !nestedSuite(name, o.Name, served) {
					leftovers = append(leftovers, o)
				}
			}
		default:
			in, err := readAll(ctx, r.st, suiteDir(name)+"InRelease")
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, nil, err
			}
			if !bytes.Contains(in, s.state.Release) {
				return nil, nil, fmt.Errorf("%w: suite %s: the served InRelease is not the recorded Release (an interrupted publication); run `debflow refresh` to complete it first",
					ErrNeedsRepair, name)
			}
		}
	}
	return suites, leftovers, nil
}

// nestedSuite reports whether the object name under dists/suite/ belongs
// to another served suite nested in it ("team/updates" inside "team").
func nestedSuite(suite, name string, served []string) bool {
	for _, other := range served {
		if other != suite && strings.HasPrefix(other, suite+"/") && strings.HasPrefix(name, suiteDir(other)) {
			return true
		}
	}
	return false
}
