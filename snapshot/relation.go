package snapshot

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/debflow/debflow/internal/debian"
)

// relation is one alternative of a relationship field such as Depends or
// Provides: "name[:qual] [(op version)] [[arch ...]]".
type relation struct {
	Name    string
	Op      string   // "", "<<", "<=", "=", ">=" or ">>"
	Version string   // "" when Op is ""
	Arches  []string // the architecture restriction as written ("amd64", "!armhf"); nil if none
}

// group is one comma-separated entry of a relationship field: alternatives
// separated by '|', any one of which satisfies it.
type group struct {
	Alts []relation
	Text string // as written, with white space collapsed
}

// relationRE matches one alternative: name, architecture qualifier (":any",
// ignored), version constraint, architecture restriction, build profiles
// (ignored). The obsolete operators '<' and '>' are accepted; Debian policy
// reads them as "<=" and ">=".
var relationRE = regexp.MustCompile(`^([^\s:(\[<|,]+)(?::[a-z0-9-]+)?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([^\s)]+)\s*\))?\s*(?:\[([^\]]*)\])?\s*(?:<[^>]*>\s*)*$`)

// parseRelations parses a relationship field. An empty field has no
// groups.
func parseRelations(field string) ([]group, error) {
	if strings.TrimSpace(field) == "" {
		return nil, nil
	}
	var groups []group
	for _, entry := range strings.Split(field, ",") {
		text := strings.Join(strings.Fields(entry), " ")
		if text == "" {
			return nil, fmt.Errorf("empty entry in %q", field)
		}
		g := group{Text: text}
		for _, alt := range strings.Split(text, "|") {
			alt = strings.TrimSpace(alt)
			m := relationRE.FindStringSubmatch(alt)
			if m == nil {
				return nil, fmt.Errorf("%q is not \"package (op version)\"", alt)
			}
			r := relation{Name: m[1], Op: m[2], Version: m[3], Arches: strings.Fields(m[4])}
			switch r.Op {
			case "<":
				r.Op = "<="
			case ">":
				r.Op = ">="
			}
			g.Alts = append(g.Alts, r)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

// appliesTo reports whether an alternative counts on arch, honouring its
// architecture restriction: "[amd64 arm64]" counts only there, "[!armhf]"
// everywhere else. Names are compared exactly ("any" matches all);
// wildcards such as linux-any are not expanded. An empty arch (a suite of
// "all" packages only) counts every alternative.
func (r relation) appliesTo(arch string) bool {
	if len(r.Arches) == 0 || arch == "" {
		return true
	}
	negated := false
	for _, a := range r.Arches {
		name, not := strings.CutPrefix(a, "!")
		if not {
			negated = true
			if name == arch || name == "any" {
				return false
			}
		} else if name == arch || name == "any" {
			return true
		}
	}
	return negated
}

// versionMatches reports whether version have satisfies "op want", in dpkg
// order.
func versionMatches(have, op, want string) bool {
	c := debian.CompareVersions(have, want)
	switch op {
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return op == ""
}

// provider is a package that provides a virtual name, with the version
// it provides ("" when unversioned).
type provider struct {
	Pkg     Package
	Version string
}

// index is the set of packages apt sees in one architecture of a suite:
// that architecture's packages and the "all" ones, by name and by the
// names they provide.
type index struct {
	arch string
	// sorted holds packages sorted by name, visible on arch or not, which
	// are looked up by binary search: a suite sorted by Apply is indexed
	// without a map entry per package.
	sorted   []Package
	byName   map[string][]Package // the other packages visible on arch
	provided map[string][]provider
}

// newIndex indexes the packages of pkgs visible on arch ("" means only the
// "all" packages, for suites without architecture-specific ones). pkgs
// must not change while the index is in use.
func newIndex(pkgs []Package, arch string) *index {
	ix := &index{arch: arch, byName: map[string][]Package{}, provided: map[string][]provider{}}
	if !slices.IsSortedFunc(pkgs, compareNames) {
		ix.byName = make(map[string][]Package, len(pkgs))
		for _, p := range pkgs {
			ix.add(p)
		}
		return ix
	}
	ix.sorted = pkgs
	for _, p := range pkgs {
		if p.Provides != "" && ix.visible(p) {
			ix.addProvides(p)
		}
	}
	return ix
}

func compareNames(a, b Package) int { return strings.Compare(a.Name, b.Name) }

// visible reports whether apt sees p on the index's architecture.
func (ix *index) visible(p Package) bool { return p.Arch == "all" || p.Arch == ix.arch }

// named returns the indexed packages called name, in the order they were
// indexed.
func (ix *index) named(name string) []Package {
	var out []Package
	if i, found := slices.BinarySearchFunc(ix.sorted, Package{Name: name}, compareNames); found {
		for ; i < len(ix.sorted) && ix.sorted[i].Name == name; i++ {
			if ix.visible(ix.sorted[i]) {
				out = append(out, ix.sorted[i])
			}
		}
	}
	if more := ix.byName[name]; len(more) > 0 {
		if out == nil {
			return more
		}
		out = append(out, more...)
	}
	return out
}

// add indexes p when it is visible on the index's architecture.
func (ix *index) add(p Package) {
	if !ix.visible(p) {
		return
	}
	ix.byName[p.Name] = append(ix.byName[p.Name], p)
	ix.addProvides(p)
}

// addProvides indexes the names p provides.
func (ix *index) addProvides(p Package) {
	provides, _ := parseRelations(p.Provides) // a malformed Provides provides nothing
	for _, g := range provides {
		for _, r := range g.Alts {
			v := ""
			if r.Op == "=" {
				v = r.Version
			}
			ix.provided[r.Name] = append(ix.provided[r.Name], provider{Pkg: p, Version: v})
		}
	}
}

// satisfies reports whether the indexed packages satisfy a group: any
// applicable alternative is met by a real package of that name and
// version, or by a Provides. A versioned dependency needs a versioned
// Provides "name (= version)" that meets it; an unversioned one takes any
// Provides. A group none of whose alternatives apply on this architecture
// is void and satisfied.
func (ix *index) satisfies(g group) bool {
	applicable := false
	for _, r := range g.Alts {
		if !r.appliesTo(ix.arch) {
			continue
		}
		applicable = true
		for _, p := range ix.named(r.Name) {
			if r.Op == "" || versionMatches(p.Version, r.Op, r.Version) {
				return true
			}
		}
		for _, pr := range ix.provided[r.Name] {
			if r.Op == "" || pr.Version != "" && versionMatches(pr.Version, r.Op, r.Version) {
				return true
			}
		}
	}
	return !applicable
}

// describe says what the indexed packages offer for the names of a group,
// for a warning: "libbar 1.9", "exim4 4.96 provides mail-transport-agent",
// "no libbaz".
func (ix *index) describe(g group) string {
	var parts, seen []string
	for _, r := range g.Alts {
		if !r.appliesTo(ix.arch) || slices.Contains(seen, r.Name) {
			continue
		}
		seen = append(seen, r.Name)
		found := false
		if vs := versionsOf(ix.named(r.Name)); len(vs) > 0 {
			parts = append(parts, r.Name+" "+strings.Join(vs, ", "))
			found = true
		}
		for _, pr := range ix.provided[r.Name] {
			s := pr.Pkg.Name + " " + pr.Pkg.Version + " provides " + r.Name
			if pr.Version != "" {
				s += " (= " + pr.Version + ")"
			}
			if !slices.Contains(parts, s) {
				parts = append(parts, s)
			}
			found = true
		}
		if !found {
			parts = append(parts, "no "+r.Name)
		}
	}
	return strings.Join(parts, "; ")
}

// names returns the names a group mentions on arch.
func (g group) names(arch string) []string {
	var out []string
	for _, r := range g.Alts {
		if r.appliesTo(arch) {
			out = append(out, r.Name)
		}
	}
	return out
}

// versionsOf returns the distinct versions of pkgs in dpkg order.
func versionsOf(pkgs []Package) []string {
	var vs []string
	for _, p := range pkgs {
		if !slices.Contains(vs, p.Version) {
			vs = append(vs, p.Version)
		}
	}
	slices.SortFunc(vs, debian.CompareVersions)
	return vs
}

// RelationNames returns the package names a relationship field names, in
// every alternative and whatever their architecture restrictions; nil for
// an empty or malformed field (whose groups PlanPicks does not check). A
// caller that reads only part of a suite uses it to know which packages a
// plan will look up.
func RelationNames(field string) []string {
	groups, err := parseRelations(field)
	if err != nil {
		return nil
	}
	var names []string
	for _, g := range groups {
		for _, r := range g.Alts {
			names = append(names, r.Name)
		}
	}
	return names
}
