package snapshot

import (
	"fmt"
	"slices"
	"strings"

	"github.com/debflow/debflow/internal/debian"
)

// ClosureResult is what Closure decided.
type ClosureResult struct {
	// Add lists the packages of the candidates that the roots need and
	// that neither the roots nor the other sources provide, sorted.
	Add []Package
	// Unresolved names each dependency that nothing satisfies:
	// "foo 1.0 (amd64): Depends libbar (>= 2) | libbaz".
	Unresolved []string
}

// Closure closes roots over Depends and Pre-Depends, as apt would install
// them, on each architecture of archs: a dependency already met by the
// roots, by others (the packages of every other source a combined snapshot
// will hold: development, other mirrors) or by an earlier addition is left
// alone; otherwise the first alternative that the candidates can satisfy
// is taken, at its highest version that meets the constraint, or through a
// package that Provides it. Architecture: all packages are resolved on
// every architecture. It changes nothing; Unresolved lists what is
// missing, by name.
func Closure(roots, candidates, others []Package, archs []string) ClosureResult {
	added := map[pkgKey]Package{}
	var unresolved []string
	for _, arch := range archs {
		have := newIndex(roots, arch)
		for _, p := range others {
			have.add(p)
		}
		cand := newIndex(candidates, arch)
		var queue []Package
		for _, p := range roots {
			if p.Arch == arch || p.Arch == "all" {
				queue = append(queue, p)
			}
		}
		for _, p := range added { // additions of earlier architectures that are "all"
			if p.Arch == "all" {
				have.add(p)
				queue = append(queue, p)
			}
		}
		seen := map[pkgKey]bool{}
		for len(queue) > 0 {
			p := queue[0]
			queue = queue[1:]
			if seen[p.key()] {
				continue
			}
			seen[p.key()] = true
			for _, f := range []struct{ name, value string }{{"Pre-Depends", p.PreDepends}, {"Depends", p.Depends}} {
				groups, err := parseRelations(f.value)
				if err != nil {
					unresolved = append(unresolved, fmt.Sprintf("%s (%s): %s: %v", p.Name+" "+p.Version, arch, f.name, err))
					continue
				}
				for _, g := range groups {
					if have.satisfies(g) {
						continue
					}
					q, ok := cand.best(g)
					if !ok {
						unresolved = append(unresolved, fmt.Sprintf("%s %s (%s): %s %s", p.Name, p.Version, arch, f.name, g.Text))
						continue
					}
					added[q.key()] = q
					have.add(q)
					queue = append(queue, q)
				}
			}
		}
	}
	res := ClosureResult{Add: make([]Package, 0, len(added)), Unresolved: unresolved}
	for _, p := range added {
		res.Add = append(res.Add, p)
	}
	sortPackages(res.Add)
	slices.Sort(res.Unresolved)
	res.Unresolved = slices.Compact(res.Unresolved)
	return res
}

// best picks what apt would install for a group: the first applicable
// alternative that a real package of a matching version satisfies (its
// highest such version), else the first that a Provides satisfies.
func (ix *index) best(g group) (Package, bool) {
	for _, r := range g.Alts {
		if !r.appliesTo(ix.arch) {
			continue
		}
		var found *Package
		for _, p := range ix.named(r.Name) {
			if r.Op != "" && !versionMatches(p.Version, r.Op, r.Version) {
				continue
			}
			if found == nil || debian.CompareVersions(p.Version, found.Version) > 0 {
				found = &p
			}
		}
		if found != nil {
			return *found, true
		}
		for _, pr := range ix.provided[r.Name] {
			if r.Op == "" || pr.Version != "" && versionMatches(pr.Version, r.Op, r.Version) {
				return pr.Pkg, true
			}
		}
	}
	return Package{}, false
}

// Newest merges the packages of several sources, given in order: for each
// package name and architecture, the source holding the newest version
// gives every version it holds of it; on a tie the earlier source wins.
// It returns, for each source, the packages it gave, and a line for each
// name and architecture that more than one source carried, saying which
// won: "hello (amd64): 2.0 from development over 1.5 from bookworm".
func Newest(names []string, sources [][]Package) (gave [][]Package, shadowed []string) {
	type na struct{ name, arch string }
	type best struct {
		src     int
		version string
		others  []string
	}
	newest := map[na]*best{}
	for i, pkgs := range sources {
		top := map[na]string{}
		for _, p := range pkgs {
			k := na{p.Name, p.Arch}
			if v, ok := top[k]; !ok || debian.CompareVersions(p.Version, v) > 0 {
				top[k] = p.Version
			}
		}
		for k, v := range top {
			b := newest[k]
			switch {
			case b == nil:
				newest[k] = &best{src: i, version: v}
			case debian.CompareVersions(v, b.version) > 0:
				b.others = append(b.others, b.version+" from "+names[b.src])
				b.src, b.version = i, v
			default:
				b.others = append(b.others, v+" from "+names[i])
			}
		}
	}
	gave = make([][]Package, len(sources))
	for i, pkgs := range sources {
		for _, p := range pkgs {
			if newest[na{p.Name, p.Arch}].src == i {
				gave[i] = append(gave[i], p)
			}
		}
		sortPackages(gave[i])
	}
	for k, b := range newest {
		if len(b.others) > 0 {
			shadowed = append(shadowed, fmt.Sprintf("%s (%s): %s from %s over %s", k.name, k.arch, b.version, names[b.src], strings.Join(b.others, ", ")))
		}
	}
	slices.Sort(shadowed)
	return gave, shadowed
}
