package repo

import (
	"bytes"
	"testing"
	"time"
)

func FuzzParseIndex(f *testing.F) {
	f.Add([]byte("Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/main/a/a/a_1_all.deb\nSize: 3\nSHA256: ab\nDescription: x\n y\n\nPackage: b\n"))
	f.Add([]byte("Package: a\nVersion: 1\nArchitecture: amd64\nFilename: f\nSize: 1\nSHA256: 00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		idx, err := ParseIndex(data)
		if err != nil {
			return
		}
		// What parses renders back to something that parses to the same set.
		again, err := ParseIndex(idx.Bytes())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if again.Len() != idx.Len() {
			t.Fatalf("%d stanzas became %d", idx.Len(), again.Len())
		}
	})
}

func FuzzParseRelease(f *testing.F) {
	r := &Release{Origin: "o", Label: "l", Suite: "s", Codename: "c", Date: time.Unix(1700000000, 0),
		Architectures: []string{"amd64"}, Components: []string{"main"},
		Files: map[string]Hashes{"main/binary-amd64/Packages": HashBytes([]byte("x"))}}
	f.Add(r.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		rel, err := ParseRelease(data)
		if err != nil {
			return
		}
		again, err := ParseRelease(rel.Bytes())
		if err != nil {
			t.Fatalf("re-parse of rendered Release: %v\n%s", err, rel.Bytes())
		}
		if !bytes.Equal(again.Bytes(), rel.Bytes()) {
			t.Fatalf("Release does not round-trip")
		}
	})
}
