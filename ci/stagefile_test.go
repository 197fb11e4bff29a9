package ci

import (
	"errors"
	"strings"
	"testing"

	"github.com/debflow/debflow/snapshot"
)

func TestReadStageSnapshot(t *testing.T) {
	for in, want := range map[string]string{
		"snapshot: 2026-01-02\n":                       "2026-01-02",
		"# canary\nsnapshot: \"2026-01-02.03\"\n":      "2026-01-02.03",
		"owner: ops\nsnapshot: '2026-01-02'\nx: [1]\n": "2026-01-02",
		"{snapshot: 2026-01-02, other: 1}":             "2026-01-02",
		"snapshot: hotfix-1\n":                         "", // a stage name, not a snapshot name
	} {
		got, err := ReadStageSnapshot([]byte(in))
		if want == "" {
			if !errors.Is(err, ErrStageFile) || !errors.Is(err, snapshot.ErrBadName) {
				t.Errorf("%q: %q, %v; want ErrStageFile and ErrBadName", in, got, err)
			}
			continue
		}
		if err != nil || got != want {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "# only a comment\n", "other: 1\n", "snapshot:\n", "snapshot: [a]\n", "- snapshot: 2026-01-01\n",
		"snapshot: 2026-01-01\nsnapshot: 2026-01-02\n", "snapshot: \"unterminated\n"} {
		if got, err := ReadStageSnapshot([]byte(bad)); !errors.Is(err, ErrStageFile) {
			t.Errorf("%q: %q, %v; want ErrStageFile", bad, got, err)
		}
	}
}

func TestSetStageSnapshot(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain, comments and other keys kept byte for byte",
			"# canary: the first devices\nowner:   ops   # team\nsnapshot: 2026-01-01   # was 2025-12-31\nnotes:\n    - keep   this\n",
			"# canary: the first devices\nowner:   ops   # team\nsnapshot: 2026-01-02.03   # was 2025-12-31\nnotes:\n    - keep   this\n"},
		{"double quoted", "snapshot: \"2026-01-01\"\n", "snapshot: \"2026-01-02.03\"\n"},
		{"single quoted, CRLF", "a: 1\r\nsnapshot: '2026-01-01'\r\nb: 2\r\n", "a: 1\r\nsnapshot: '2026-01-02.03'\r\nb: 2\r\n"},
		{"indented mapping", "  snapshot: 2026-01-01\n  b: 2\n", "  snapshot: 2026-01-02.03\n  b: 2\n"},
		{"missing key appended", "owner: ops\n# end\n", "owner: ops\n# end\nsnapshot: \"2026-01-02.03\"\n"},
		{"missing key, no final newline", "owner: ops", "owner: ops\nsnapshot: \"2026-01-02.03\"\n"},
		{"empty file", "", "snapshot: \"2026-01-02.03\"\n"},
		{"flow mapping re-encoded", "{owner: ops, snapshot: 2026-01-01}\n", "{owner: ops, snapshot: \"2026-01-02.03\"}\n"},
		{"value on its own line re-encoded", "owner: ops # team\nsnapshot:\n  2026-01-01\n", "owner: ops # team\nsnapshot: \"2026-01-02.03\"\n"},
		{"tagged value re-encoded", "snapshot: !!str 2026-01-01\n", "snapshot: \"2026-01-02.03\"\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := SetStageSnapshot([]byte(tc.in), "2026-01-02.03")
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
			if s, err := ReadStageSnapshot(got); err != nil || s != "2026-01-02.03" {
				t.Errorf("reads back as %q, %v", s, err)
			}
		})
	}
	if _, err := SetStageSnapshot([]byte("snapshot: 2026-01-01\n"), "canary"); !errors.Is(err, snapshot.ErrBadName) {
		t.Errorf("a stage name as snapshot: %v", err)
	}
	for _, bad := range []string{"- a\n", "snapshot: 1\nsnapshot: 2\n", "a: [\n"} {
		if _, err := SetStageSnapshot([]byte(bad), "2026-01-02"); !errors.Is(err, ErrStageFile) {
			t.Errorf("%q: %v, want ErrStageFile", bad, err)
		}
	}
}

// FuzzSetStageSnapshot: whatever the file, a successful edit reads back as
// the new name and keeps every other key's value.
func FuzzSetStageSnapshot(f *testing.F) {
	for _, s := range []string{"snapshot: 2026-01-01\n", "a: 1\nsnapshot: '2026-01-01' # c\n", "{snapshot: x}", "", "snapshot: \"a\\\"b\" #\n",
		"snapshot: 2026-01-01 #x\nb: {c: d}\n", "a: |\n  snapshot: 1\nsnapshot: 2026-01-01\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := SetStageSnapshot([]byte(in), "2026-01-02")
		if err != nil {
			return
		}
		if !sameOtherKeys([]byte(in), out, "2026-01-02") {
			t.Errorf("%q became %q", in, out)
		}
		if strings.Count(string(out), "2026-01-02") < 1 {
			t.Errorf("%q: name missing from %q", in, out)
		}
	})
}
