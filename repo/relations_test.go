package repo

import (
	"testing"

	"github.com/debflow/debflow/snapshot"
)

// TestRelationFields: the relationship fields of a stanza, whatever the
// case of their names, continuation lines folded, other fields ignored.
func TestRelationFields(t *testing.T) {
	st, err := parseStanza([]byte("Package: app\nVersion: 1.0\nArchitecture: amd64\n" +
		"pre-depends: libc6 (>= 2.36)\nDepends: a,\n b | c,\n d\nDepends-Indep: x\nProvides: mta\n" +
		"Description: Depends: not a field\n Provides: nor this\nFilename: pool/a.deb\nSHA256: 00\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := snapshot.Package{Name: "app", Version: "1.0", Arch: "amd64",
		Depends: "a, b | c, d", PreDepends: "libc6 (>= 2.36)", Provides: "mta"}
	if got := relationFields(st); got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
