package repo

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/snapshot"
)

// relSuite is a random suite whose packages depend on each other: libraries,
// virtual names (with and without a version), alternatives, Pre-Depends,
// Architecture: all and builds in two architectures, a continuation line.
func relSuite(rnd *rand.Rand, n int) []debian.Paragraph {
	// No name is a substring of another ("a1z", "a12z"), so that the
	// search for names in the texts finds little more than it must.
	name := func() string {
		if rnd.Intn(6) == 0 {
			return fmt.Sprintf("l%dq", rnd.Intn(12))
		}
		return fmt.Sprintf("a%dz", rnd.Intn(n))
	}
	relation := func() string {
		var groups []string
		for range 1 + rnd.Intn(3)/2 {
			alt := name()
			switch rnd.Intn(12) {
			case 0, 1:
				alt += fmt.Sprintf(" (>= 1.%d)", rnd.Intn(4))
			case 2:
				alt = fmt.Sprintf("v%dw", rnd.Intn(8))
			case 3, 4:
				alt += " | " + name()
			case 5:
				alt = fmt.Sprintf("v%dw (>= 1.0)", rnd.Intn(8))
			}
			groups = append(groups, alt)
		}
		return strings.Join(groups, ", ")
	}
	var out []debian.Paragraph
	seen := map[string]bool{}
	for i := 0; i < n; i++ {
		pkg := fmt.Sprintf("a%dz", i)
		if i < 12 {
			pkg = fmt.Sprintf("l%dq", i)
		}
		arches := []string{"amd64"}
		switch rnd.Intn(4) {
		case 0:
			arches = []string{"all"}
		case 1:
			arches = []string{"amd64", "arm64"}
		}
		version := fmt.Sprintf("1.%d", rnd.Intn(4))
		for _, arch := range arches {
			key := pkg + "/" + version + "/" + arch
			if seen[key] {
				continue
			}
			seen[key] = true
			p := debian.Paragraph{{Name: "Package", Value: pkg}, {Name: "Version", Value: version}, {Name: "Architecture", Value: arch},
				{Name: "Maintainer", Value: "T <t@example.com>"}}
			if rnd.Intn(5) > 0 {
				dep := relation()
				if rnd.Intn(10) == 0 {
					dep += ",\n " + relation() // a continuation line
				}
				p = append(p, debian.Field{Name: "Depends", Value: dep})
			}
			if rnd.Intn(10) == 0 {
				p = append(p, debian.Field{Name: "Pre-Depends", Value: name()})
			}
			if rnd.Intn(30) == 0 {
				v := fmt.Sprintf("v%dw", rnd.Intn(8))
				if rnd.Intn(2) == 0 {
					v += " (= 1.0)"
				}
				p = append(p, debian.Field{Name: "Provides", Value: v})
			}
			p = append(p, debian.Field{Name: "Description", Value: "package " + pkg + "\n mentions l1q and v2w in its description"})
			out = append(out, p)
		}
	}
	return out
}

// pickBaseRepo publishes controls as development, freezes them as the
// snapshot 1-base, and returns a function that loads it afresh.
func pickBaseRepo(t *testing.T, controls []debian.Paragraph) func() (*Repo, *suite) {
	t.Helper()
	ctx := context.Background()
	cfg := DefaultConfig()
	r, _ := indexedRepo(t, cfg, controls)
	snap, err := r.CreateSnapshot(ctx, SnapshotOptions{Name: "1-base"})
	if err != nil {
		t.Fatal(err)
	}
	return func() (*Repo, *suite) {
		b, err := r.loadExisting(ctx, cfg, snap.Name)
		if err != nil {
			t.Fatal(err)
		}
		return r, b
	}
}

// comparePickPlans plans picks from the whole base and from what pickBase
// reads of it, reports a difference, and returns the plan and how many of
// base's packages pickBase read.
func comparePickPlans(t *testing.T, load func() (*Repo, *suite), source []snapshot.Package, picks []snapshot.Pick) (plan snapshot.Plan, read, all int) {
	t.Helper()
	ctx := context.Background()
	var names []string
	for _, p := range picks {
		names = append(names, p.Name)
	}
	r, b := load()
	whole, err := r.contents(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	r, b = load()
	part, err := r.pickBase(ctx, b, names, source)
	if err != nil {
		t.Fatal(err)
	}
	want, err := snapshot.PlanPicks(whole.list(), source, picks)
	if err != nil {
		t.Fatal(err)
	}
	got, err := snapshot.PlanPicks(part.list(), source, picks)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("picks %v: the plan from %d of the %d packages differs:\ngot  %+v\nwant %+v", picks, len(part.stanza), len(whole.stanza), got, want)
	}
	for k, comp := range part.component {
		if whole.component[k] != comp || whole.stanza[k] == nil || string(whole.stanza[k].Text) != string(part.stanza[k].Text) {
			t.Errorf("picks %v: %s differs from the whole base's", picks, k)
		}
	}
	return want, len(part.stanza), len(whole.stanza)
}

// TestPickBaseSameAsWholeBase: for random suites in many small pieces and
// random picks (upgrades, downgrades, new packages, a build that turns
// from arch-specific into "all" or back, one that stops providing what it
// needs), the plan made from the part of the base that pickBase reads is
// the plan made from the whole base.
func TestPickBaseSameAsWholeBase(t *testing.T) {
	defer SetPieceTarget(2 << 10)()
	warnings, lazier := 0, 0
	const seeds = 60
	for seed := int64(1); seed <= seeds; seed++ {
		rnd := rand.New(rand.NewSource(seed))
		controls := relSuite(rnd, 600)
		load := pickBaseRepo(t, controls)

		// The source: new builds of a few names of base, or new names.
		var source []snapshot.Package
		var picks []snapshot.Pick
		var names []string
		for range 1 + rnd.Intn(3) {
			c := controls[rnd.Intn(len(controls))]
			if rnd.Intn(4) == 0 { // a provider
				for c.Get("Provides") == "" {
					c = controls[rnd.Intn(len(controls))]
				}
			}
			name := c.Get("Package")
			switch rnd.Intn(8) {
			case 0:
				name = fmt.Sprintf("n%dy", rnd.Intn(3))
			case 1, 2, 3: // libraries and providers are where plans break things
				name = fmt.Sprintf("l%dq", rnd.Intn(12))
			}
			if slices.Contains(names, name) {
				continue
			}
			names = append(names, name)
			version := []string{"0.5", "1.1", "2.0"}[rnd.Intn(3)]
			arches := [][]string{{"amd64"}, {"all"}, {"amd64", "arm64"}}[rnd.Intn(3)]
			for _, arch := range arches {
				p := snapshot.Package{Name: name, Version: version, Arch: arch}
				if rnd.Intn(3) > 0 {
					p.Depends = fmt.Sprintf("l%dq (>= 1.%d), v%dw", rnd.Intn(12), rnd.Intn(4), rnd.Intn(8))
				}
				if rnd.Intn(3) == 0 {
					p.Provides = fmt.Sprintf("v%dw", rnd.Intn(8))
				}
				// A build that no longer provides what it replaces
				// provided, and needs it from another package.
				if prov, _, _ := strings.Cut(c.Get("Provides"), " "); prov != "" && name == c.Get("Package") && rnd.Intn(2) == 0 {
					p.Provides, p.Depends = "", strings.TrimPrefix(p.Depends+", "+prov, ", ")
				}
				source = append(source, p)
			}
			picks = append(picks, snapshot.Pick{Name: name, Version: version})
		}
		plan, read, all := comparePickPlans(t, load, source, picks)
		warnings += len(plan.Warnings)
		if read < all/2 {
			lazier++
		}
	}
	// The suites must make plans with warnings, and the reading must be
	// partial, or this test shows nothing.
	if warnings < seeds/2 || lazier < seeds/2 {
		t.Errorf("%d warnings in all, %d plans read less than half of base: the suites test too little", warnings, lazier)
	}
	t.Logf("%d warnings in all; %d of %d plans read less than half of base", warnings, lazier, seeds)
}

// TestPickBaseCases are the cases the random suites seldom make: each needs
// one kind of package that pickBase must read, and the whole base
// would make another plan without it.
func TestPickBaseCases(t *testing.T) {
	defer SetPieceTarget(1 << 10)()
	pkg := func(name, version, arch string, fields ...string) debian.Paragraph {
		p := debian.Paragraph{{Name: "Package", Value: name}, {Name: "Version", Value: version}, {Name: "Architecture", Value: arch},
			{Name: "Maintainer", Value: "T <t@example.com>"}}
		for i := 0; i+1 < len(fields); i += 2 {
			p = append(p, debian.Field{Name: fields[i], Value: fields[i+1]})
		}
		return append(p, debian.Field{Name: "Description", Value: "d"})
	}
	// filler is enough packages for many pieces, which nothing relates
	// to. An index built afresh is sorted by name: the fillers' names put
	// two pieces of them between names starting with a, m and z, in every
	// architecture's index (the "all" ones).
	var filler []debian.Paragraph
	for i := range 20 {
		for _, prefix := range []string{"f", "p"} {
			filler = append(filler, pkg(fmt.Sprintf("%s%02dfill", prefix, i), "1.0", "amd64"),
				pkg(fmt.Sprintf("%s%02dall", prefix, i), "1.0", "all"))
		}
	}
	for _, c := range []struct {
		name   string
		base   []debian.Paragraph
		source []snapshot.Package
		picks  []snapshot.Pick
		warns  int
	}{{
		// aprov no longer provides mta, needs it, and zprov provides it:
		// no warning, but only if pickBase reads zprov, which nothing
		// names.
		name:   "another provider of what the picked build needs",
		base:   []debian.Paragraph{pkg("aprov", "1.0", "amd64", "Provides", "mta"), pkg("zprov", "1.0", "amd64", "Provides", "mta")},
		source: []snapshot.Package{{Name: "aprov", Version: "2.0", Arch: "amd64", Depends: "mta"}},
		picks:  []snapshot.Pick{{Name: "aprov", Version: "2.0"}},
	}, {
		// zapp needs alib >= 1.0; the pick downgrades alib: a warning.
		name:   "a reverse dependency broken by a downgrade",
		base:   []debian.Paragraph{pkg("alib", "1.0", "amd64"), pkg("zapp", "1.0", "amd64", "Depends", "alib (>= 1.0)")},
		source: []snapshot.Package{{Name: "alib", Version: "0.9", Arch: "amd64"}},
		picks:  []snapshot.Pick{{Name: "alib", Version: "0.9"}},
		warns:  1,
	}, {
		// zapp needs alib >= 1.0 or malt; the pick downgrades alib, and
		// malt, which only zapp names, satisfies zapp: no warning.
		name: "an alternative of a reverse dependency",
		base: []debian.Paragraph{pkg("alib", "1.0", "amd64"), pkg("malt", "1.0", "amd64"),
			pkg("zapp", "1.0", "amd64", "Depends", "alib (>= 1.0) | malt")},
		source: []snapshot.Package{{Name: "alib", Version: "0.9", Arch: "amd64"}},
		picks:  []snapshot.Pick{{Name: "alib", Version: "0.9"}},
	}, {
		// mtool (all) needs alib on every architecture; the pick of alib
		// for amd64 only removes the "all" alib, so arm64 loses it. Only
		// zarm, arm64's own package, which nothing names, tells the plan
		// that the suite has arm64.
		name: "an architecture known from a package nothing names",
		base: []debian.Paragraph{pkg("alib", "1.0", "all"), pkg("mtool", "1.0", "all", "Depends", "alib"),
			pkg("zarm", "1.0", "arm64")},
		source: []snapshot.Package{{Name: "alib", Version: "2.0", Arch: "amd64"}},
		picks:  []snapshot.Pick{{Name: "alib", Version: "2.0"}},
		warns:  2,
	}, {
		// zapp's Pre-Depends names what the replaced aimpl provided.
		name: "a Pre-Depends on what a replaced build provided",
		base: []debian.Paragraph{pkg("aimpl", "1.0", "amd64", "Provides", "api (= 1.0)"),
			pkg("zapp", "1.0", "amd64", "Pre-Depends", "api (>= 1.0)")},
		source: []snapshot.Package{{Name: "aimpl", Version: "2.0", Arch: "amd64"}},
		picks:  []snapshot.Pick{{Name: "aimpl", Version: "2.0"}},
		warns:  1,
	}} {
		t.Run(c.name, func(t *testing.T) {
			base := slices.Concat(c.base, filler)
			plan, read, all := comparePickPlans(t, pickBaseRepo(t, base), c.source, c.picks)
			if len(plan.Warnings) != c.warns {
				t.Errorf("%d warnings, want %d: %q", len(plan.Warnings), c.warns, plan.Warnings)
			}
			if read >= all/2 {
				t.Errorf("pickBase read %d of %d packages", read, all)
			}
		})
	}
}

func TestFieldsName(t *testing.T) {
	text := []byte("Package: app\nVersion: 1\nDepends: liba (>= 1.0), libb:any | libc [amd64],\n libd\nDescription: needs libe\n libf\n\n" +
		"Package: other\npre-depends: libg<!nocheck>\nPROVIDES: mta (= 1.0)\n")
	deps := []string{"depends", "pre-depends"}
	for _, c := range []struct {
		fields []string
		name   string
		want   bool
	}{
		{deps, "liba", true}, {deps, "libb", true}, {deps, "libc", true},
		{deps, "libd", true},  // a continuation line
		{deps, "libg", true},  // a field name in lower case, a build profile
		{deps, "lib", false},  // names, not substrings
		{deps, "libe", false}, // the description
		{deps, "libf", false}, // the description's continuation
		{deps, "amd64", false},
		{deps, "app", false},
		{deps, "mta", false},
		{[]string{"provides"}, "mta", true},
		{[]string{"provides"}, "liba", false},
	} {
		if got := fieldsName(text, c.fields, map[string]bool{c.name: true}); got != c.want {
			t.Errorf("fieldsName(%v, %s) = %v, want %v", c.fields, c.name, got, c.want)
		}
	}
}
