package main

import (
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
)

// TestListingsFitTheirContent: snapshot list and status size their
// columns to the longest cell: a long snapshot name does not push the
// other columns out of line, and no line ends in blanks.
func TestListingsFitTheirContent(t *testing.T) {
	o := newOpsRepo(t)
	o.publish(nil, testkit.Deb{Name: "hello", Version: "1.0"})
	long := "2025-06-01.hotfix-for-the-fleet"
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "1")
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", long)
	o.mustRun("promote", "--quiet", "--key", o.key, long, "--to", "canary")
	for _, args := range [][]string{{"snapshot", "list"}, {"status"}} {
		out := o.mustRun(args...)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		header := lines[0]
		second := strings.Fields(header)[1]
		col := strings.Index(header, second)
		for _, l := range lines {
			if strings.TrimRight(l, " ") != l {
				t.Errorf("%s: trailing blanks in %q", args, l)
			}
			if strings.Contains(l, long) || strings.HasPrefix(l, "1 ") || strings.HasPrefix(l, "canary") {
				if len(l) <= col || l[col-1] != ' ' || l[col] == ' ' {
					t.Errorf("%s: column 2 (at %d) out of line in\n%s", args, col, out)
					break
				}
			}
		}
	}
}
