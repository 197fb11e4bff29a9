package repo

import (
	"bytes"
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"sort"

	"github.com/debflow/debflow/internal/compress"
	"github.com/klauspost/compress/flate"
)

// Indexes in pieces.
//
// A Packages index is kept as a list of pieces of about pieceTarget bytes,
// in the order of the file. Packages.gz is one gzip member per piece,
// concatenated: a valid gzip file that apt reads whole. Packages.xz is one
// xz stream with one block per piece: apt reads only the first stream of
// concatenated ones, so the stream's index and footer (a few bytes per
// block) are written anew around the kept blocks. TestAptReadsPieces checks
// both with apt-get update.
// Each gzip member carries, in a header "extra" field, what is needed to
// change the index without reading it all again: the sizes of the piece
// (plain, deflate body, xz block) and the SHA-256 state of the plain file
// before the piece.
//
// A publish appends its new stanzas to the last piece (or to new pieces
// after it). Only that piece is compressed again; the compressed bytes of
// the others are spliced unchanged, and the SHA-256 of the whole plain
// file, which Release lists, is finished from the saved state of the
// content before the first rewritten piece. A removal or a replacement
// rewrites from the first changed piece on. So the cost of a CI step
// follows the change, not the size of the suite.

// pieceTarget is the plain size a piece grows to before a new one starts.
// Smaller pieces make a CI step cheaper (less to compress again) and the
// compressed files slightly larger (each piece starts a fresh dictionary).
var pieceTarget = 64 << 10

// pieceFormat is the gzip extra subfield id: 'D' 'f', version 1.
const (
	pieceSI1, pieceSI2 = 'D', 'f'
	pieceVersion       = 1
)

// piece is one piece of an index.
type piece struct {
	stanzas []*Stanza
	// raw is the piece's text, without the separator before it, while the
	// piece is unparsed.
	raw      []byte
	unparsed bool
	// state is the marshalled SHA-256 state of the plain file before this
	// piece; nil when not known (a piece not loaded from a published file).
	state []byte
	// gz is the piece's gzip member as published (nil: to be compressed
	// again); xz its xz block, when hasXz (none for an empty piece).
	gz     []byte
	xz     []byte
	xzInfo compress.XzBlockInfo
	hasXz  bool
	dirty  bool
}

// plainTo appends the piece's part of the plain file: every stanza is
// followed by a blank line, the last one of the file too, as in Debian's
// own indexes (debootstrap takes a stanza only at the blank line after
// it). So a piece's text does not depend on where the piece stands.
func (p *piece) plainTo(buf []byte) []byte {
	if p.unparsed {
		return append(buf, p.raw...)
	}
	for _, s := range p.stanzas {
		buf = append(buf, s.Text...)
		buf = append(buf, '\n')
	}
	return buf
}

func (p *piece) plainSize() int {
	if p.unparsed {
		return len(p.raw)
	}
	n := 0
	for _, s := range p.stanzas {
		n += len(s.Text) + 1
	}
	return n
}

// pieceMeta is what a gzip member's extra field says about its piece.
type pieceMeta struct {
	plainLen, xzUnpadded int64
	state                []byte
	member               []byte // the whole gzip member
}

// gzipMember writes one gzip member holding plain, with the piece's
// metadata in its extra field. The output depends only on the input.
func gzipMember(plain []byte, xzUnpadded int64, state []byte) ([]byte, error) {
	var body bytes.Buffer
	fw, err := flate.NewWriter(&body, 7)
	if err != nil {
		return nil, err
	}
	if _, err := fw.Write(plain); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	data := []byte{pieceVersion}
	data = binary.LittleEndian.AppendUint64(data, uint64(body.Len()))
	data = binary.LittleEndian.AppendUint64(data, uint64(len(plain)))
	data = binary.LittleEndian.AppendUint64(data, uint64(xzUnpadded))
	data = append(data, state...)
	extra := []byte{pieceSI1, pieceSI2}
	extra = binary.LittleEndian.AppendUint16(extra, uint16(len(data)))
	extra = append(extra, data...)

	out := make([]byte, 0, 12+len(extra)+body.Len()+8)
	// ID1 ID2 CM=deflate FLG=FEXTRA MTIME=0 XFL=0 OS=255, then XLEN.
	out = append(out, 0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255)
	out = binary.LittleEndian.AppendUint16(out, uint16(len(extra)))
	out = append(out, extra...)
	out = append(out, body.Bytes()...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(plain))
	out = binary.LittleEndian.AppendUint32(out, uint32(len(plain)))
	return out, nil
}

var errNoPieces = errors.New("not a pieced gzip file")

// regzipState returns a gzip member written by gzipMember with another
// SHA-256 state in its extra field, the compressed data unchanged.
func regzipState(member, state []byte) ([]byte, error) {
	ms, err := splitGzip(member)
	if err != nil || len(ms) != 1 || len(ms[0].state) != len(state) {
		return nil, fmt.Errorf("index piece: cannot rewrite its gzip header")
	}
	// The state ends the extra field: header (10), XLEN (2), subfield
	// id and length (4), version and three sizes (25).
	out := slices.Clone(member)
	copy(out[10+2+4+25:], state)
	return out, nil
}

// splitGzip reads the members of a pieced Packages.gz from their headers
// alone, without decompressing them.
func splitGzip(gz []byte) ([]pieceMeta, error) {
	var out []pieceMeta
	for rest := gz; len(rest) > 0; {
		if len(rest) < 12 || rest[0] != 0x1f || rest[1] != 0x8b || rest[2] != 8 || rest[3] != 4 {
			return nil, errNoPieces
		}
		xlen := int(binary.LittleEndian.Uint16(rest[10:]))
		if len(rest) < 12+xlen || xlen < 4+1+24 {
			return nil, errNoPieces
		}
		extra := rest[12 : 12+xlen]
		if extra[0] != pieceSI1 || extra[1] != pieceSI2 || int(binary.LittleEndian.Uint16(extra[2:])) != xlen-4 {
			return nil, errNoPieces
		}
		data := extra[4:]
		if data[0] != pieceVersion {
			return nil, errNoPieces
		}
		bodyLen := binary.LittleEndian.Uint64(data[1:])
		m := pieceMeta{
			plainLen:   int64(binary.LittleEndian.Uint64(data[9:])),
			xzUnpadded: int64(binary.LittleEndian.Uint64(data[17:])),
			state:      data[25:],
		}
		end := uint64(12+xlen) + bodyLen + 8
		if bodyLen > uint64(len(rest)) || end > uint64(len(rest)) || m.plainLen < 0 || m.xzUnpadded < 0 {
			return nil, errNoPieces
		}
		m.member = rest[:end]
		rest = rest[end:]
		out = append(out, m)
	}
	return out, nil
}

// loadPieces builds an index from its plain file and its pieced gzip (and
// xz, when published) files. It fails with errNoPieces when the files were
// not written in pieces (an older debflow): the caller then parses plain
// as a whole.
func loadPieces(plain, gz, xz []byte) (*Index, error) {
	metas, err := splitGzip(gz)
	if err != nil {
		return nil, err
	}
	var total int64
	var unpadded []int64
	for _, m := range metas {
		total += m.plainLen
		if m.xzUnpadded > 0 {
			unpadded = append(unpadded, m.xzUnpadded)
		}
	}
	if total != int64(len(plain)) {
		return nil, errNoPieces
	}
	var blocks [][]byte
	if xz != nil {
		if blocks, err = compress.XzSplitBlocks(xz, unpadded); err != nil {
			blocks = nil // compressed again when needed
		}
	}
	idx := NewIndex()
	idx.pieces = []*piece{}
	var off int64
	for _, m := range metas {
		p := &piece{gz: m.member, state: m.state}
		if blocks != nil {
			p.hasXz = true
			if m.xzUnpadded > 0 {
				p.xz, blocks = blocks[0], blocks[1:]
				p.xzInfo = compress.XzBlockInfo{Unpadded: m.xzUnpadded, Uncompressed: m.plainLen}
			}
		}
		text := plain[off : off+m.plainLen]
		off += m.plainLen
		if len(text) > 0 && !bytes.HasSuffix(text, []byte("\n\n")) {
			return nil, errNoPieces // not this format's pieces
		}
		p.raw, p.unparsed = text, len(text) > 0
		idx.lazy = idx.lazy || p.unparsed
		idx.pieces = append(idx.pieces, p)
	}
	return idx, nil
}

// parsePiece parses an unparsed piece's stanzas into the index.
func (x *Index) parsePiece(p *piece) {
	if !p.unparsed {
		return
	}
	p.unparsed = false
	text := p.raw
	p.raw = nil
	for len(text) > 0 {
		var st []byte
		if j := bytes.Index(text, []byte("\n\n")); j >= 0 {
			st, text = text[:j+1], text[j+2:]
		} else {
			st, text = text, nil
		}
		s, err := parseStanza(st)
		if err == nil {
			if _, dup := x.byKey[s.Key()]; dup {
				err = fmt.Errorf("index lists %s twice", s.Key())
			}
		}
		if err != nil {
			if x.err == nil {
				x.err = err
			}
			continue
		}
		x.put(s)
		x.at[s.Key()] = p
		p.stanzas = append(p.stanzas, s)
	}
}

// parseName parses the unparsed pieces that hold a stanza of the package.
func (x *Index) parseName(name string) {
	if !x.lazy {
		return
	}
	// Each lookup scans the unparsed text; a batch of many packages
	// parses the index once instead.
	if x.lookups++; x.lookups > lazyLookups {
		x.parseAll()
		return
	}
	needle := []byte("Package: " + name + "\n")
	for _, p := range x.pieces {
		if !p.unparsed {
			continue
		}
		for off := 0; ; {
			i := bytes.Index(p.raw[off:], needle)
			if i < 0 {
				break
			}
			if i += off; i == 0 || p.raw[i-1] == '\n' {
				x.parsePiece(p)
				break
			}
			off = i + 1
		}
	}
}

// lazyLookups is how many packages are looked up by scanning the
// unparsed text before the whole index is parsed: a scan costs a small
// fraction of a parse.
const lazyLookups = 16

// parseAll parses every piece.
func (x *Index) parseAll() {
	if !x.lazy {
		return
	}
	for _, p := range x.pieces {
		x.parsePiece(p)
	}
	x.lazy = false
}

// renderedIndex is an index ready to be written.
type renderedIndex struct {
	plain    []byte
	plainSum Hashes
	files    map[compress.Format][]byte // the pieced formats (gz, xz)
}

// render lays out the index in pieces and compresses the pieces that
// changed, in parallel, in the formats asked for (gz and xz are pieced;
// with no gz, nothing records the pieces and every render is whole).
func (x *Index) render(formats []compress.Format) (*renderedIndex, error) {
	want := map[compress.Format]bool{}
	for _, f := range formats {
		want[f] = true
	}
	old := x.pieces
	var added []*Stanza
	if old == nil {
		added = x.Stanzas()
	} else {
		for _, s := range x.added {
			added = append(added, s)
		}
		sort.Slice(added, func(i, j int) bool { return lessStanza(added[i], added[j]) })
	}
	// Which pieces stay: the clean ones keep their compressed bytes. A
	// changed piece (or one that lacks a format) is compressed again;
	// emptied ones go.
	stale := func(p *piece) bool {
		return p.dirty || p.state == nil || !want[compress.Gzip] || p.gz == nil || want[compress.Xz] != p.hasXz
	}
	var pieces []*piece
	recompress := map[*piece]bool{}
	for _, p := range old {
		if stale(p) {
			x.parsePiece(p)
			if len(p.stanzas) == 0 && len(old) > 1 {
				continue
			}
			recompress[p] = true
		}
		pieces = append(pieces, p)
	}
	if x.err != nil {
		return nil, x.err
	}
	// Additions fill the last piece up to pieceTarget, then new ones.
	var cur *piece
	size := 0
	if n := len(pieces); n > 0 && len(added) > 0 && pieces[n-1].plainSize() < pieceTarget {
		cur = pieces[n-1]
		x.parsePiece(cur)
		recompress[cur] = true
		size = cur.plainSize()
	}
	for _, s := range added {
		if cur == nil || size >= pieceTarget {
			cur = &piece{}
			pieces = append(pieces, cur)
			recompress[cur] = true
			size = 0
		}
		cur.stanzas = append(cur.stanzas, s)
		size += len(s.Text) + 1
	}
	if len(pieces) == 0 {
		// An empty index is one empty piece: an empty file is no gzip file.
		pieces = append(pieces, &piece{})
		recompress[pieces[0]] = true
	}
	// The first piece whose state (the hash of the text before it) may
	// differ: the first that is new, recompressed, or moved.
	first := 0
	for first < len(pieces) && first < len(old) && pieces[first] == old[first] && !recompress[pieces[first]] {
		first++
	}
	h := sha256.New()
	switch {
	case first < len(old) && first > 0:
		// The text before old[first] is unchanged.
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(old[first].state); err != nil {
			return nil, fmt.Errorf("index piece state: %w", err)
		}
	case first > 0: // only new pieces after the old ones
		last := old[first-1]
		if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(last.state); err != nil {
			return nil, fmt.Errorf("index piece state: %w", err)
		}
		h.Write(last.plainTo(nil))
	}
	var jobs []int
	plains := make([][]byte, len(pieces))
	for i := first; i < len(pieces); i++ {
		p := pieces[i]
		plains[i] = p.plainTo(nil)
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, err
		}
		moved := !bytes.Equal(st, p.state)
		p.state = st
		h.Write(plains[i])
		switch {
		case recompress[p]:
			jobs = append(jobs, i)
		case moved:
			// Same text, same compressed bytes: only the gzip member's
			// header, which carries the state, is written again.
			gz, err := regzipState(p.gz, st)
			if err != nil {
				return nil, err
			}
			p.gz = gz
		}
	}
	sum := h.Sum(nil)
	err := parallel(len(jobs), func(j int) error {
		i := jobs[j]
		p := pieces[i]
		p.gz, p.xz, p.xzInfo, p.hasXz = nil, nil, compress.XzBlockInfo{}, false
		if want[compress.Xz] {
			p.hasXz = true
			if len(plains[i]) > 0 { // an empty piece has no block
				var err error
				if p.xz, p.xzInfo, err = compress.XzBlock(plains[i]); err != nil {
					return err
				}
			}
		}
		if want[compress.Gzip] {
			gz, err := gzipMember(plains[i], p.xzInfo.Unpadded, p.state)
			if err != nil {
				return err
			}
			p.gz = gz
		}
		p.dirty = false
		return nil
	})
	if err != nil {
		return nil, err
	}

	out := &renderedIndex{files: map[compress.Format][]byte{}}
	n := 0
	for _, p := range pieces {
		n += p.plainSize()
	}
	out.plain = make([]byte, 0, n)
	for _, p := range pieces {
		out.plain = p.plainTo(out.plain)
	}
	out.plainSum = Hashes{Size: int64(len(out.plain)), SHA256: hex.EncodeToString(sum)}
	if want[compress.Gzip] {
		var all []byte
		for _, p := range pieces {
			all = append(all, p.gz...)
		}
		out.files[compress.Gzip] = all
	}
	if want[compress.Xz] {
		var blocks [][]byte
		var infos []compress.XzBlockInfo
		for _, p := range pieces {
			if p.xz != nil {
				blocks = append(blocks, p.xz)
				infos = append(infos, p.xzInfo)
			}
		}
		out.files[compress.Xz] = compress.XzStream(blocks, infos)
	}

	// The index now stands as published.
	x.pieces = pieces
	x.added = nil
	x.at = map[Key]*piece{}
	for _, p := range pieces {
		for _, s := range p.stanzas { // none in unparsed pieces
			x.at[s.Key()] = p
		}
	}
	return out, nil
}

// hashSHA256 is the only sum debflow lists for the files it writes: apt
// uses the strongest hash a Release lists, and SHA-256 is what it checks.
func hashSHA256(data []byte) Hashes {
	s := sha256.Sum256(data)
	return Hashes{Size: int64(len(data)), SHA256: hex.EncodeToString(s[:])}
}
