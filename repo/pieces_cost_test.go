package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"testing"

	"github.com/klauspost/compress/flate"

	"github.com/debflow/debflow/internal/compress"
)

// TestPiecesCostFollowsChange checks the work a change does, not its time:
// after adding one stanza to a loaded index of many pieces, only the last
// piece is compressed again and every other compressed piece is reused as
// it was; a removal rewrites from its piece on.
func TestPiecesCostFollowsChange(t *testing.T) {
	defer SetPieceTarget(2000)()
	formats := []compress.Format{compress.Gzip, compress.Xz}
	idx := benchIndex(t, 200)
	ri, err := idx.render(formats)
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := loadPieces(ri.file(compress.Gzip), ri.file(compress.Xz))
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
	if _, err := loadPieces(ri.file(compress.Gzip), ri.file(compress.Xz)); err != nil {
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

// benchIndex is a new index of the first n benchStanzas.
func benchIndex(t testing.TB, n int) *Index {
	idx := NewIndex()
	for i := range n {
		idx.Put(benchStanza(t, i))
	}
	return idx
}

// TestPiecesLegacyIndex: an index that an earlier debflow published whole
// (one gzip member, no piece metadata) is not taken for a pieced one; it
// is read whole, and the next change writes it in pieces.
func TestPiecesLegacyIndex(t *testing.T) {
	idx := benchIndex(t, 3)
	plain := idx.Bytes()
	var gz bytes.Buffer
	w, err := compress.NewWriter(&gz, compress.Gzip)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(plain)
	w.Close()
	if _, err := loadPieces(gz.Bytes(), nil); !errors.Is(err, errNoPieces) {
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
	again, err := loadPieces(ri.file(compress.Gzip), nil)
	if err != nil || again.Len() != 4 {
		t.Fatalf("after a change: %v", err)
	}
}

// TestPiecesBatchLookups: a batch of many lookups of new packages (a
// 25,000-package publish into a large suite) neither parses the index nor
// keeps what it decompressed when the pieces have name filters; pieces
// without a filter (version 1), which each lookup would search whole, are
// parsed once instead.
func TestPiecesBatchLookups(t *testing.T) {
	defer SetPieceTarget(2000)()
	idx := benchIndex(t, 100)
	loaded := reloaded(t, idx)
	if loaded.Get(benchStanza(t, 7).Key()) == nil || !loaded.lazy {
		t.Fatal("one lookup: want the stanza, and the index still lazy")
	}
	for i := range 4 * lazyLookups {
		if loaded.Get(benchStanza(t, 1000+i).Key()) != nil {
			t.Fatalf("found pkg%05d, which is not there", 1000+i)
		}
	}
	held := 0
	for _, p := range loaded.pieces {
		if p.raw != nil || !p.unparsed {
			held++
		}
	}
	if !loaded.lazy || held != 1 || len(loaded.pieces) < 10 {
		t.Fatalf("after %d lookups of new packages: lazy %v, %d of %d pieces decompressed or parsed; want lazy, 1 (pkg00007's)",
			4*lazyLookups, loaded.lazy, held, len(loaded.pieces))
	}
	if loaded.Len() != 100 {
		t.Fatalf("Len %d", loaded.Len())
	}

	v1, err := loadPieces(version1Gzip(t, 3), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range lazyLookups + 1 {
		v1.Get(benchStanza(t, 1000+i).Key())
	}
	if v1.lazy {
		t.Fatal("version 1 pieces: after many lookups the index is still searched per lookup")
	}
	if v1.Len() != 3 {
		t.Fatalf("version 1 pieces: Len %d", v1.Len())
	}
}

// TestPiecesFilterLookup: a lookup decompresses only the pieces whose
// name filter may hold the package, and the stanza counts come from the
// headers without decompressing anything.
func TestPiecesFilterLookup(t *testing.T) {
	defer SetPieceTarget(2000)()
	idx := NewIndex()
	for i := range 300 {
		st := benchStanza(t, i)
		if i%10 == 0 {
			st, _ = parseStanza(bytes.Replace(st.Text, []byte("amd64"), []byte("all"), 1))
		}
		idx.Put(st)
	}
	loaded := reloaded(t, idx)
	if n, all := loaded.counts(); n != 300 || all != 30 {
		t.Fatalf("counts %d, %d; want 300, 30", n, all)
	}
	inflated := func() int {
		n := 0
		for _, p := range loaded.pieces {
			if p.raw != nil || !p.unparsed {
				n++
			}
		}
		return n
	}
	if n := inflated(); n != 0 {
		t.Fatalf("counting decompressed %d pieces", n)
	}
	if loaded.Get(Key{"pkg00123", "1.0", "amd64"}) == nil || loaded.Get(Key{"pkg00120", "1.0", "all"}) == nil {
		t.Fatal("pkg00123 not found")
	}
	if loaded.Get(Key{"pkg99999", "1.0", "amd64"}) != nil {
		t.Fatal("found a package that is not there")
	}
	// The pieces of pkg00120 and pkg00123, and maybe a false positive.
	if n := inflated(); n < 1 || n > 3 || len(loaded.pieces) < 20 {
		t.Fatalf("two lookups decompressed %d of %d pieces", n, len(loaded.pieces))
	}
	if n, all := loaded.counts(); n != 300 || all != 30 {
		t.Fatalf("counts after a lookup %d, %d; want 300, 30", n, all)
	}
}

// TestPiecesVersion1: a Packages.gz an earlier debflow wrote in pieces
// (version 1 headers: no filter, no counts) is read, every lookup may
// decompress any piece, and the next render writes every piece again in
// the current format.
func TestPiecesVersion1(t *testing.T) {
	gz := version1Gzip(t, 3)
	idx, err := loadPieces(gz, nil)
	if err != nil {
		t.Fatal(err)
	}
	if idx.Get(benchStanza(t, 1).Key()) == nil {
		t.Fatal("a version 1 piece: lookup failed")
	}
	ri, err := idx.render([]compress.Format{compress.Gzip})
	if err != nil {
		t.Fatal(err)
	}
	ms, err := splitGzip(ri.file(compress.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if m.version != pieceVersion || m.count != 1 || len(m.filter) == 0 {
			t.Errorf("piece %d after a render: version %d, count %d, filter %d bytes", i, m.version, m.count, len(m.filter))
		}
	}
}

// version1Gzip is a Packages.gz of n stanzas (benchStanza 0..n-1) in
// version 1 pieces, one stanza each, as an earlier debflow wrote them.
func version1Gzip(t *testing.T, n int) []byte {
	var gz []byte
	h := sha256.New()
	for i := range n {
		st := benchStanza(t, i)
		plain := append(slices.Clone(st.Text), '\n')
		state, _ := h.(encoding.BinaryMarshaler).MarshalBinary()
		h.Write(plain)
		var body bytes.Buffer
		fw, _ := flate.NewWriter(&body, 7)
		fw.Write(plain)
		fw.Close()
		data := []byte{pieceV1}
		data = binary.LittleEndian.AppendUint64(data, uint64(body.Len()))
		data = binary.LittleEndian.AppendUint64(data, uint64(len(plain)))
		data = binary.LittleEndian.AppendUint64(data, 0)
		data = append(data, state...)
		extra := binary.LittleEndian.AppendUint16([]byte{pieceSI1, pieceSI2}, uint16(len(data)))
		extra = append(extra, data...)
		m := []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255}
		m = binary.LittleEndian.AppendUint16(m, uint16(len(extra)))
		m = append(append(m, extra...), body.Bytes()...)
		m = binary.LittleEndian.AppendUint32(m, crc32.ChecksumIEEE(plain))
		gz = append(gz, binary.LittleEndian.AppendUint32(m, uint32(len(plain)))...)
	}
	return gz
}

// TestPiecesBatchNames: a publish's batch lookup finds the names that are
// there, parses only their pieces, and the batch's later lookups search no
// piece again (here the unparsed pieces are made unreadable after the batch
// lookup: any later decompression would fail).
func TestPiecesBatchNames(t *testing.T) {
	defer SetPieceTarget(2000)()
	idx := benchIndex(t, 300)
	loaded := reloaded(t, idx)
	names := []string{"pkg00042", "pkg00250"}
	for i := range 500 {
		names = append(names, fmt.Sprintf("pkg%05d", 1000+i))
	}
	loaded.parseNames(names)
	held := 0
	for _, p := range loaded.pieces {
		if !p.unparsed {
			held++
		} else {
			p.gz = nil // unreadable from now on
		}
	}
	if held < 1 || held > 2 || len(loaded.pieces) < 20 {
		t.Fatalf("the batch lookup parsed %d of %d pieces; want the one or two holding pkg00042 and pkg00250", held, len(loaded.pieces))
	}
	for _, name := range names {
		st := loaded.Get(Key{name, "1.0", "amd64"})
		if want := name < "pkg01000"; (st != nil) != want {
			t.Errorf("Get(%s) = %v, want found %v", name, st, want)
		}
	}
	if loaded.err != nil {
		t.Fatalf("a lookup after the batch decompressed a piece: %v", loaded.err)
	}
}

// reloaded renders idx as a Packages.gz and loads that as a publish would:
// as far as the pieces' headers.
func reloaded(t *testing.T, idx *Index) *Index {
	t.Helper()
	ri, err := idx.render([]compress.Format{compress.Gzip})
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := loadPieces(ri.file(compress.Gzip), nil)
	if err != nil {
		t.Fatal(err)
	}
	return loaded
}
