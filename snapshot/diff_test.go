package snapshot

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name string
		a, b []Package
		want []Change
	}{
		{"both empty", nil, nil, []Change{}},
		{"unchanged", pkgs("app 1.0 amd64", "app 0.9 amd64"), pkgs("app 0.9 amd64", "app 1.0 amd64"), []Change{}},
		{"duplicates are one version", pkgs("app 1.0 amd64"), pkgs("app 1.0 amd64", "app 1.0 amd64"), []Change{}},
		{"added", nil, pkgs("app 1.0 amd64"), []Change{
			{Package: "app", Arch: "amd64", Kind: Added, To: "1.0", Appeared: []string{"1.0"}},
		}},
		{"removed", pkgs("app 1.0 amd64"), nil, []Change{
			{Package: "app", Arch: "amd64", Kind: Removed, From: "1.0", Disappeared: []string{"1.0"}},
		}},
		{"upgraded", pkgs("app 1.0 amd64"), pkgs("app 1.0+git1 amd64"), []Change{
			{Package: "app", Arch: "amd64", Kind: Upgraded, From: "1.0", To: "1.0+git1", Appeared: []string{"1.0+git1"}, Disappeared: []string{"1.0"}},
		}},
		{"downgraded", pkgs("app 1.0 amd64"), pkgs("app 1.0~rc1 amd64"), []Change{
			{Package: "app", Arch: "amd64", Kind: Downgraded, From: "1.0", To: "1.0~rc1", Appeared: []string{"1.0~rc1"}, Disappeared: []string{"1.0"}},
		}},
		{"epoch", pkgs("app 9.0 amd64"), pkgs("app 1:0.1 amd64"), []Change{
			{Package: "app", Arch: "amd64", Kind: Upgraded, From: "9.0", To: "1:0.1", Appeared: []string{"1:0.1"}, Disappeared: []string{"9.0"}},
		}},
		{"the highest version is compared, in dpkg order",
			pkgs("app 1.0 amd64", "app 1.0~rc1 amd64"),
			pkgs("app 1.0~rc2 amd64", "app 1.0+git1 amd64", "app 1.0 amd64"),
			[]Change{{Package: "app", Arch: "amd64", Kind: Upgraded, From: "1.0", To: "1.0+git1",
				Appeared: []string{"1.0~rc2", "1.0+git1"}, Disappeared: []string{"1.0~rc1"}}},
		},
		{"a lower version appears: still what apt installs is the same",
			pkgs("app 2.0 amd64", "app 1.8 amd64"),
			pkgs("app 1.9 amd64", "app 2.0 amd64"),
			[]Change{{Package: "app", Arch: "amd64", Kind: Versions, From: "2.0", To: "2.0",
				Appeared: []string{"1.9"}, Disappeared: []string{"1.8"}}},
		},
		{"architectures are separate; all is one of them",
			pkgs("app 1.0 amd64", "app 1.0 arm64", "tool 1 amd64"),
			pkgs("app 1.1 amd64", "app 1.0 arm64", "tool 1 all"),
			[]Change{
				{Package: "app", Arch: "amd64", Kind: Upgraded, From: "1.0", To: "1.1", Appeared: []string{"1.1"}, Disappeared: []string{"1.0"}},
				{Package: "tool", Arch: "all", Kind: Added, To: "1", Appeared: []string{"1"}},
				{Package: "tool", Arch: "amd64", Kind: Removed, From: "1", Disappeared: []string{"1"}},
			},
		},
		{"sorted by package, then architecture",
			pkgs("zed 1 amd64", "b 1 arm64", "b 1 amd64", "a-b 1 all"),
			nil,
			[]Change{
				{Package: "a-b", Arch: "all", Kind: Removed, From: "1", Disappeared: []string{"1"}},
				{Package: "b", Arch: "amd64", Kind: Removed, From: "1", Disappeared: []string{"1"}},
				{Package: "b", Arch: "arm64", Kind: Removed, From: "1", Disappeared: []string{"1"}},
				{Package: "zed", Arch: "amd64", Kind: Removed, From: "1", Disappeared: []string{"1"}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.a, tt.b)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Diff:\n%s\nwant:\n%s", showChanges(got), showChanges(tt.want))
			}
		})
	}
}

// showChanges renders changes as indented JSON, for readable failures.
func showChanges(cs []Change) string {
	if cs == nil {
		return "nil"
	}
	data, err := json.MarshalIndent(cs, "", "  ")
	if err != nil {
		return fmt.Sprint(cs)
	}
	return string(data)
}

// diffFixture is a realistic diff between two snapshots of a fleet: one of
// each kind, packages with several versions, dpkg-only orderings.
func diffFixture() (a, b []Package) {
	a = pkgs(
		"hello-fleet 1.0.0 amd64", "hello-fleet 1.0.0 arm64",
		"agent 2.0 amd64", "agent 1.9 amd64",
		"oldlib 2.1 all",
		"libfoo 2.0 amd64", "libfoo 1.8 amd64",
		"ota-client 1.0~rc1 arm64", "ota-client 1.0 arm64",
		"base-files 12.4 all",
	)
	b = pkgs(
		"hello-fleet 1.1.0 amd64", "hello-fleet 1.0.0 arm64",
		"agent 1.9 amd64",
		"newtool 0.3 arm64",
		"libfoo 2.0 amd64", "libfoo 1.9 amd64",
		"ota-client 1.0+git1.0123456789ab arm64", "ota-client 1.0 arm64", "ota-client 1.0~rc2 arm64",
		"base-files 12.4 all",
	)
	return a, b
}

func TestDiffGolden(t *testing.T) {
	a, b := diffFixture()
	changes := Diff(a, b)

	var text bytes.Buffer
	if err := WriteText(&text, "2026-11-24", "2026-11-25.02", changes); err != nil {
		t.Fatal(err)
	}
	golden(t, "diff.txt", text.Bytes())

	var md bytes.Buffer
	if err := WriteMarkdown(&md, "2026-11-24", "2026-11-25.02", changes); err != nil {
		t.Fatal(err)
	}
	golden(t, "diff.md", md.Bytes())

	js, err := json.MarshalIndent(changes, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "diff.json", append(js, '\n'))

	// The JSON reads back to the same changes.
	var back []Change
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, changes) {
		t.Errorf("JSON round trip:\n%s\nwant:\n%s", showChanges(back), showChanges(changes))
	}
}

func TestDiffGoldenNoChanges(t *testing.T) {
	a, _ := diffFixture()
	changes := Diff(a, a)

	var text, md bytes.Buffer
	if err := WriteText(&text, "production", "2026-11-24", changes); err != nil {
		t.Fatal(err)
	}
	golden(t, "diff-empty.txt", text.Bytes())
	if err := WriteMarkdown(&md, "production", "2026-11-24", changes); err != nil {
		t.Fatal(err)
	}
	golden(t, "diff-empty.md", md.Bytes())
	if js, _ := json.Marshal(changes); string(js) != "[]" {
		t.Errorf("JSON of no changes = %s, want []", js)
	}
}

func TestSummarize(t *testing.T) {
	a, b := diffFixture()
	got := Summarize(Diff(a, b))
	want := map[ChangeKind]int{Added: 1, Removed: 1, Upgraded: 2, Downgraded: 1, Versions: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summarize = %v, want %v", got, want)
	}
	if got := Summarize(nil); len(got) != 0 {
		t.Errorf("Summarize(nil) = %v", got)
	}
}

// columnsRE matches the kind, package and architecture columns.
var columnsRE = regexp.MustCompile(`^\S+\s+\S+\s+\S+\s+`)

func TestWriteTextAligned(t *testing.T) {
	a, b := diffFixture()
	var buf bytes.Buffer
	if err := WriteText(&buf, "a", "b", Diff(a, b)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	col := -1
	for _, l := range lines[2 : len(lines)-1] {
		if strings.HasPrefix(l, "  ") {
			continue // a detail line
		}
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space: %q", l)
		}
		// The version column starts at the same offset on every change line.
		i := len(columnsRE.FindString(l))
		if col == -1 {
			col = i
		} else if i != col {
			t.Errorf("line %q: version column at %d, want %d", l, i, col)
		}
	}
}

// failWriter fails every write.
type failWriter struct{}

var errWrite = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWriteErrors(t *testing.T) {
	a, b := diffFixture()
	if err := WriteText(failWriter{}, "a", "b", Diff(a, b)); !errors.Is(err, errWrite) {
		t.Errorf("WriteText: %v, want %v", err, errWrite)
	}
	if err := WriteMarkdown(failWriter{}, "a", "b", Diff(a, b)); !errors.Is(err, errWrite) {
		t.Errorf("WriteMarkdown: %v, want %v", err, errWrite)
	}
}

func TestMarkdownEscapes(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, "a|b", "c`d", nil); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.String(), "#### Changes from `a\\|b` to `c'd`\n\nNo changes.\n"; got != want {
		t.Errorf("WriteMarkdown = %q, want %q", got, want)
	}
}
