package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/debflow/debflow/snapshot"
)

// Suite kinds besides rolling.
const (
	KindSnapshot = "snapshot"
	KindStage    = "stage"
	KindDropped  = "dropped" // a dropped snapshot: its name stays reserved
)

// SnapshotInfo records where a snapshot came from.
type SnapshotInfo struct {
	Created          time.Time `json:"created"`
	Source           string    `json:"source"`            // the suite or snapshot it was taken from
	SourceGeneration int64     `json:"source_generation"` // the source's generation at that time
	Base             string    `json:"base,omitempty"`    // a pick: the snapshot it started from
	Picks            []string  `json:"picks,omitempty"`   // a pick: PKG=VERSION, as given
	Packages         int       `json:"packages"`          // package count, for listings
	// A combined snapshot (several --from): each source, what it gave,
	// and each package more than one source carried, with the winner.
	Sources  []SnapshotSource `json:"sources,omitempty"`
	Shadowed []string         `json:"shadowed,omitempty"`
}

// SnapshotSource is one source of a combined snapshot.
type SnapshotSource struct {
	Suite      string `json:"suite"`
	Kind       string `json:"kind"`
	Generation int64  `json:"generation"`
	Packages   int    `json:"packages"` // the packages it gave
}

// SnapshotOptions control CreateSnapshot and PickSnapshot.
type SnapshotOptions struct {
	From string // the suite or snapshot to take from; default development
	// Sources, when more than one, makes CreateSnapshot combine them (From
	// is then ignored): see createCombined.
	Sources     []string
	Name        string // default: snapshot.NextName
	LockTimeout time.Duration
}

// SnapshotResult describes a new snapshot.
type SnapshotResult struct {
	Name     string   `json:"name"`
	Packages int      `json:"packages"`
	Warnings []string `json:"warnings,omitempty"`
}

// CreateSnapshot freezes the current content of a suite into a new,
// immutable suite that shares the pool. Its indexes are byte-for-byte the
// source's: no package file is read, and the work is copying the index
// files.
func (r *Repo) CreateSnapshot(ctx context.Context, opts SnapshotOptions) (*SnapshotResult, error) {
	if len(opts.Sources) > 1 {
		return r.createCombined(ctx, opts)
	}
	if len(opts.Sources) == 1 {
		opts.From = opts.Sources[0]
	}
	if opts.From == "" {
		opts.From = "development"
	}
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	var res *SnapshotResult
	err := r.locked(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		src, err := r.loadExisting(ctx, cfg, opts.From)
		if err != nil {
			return err
		}
		name, err := r.newSnapshotName(ctx, opts.Name)
		if err != nil {
			return err
		}
		// The snapshot holds the source's index files as they are: copied,
		// not read. Its packages are counted from the pieces' headers, and
		// the pinned list learns its pool files when it is next needed.
		var files []indexFile
		for _, file := range slices.Sorted(maps.Keys(src.release.Files)) {
			files = append(files, listedFile(src.name, src.release, file))
		}
		count, err := r.packageCount(ctx, src.name, src.release)
		if err != nil {
			return fmt.Errorf("snapshot of %s: %w", src.name, err)
		}
		info := &SnapshotInfo{Created: r.now().UTC(), Source: src.name, SourceGeneration: src.state.Generation, Packages: count}
		if err := r.writeSnapshot(ctx, cfg, name, src.release, files, info); err != nil {
			return err
		}
		res = &SnapshotResult{Name: name, Packages: count}
		return nil
	})
	return res, err
}

// PickSnapshot makes a new snapshot from base with the picked packages
// replaced by, or added at, the given versions, taken from opts.From. The
// base is untouched. Only the changed architecture indexes are rendered;
// the rest are copied.
func (r *Repo) PickSnapshot(ctx context.Context, base string, picks []snapshot.Pick, opts SnapshotOptions) (*SnapshotResult, error) {
	if opts.From == "" {
		opts.From = "development"
	}
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	if len(picks) == 0 {
		return nil, fmt.Errorf("%w: nothing to pick", snapshot.ErrBadPick)
	}
	var res *SnapshotResult
	err := r.locked(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		b, err := r.loadExisting(ctx, cfg, base)
		if err != nil {
			return err
		}
		if b.state.Kind != KindSnapshot {
			return fmt.Errorf("%w: %s is a %s suite, not a snapshot", ErrNoSuite, base, b.state.Kind)
		}
		src, err := r.loadExisting(ctx, cfg, opts.From)
		if err != nil {
			return err
		}
		src.lookOnly = true
		// PlanPicks takes from the source only builds of the picked
		// names, and looks at a small part of base: only those are read.
		var names []string
		for _, p := range picks {
			names = append(names, p.Name)
		}
		srcPkgs, err := r.contentsOf(ctx, src, names)
		if err != nil {
			return err
		}
		srcList := srcPkgs.list()
		basePkgs, err := r.pickBase(ctx, b, names, srcList)
		if err != nil {
			return err
		}
		baseCount, err := r.suiteCount(ctx, b)
		if err != nil {
			return err
		}
		plan, err := snapshot.PlanPicks(basePkgs.list(), srcList, picks)
		if err != nil {
			return err
		}
		name, err := r.newSnapshotName(ctx, opts.Name)
		if err != nil {
			return err
		}

		// Apply the plan to base's indexes, in the component each package
		// comes from.
		for _, p := range plan.Remove {
			k := Key{p.Name, p.Version, p.Arch}
			comp := basePkgs.component[k]
			for _, arch := range archesFor(b.release, p.Arch) {
				idx, err := r.index(ctx, b, comp, arch)
				if err != nil {
					return err
				}
				idx.Delete(k)
				b.changed[indexDir(comp, arch)] = true
			}
		}
		for _, p := range plan.Add {
			k := Key{p.Name, p.Version, p.Arch}
			comp, st := srcPkgs.component[k], srcPkgs.stanza[k]
			for _, arch := range archesFor(b.release, p.Arch) {
				idx, err := r.index(ctx, b, comp, arch)
				if err != nil {
					return err
				}
				idx.Put(st)
				b.changed[indexDir(comp, arch)] = true
			}
		}
		changed, err := renderIndexes(b, indexCompressions(b.release))
		if err != nil {
			return err
		}
		files := changed
		rendered := map[string]bool{}
		for _, f := range changed {
			rendered[f.name] = true
		}
		for _, file := range slices.Sorted(maps.Keys(b.release.Files)) {
			dir := file[:strings.LastIndexByte(file, '/')]
			if rendered[file] || b.changed[dir] {
				continue
			}
			files = append(files, listedFile(b.name, b.release, file))
		}
		var picked []string
		for _, p := range picks {
			picked = append(picked, p.String())
		}
		// plan.Remove holds packages of base, plan.Add packages it lacks.
		count := baseCount - len(plan.Remove) + len(plan.Add)
		info := &SnapshotInfo{Created: r.now().UTC(), Source: src.name, SourceGeneration: src.state.Generation,
			Base: b.name, Picks: picked, Packages: count}
		if err := r.writeSnapshot(ctx, cfg, name, b.release, files, info); err != nil {
			return err
		}
		res = &SnapshotResult{Name: name, Packages: count, Warnings: plan.Warnings}
		return nil
	})
	return res, err
}

// writeSnapshot publishes a new snapshot suite: by-hash files, its record,
// the named files and the signed Release. Its pool files join the pinned
// list when it is next read (see Repo.pinned).
func (r *Repo) writeSnapshot(ctx context.Context, cfg Config, name string, from *Release, files []indexFile, info *SnapshotInfo) error {
	rel := &Release{
		Origin: cfg.Origin, Label: cfg.Label, Codename: cfg.Codename, Suite: name,
		Date:          r.now().UTC().Truncate(time.Second),
		Architectures: from.Architectures,
		Components:    from.Components,
		Files:         map[string]Hashes{},
		Description:   "snapshot of " + info.Source,
	}
	for _, f := range files {
		rel.Files[f.name] = f.hash
	}
	state := SuiteState{Suite: name, Kind: KindSnapshot, Generation: 1, Updated: rel.Date, Snapshot: info}
	return r.writeNewSuite(ctx, state, rel, files)
}

// writeNewSuite writes a suite that did not exist: by-hash files first,
// then its record (the commit point), the named files, the Release files.
func (r *Repo) writeNewSuite(ctx context.Context, state SuiteState, rel *Release, files []indexFile) error {
	name := state.Suite
	for _, f := range files {
		if err := r.storeByHash(ctx, name, f); err != nil {
			return err
		}
	}
	if err := r.st.Sync(ctx); err != nil {
		return err
	}
	state.Release = rel.Bytes()
	if err := writeJSON(ctx, r.st, suiteStateName(name), &state); err != nil {
		return err
	}
	for _, f := range files {
		if err := r.storeNamed(ctx, name, f); err != nil {
			return err
		}
	}
	return r.writeRelease(ctx, name, state.Release)
}

// newSnapshotName returns the given name after checking it is valid and
// unused (a dropped snapshot's name is never reused), or the next default
// name.
func (r *Repo) newSnapshotName(ctx context.Context, name string) (string, error) {
	existing, err := r.suiteNames(ctx)
	if err != nil {
		return "", err
	}
	if name == "" {
		return snapshot.NextName(existing, r.now()), nil
	}
	if err := snapshot.ValidName(name); err != nil {
		return "", err
	}
	for _, e := range existing {
		if e == name {
			return "", fmt.Errorf("%w: a suite or snapshot named %s exists or existed; names are never reused", ErrConflict, name)
		}
	}
	return name, nil
}

// removeDropped deletes a dropped snapshot's files under dists/ (the FS
// storage removes the directories that empties) and recomputes the pinned
// list. InRelease goes first: from then on apt sees no suite, not a broken
// one.
func (r *Repo) removeDropped(ctx context.Context, name string) error {
	objs, err := r.st.List(ctx, suiteDir(name))
	if err != nil {
		return err
	}
	for _, n := range []string{"InRelease", "Release.gpg", "Release"} {
		if err := r.st.Delete(ctx, suiteDir(name)+n); err != nil {
			return err
		}
	}
	for _, o := range objs {
		if err := r.st.Delete(ctx, o.Name); err != nil {
			return err
		}
	}
	_, err = r.repin(ctx)
	return err
}

// interruptedDrop completes the drop of a snapshot whose record says it
// was dropped but whose files are still there (a drop killed after its
// record), and reports done. A snapshot dropped completely is no snapshot
// (ErrNoSuite); any other is left to the caller (done false).
func (r *Repo) interruptedDrop(ctx context.Context, name string) (done bool, err error) {
	if snapshot.ValidName(name) != nil {
		return false, nil
	}
	var st SuiteState
	found, err := readJSON(ctx, r.st, suiteStateName(name), &st)
	if err != nil || !found || st.Kind != KindDropped {
		return false, err
	}
	objs, err := r.st.List(ctx, suiteDir(name))
	if err != nil {
		return false, err
	}
	if len(objs) == 0 {
		return false, fmt.Errorf("%w: no snapshot %s: it was dropped", ErrNoSuite, name)
	}
	fmt.Fprintf(r.log, "snapshot %s: completing an interrupted drop\n", name)
	return true, r.removeDropped(ctx, name)
}

// loadExisting loads a suite or snapshot that must exist.
func (r *Repo) loadExisting(ctx context.Context, cfg Config, name string) (*suite, error) {
	_, err := r.st.Stat(ctx, suiteStateName(name))
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrBadName) {
		return nil, fmt.Errorf("%w: %s", ErrNoSuite, name)
	}
	if err != nil {
		return nil, err
	}
	s, err := r.loadSuite(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	if s.state.Kind == KindDropped {
		return nil, fmt.Errorf("%w: %s was dropped", ErrNoSuite, name)
	}
	return s, nil
}

// suiteContents is everything in a suite, once per package.
type suiteContents struct {
	stanza    map[Key]*Stanza
	component map[Key]string
}

func (c *suiteContents) list() []snapshot.Package {
	out := make([]snapshot.Package, 0, len(c.stanza))
	for _, st := range c.stanza {
		out = append(out, relationFields(st))
	}
	return out
}

// packageCount counts the packages of a suite from its indexes' piece
// headers (see Index.counts), without parsing them: an Architecture: all
// package is in every architecture's index of its component and counts
// once.
func (r *Repo) packageCount(ctx context.Context, suite string, rel *Release) (int, error) {
	return countPackages(rel, func(comp, arch string) (*Index, error) {
		idx, err := r.readIndex(ctx, suite, rel, indexDir(comp, arch), false)
		if err != nil {
			return nil, fmt.Errorf("suite %s: index %s: %w", suite, indexDir(comp, arch), err)
		}
		return idx, nil
	})
}

// suiteCount is packageCount for a loaded suite, through its indexes.
func (r *Repo) suiteCount(ctx context.Context, s *suite) (int, error) {
	return countPackages(s.release, func(comp, arch string) (*Index, error) { return r.index(ctx, s, comp, arch) })
}

func countPackages(rel *Release, index func(comp, arch string) (*Index, error)) (int, error) {
	total := 0
	allByComp := map[string]int{}
	for file := range rel.Files {
		comp, arch, ok := splitIndexName(file)
		if !ok || path.Base(file) != "Packages" {
			continue
		}
		idx, err := index(comp, arch)
		if err != nil {
			return 0, err
		}
		n, all := idx.counts()
		total += n - all
		allByComp[comp] = max(allByComp[comp], all)
	}
	for _, all := range allByComp {
		total += all
	}
	return total, nil
}

// contents reads every index of a suite.
func (r *Repo) contents(ctx context.Context, s *suite) (*suiteContents, error) {
	return r.contentsOf(ctx, s, nil)
}

// contentsOf reads the packages of a suite that have one of the names
// (every package when names is nil). A name is looked up through the
// index pieces' filters, so a few names cost a few pieces, not the suite.
func (r *Repo) contentsOf(ctx context.Context, s *suite, names []string) (*suiteContents, error) {
	idxs, err := r.packageIndexes(ctx, s)
	if err != nil {
		return nil, err
	}
	c := &suiteContents{stanza: map[Key]*Stanza{}, component: map[Key]string{}}
	for _, si := range idxs {
		comp, arch, idx := si.comp, si.arch, si.idx
		add := func(st *Stanza) {
			c.stanza[st.Key()] = st
			c.component[st.Key()] = comp
		}
		if names == nil {
			all := idx.stanzaMap()
			if len(c.stanza) == 0 { // made at their size, not grown
				c.stanza, c.component = make(map[Key]*Stanza, len(all)), make(map[Key]string, len(all))
			}
			for _, st := range all {
				add(st)
			}
		}
		for _, n := range names {
			for _, st := range idx.byName(n) {
				add(st)
			}
		}
		if idx.err != nil {
			return nil, fmt.Errorf("suite %s: index %s: %w", s.name, indexDir(comp, arch), idx.err)
		}
	}
	return c, nil
}

// suiteIndex is one Packages index of a suite.
type suiteIndex struct {
	comp, arch string
	idx        *Index
}

// packageIndexes loads the Packages indexes a suite's Release lists, in
// the order of their names.
func (r *Repo) packageIndexes(ctx context.Context, s *suite) ([]suiteIndex, error) {
	var idxs []suiteIndex
	for _, file := range slices.Sorted(maps.Keys(s.release.Files)) {
		comp, arch, ok := splitIndexName(file)
		if !ok || !strings.HasSuffix(file, "/Packages") {
			continue
		}
		idx, err := r.index(ctx, s, comp, arch)
		if err != nil {
			return nil, err
		}
		idxs = append(idxs, suiteIndex{comp, arch, idx})
	}
	return idxs, nil
}

// pickBase reads of the snapshot base what snapshot.PlanPicks looks at
// for picks of names whose source builds are source (see PlanPicks, "What
// a plan reads of base"), parsing only the index pieces that hold it:
//   - the builds of the picked names, found through the pieces' filters;
//   - the packages whose Depends or Pre-Depends name a touched name (a
//     picked name, or one that a picked or replaced build provides);
//   - the packages called, or providing, a name that the relations of the
//     picked builds and of those packages name;
//   - in each architecture that has packages of its own, one of them that
//     no pick replaces, so that the plan sees the same architectures.
//
// The pieces' texts are searched for the names in the fields' relations,
// and a piece with a match is parsed whole: what is read is a superset of
// the above, which changes nothing in the plan. A pick of a package that
// most of the suite depends on reads most of it.
func (r *Repo) pickBase(ctx context.Context, b *suite, names []string, source []snapshot.Package) (*suiteContents, error) {
	idxs, err := r.packageIndexes(ctx, b)
	if err != nil {
		return nil, err
	}
	// parsed lists what the indexes have parsed so far.
	parsed := func() (*suiteContents, error) {
		c := &suiteContents{stanza: map[Key]*Stanza{}, component: map[Key]string{}}
		for _, si := range idxs {
			if si.idx.err != nil {
				return nil, fmt.Errorf("suite %s: index %s: %w", b.name, indexDir(si.comp, si.arch), si.idx.err)
			}
			for k, st := range si.idx.byKey {
				c.stanza[k], c.component[k] = st, si.comp
			}
		}
		return c, nil
	}

	picked := map[string]bool{}
	touched := map[string]bool{}
	for _, n := range names {
		picked[n], touched[n] = true, true
	}
	for _, si := range idxs {
		for _, n := range names {
			for _, st := range si.idx.byName(n) {
				for _, t := range snapshot.RelationNames(relationFields(st).Provides) {
					touched[t] = true
				}
			}
		}
	}
	wanted := map[string]bool{} // the names the plan's dependency checks look up
	for _, p := range source {
		for _, t := range snapshot.RelationNames(p.Provides) {
			touched[t] = true
		}
		for _, field := range []string{p.Depends, p.PreDepends} {
			for _, n := range snapshot.RelationNames(field) {
				wanted[n] = true
			}
		}
	}
	touchedNames := slices.Sorted(maps.Keys(touched))
	for _, si := range idxs {
		si.idx.parseMentioning([]string{"depends", "pre-depends"}, touchedNames)
	}
	c, err := parsed()
	if err != nil {
		return nil, err
	}
	for _, st := range c.stanza {
		p := relationFields(st)
		for _, field := range []string{p.Depends, p.PreDepends} {
			if !slices.ContainsFunc(touchedNames, func(t string) bool { return strings.Contains(field, t) }) {
				continue
			}
			for _, n := range snapshot.RelationNames(field) {
				wanted[n] = true
			}
		}
	}
	wantedNames := slices.Sorted(maps.Keys(wanted))
	for _, si := range idxs {
		for _, n := range wantedNames {
			si.idx.byName(n)
		}
		si.idx.parseMentioning([]string{"provides"}, wantedNames)
		if n, all := si.idx.counts(); n > all && si.arch != "all" {
			si.idx.parseArchUntil(func(st *Stanza) bool { return st.Architecture == si.arch && !picked[st.Package] })
		}
	}
	return parsed()
}

// archesFor lists the index architectures a package of arch goes into.
func archesFor(rel *Release, arch string) []string {
	if arch != "all" {
		return []string{arch}
	}
	return rel.Architectures
}

// indexCompressions returns the compressed forms a Release lists.
func indexCompressions(rel *Release) []string {
	set := map[string]bool{}
	for name := range rel.Files {
		switch {
		case strings.HasSuffix(name, "/Packages.gz"):
			set["gz"] = true
		case strings.HasSuffix(name, "/Packages.xz"):
			set["xz"] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// relationFields is a stanza's package and its Depends, Pre-Depends and
// Provides, continuation lines folded. It runs for every package of a suite
// on a pick, so it scans the bytes and allocates only the values.
func relationFields(st *Stanza) snapshot.Package {
	p := snapshot.Package{Name: st.Package, Version: st.Version, Arch: st.Architecture}
	var cur *string
	for rest := st.Text; len(rest) > 0; {
		var line []byte
		line, rest = cutLine(rest)
		if len(line) == 0 {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil {
				*cur += " " + string(bytes.TrimSpace(line))
			}
			continue
		}
		cur = nil
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(name, fieldDepends):
			cur = &p.Depends
		case bytes.EqualFold(name, fieldPreDepends):
			cur = &p.PreDepends
		case bytes.EqualFold(name, fieldProvides):
			cur = &p.Provides
		default:
			continue
		}
		*cur = string(bytes.TrimSpace(value))
	}
	return p
}

var fieldDepends, fieldPreDepends, fieldProvides = []byte("Depends"), []byte("Pre-Depends"), []byte("Provides")

func lockTimeout(d time.Duration) time.Duration {
	if d == 0 {
		return DefaultLockTimeout
	}
	return d
}
