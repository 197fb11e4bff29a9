package snapshot

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// pkg makes a package from "name version arch", with optional relationship
// fields given as "Depends: ...", "Pre-Depends: ...", "Provides: ...".
func pkg(s string, fields ...string) Package {
	f := strings.Fields(s)
	if len(f) != 3 {
		panic("pkg: want \"name version arch\", got " + s)
	}
	p := Package{Name: f[0], Version: f[1], Arch: f[2]}
	for _, field := range fields {
		name, value, _ := strings.Cut(field, ": ")
		switch name {
		case "Depends":
			p.Depends = value
		case "Pre-Depends":
			p.PreDepends = value
		case "Provides":
			p.Provides = value
		default:
			panic("pkg: unknown field " + field)
		}
	}
	return p
}

func pkgs(specs ...string) []Package {
	out := make([]Package, len(specs))
	for i, s := range specs {
		out[i] = pkg(s)
	}
	return out
}

// show renders packages one per line, for readable failures.
func show(ps []Package) string {
	if len(ps) == 0 {
		return "  (none)\n"
	}
	var b strings.Builder
	for _, p := range ps {
		fmt.Fprintf(&b, "  %s %s %s\n", p.Name, p.Version, p.Arch)
	}
	return b.String()
}

func TestParsePick(t *testing.T) {
	tests := []struct {
		in      string
		want    Pick
		errText string // part of the error, "" if none is expected
	}{
		{"hello-fleet=1.2.0", Pick{"hello-fleet", "1.2.0"}, ""},
		{"libc6=2.36-9+deb12u4", Pick{"libc6", "2.36-9+deb12u4"}, ""},
		{"app=1:2.0~rc1", Pick{"app", "1:2.0~rc1"}, ""},
		{"g++=12.2.0-14", Pick{"g++", "12.2.0-14"}, ""},
		{"app=0~git42.0123456789ab", Pick{"app", "0~git42.0123456789ab"}, ""},
		{"", Pick{}, "missing '='"},
		{"hello-fleet", Pick{}, "missing '='"},
		{"hello-fleet 1.2", Pick{}, "missing '='"},
		{"=1.0", Pick{}, "invalid package name"},
		{"a=1.0", Pick{}, "invalid package name"},
		{"Hello=1.0", Pick{}, "invalid package name"},
		{"hello_fleet=1.0", Pick{}, "invalid package name"},
		{" hello=1.0", Pick{}, "invalid package name"},
		{"hello=", Pick{}, "invalid version"},
		{"hello=v1.0", Pick{}, "invalid version"},
		{"hello=1.0 ", Pick{}, "invalid version"},
		{"hello=1.0=2", Pick{}, "invalid version"},
		{"hello==1.0", Pick{}, "invalid version"},
		{"hello=1.0-", Pick{}, "invalid version"},
		{"hello=a:1.0", Pick{}, "invalid version"},
		{"hello=1.0\n", Pick{}, "invalid version"},
	}
	for _, tt := range tests {
		got, err := ParsePick(tt.in)
		switch {
		case tt.errText == "" && err != nil:
			t.Errorf("ParsePick(%q): %v", tt.in, err)
		case tt.errText != "" && err == nil:
			t.Errorf("ParsePick(%q) = %+v, want an error", tt.in, got)
		case err != nil && (!errors.Is(err, ErrBadPick) || !strings.Contains(err.Error(), tt.errText)):
			t.Errorf("ParsePick(%q) = %v, want ErrBadPick saying %q", tt.in, err, tt.errText)
		case got != tt.want:
			t.Errorf("ParsePick(%q) = %+v, want %+v", tt.in, got, tt.want)
		case err == nil && got.String() != tt.in:
			t.Errorf("ParsePick(%q).String() = %q", tt.in, got.String())
		}
	}
}

func TestPlanPicks(t *testing.T) {
	source := []Package{
		pkg("app 1.0 amd64"), pkg("app 1.0 arm64"),
		pkg("app 1.1 amd64"), pkg("app 1.1 arm64"),
		pkg("app 1.2 amd64"), // the arm64 build failed
		pkg("newtool 0.3 arm64"),
		pkg("docs 2.0 all"), pkg("docs 2.1 all"),
		pkg("tool 3.0 all"),      // was arch-specific in base
		pkg("cfg 1.0 amd64"),     // was "all" in base
		pkg("cfg 1.0 arm64"),     //
		pkg("only64 5.0 amd64"),  // replaces an "all" build on amd64 only
		pkg("app 1.1 amd64"),     // a duplicate entry in the source is harmless
		pkg("other 9.9 riscv64"), // unrelated
	}
	base := []Package{
		pkg("app 1.0 amd64"), pkg("app 1.0 arm64"),
		pkg("docs 2.0 all"),
		pkg("tool 2.0 amd64"), pkg("tool 2.0 arm64"),
		pkg("cfg 0.9 all"),
		pkg("only64 4.0 all"),
		pkg("keep 1.0 amd64"),
	}
	tests := []struct {
		name        string
		picks       []string
		remove, add []Package
		warnings    []string
	}{
		{
			name:   "replace both architectures",
			picks:  []string{"app=1.1"},
			remove: pkgs("app 1.0 amd64", "app 1.0 arm64"),
			add:    pkgs("app 1.1 amd64", "app 1.1 arm64"),
		},
		{
			name:   "the source has one architecture only: the other keeps its version",
			picks:  []string{"app=1.2"},
			remove: pkgs("app 1.0 amd64"),
			add:    pkgs("app 1.2 amd64"),
		},
		{
			name:  "add a new package",
			picks: []string{"newtool=0.3"},
			add:   pkgs("newtool 0.3 arm64"),
		},
		{
			name:   "replace an all package",
			picks:  []string{"docs=2.1"},
			remove: pkgs("docs 2.0 all"),
			add:    pkgs("docs 2.1 all"),
		},
		{
			name:   "an all build replaces every architecture's",
			picks:  []string{"tool=3.0"},
			remove: pkgs("tool 2.0 amd64", "tool 2.0 arm64"),
			add:    pkgs("tool 3.0 all"),
		},
		{
			name:   "arch-specific builds replace an all build",
			picks:  []string{"cfg=1.0"},
			remove: pkgs("cfg 0.9 all"),
			add:    pkgs("cfg 1.0 amd64", "cfg 1.0 arm64"),
		},
		{
			name:     "an architecture the pick does not cover loses the all build",
			picks:    []string{"only64=5.0"},
			remove:   pkgs("only64 4.0 all"),
			add:      pkgs("only64 5.0 amd64"),
			warnings: []string{"pick only64=5.0 (amd64): replaces only64 4.0 (all), so arm64 no longer has only64"},
		},
		{
			name:  "what base has already: no-op",
			picks: []string{"app=1.0", "docs=2.0"},
		},
		{
			name:   "several picks at once",
			picks:  []string{"newtool=0.3", "app=1.1", "docs=2.1"},
			remove: pkgs("app 1.0 amd64", "app 1.0 arm64", "docs 2.0 all"),
			add:    pkgs("app 1.1 amd64", "app 1.1 arm64", "docs 2.1 all", "newtool 0.3 arm64"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanPicks(base, source, mustPicks(t, tt.picks...))
			if err != nil {
				t.Fatal(err)
			}
			if !samePackages(plan.Remove, tt.remove) {
				t.Errorf("Remove:\n%swant:\n%s", show(plan.Remove), show(tt.remove))
			}
			if !samePackages(plan.Add, tt.add) {
				t.Errorf("Add:\n%swant:\n%s", show(plan.Add), show(tt.add))
			}
			if !reflect.DeepEqual(plan.Warnings, tt.warnings) {
				t.Errorf("Warnings:\n  %s\nwant:\n  %s", strings.Join(plan.Warnings, "\n  "), strings.Join(tt.warnings, "\n  "))
			}
		})
	}
}

// TestPlanPicksRollback: a picked version lower than base's replaces it,
// and apt will install it, because nothing higher is left beside it.
func TestPlanPicksRollback(t *testing.T) {
	base := pkgs("app 1.2 amd64", "app 1.1 amd64", "app 1.2 all", "app 1.0 arm64")
	source := pkgs("app 1.0 amd64", "app 1.1 amd64", "app 1.2 amd64")
	plan, err := PlanPicks(base, source, mustPicks(t, "app=1.1"))
	if err != nil {
		t.Fatal(err)
	}
	// 1.1 amd64 is already there and stays; 1.2 amd64 and the all build go.
	wantRemove := pkgs("app 1.2 all", "app 1.2 amd64")
	if !samePackages(plan.Remove, wantRemove) || len(plan.Add) != 0 {
		t.Errorf("Remove:\n%sAdd:\n%swant Remove:\n%sand nothing added", show(plan.Remove), show(plan.Add), show(wantRemove))
	}
	got := Apply(base, plan)
	want := pkgs("app 1.0 arm64", "app 1.1 amd64")
	if !samePackages(got, want) {
		t.Errorf("Apply:\n%swant:\n%s", show(got), show(want))
	}
	// arm64 keeps its own build, so losing the all build costs it nothing.
	if len(plan.Warnings) != 0 {
		t.Errorf("Warnings: %q", plan.Warnings)
	}
}

func TestPlanPicksErrors(t *testing.T) {
	source := pkgs("app 1.0 amd64", "app 1.1~rc1 amd64", "app 1.1 arm64", "app 1.1 amd64", "lib 2.0 all")
	base := pkgs("app 1.0 amd64")
	tests := []struct {
		name  string
		picks []Pick
		is    []error
		text  []string
	}{
		{"unknown package", []Pick{{"nope", "1.0"}}, []error{ErrUnknownPackage}, []string{"nope=1.0", "no package nope"}},
		{"unknown version", []Pick{{"app", "2.0"}}, []error{ErrUnknownVersion}, []string{"app=2.0", "has app only at 1.0, 1.1~rc1, 1.1"}},
		{"version equal for dpkg but not the same string", []Pick{{"lib", "2.0-0"}}, []error{ErrUnknownVersion}, []string{"only at 2.0"}},
		{"duplicate", []Pick{{"app", "1.0"}, {"app", "1.1"}}, []error{ErrBadPick}, []string{"app is picked twice (app=1.0 and app=1.1)"}},
		{"duplicate, same version", []Pick{{"app", "1.0"}, {"app", "1.0"}}, []error{ErrBadPick}, []string{"picked twice"}},
		{"invalid pick", []Pick{{"App", "1.0"}}, []error{ErrBadPick}, []string{"invalid package name"}},
		{"invalid version", []Pick{{"app", "v1"}}, []error{ErrBadPick}, []string{"invalid version"}},
		{
			"all problems at once",
			[]Pick{{"nope", "1"}, {"app", "3"}, {"lib", "2.0"}, {"lib", "2.0"}},
			[]error{ErrUnknownPackage, ErrUnknownVersion, ErrBadPick},
			[]string{"nope=1", "app=3", "lib is picked twice"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanPicks(base, source, tt.picks)
			if err == nil {
				t.Fatalf("no error; plan %+v", plan)
			}
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("error %q is not %q", err, target)
				}
			}
			for _, s := range tt.text {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not say %q", err, s)
				}
			}
			if !reflect.DeepEqual(plan, Plan{}) {
				t.Errorf("a plan came with the error: %+v", plan)
			}
		})
	}
}

func TestPlanPicksWarnings(t *testing.T) {
	base := []Package{
		pkg("libc6 2.36 amd64"), pkg("libc6 2.36 arm64"),
		pkg("libbar 2.1 amd64", "Provides: libbar-abi-2"),
		pkg("libbar 2.1 arm64", "Provides: libbar-abi-2"),
		pkg("exim4 4.96 amd64", "Provides: mail-transport-agent"),
		pkg("python3 3.11 amd64", "Provides: python3-api (= 3.11)"),
		pkg("python3 3.11 arm64", "Provides: python3-api (= 3.11)"),
		pkg("gui 1.0 amd64", "Depends: libbar (>= 2.0), libc6"),
		pkg("gui 1.0 arm64", "Depends: libbar (>= 2.0), libc6"),
		pkg("cli 1.0 amd64", "Depends: libbar (>= 1.0) | libbar-compat"),
		pkg("abi-user 1.0 amd64", "Depends: libbar-abi-2"),
		pkg("notes 1.0 all", "Depends: libbar (>= 2.0)"),
		pkg("broken 1.0 amd64", "Depends: missing-already"),
	}
	source := []Package{
		pkg("app 1.0 amd64", "Depends: libc6 (>= 2.36), libbar (>= 2.0)"),
		pkg("app 1.1 amd64", "Depends: libc6 (>= 2.38), libbar (>= 2.0)", "Pre-Depends: dpkg (>= 1.21)"),
		pkg("app 1.2 amd64", "Depends: libfoo (>= 3) | libbar (>= 2.0), mail-transport-agent, python3-api (>= 3.9)"),
		pkg("app 1.3 amd64", "Depends: python3-api (>= 3.12), mail-transport-agent (>= 1)"),
		pkg("app 1.4 amd64", "Depends: libc6:any (>= 2.36), libwin [windows-amd64], libarm [arm64], libc6 [!arm64]"),
		pkg("app 1.5 amd64", "Depends: libc6 (>> 2.35), libc6 (<< 2.37), libc6 (<= 2.36), libc6 (= 2.36), libc6 (>= 2.36)"),
		pkg("app 1.6 amd64", "Depends: libc6 (> 2.35), libc6 (< 2.37)"), // obsolete operators: >= and <=
		pkg("app 1.7 amd64", "Depends: libc6 (>= 2.36"),
		pkg("app 1.8 amd64", "Depends: newlib (>= 1.0)"),
		pkg("newlib 1.0 amd64"),
		pkg("app 1.9 amd64", "Depends: libbar-abi-2"),
		pkg("libbar 1.9 amd64"), pkg("libbar 1.9 arm64"),
		pkg("theme 1.0 all", "Depends: libc6 (>= 2.36), libfoo"),
		pkg("app 2.0 amd64", "Depends: libc6 (>= 2.36)"),
		pkg("libc6 2.35 amd64"),
		pkg("python3 3.8 amd64", "Provides: python3-api (= 3.8)"),
	}
	tests := []struct {
		name     string
		picks    []string
		warnings []string
	}{
		{"satisfied", []string{"app=1.0"}, nil},
		{"unsatisfied in base too: not news", []string{"app=1.1"}, nil},
		{"satisfied in base, broken by another pick", []string{"app=2.0", "libc6=2.35"}, []string{
			"pick app=2.0 (amd64): Depends libc6 (>= 2.36) is not satisfied in the new snapshot (it has libc6 2.35)",
		}},
		{"via an alternative, an unversioned Provides and a versioned one", []string{"app=1.2"}, nil},
		{"versioned dependencies need versioned Provides that meet them", []string{"app=1.3"}, nil},
		{"a versioned Provides that no longer meets it", []string{"app=1.2", "python3=3.8"}, []string{
			"pick app=1.2 (amd64): Depends python3-api (>= 3.9) is not satisfied in the new snapshot (it has python3 3.8 provides python3-api (= 3.8))",
		}},
		{"qualifiers ignored, restrictions honoured", []string{"app=1.4"}, nil},
		{"every operator", []string{"app=1.5"}, nil},
		{"obsolete operators", []string{"app=1.6"}, nil},
		{"malformed Depends", []string{"app=1.7"}, []string{
			`pick app=1.7 (amd64): cannot check Depends: "libc6 (>= 2.36" is not "package (op version)"`,
		}},
		{"satisfied by another pick", []string{"app=1.8", "newlib=1.0"}, nil},
		{"missing from base as well", []string{"app=1.8"}, nil},
		{"an all package is checked in every architecture", []string{"theme=1.0", "libc6=2.35"}, []string{
			"pick theme=1.0 (all, on amd64): Depends libc6 (>= 2.36) is not satisfied in the new snapshot (it has libc6 2.35)",
		}},
		{"a rollback breaks what depended on the newer version", []string{"libbar=1.9"}, []string{
			"pick libbar=1.9 (amd64): abi-user 1.0 Depends libbar-abi-2 is no longer satisfied in the new snapshot (it has no libbar-abi-2)",
			"pick libbar=1.9 (amd64): gui 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
			"pick libbar=1.9 (arm64): gui 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
			"pick libbar=1.9 (all, on amd64): notes 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
			"pick libbar=1.9 (all, on arm64): notes 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
		}},
		{"a rollback and the picks that depend on it", []string{"libbar=1.9", "app=1.9"}, []string{
			"pick app=1.9 (amd64): Depends libbar-abi-2 is not satisfied in the new snapshot (it has no libbar-abi-2)",
			"pick libbar=1.9 (amd64): abi-user 1.0 Depends libbar-abi-2 is no longer satisfied in the new snapshot (it has no libbar-abi-2)",
			"pick libbar=1.9 (amd64): gui 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
			"pick libbar=1.9 (arm64): gui 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
			"pick libbar=1.9 (all, on amd64): notes 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
			"pick libbar=1.9 (all, on arm64): notes 1.0 Depends libbar (>= 2.0) is no longer satisfied in the new snapshot (it has libbar 1.9)",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanPicks(base, source, mustPicks(t, tt.picks...))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(plan.Warnings, tt.warnings) {
				t.Errorf("Warnings:\n  %s\nwant:\n  %s", strings.Join(plan.Warnings, "\n  "), strings.Join(tt.warnings, "\n  "))
			}
		})
	}
}

func TestVersionMatches(t *testing.T) {
	tests := []struct {
		have, op, want string
		ok             bool
	}{
		{"1.0", "", "", true},
		{"1.0", "=", "1.0", true},
		{"1.0", "=", "1.0-0", true}, // equal for dpkg
		{"1.0", "=", "1.0+git1", false},
		{"1.0~rc1", "<<", "1.0", true},
		{"1.0", "<<", "1.0", false},
		{"1.0", "<=", "1.0", true},
		{"1.0+git1", "<=", "1.0", false},
		{"1.0+git1", ">>", "1.0", true},
		{"1.0", ">>", "1.0", false},
		{"1.0", ">=", "1.0", true},
		{"1.0~rc1", ">=", "1.0", false},
		{"1:0.1", ">=", "9.9", true}, // the epoch wins
	}
	for _, tt := range tests {
		if got := versionMatches(tt.have, tt.op, tt.want); got != tt.ok {
			t.Errorf("%s %s %s = %v, want %v", tt.have, tt.op, tt.want, got, tt.ok)
		}
	}
}

func TestParseRelations(t *testing.T) {
	got, err := parseRelations("libc6 (>= 2.36),\n foo:any | bar (<< 2) [amd64 !arm64] <!nocheck>, baz (> 1)")
	if err != nil {
		t.Fatal(err)
	}
	want := []group{
		{Text: "libc6 (>= 2.36)", Alts: []relation{{Name: "libc6", Op: ">=", Version: "2.36", Arches: []string{}}}},
		{Text: "foo:any | bar (<< 2) [amd64 !arm64] <!nocheck>", Alts: []relation{
			{Name: "foo", Arches: []string{}},
			{Name: "bar", Op: "<<", Version: "2", Arches: []string{"amd64", "!arm64"}},
		}},
		{Text: "baz (> 1)", Alts: []relation{{Name: "baz", Op: ">=", Version: "1", Arches: []string{}}}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseRelations:\n got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"a,,b", "a (>= 1", "a (~ 1)", "a b", "|", "a [amd64"} {
		if _, err := parseRelations(bad); err == nil {
			t.Errorf("parseRelations(%q): no error", bad)
		}
	}
	if g, err := parseRelations(" \n "); g != nil || err != nil {
		t.Errorf("parseRelations(blank) = %v, %v", g, err)
	}
}

func TestAppliesTo(t *testing.T) {
	tests := []struct {
		arches []string
		arch   string
		ok     bool
	}{
		{nil, "amd64", true},
		{[]string{"amd64"}, "amd64", true},
		{[]string{"amd64", "arm64"}, "arm64", true},
		{[]string{"amd64"}, "arm64", false},
		{[]string{"!amd64"}, "amd64", false},
		{[]string{"!amd64", "!armhf"}, "arm64", true},
		{[]string{"any"}, "riscv64", true},
		{[]string{"amd64"}, "", true},
	}
	for _, tt := range tests {
		if got := (relation{Name: "x", Arches: tt.arches}).appliesTo(tt.arch); got != tt.ok {
			t.Errorf("[%s] on %q = %v, want %v", strings.Join(tt.arches, " "), tt.arch, got, tt.ok)
		}
	}
}

func TestApply(t *testing.T) {
	base := pkgs("zed 1.0 amd64", "app 1.0+git1 amd64", "app 1.0 arm64", "app 1.0 amd64", "app 1.0~rc1 amd64", "docs 1 all")
	plan := Plan{
		Remove: pkgs("app 1.0 arm64", "docs 1 all", "not-there 1 amd64"),
		Add:    pkgs("app 2.0 arm64", "app 1.0 amd64", "new 0.1 all", "new 0.1 all"),
	}
	got := Apply(base, plan)
	want := pkgs("app 1.0~rc1 amd64", "app 1.0 amd64", "app 1.0+git1 amd64", "app 2.0 arm64", "new 0.1 all", "zed 1.0 amd64")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply:\n%swant:\n%s", show(got), show(want))
	}
	if base[0].Name != "zed" || len(base) != 6 {
		t.Errorf("Apply modified base: %v", base)
	}
	if got := Apply(nil, Plan{}); len(got) != 0 {
		t.Errorf("Apply(nil) = %v", got)
	}
}

// TestPlanThenApply checks PlanPicks and Apply together: picked packages
// are in the result at the picked version only, in the picked
// architectures, and nothing else changed.
func TestPlanThenApply(t *testing.T) {
	base := pkgs("app 1.0 amd64", "app 1.0 arm64", "app 0.9 amd64", "docs 2.0 all", "lib 1 amd64", "lib 1 arm64")
	source := pkgs("app 1.1 amd64", "app 1.1 arm64", "docs 2.1 all", "lib 2 all")
	plan, err := PlanPicks(base, source, mustPicks(t, "app=1.1", "docs=2.1", "lib=2"))
	if err != nil {
		t.Fatal(err)
	}
	got := Apply(base, plan)
	want := pkgs("app 1.1 amd64", "app 1.1 arm64", "docs 2.1 all", "lib 2 all")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Apply(PlanPicks):\n%swant:\n%s", show(got), show(want))
	}
}

func mustPicks(t *testing.T, specs ...string) []Pick {
	t.Helper()
	var out []Pick
	for _, s := range specs {
		p, err := ParsePick(s)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

// samePackages compares name, version and architecture, in order.
func samePackages(got, want []Package) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i].key() != want[i].key() {
			return false
		}
	}
	return true
}
