package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/debflow/debflow/internal/debian"
)

// ErrNoPackage: a package named on the command line is not in the suite.
var ErrNoPackage = errors.New("no such package")

// ErrBadPackageSpec is wrapped by errors about a malformed
// NAME[=VERSION][/ARCH] argument.
var ErrBadPackageSpec = errors.New("invalid package spec")

// PackageSpec selects packages of a suite: every version and architecture
// of Name, narrowed by Version and Architecture when they are set.
type PackageSpec struct {
	Name         string
	Version      string // "" matches every version
	Architecture string // "" matches every architecture
}

// ParsePackageSpec reads NAME[=VERSION][/ARCH], such as hello,
// hello=2:1.0 or hello=1.0/amd64. Versions may carry an epoch.
func ParsePackageSpec(s string) (PackageSpec, error) {
	var p PackageSpec
	rest := s
	if i := strings.LastIndexByte(rest, '/'); i >= 0 {
		rest, p.Architecture = rest[:i], rest[i+1:]
		if err := debian.ValidArchitecture(p.Architecture); err != nil {
			return p, fmt.Errorf("%w %q: %w", ErrBadPackageSpec, s, err)
		}
	}
	name, version, hasVersion := strings.Cut(rest, "=")
	p.Name, p.Version = name, version
	if err := debian.ValidPackageName(p.Name); err != nil {
		return p, fmt.Errorf("%w %q (want NAME[=VERSION][/ARCH]): %w", ErrBadPackageSpec, s, err)
	}
	if hasVersion {
		if err := debian.ValidVersion(p.Version); err != nil {
			return p, fmt.Errorf("%w %q: %w", ErrBadPackageSpec, s, err)
		}
	}
	return p, nil
}

func (p PackageSpec) String() string {
	s := p.Name
	if p.Version != "" {
		s += "=" + p.Version
	}
	if p.Architecture != "" {
		s += "/" + p.Architecture
	}
	return s
}

// matches reports whether a stanza is selected. Versions compare as dpkg
// does, so 1.0 and 0:1.0 are the same version.
func (p PackageSpec) matches(st *Stanza) bool {
	return st.Package == p.Name &&
		(p.Version == "" || debian.CompareVersions(st.Version, p.Version) == 0) &&
		(p.Architecture == "" || st.Architecture == p.Architecture)
}

// RemoveOptions say which suite packages are removed from.
type RemoveOptions struct {
	Suite     string // default "development"
	Component string // default "main"
	// DryRun reports what would be removed and freed, and changes nothing.
	DryRun      bool
	LockTimeout time.Duration
}

// RemoveResult says what a removal did, or would do.
type RemoveResult struct {
	Suite      string   `json:"suite"`
	Generation int64    `json:"generation"`
	DryRun     bool     `json:"dry_run"`
	Removed    []string `json:"removed"`    // NAME_VERSION_ARCH
	PoolFreed  []string `json:"pool_freed"` // pool files no suite, snapshot or stage lists any more
}

// Remove takes packages out of a rolling suite, all or nothing: when any
// spec matches no package, the error names every such spec and nothing
// changes. An Architecture: all package goes from every architecture's
// index. Pool files that snapshots, stages or other suites still list stay;
// the others are deleted. Stages and snapshots are refused (ErrConflict):
// they change only by promote and pick.
func (r *Repo) Remove(ctx context.Context, specs []PackageSpec, opts RemoveOptions) (*RemoveResult, error) {
	if opts.Suite == "" {
		opts.Suite = "development"
	}
	if opts.Component == "" {
		opts.Component = "main"
	}
	if err := ValidSuiteName(opts.Suite); err != nil {
		return nil, err
	}
	if err := ValidComponent(opts.Component); err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%w: nothing to remove", ErrBadPackageSpec)
	}
	if opts.DryRun {
		return r.removeLocked(ctx, specs, opts)
	}
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	var res *RemoveResult
	err := r.locked(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		var err error
		res, err = r.removeLocked(ctx, specs, opts)
		return err
	})
	return res, err
}

func (r *Repo) removeLocked(ctx context.Context, specs []PackageSpec, opts RemoveOptions) (*RemoveResult, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	if i := slices.Index(cfg.Stages, opts.Suite); i > 0 {
		return nil, fmt.Errorf("%w: %s is a stage, fed by promote; it changes only by promoting another snapshot", ErrConflict, opts.Suite)
	}
	var s *suite
	if opts.DryRun {
		// A dry run writes nothing, not even a repair.
		s, err = r.loadSuiteReadOnly(ctx, cfg, opts.Suite)
		if err == nil && s.state.Kind == KindDropped {
			err = fmt.Errorf("%w: %s was dropped", ErrNoSuite, opts.Suite)
		}
	} else {
		s, err = r.loadExisting(ctx, cfg, opts.Suite)
	}
	if err != nil {
		return nil, err
	}
	if s.state.Kind != KindRolling {
		return nil, fmt.Errorf("%w: %s is a %s; only rolling suites change by remove (stages by promote, snapshots by pick)", ErrConflict, s.name, s.state.Kind)
	}

	// Every index of the component, and what each spec selects in them.
	var dirs []string
	for file := range s.release.Files {
		comp, arch, ok := splitIndexName(file)
		if ok && comp == opts.Component && strings.HasSuffix(file, "/Packages") {
			dirs = append(dirs, indexDir(comp, arch))
			if _, err := r.index(ctx, s, comp, arch); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(dirs)
	selected := map[Key]*Stanza{}
	var unmatched []string
	for _, spec := range specs {
		found := false
		for _, dir := range dirs {
			for _, st := range s.indexes[dir].byName(spec.Name) {
				if spec.matches(st) {
					selected[st.Key()] = st
					found = true
				}
			}
		}
		if !found {
			unmatched = append(unmatched, spec.String())
		}
	}
	if len(unmatched) > 0 {
		return nil, fmt.Errorf("%w in %s (component %s): %s; nothing was removed", ErrNoPackage, s.name, opts.Component, strings.Join(unmatched, ", "))
	}

	dropped := make([]*Stanza, 0, len(selected))
	for k, st := range selected {
		for _, dir := range dirs {
			if s.indexes[dir].Get(k) != nil {
				s.indexes[dir].Delete(k)
				s.changed[dir] = true
			}
		}
		dropped = append(dropped, st)
	}
	sort.Slice(dropped, func(i, j int) bool { return lessStanza(dropped[i], dropped[j]) })
	res := &RemoveResult{Suite: s.name, Generation: s.state.Generation, DryRun: opts.DryRun, Removed: []string{}, PoolFreed: []string{}}
	for _, st := range dropped {
		res.Removed = append(res.Removed, st.Key().String())
	}
	// A pool file this suite still lists under another key (1.0 and
	// 0:1.0 share one) stays.
	var free []*Stanza
	seen := map[string]bool{}
	for _, st := range dropped {
		if !seen[st.Filename] && !stillListed(s, dirs, st) {
			free = append(free, st)
		}
		seen[st.Filename] = true
	}

	if opts.DryRun {
		freed, err := r.unreferenced(ctx, s.name, free)
		if err != nil {
			return nil, err
		}
		res.PoolFreed = freed
		return res, nil
	}
	files, err := renderIndexes(s, indexCompressions(s.release))
	if err != nil {
		return nil, err
	}
	if err := r.commit(ctx, cfg, s, files, time.Duration(s.state.ValidFor), nil); err != nil {
		return nil, err
	}
	res.Generation = s.state.Generation
	freed, err := r.freePool(ctx, s.name, free)
	if err != nil {
		return res, fmt.Errorf("removed, but cleaning the pool failed: %w", err)
	}
	if freed != nil {
		res.PoolFreed = freed
	}
	return res, nil
}

// stillListed reports whether the suite still lists st's pool file.
func stillListed(s *suite, dirs []string, st *Stanza) bool {
	for _, dir := range dirs {
		for _, o := range s.indexes[dir].byName(st.Package) {
			if o.Filename == st.Filename {
				return true
			}
		}
	}
	return false
}

// unreferenced returns the pool files of stanzas that no suite other than
// except, no snapshot and no stage lists: what freePool would delete.
func (r *Repo) unreferenced(ctx context.Context, except string, stanzas []*Stanza) ([]string, error) {
	var names []string
	for _, st := range stanzas {
		names = append(names, st.Filename)
	}
	keep, err := r.referenced(ctx, except, names)
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, n := range names {
		if !keep[n] {
			out = append(out, n)
		}
	}
	return out, nil
}
