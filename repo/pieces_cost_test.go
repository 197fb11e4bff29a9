package repo

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/debflow/debflow/internal/compress"
)

// TestPiecesCostFollowsChange checks the work a change does, not its time:
// after adding one stanza to a loaded index of many pieces, only the last
// piece is compressed again and every other compressed piece is reused as
// it was; a removal rewrites from its piece on.
func TestPiecesCostFollowsChange(t *testing.T) {
	defer SetPieceTarget(2000)()
	formats := []compress.Format{compress.Gzip, compress.Xz}
	idx := NewIndex()
	for i := range 200 {
		idx.Put(benchStanza(t, i))
	}
	ri, err := idx.render(formats)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := loadPieces(ri.plain, ri.files[compress.Gzip], ri.files[compress.Xz])
	if err != nil {
		t.Fatal(err)
	}
	n := len(loaded.pieces)
	if n < 10 {
		t.Fatalf("%d pieces, want many", n)
	}
	for i, p := range loaded.pieces {
		if !p.hasXz || p.gz == nil || (p.xz == nil) {
			t.Fatalf("piece %d loaded without its compressed forms", i)
		}
	}
	before := append([]*piece(nil), loaded.pieces...)
	loaded.Put(benchStanza(t, 1000))
	if _, err := loaded.render(formats); err != nil {
		t.Fatal(err)
	}
	rewritten := 0
	for i, p := range loaded.pieces {
		if i >= len(before) || p != before[i] {
			rewritten++
		}
	}
	if rewritten > 2 {
		t.Errorf("adding one stanza rewrote %d of %d pieces", rewritten, len(loaded.pieces))
	}
	for i, p := range loaded.pieces[:n-1] {
		if !p.unparsed {
			t.Errorf("piece %d was parsed for an addition", i)
		}
	}

	// A removal in the middle compresses its piece again; the pieces
	// after it keep their compressed data (only the gzip header, which
	// carries the hash state, changes).
	xzBefore := map[*piece]*byte{}
	for _, p := range loaded.pieces {
		xzBefore[p] = &p.xz[0]
	}
	loaded.Delete(benchStanza(t, 50).Key())
	ri, err = loaded.render(formats)
	if err != nil {
		t.Fatal(err)
	}
	recompressed := 0
	for _, p := range loaded.pieces {
		if xzBefore[p] != &p.xz[0] {
			recompressed++
		}
	}
	if recompressed != 1 {
		t.Errorf("removing one stanza compressed %d pieces again, want 1", recompressed)
	}
	if _, err := loadPieces(ri.plain, ri.files[compress.Gzip], ri.files[compress.Xz]); err != nil {
		t.Fatalf("after the removal: %v", err)
	}
}

func benchStanza(t testing.TB, i int) *Stanza {
	st, err := parseStanza([]byte(fmt.Sprintf("Package: pkg%05d\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/main/p/pkg%05d.deb\nSize: 42\nSHA256: %064x\nDescription: benchmark package\n", i, i, i)))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestPiecesLegacyIndex: an index that an earlier debflow published whole
// (one gzip member, no piece metadata) is not taken for a pieced one; it
// is read whole, and the next change writes it in pieces.
func TestPiecesLegacyIndex(t *testing.T) {
	idx := NewIndex()
	for i := range 3 {
		idx.Put(benchStanza(t, i))
	}
	plain := idx.Bytes()
	var gz bytes.Buffer
	w, err := compress.NewWriter(&gz, compress.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	if _, err := loadPieces(plain, gz.Bytes(), nil); !errors.Is(err, errNoPieces) {
		t.Fatalf("a whole gzip file loads as pieces: %v", err)
	}
	whole, err := ParseIndex(plain)
	if err != nil {
		t.Fatal(err)
	}
	whole.Put(benchStanza(t, 3))
	ri, err := whole.render([]compress.Format{compress.Gzip})
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadPieces(ri.plain, ri.files[compress.Gzip], nil)
	if err != nil || again.Len() != 4 {
		t.Fatalf("after a change: %v", err)
	}
}

// TestPiecesBatchLookups: a lookup scans the unparsed text, so a batch of
// many lookups parses the index once instead of scanning it each time (a
// 25,000-package batch into a large suite was quadratic).
func TestPiecesBatchLookups(t *testing.T) {
	defer SetPieceTarget(2000)()
	idx := NewIndex()
	for i := range 100 {
		idx.Put(benchStanza(t, i))
	}
	ri, err := idx.render([]compress.Format{compress.Gzip})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := loadPieces(ri.plain, ri.files[compress.Gzip], nil)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Get(benchStanza(t, 7).Key()) == nil || !loaded.lazy {
		t.Fatal("one lookup: want the stanza, and the index still lazy")
	}
	for i := range lazyLookups + 1 {
		loaded.Get(benchStanza(t, 1000+i).Key())
	}
	if loaded.lazy {
		t.Fatal("after many lookups the index is still scanned per lookup")
	}
	if loaded.Len() != 100 {
		t.Fatalf("Len %d", loaded.Len())
	}
}
