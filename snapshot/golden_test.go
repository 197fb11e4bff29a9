package snapshot

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// update rewrites the golden files: go test ./snapshot/ -run Golden -update
var update = flag.Bool("update", false, "rewrite the golden files under testdata/snapshot")

// goldenDir holds this package's golden files, in the module's testdata.
const goldenDir = "../testdata/snapshot"

// golden compares got with testdata/snapshot/NAME.golden, or rewrites that
// file when the test runs with -update. A mismatch is reported as a line
// diff.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs from the golden file (-want +got; run with -update to accept):\n%s", path, lineDiff(string(want), string(got)))
	}
}

// lineDiff returns a unified-style diff of two texts, line by line, from a
// longest common subsequence: "  " common, "- " only in want, "+ " only in
// got. Good enough for golden files of a few hundred lines.
func lineDiff(want, got string) string {
	a, b := strings.SplitAfter(want, "\n"), strings.SplitAfter(got, "\n")
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	line := func(prefix, s string) {
		if s == "" {
			return // the empty piece after a final newline
		}
		if !strings.HasSuffix(s, "\n") {
			s += "\n\\ no newline at end\n"
		}
		fmt.Fprintf(&out, "%s%s", prefix, s)
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			line("  ", a[i])
			i, j = i+1, j+1
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			line("- ", a[i])
			i++
		default:
			line("+ ", b[j])
			j++
		}
	}
	return out.String()
}

func TestLineDiff(t *testing.T) {
	got := lineDiff("a\nb\nc\n", "a\nB\nc\nd")
	want := "  a\n- b\n+ B\n  c\n+ d\n\\ no newline at end\n"
	if got != want {
		t.Errorf("lineDiff:\n%s\nwant:\n%s", got, want)
	}
}
