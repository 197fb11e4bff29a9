package snapshot

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/debflow/debflow/internal/debian"
)

// ChangeKind says how a package changed in one architecture.
type ChangeKind string

// The kinds of change, judged on the highest version on each side, the one
// apt would install.
const (
	Added      ChangeKind = "added"      // only in B
	Removed    ChangeKind = "removed"    // only in A
	Upgraded   ChangeKind = "upgraded"   // B's highest version is higher
	Downgraded ChangeKind = "downgraded" // B's highest version is lower
	Versions   ChangeKind = "versions"   // same highest version, but other versions appeared or disappeared
)

// Change is how one package changed in one architecture between two
// suites A and B.
type Change struct {
	Package     string     `json:"package"`
	Arch        string     `json:"arch"`
	Kind        ChangeKind `json:"change"`
	From        string     `json:"from,omitempty"`        // highest version in A ("" if absent): what apt would install
	To          string     `json:"to,omitempty"`          // highest version in B
	Appeared    []string   `json:"appeared,omitempty"`    // versions in B not in A, dpkg order
	Disappeared []string   `json:"disappeared,omitempty"` // versions in A not in B, dpkg order
}

// Diff compares the contents of two suites per package and architecture.
// An "all" package is its own architecture here: a package that moves from
// amd64 to all shows as removed from amd64 and added to all. Pairs with the
// same versions on both sides are omitted. The result is sorted by package
// name, then architecture, and is empty (not nil) when nothing changed.
func Diff(a, b []Package) []Change {
	type pair struct{ name, arch string }
	va, vb := map[pair][]string{}, map[pair][]string{}
	seen := map[pair]bool{}
	var pairs []pair
	collect := func(pkgs []Package, into map[pair][]string) {
		for _, p := range pkgs {
			k := pair{p.Name, p.Arch}
			if !seen[k] {
				seen[k] = true
				pairs = append(pairs, k)
			}
			if !slices.Contains(into[k], p.Version) {
				into[k] = append(into[k], p.Version)
			}
		}
	}
	collect(a, va)
	collect(b, vb)
	slices.SortFunc(pairs, func(x, y pair) int {
		if c := strings.Compare(x.name, y.name); c != 0 {
			return c
		}
		return strings.Compare(x.arch, y.arch)
	})

	changes := []Change{}
	for _, k := range pairs {
		from, to := va[k], vb[k]
		slices.SortFunc(from, debian.CompareVersions)
		slices.SortFunc(to, debian.CompareVersions)
		c := Change{Package: k.name, Arch: k.arch, Appeared: missing(to, from), Disappeared: missing(from, to)}
		if len(from) > 0 {
			c.From = from[len(from)-1]
		}
		if len(to) > 0 {
			c.To = to[len(to)-1]
		}
		switch cmp := debian.CompareVersions(c.From, c.To); {
		case c.From == "":
			c.Kind = Added
		case c.To == "":
			c.Kind = Removed
		case cmp < 0:
			c.Kind = Upgraded
		case cmp > 0:
			c.Kind = Downgraded
		case len(c.Appeared) > 0 || len(c.Disappeared) > 0:
			c.Kind = Versions
		default:
			continue
		}
		changes = append(changes, c)
	}
	return changes
}

// missing returns the versions of xs not in ys, in the order of xs.
func missing(xs, ys []string) []string {
	var out []string
	for _, x := range xs {
		if !slices.Contains(ys, x) {
			out = append(out, x)
		}
	}
	return out
}

// Summarize counts changes per kind.
func Summarize(changes []Change) map[ChangeKind]int {
	n := map[ChangeKind]int{}
	for _, c := range changes {
		n[c.Kind]++
	}
	return n
}

// summaryLine returns "1 added, 0 removed, 2 upgraded, 0 downgraded", with
// ", N with other versions" when there are such changes, or "no changes".
func summaryLine(changes []Change) string {
	if len(changes) == 0 {
		return "no changes"
	}
	n := Summarize(changes)
	s := fmt.Sprintf("%d added, %d removed, %d upgraded, %d downgraded", n[Added], n[Removed], n[Upgraded], n[Downgraded])
	if n[Versions] > 0 {
		s += fmt.Sprintf(", %d with other versions changed", n[Versions])
	}
	return s
}

// detail reports the versions that appeared and disappeared beyond what
// From and To already say: "appeared: 1.1~rc1; disappeared: 0.9". It is
// "" for a plain upgrade, downgrade, addition or removal.
func (c Change) detail() string {
	plainTo := len(c.Appeared) == 0 || slices.Equal(c.Appeared, []string{c.To})
	plainFrom := len(c.Disappeared) == 0 || slices.Equal(c.Disappeared, []string{c.From})
	if plainTo && plainFrom {
		return ""
	}
	// Once one side needs listing, list both, so the line is complete.
	var parts []string
	if len(c.Appeared) > 0 {
		parts = append(parts, "appeared: "+strings.Join(c.Appeared, ", "))
	}
	if len(c.Disappeared) > 0 {
		parts = append(parts, "disappeared: "+strings.Join(c.Disappeared, ", "))
	}
	return strings.Join(parts, "; ")
}

// versions returns the version column: "1.0 -> 1.1", "-> 0.3", "2.1 ->",
// or "1.0 (highest unchanged)" for a Versions change.
func (c Change) versions() string {
	if c.Kind == Versions {
		return c.From + " (highest unchanged)"
	}
	return strings.TrimSpace(c.From + " -> " + c.To)
}

// WriteText writes a diff for a terminal:
//
//	--- 2026-11-24
//	+++ 2026-11-25
//	upgraded    hello-fleet  amd64  1.0.0 -> 1.1.0
//	added       newtool      arm64  -> 0.3
//	removed     oldlib       all    2.1 ->
//	versions    libfoo       amd64  2.0 (highest unchanged)
//	  versions appeared: 1.9; disappeared: 1.8
//	1 added, 1 removed, 1 upgraded, 0 downgraded, 1 with other versions changed
//
// The header names the two suites as a unified diff does, A the old one.
// Columns are aligned; an indented detail line follows a change whose
// other versions changed too. The last line sums up, or says "no changes".
func WriteText(w io.Writer, aName, bName string, changes []Change) error {
	var b strings.Builder
	fmt.Fprintf(&b, "--- %s\n+++ %s\n", aName, bName)
	var wk, wp, wa int
	for _, c := range changes {
		wk, wp, wa = max(wk, len(c.Kind)), max(wp, len(c.Package)), max(wa, len(c.Arch))
	}
	for _, c := range changes {
		fmt.Fprintf(&b, "%-*s  %-*s  %-*s  %s\n", wk, c.Kind, wp, c.Package, wa, c.Arch, c.versions())
		if d := c.detail(); d != "" {
			fmt.Fprintf(&b, "  versions %s\n", d)
		}
	}
	b.WriteString(summaryLine(changes) + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes a diff as GitHub-flavoured Markdown, for a pull
// request comment: a heading naming the suites, a table with a row per
// change, and the summary line. Names and versions are code spans, so that
// a '~' in a version never turns into strikethrough.
func WriteMarkdown(w io.Writer, aName, bName string, changes []Change) error {
	var b strings.Builder
	fmt.Fprintf(&b, "#### Changes from %s to %s\n\n", mdCode(aName), mdCode(bName))
	if len(changes) > 0 {
		b.WriteString("| change | package | arch | from | to | other versions |\n")
		b.WriteString("| --- | --- | --- | --- | --- | --- |\n")
		for _, c := range changes {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n",
				c.Kind, mdCode(c.Package), mdCode(c.Arch), mdCode(c.From), mdCode(c.To), mdDetail(c))
		}
		b.WriteString("\n")
	}
	b.WriteString(capitalize(summaryLine(changes)) + ".\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// mdDetail is the "other versions" cell: the detail with each version as a
// code span.
func mdDetail(c Change) string {
	if c.detail() == "" {
		return ""
	}
	code := func(vs []string) string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = mdCode(v)
		}
		return strings.Join(out, ", ")
	}
	var parts []string
	if len(c.Appeared) > 0 {
		parts = append(parts, "appeared: "+code(c.Appeared))
	}
	if len(c.Disappeared) > 0 {
		parts = append(parts, "disappeared: "+code(c.Disappeared))
	}
	return strings.Join(parts, "; ")
}

// mdCode returns s as an inline code span safe inside a table cell, or ""
// for "". A pipe is escaped as GFM tables require; backticks and line
// breaks, which neither package data nor valid suite names contain, are
// replaced.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	s = strings.NewReplacer("`", "'", "|", `\|`, "\n", " ", "\r", " ").Replace(s)
	return "`" + s + "`"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
