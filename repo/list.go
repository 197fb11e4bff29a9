package repo

import (
	"context"
	"fmt"
	"sort"

	"github.com/debflow/debflow/internal/debian"
)

// ListedPackage is one package of a suite in a listing.
type ListedPackage struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	Component    string `json:"component"`
}

// ListOptions name what List lists: a suite or stage, or a snapshot.
type ListOptions struct {
	Suite    string // a rolling suite, stage or snapshot; default development
	Snapshot string // a snapshot; refuses other kinds
}

// List returns the packages of a suite, stage or snapshot, once each
// (an Architecture: all package is in every architecture's index), sorted by
// name, then version in dpkg order, then architecture. It reads only
// recorded state and writes nothing.
func (r *Repo) List(ctx context.Context, opts ListOptions) ([]ListedPackage, error) {
	name := opts.Suite
	if opts.Snapshot != "" {
		name = opts.Snapshot
	}
	if name == "" {
		name = "development"
	}
	if err := ValidSuiteName(name); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoSuite, err)
	}
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	s, err := r.loadSuiteReadOnly(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	if s.state.Kind == KindDropped {
		return nil, fmt.Errorf("%w: %s was dropped", ErrNoSuite, name)
	}
	if opts.Snapshot != "" && s.state.Kind != KindSnapshot {
		return nil, fmt.Errorf("%w: %s is a %s suite, not a snapshot (use --suite)", ErrNoSuite, name, s.state.Kind)
	}
	idxs, err := r.packageIndexes(ctx, s)
	if err != nil {
		return nil, err
	}
	seen := map[Key]bool{}
	out := []ListedPackage{}
	for _, si := range idxs {
		comp := si.comp
		for k := range si.idx.stanzaMap() {
			ck := Key{comp + "/" + k.Package, k.Version, k.Architecture}
			if seen[ck] {
				continue
			}
			seen[ck] = true
			out = append(out, ListedPackage{Name: k.Package, Version: k.Version, Architecture: k.Architecture, Component: comp})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if c := debian.CompareVersions(a.Version, b.Version); c != 0 {
			return c < 0
		}
		if a.Architecture != b.Architecture {
			return a.Architecture < b.Architecture
		}
		return a.Component < b.Component
	})
	return out, nil
}
