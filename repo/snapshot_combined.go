package repo

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/debflow/debflow/snapshot"
)

// createCombined freezes several suites (development, mirrors, other
// snapshots) into one snapshot. For each package name and architecture the
// source holding the newest version gives it (snapshot.Newest); the
// snapshot's record names each source, what it gave, and every package
// another source carried too. The indexes are rendered anew: the content
// is a merge, so no source's index file can be shared.
func (r *Repo) createCombined(ctx context.Context, opts SnapshotOptions) (*SnapshotResult, error) {
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	for i, n := range opts.Sources {
		if slices.Contains(opts.Sources[:i], n) {
			return nil, fmt.Errorf("%w: --from %s is given twice", ErrInput, n)
		}
	}
	var res *SnapshotResult
	err := r.locked(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		var (
			srcs     []*suite
			contents []*suiteContents
			lists    [][]snapshot.Package
		)
		archSet, compSet := map[string]bool{}, map[string]bool{}
		for _, name := range opts.Sources {
			s, err := r.loadExisting(ctx, cfg, name)
			if err != nil {
				return err
			}
			c, err := r.contents(ctx, s)
			if err != nil {
				return fmt.Errorf("snapshot of %s: %w", name, err)
			}
			srcs, contents, lists = append(srcs, s), append(contents, c), append(lists, c.list())
			for _, a := range s.release.Architectures {
				archSet[a] = true
			}
			for _, comp := range s.release.Components {
				compSet[comp] = true
			}
		}
		name, err := r.newSnapshotName(ctx, opts.Name)
		if err != nil {
			return err
		}
		gave, shadowed := snapshot.Newest(opts.Sources, lists)
		archs, comps := slices.Sorted(maps.Keys(archSet)), slices.Sorted(maps.Keys(compSet))
		s := &suite{name: name, indexes: map[string]*Index{}, changed: map[string]bool{}}
		for _, comp := range comps {
			for _, arch := range archs {
				s.indexes[indexDir(comp, arch)] = NewIndex()
				s.changed[indexDir(comp, arch)] = true
			}
		}
		info := &SnapshotInfo{Created: r.now().UTC(), Source: strings.Join(opts.Sources, " + "), Shadowed: shadowed}
		for i, pkgs := range gave {
			for _, p := range pkgs {
				k := Key{p.Name, p.Version, p.Arch}
				st, comp := contents[i].stanza[k], contents[i].component[k]
				for _, arch := range archs {
					if p.Arch == arch || p.Arch == "all" {
						s.indexes[indexDir(comp, arch)].Put(st)
					}
				}
			}
			info.Sources = append(info.Sources, SnapshotSource{Suite: srcs[i].name, Kind: srcs[i].state.Kind,
				Generation: srcs[i].state.Generation, Packages: len(pkgs)})
			info.Packages += len(pkgs)
		}
		files, err := renderIndexes(s, cfg.IndexCompression)
		if err != nil {
			return err
		}
		from := &Release{Architectures: archs, Components: comps}
		if err := r.writeSnapshot(ctx, cfg, name, from, files, info); err != nil {
			return err
		}
		res = &SnapshotResult{Name: name, Packages: info.Packages}
		return nil
	})
	return res, err
}
