package snapshot

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/debflow/debflow/internal/debian"
)

// Package is what the decisions need to know about one package in a suite.
type Package struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Arch    string `json:"arch"` // a Debian architecture, or "all"
	// The raw relationship fields ("" if none), as in a Packages stanza:
	// "libc6 (>= 2.36), foo | bar (<< 2)"; Provides "mail-transport-agent, foo (= 1.0)".
	Depends    string `json:"depends,omitempty"`
	PreDepends string `json:"pre_depends,omitempty"`
	Provides   string `json:"provides,omitempty"`
}

// String returns "name version (arch)".
func (p Package) String() string { return p.Name + " " + p.Version + " (" + p.Arch + ")" }

// pkgKey identifies a package in a suite, as apt does: two entries with the
// same name, version and architecture are the same package.
type pkgKey struct{ name, version, arch string }

func (p Package) key() pkgKey { return pkgKey{p.Name, p.Version, p.Arch} }

// Errors of ParsePick and PlanPicks; the errors returned wrap them.
var (
	ErrBadPick        = errors.New("invalid pick")
	ErrUnknownPackage = errors.New("unknown package") // the source has no package of that name
	ErrUnknownVersion = errors.New("unknown version") // the source has the package, never at that version
)

// Pick asks for one package at one version in a new snapshot.
type Pick struct{ Name, Version string }

// String returns "name=version", the form ParsePick reads.
func (p Pick) String() string { return p.Name + "=" + p.Version }

// ParsePick parses "PKG=VERSION", as given on the command line. The name
// and version must be valid Debian ones; nothing around them is trimmed.
func ParsePick(s string) (Pick, error) {
	name, version, ok := strings.Cut(s, "=")
	if !ok {
		return Pick{}, fmt.Errorf("%w %q: missing '=' (want PACKAGE=VERSION)", ErrBadPick, s)
	}
	p := Pick{Name: name, Version: version}
	if err := p.validate(); err != nil {
		return Pick{}, err
	}
	return p, nil
}

func (p Pick) validate() error {
	if err := debian.ValidPackageName(p.Name); err != nil {
		return fmt.Errorf("%w %q: %w", ErrBadPick, p.String(), err)
	}
	if err := debian.ValidVersion(p.Version); err != nil {
		return fmt.Errorf("%w %q: %w", ErrBadPick, p.String(), err)
	}
	return nil
}

// Plan is what a set of picks changes in the base snapshot's content.
type Plan struct {
	Remove   []Package // packages of base dropped: other versions of picked packages
	Add      []Package // packages from source added
	Warnings []string  // dependencies the result no longer satisfies, architectures that lose a package
}

// PlanPicks plans a snapshot that is base with each picked package replaced
// by, or added at, the picked version taken from source. It changes
// nothing; Apply(base, plan) is the content of the new snapshot.
//
// Each pick takes every build source has of PKG at VERSION: the amd64 and
// arm64 builds of one version, or its single "all" build. For each build
// picked, base's other entries of PKG that apt would see next to it are
// removed, so that apt can only install the picked version, including on a
// rollback to a lower version:
//   - an arch-specific build replaces base's builds of that architecture
//     and base's "all" builds, since "all" packages appear in every
//     architecture's index. If that removes an "all" build, architectures
//     the pick does not cover lose PKG; PlanPicks warns about that.
//   - an "all" build replaces every build of PKG in base, whatever its
//     architecture.
//
// Base's builds in architectures the pick does not touch stay. A build
// base already has (same name, version and architecture) is kept as is: a
// pick of what base has is a no-op.
//
// The warnings report the Depends and Pre-Depends entries that base
// satisfied and the new snapshot does not, in an architecture (for an
// "all" build, in each architecture of the snapshot): those of each build
// picked, and those of every other package (a rollback of a library that
// an application needs at a higher version). What base lacked already is
// not news and is not reported. Dependencies are satisfied by packages of
// the same architecture or "all", by any alternative of "a | b", with
// versions in dpkg order, and by Provides (a versioned dependency only by
// a versioned Provides "foo (= 1.0)" that meets it). Architecture
// qualifiers (":any") are ignored and restrictions ("[amd64]") honoured.
//
// Errors, all reported together, wrap ErrBadPick (an invalid pick, or one
// package picked twice), ErrUnknownPackage or ErrUnknownVersion.
//
// # What a plan reads of base
//
// A caller may give, instead of the whole base, any part of it that holds
// the following; the plan is the same (a repository reads only that much of
// a large suite):
//   - every build of a picked name;
//   - every package whose Depends or Pre-Depends names a touched name, in
//     any alternative: a picked name, or a name that a build of a picked
//     name, in base or in source, provides;
//   - every package called, or providing, a name that the Depends or
//     Pre-Depends of those packages, or of the picked builds, name
//     (RelationNames);
//   - for each architecture other than all that base has packages of, one
//     of them that is not of a picked name, if there is one.
func PlanPicks(base, source []Package, picks []Pick) (Plan, error) {
	choices, err := resolvePicks(source, picks)
	if err != nil {
		return Plan{}, err
	}
	var plan Plan
	removed := map[pkgKey]bool{}
	picked := map[pkgKey]bool{}
	pickedName := map[string]bool{}
	lostAll := map[string][]Package{} // "all" builds removed by arch-specific picks, by pick name
	for _, c := range choices {
		pickedName[c.pick.Name] = true
		for _, p := range c.pkgs {
			picked[p.key()] = true
		}
		inBase := map[pkgKey]bool{} // the builds picked that base has
		for _, b := range base {
			if b.Name != c.pick.Name {
				continue
			}
			if picked[b.key()] {
				inBase[b.key()] = true
				continue
			}
			if removed[b.key()] {
				continue
			}
			if c.archs["all"] || c.archs[b.Arch] || b.Arch == "all" {
				removed[b.key()] = true
				plan.Remove = append(plan.Remove, b)
				if b.Arch == "all" && !c.archs["all"] {
					lostAll[c.pick.Name] = append(lostAll[c.pick.Name], b)
				}
			}
		}
		for _, p := range c.pkgs {
			if !inBase[p.key()] {
				plan.Add = append(plan.Add, p)
			}
		}
	}
	sortPackages(plan.Remove)
	sortPackages(plan.Add)

	result := Apply(base, plan)
	w := &warner{
		result: result, base: base, seen: map[string]bool{},
		resultIx: map[string]*index{}, baseIx: map[string]*index{},
		archs: concreteArchs(result, nil),
	}
	// Dependencies of the picked builds.
	for _, c := range choices {
		for _, p := range c.pkgs {
			w.checkPicked(c.pick, p)
		}
	}
	// Dependencies of other packages that the picks broke.
	touched := touchedNames(base, choices, removed)
	for _, q := range result {
		if !pickedName[q.Name] || !picked[q.key()] {
			w.checkReverse(q, touched)
		}
	}
	// Architectures that lost a package with its "all" build.
	archs := concreteArchs(base, plan.Add)
	for _, c := range choices {
		if lost := lostAll[c.pick.Name]; len(lost) > 0 {
			if s := coverageWarning(c.pick, c.archs, lost, archs, result); s != "" {
				w.add(s)
			}
		}
	}
	plan.Warnings = w.warnings
	return plan, nil
}

// chosen is a pick resolved against the source.
type chosen struct {
	pick  Pick
	pkgs  []Package       // the builds picked, one per architecture, sorted
	archs map[string]bool // their architectures
}

// resolvePicks finds the builds of each pick in source. It reports every
// invalid, duplicated or unknown pick at once.
func resolvePicks(source []Package, picks []Pick) ([]chosen, error) {
	bySource := map[string][]Package{}
	for _, p := range source {
		bySource[p.Name] = append(bySource[p.Name], p)
	}
	var (
		errs    []error
		choices []chosen
		seen    = map[string]Pick{}
	)
	for _, pk := range picks {
		if err := pk.validate(); err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := seen[pk.Name]; dup {
			errs = append(errs, fmt.Errorf("%w: %s is picked twice (%s and %s)", ErrBadPick, pk.Name, prev, pk))
			continue
		}
		seen[pk.Name] = pk
		have := bySource[pk.Name]
		if len(have) == 0 {
			errs = append(errs, fmt.Errorf("%w: %s: the source has no package %s", ErrUnknownPackage, pk, pk.Name))
			continue
		}
		c := chosen{pick: pk, archs: map[string]bool{}}
		for _, p := range have {
			if p.Version == pk.Version && !c.archs[p.Arch] {
				c.archs[p.Arch] = true
				c.pkgs = append(c.pkgs, p)
			}
		}
		if len(c.pkgs) == 0 {
			errs = append(errs, fmt.Errorf("%w: %s: the source has %s only at %s", ErrUnknownVersion, pk, pk.Name, strings.Join(versionsOf(have), ", ")))
			continue
		}
		sortPackages(c.pkgs)
		choices = append(choices, c)
	}
	return choices, errors.Join(errs...)
}

// mentionsAny says whether value contains one of the names as a
// substring: a cheap filter before parsing relations.
func mentionsAny(value string, names map[string][]Pick) bool {
	for n := range names {
		if strings.Contains(value, n) {
			return true
		}
	}
	return false
}

// touchedNames returns the names whose packages or providers the picks
// changed, each with the picks that changed it: the picked names, and what
// the picked and the removed builds provide. Only dependencies on these
// names can have broken.
func touchedNames(base []Package, choices []chosen, removed map[pkgKey]bool) map[string][]Pick {
	touched := map[string][]Pick{}
	note := func(name string, pk Pick) {
		if !slices.Contains(touched[name], pk) {
			touched[name] = append(touched[name], pk)
		}
	}
	for _, c := range choices {
		note(c.pick.Name, c.pick)
		for _, p := range c.pkgs {
			for _, n := range RelationNames(p.Provides) {
				note(n, c.pick)
			}
		}
		for _, b := range base {
			if b.Name == c.pick.Name && removed[b.key()] {
				for _, n := range RelationNames(b.Provides) {
					note(n, c.pick)
				}
			}
		}
	}
	return touched
}

// coverageWarning says which of archs no longer have a package in result
// after arch-specific builds replaced its "all" builds (lost); "" if none.
func coverageWarning(pk Pick, picked map[string]bool, lost []Package, archs []string, result []Package) string {
	var gone []string
	for _, a := range archs {
		if !picked[a] && !hasBuild(result, pk.Name, a) {
			gone = append(gone, a)
		}
	}
	if len(gone) == 0 {
		return ""
	}
	var was []string
	for _, p := range lost {
		was = append(was, p.Name+" "+p.Version+" (all)")
	}
	return fmt.Sprintf("pick %s (%s): replaces %s, so %s no longer %s %s",
		pk, strings.Join(slices.Sorted(maps.Keys(picked)), ", "), strings.Join(was, ", "),
		strings.Join(gone, ", "), plural(len(gone), "has", "have"), pk.Name)
}

// hasBuild reports whether pkgs hold name for arch, or for "all".
func hasBuild(pkgs []Package, name, arch string) bool {
	for _, p := range pkgs {
		if p.Name == name && (p.Arch == arch || p.Arch == "all") {
			return true
		}
	}
	return false
}

// warner collects the dependency warnings of a plan, each once, in the
// order found.
type warner struct {
	result, base     []Package
	resultIx, baseIx map[string]*index
	archs            []string // the concrete architectures of the result
	warnings         []string
	seen             map[string]bool
}

func (w *warner) add(s string) {
	if !w.seen[s] {
		w.seen[s] = true
		w.warnings = append(w.warnings, s)
	}
}

// checkArchs returns the architectures to check p's dependencies in: its
// own, or for an "all" package every architecture of the result ("" if it
// has none but "all").
func (w *warner) checkArchs(p Package) []string {
	if p.Arch != "all" {
		return []string{p.Arch}
	}
	if len(w.archs) == 0 {
		return []string{""}
	}
	return w.archs
}

func (w *warner) index(pkgs []Package, cache map[string]*index, arch string) *index {
	ix, ok := cache[arch]
	if !ok {
		ix = newIndex(pkgs, arch)
		cache[arch] = ix
	}
	return ix
}

// archLabel names the architecture p is checked in: "amd64", "all",
// "all, on arm64".
func archLabel(p Package, arch string) string {
	if p.Arch == "all" && arch != "" {
		return "all, on " + arch
	}
	return p.Arch
}

// checkPicked warns about each dependency of a picked build that base
// satisfied and the new snapshot does not.
func (w *warner) checkPicked(pk Pick, p Package) {
	for _, f := range []struct{ name, value string }{{"Depends", p.Depends}, {"Pre-Depends", p.PreDepends}} {
		groups, err := parseRelations(f.value)
		if err != nil {
			w.add(fmt.Sprintf("pick %s (%s): cannot check %s: %v", pk, p.Arch, f.name, err))
			continue
		}
		for _, arch := range w.checkArchs(p) {
			ix := w.index(w.result, w.resultIx, arch)
			for _, g := range groups {
				// What base lacked already is not news: only a dependency
				// base satisfied and the new snapshot does not is reported.
				if !ix.satisfies(g) && w.index(w.base, w.baseIx, arch).satisfies(g) {
					w.add(fmt.Sprintf("pick %s (%s): %s %s is not satisfied in the new snapshot (it has %s)",
						pk, archLabel(p, arch), f.name, g.Text, ix.describe(g)))
				}
			}
		}
	}
}

// checkReverse warns about each dependency of q, another package of the
// result, that base satisfied and the result does not.
func (w *warner) checkReverse(q Package, touched map[string][]Pick) {
	for _, f := range []struct{ name, value string }{{"Depends", q.Depends}, {"Pre-Depends", q.PreDepends}} {
		if !mentionsAny(f.value, touched) {
			continue // most packages: a relation names its package in full
		}
		groups, err := parseRelations(f.value)
		if err != nil {
			continue // not ours to judge: base had it already
		}
		for _, g := range groups {
			for _, arch := range w.checkArchs(q) {
				var blame []Pick
				for _, n := range g.names(arch) {
					for _, pk := range touched[n] {
						if !slices.Contains(blame, pk) {
							blame = append(blame, pk)
						}
					}
				}
				if len(blame) == 0 {
					continue
				}
				now := w.index(w.result, w.resultIx, arch)
				if now.satisfies(g) || !w.index(w.base, w.baseIx, arch).satisfies(g) {
					continue
				}
				var names []string
				for _, pk := range blame {
					names = append(names, pk.String())
				}
				w.add(fmt.Sprintf("%s %s (%s): %s %s %s %s is no longer satisfied in the new snapshot (it has %s)",
					plural(len(blame), "pick", "picks"), strings.Join(names, ", "), archLabel(q, arch),
					q.Name, q.Version, f.name, g.Text, now.describe(g)))
			}
		}
	}
}

// concreteArchs returns the sorted architectures of pkgs other than "all".
func concreteArchs(pkgs, more []Package) []string {
	set := map[string]bool{}
	last := "" // suites have few architectures: most packages repeat the last one
	for _, list := range [][]Package{pkgs, more} {
		for _, p := range list {
			if p.Arch != "all" && p.Arch != last {
				set[p.Arch], last = true, p.Arch
			}
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Apply returns the content of the snapshot a plan makes: base minus
// plan.Remove plus plan.Add, sorted by name, then version in dpkg order,
// then architecture. Entries are matched by name, version and architecture;
// an added entry replaces one base already has. base is not modified.
func Apply(base []Package, p Plan) []Package {
	drop := map[pkgKey]bool{}
	names := map[string]bool{} // of the entries dropped or added: most of base has none
	for _, r := range p.Remove {
		drop[r.key()] = true
		names[r.Name] = true
	}
	added := map[pkgKey]bool{}
	var add []Package
	for _, a := range p.Add {
		if !added[a.key()] {
			added[a.key()] = true
			names[a.Name] = true
			add = append(add, a)
		}
	}
	out := make([]Package, 0, len(base)+len(add))
	for _, b := range base {
		if !names[b.Name] || !drop[b.key()] && !added[b.key()] {
			out = append(out, b)
		}
	}
	out = append(out, add...)
	sortPackages(out)
	return out
}

// sortPackages sorts by name, then version in dpkg order, then
// architecture; the order is stable for equal keys. It sorts positions
// and moves each package once: a stable sort that swaps the packages
// themselves (six strings each) took half of the planning of a pick into
// 10,000 packages.
func sortPackages(pkgs []Package) {
	if len(pkgs) < 2 {
		return
	}
	order := make([]int32, len(pkgs))
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(i, j int32) int {
		if c := comparePackages(&pkgs[i], &pkgs[j]); c != 0 {
			return c
		}
		return cmp.Compare(i, j) // stable
	})
	sorted := make([]Package, len(pkgs))
	for i, j := range order {
		sorted[i] = pkgs[j]
	}
	copy(pkgs, sorted)
}

// comparePackages orders by name, then version in dpkg order, then
// architecture, then the version's text ("1.0" and "1.0-0" are equal to
// dpkg).
func comparePackages(a, b *Package) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := debian.CompareVersions(a.Version, b.Version); c != 0 {
		return c
	}
	if c := strings.Compare(a.Arch, b.Arch); c != 0 {
		return c
	}
	return strings.Compare(a.Version, b.Version)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
