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
	"hash/fnv"
	"io"
	"maps"
	"math"
	"slices"
	"sync"

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
//
// Each gzip member carries, in a header "extra" field, what is needed to
// change the index without reading it all: the sizes of the piece (plain,
// deflate body, xz block), its number of stanzas, the SHA-256 state of the
// plain file before the piece, and a Bloom filter of the package names in
// it. The pieced Packages.gz is the record of the index: the plain Packages
// is listed in Release (apt checks what it decompresses against it) but not
// stored, as in Debian's own archive, and a piece is decompressed only when
// its filter says it may hold a package a command looks up.
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

// The gzip extra subfield: id 'D' 'f'. Version 1 (debflow before the
// filters) is still read; its pieces are written again as version 2 by the
// next change of the index.
const (
	pieceSI1, pieceSI2 = 'D', 'f'
	pieceV1            = 1
	pieceVersion       = 2
)

// Offsets in a version 2 subfield's data: version (1 byte), the deflate
// body's size, the plain size, the xz block's unpadded size (8 bytes
// each), the number of stanzas and of Architecture: all ones (4 bytes
// each), the state's length (1 byte), the state, and the filter (the rest).
const (
	pieceOffState = 34
	// pieceHeaderState is where the state starts in a member: the gzip
	// header (10), XLEN (2), the subfield id and length (4).
	pieceHeaderState = 10 + 2 + 4 + pieceOffState
)

// piece is one piece of an index.
type piece struct {
	stanzas []*Stanza
	// While the piece is unparsed, raw is its text without the
	// separator before it (nil until the member is decompressed), and
	// plainLen, count and allCount say what its header says.
	raw      []byte
	unparsed bool
	plainLen int
	count    int // stanzas; -1: not known (a version 1 member)
	allCount int // Architecture: all stanzas
	// filter is the Bloom filter of the package names (nil: the piece may
	// hold any package). legacy marks a version 1 member, written again.
	filter []byte
	legacy bool
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

// text returns the text of an unparsed piece, decompressing its member
// the first time.
func (p *piece) text() ([]byte, error) {
	if p.raw == nil && p.plainLen > 0 {
		raw, err := inflateMember(nil, p.gz, p.plainLen)
		if err != nil {
			return nil, err
		}
		p.raw = raw
	}
	return p.raw, nil
}

// plainTo appends the piece's part of the plain file (see writeTo).
func (p *piece) plainTo(buf []byte) ([]byte, error) {
	b := bytes.NewBuffer(buf)
	err := p.writeTo(b)
	return b.Bytes(), err
}

var newline = []byte{'\n'}

// writeTo writes the piece's part of the plain file to w (a hash, or a
// buffer): every stanza is followed by a blank line, the last one of the
// file too, as in Debian's own indexes (debootstrap takes a stanza only at
// the blank line after it). So a piece's text does not depend on where the
// piece stands.
func (p *piece) writeTo(w io.Writer) error {
	if p.unparsed {
		text, err := p.text()
		w.Write(text)
		return err
	}
	for _, s := range p.stanzas {
		w.Write(s.Text)
		w.Write(newline)
	}
	return nil
}

func (p *piece) plainSize() int {
	if p.unparsed {
		return p.plainLen
	}
	n := 0
	for _, s := range p.stanzas {
		n += len(s.Text) + 1
	}
	return n
}

// pieceMeta is what a gzip member's extra field says about its piece.
type pieceMeta struct {
	version              byte
	plainLen, xzUnpadded int64
	count, allCount      int
	state, filter        []byte
	member               []byte // the whole gzip member
	body                 []byte // its deflate data
}

// pieceSummary is what a member's header says of the piece's stanzas.
type pieceSummary struct {
	count, allCount int
	filter          []byte
}

func summarize(stanzas []*Stanza) pieceSummary {
	sum := pieceSummary{count: len(stanzas)}
	names := make([]string, 0, len(stanzas))
	for _, s := range stanzas {
		if s.Architecture == "all" {
			sum.allCount++
		}
		names = append(names, s.Package)
	}
	slices.Sort(names)
	sum.filter = bloomFilter(slices.Compact(names))
	return sum
}

// gzipMember writes one gzip member holding plain, with the piece's
// metadata in its extra field. The output depends only on the input.
func gzipMember(plain []byte, xzUnpadded int64, state []byte, sum pieceSummary) ([]byte, error) {
	var body bytes.Buffer
	body.Grow(len(plain)/3 + 64)
	fw := flateWriters.Get().(*flate.Writer)
	defer flateWriters.Put(fw)
	fw.Reset(&body)
	if _, err := fw.Write(plain); err != nil {
		return nil, err
	}
	if err := fw.Close(); err != nil {
		return nil, err
	}
	filter := sum.filter
	if pieceHeaderState+len(state)+len(filter) > 0xffff {
		filter = nil // too many names for the field: the piece may hold any
	}
	data := []byte{pieceVersion}
	data = binary.LittleEndian.AppendUint64(data, uint64(body.Len()))
	data = binary.LittleEndian.AppendUint64(data, uint64(len(plain)))
	data = binary.LittleEndian.AppendUint64(data, uint64(xzUnpadded))
	data = binary.LittleEndian.AppendUint32(data, uint32(sum.count))
	data = binary.LittleEndian.AppendUint32(data, uint32(sum.allCount))
	data = append(data, byte(len(state)))
	data = append(data, state...)
	data = append(data, filter...)
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
	if err != nil || len(ms) != 1 || ms[0].version != pieceVersion || len(ms[0].state) != len(state) {
		return nil, fmt.Errorf("index piece: cannot rewrite its gzip header")
	}
	out := slices.Clone(member)
	copy(out[pieceHeaderState:], state)
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
		bodyLen := binary.LittleEndian.Uint64(data[1:])
		m := pieceMeta{
			version:    data[0],
			plainLen:   int64(binary.LittleEndian.Uint64(data[9:])),
			xzUnpadded: int64(binary.LittleEndian.Uint64(data[17:])),
			count:      -1,
		}
		switch m.version {
		case pieceV1:
			m.state = data[25:]
		case pieceVersion:
			if len(data) < pieceOffState || len(data) < pieceOffState+int(data[pieceOffState-1]) {
				return nil, errNoPieces
			}
			m.count = int(binary.LittleEndian.Uint32(data[25:]))
			m.allCount = int(binary.LittleEndian.Uint32(data[29:]))
			n := int(data[pieceOffState-1])
			m.state = data[pieceOffState : pieceOffState+n]
			m.filter = data[pieceOffState+n:]
		default:
			return nil, errNoPieces
		}
		end := uint64(12+xlen) + bodyLen + 8
		if bodyLen > uint64(len(rest)) || end > uint64(len(rest)) || m.plainLen < 0 || m.xzUnpadded < 0 || m.plainLen > math.MaxInt32 {
			return nil, errNoPieces
		}
		m.member = rest[:end]
		m.body = rest[12+xlen : end-8]
		rest = rest[end:]
		out = append(out, m)
	}
	return out, nil
}

// inflateMember decompresses a member written by gzipMember, appending
// its text to dst, and checks its CRC and size.
func inflateMember(dst, member []byte, plainLen int) ([]byte, error) {
	ms, err := splitGzip(member)
	if err != nil || len(ms) != 1 {
		return nil, fmt.Errorf("index piece: not a gzip member of debflow's")
	}
	dst = slices.Grow(dst, plainLen)
	out := dst[len(dst) : len(dst)+plainLen]
	fr := flateReaders.Get().(io.ReadCloser)
	defer flateReaders.Put(fr)
	if err := fr.(flate.Resetter).Reset(bytes.NewReader(ms[0].body), nil); err != nil {
		return nil, fmt.Errorf("index piece: %w", err)
	}
	if _, err := io.ReadFull(fr, out); err != nil {
		return nil, fmt.Errorf("index piece: %w", err)
	}
	var one [1]byte
	if n, _ := fr.Read(one[:]); n != 0 {
		return nil, fmt.Errorf("index piece: longer than its header says")
	}
	trailer := member[len(member)-8:]
	if crc32.ChecksumIEEE(out) != binary.LittleEndian.Uint32(trailer) || uint32(plainLen) != binary.LittleEndian.Uint32(trailer[4:]) {
		return nil, fmt.Errorf("index piece: its CRC or size does not match its data")
	}
	return dst[:len(dst)+plainLen], nil
}

// Deflate readers and writers are reused: a publish decompresses and
// compresses many pieces, and each new one allocates its tables (about
// 1 MB for a writer).
var (
	flateReaders = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}
	flateWriters = sync.Pool{New: func() any {
		fw, err := flate.NewWriter(io.Discard, pieceLevel)
		if err != nil {
			panic(err) // pieceLevel is a valid level
		}
		return fw
	}}
)

// pieceLevel is the deflate level of the pieces: gzip's default. Level 7
// made Packages.gz 0.7% smaller, took 30% longer to compress a piece and
// a third more memory per writer (1 MB).
const pieceLevel = 6

// Bloom filters of package names: bloomBits bits per name and bloomHashes
// probes (a false positive rate of about 0.05%, which costs decompressing
// one piece of 64 KiB for nothing).
const (
	bloomBits   = 16
	bloomHashes = 11
)

func bloomFilter(names []string) []byte {
	f := make([]byte, max(8, (len(names)*bloomBits+7)/8))
	for _, n := range names {
		h1, h2 := bloomHash(n)
		for i := range uint32(bloomHashes) {
			b := (h1 + i*h2) % uint32(len(f)*8)
			f[b/8] |= 1 << (b % 8)
		}
	}
	return f
}

// bloomMayHash says whether a piece with filter f may hold the package
// name whose bloomHash is h1, h2.
func bloomMayHash(f []byte, h1, h2 uint32) bool {
	if len(f) == 0 {
		return true
	}
	for i := range uint32(bloomHashes) {
		b := (h1 + i*h2) % uint32(len(f)*8)
		if f[b/8]&(1<<(b%8)) == 0 {
			return false
		}
	}
	return true
}

func bloomHash(name string) (uint32, uint32) {
	h := fnv.New64a()
	h.Write([]byte(name))
	s := h.Sum64()
	return uint32(s), uint32(s>>32) | 1
}

// loadPieces builds an index from its pieced gzip file (and xz file, when
// published), reading only the members' headers. It fails with
// errNoPieces when the gzip file was not written in pieces: the caller
// then reads the index whole.
func loadPieces(gz, xz []byte) (*Index, error) {
	metas, err := splitGzip(gz)
	if err != nil {
		return nil, err
	}
	var unpadded []int64
	for _, m := range metas {
		if m.xzUnpadded > 0 {
			unpadded = append(unpadded, m.xzUnpadded)
		}
	}
	var blocks [][]byte
	if xz != nil {
		if blocks, err = compress.XzSplitBlocks(xz, unpadded); err != nil {
			blocks = nil // compressed again when needed
		}
	}
	idx := NewIndex()
	idx.pieces = []*piece{}
	for _, m := range metas {
		p := &piece{gz: m.member, state: m.state, filter: m.filter, legacy: m.version == pieceV1,
			plainLen: int(m.plainLen), count: m.count, allCount: m.allCount}
		if blocks != nil {
			p.hasXz = true
			if m.xzUnpadded > 0 {
				p.xz, blocks = blocks[0], blocks[1:]
				p.xzInfo = compress.XzBlockInfo{Unpadded: m.xzUnpadded, Uncompressed: m.plainLen}
			}
		}
		p.unparsed = p.plainLen > 0
		idx.lazy = idx.lazy || p.unparsed
		idx.pieces = append(idx.pieces, p)
	}
	return idx, nil
}

// parseText splits a piece's text into stanzas.
func parseText(text []byte) ([]*Stanza, error) {
	if len(text) > 0 && !bytes.HasSuffix(text, []byte("\n\n")) {
		return nil, fmt.Errorf("index piece does not end in a blank line")
	}
	var out []*Stanza
	for len(text) > 0 {
		var st []byte
		if j := bytes.Index(text, []byte("\n\n")); j >= 0 {
			st, text = text[:j+1], text[j+2:]
		} else {
			st, text = text, nil
		}
		s, err := parseStanza(st)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// parsePiece parses an unparsed piece's stanzas into the index.
func (x *Index) parsePiece(p *piece) {
	if !p.unparsed {
		return
	}
	text, err := p.text()
	var stanzas []*Stanza
	if err == nil {
		stanzas, err = parseText(text)
	}
	x.addParsed(p, stanzas, err)
}

// addParsed records a piece's parsed stanzas in the index.
func (x *Index) addParsed(p *piece, stanzas []*Stanza, err error) {
	p.unparsed, p.raw = false, nil
	if err == nil && p.count >= 0 && len(stanzas) != p.count {
		err = fmt.Errorf("index piece holds %d stanzas, its header says %d", len(stanzas), p.count)
	}
	for _, s := range stanzas {
		if _, dup := x.byKey[s.Key()]; dup && err == nil {
			err = fmt.Errorf("index lists %s twice", s.Key())
		}
		x.put(s)
		if x.at != nil {
			x.at[s.Key()] = p
		}
	}
	p.stanzas = stanzas
	if err != nil && x.err == nil {
		x.err = err
	}
}

// parseName parses the unparsed pieces that hold a stanza of the package.
// A piece is searched only when its filter may hold the name; a false
// positive (about one piece in 2,000) is decompressed into a scratch
// buffer and forgotten, so that a batch of thousands of new packages holds
// only the pieces it found names in. Pieces without a filter (version 1)
// are searched whole; after lazyLookups such lookups the index is parsed
// once instead.
func (x *Index) parseName(name string) {
	if !x.lazy || x.wasLooked(name) {
		return
	}
	h1, h2 := bloomHash(name)
	counted := false
	for _, p := range x.pieces {
		if !p.unparsed || !bloomMayHash(p.filter, h1, h2) {
			continue
		}
		if len(p.filter) == 0 && !counted {
			counted = true
			if x.lookups++; x.lookups > lazyLookups {
				x.parseAll()
				return
			}
		}
		x.parseIfHolds(p, []string{name})
	}
}

// parseNames is parseName for a batch of names (a publish of many
// packages): each piece whose filter may hold one of them is decompressed
// once, not once per name, and later lookups of these names search no
// piece again.
func (x *Index) parseNames(names []string) {
	if !x.lazy || len(names) < 2 {
		return
	}
	type probe struct{ h1, h2 uint32 }
	probes := make([]probe, len(names))
	for i, name := range names {
		probes[i].h1, probes[i].h2 = bloomHash(name)
	}
	var maybe []string
	for _, p := range x.pieces {
		if !p.unparsed {
			continue
		}
		if len(p.filter) == 0 { // version 1: a batch parses it
			x.parsePiece(p)
			continue
		}
		maybe = maybe[:0]
		for i, pr := range probes {
			if bloomMayHash(p.filter, pr.h1, pr.h2) {
				maybe = append(maybe, names[i])
			}
		}
		if len(maybe) > 0 {
			x.parseIfHolds(p, maybe)
		}
	}
	x.looked = slices.Clone(names)
	slices.Sort(x.looked)
}

// parseIfHolds parses the unparsed piece p when its text holds a stanza of
// one of the names. A text decompressed only to be searched goes to the
// scratch buffer, and is kept only when the piece is parsed.
func (x *Index) parseIfHolds(p *piece, names []string) {
	text := p.raw
	if text == nil {
		var err error
		if x.scratch, err = inflateMember(x.scratch[:0], p.gz, p.plainLen); err != nil {
			x.addParsed(p, nil, err)
			return
		}
		text = x.scratch
	}
	for _, name := range names {
		if mentions(text, []byte("Package: "+name+"\n")) {
			if p.raw == nil {
				p.raw = slices.Clone(text)
			}
			x.parsePiece(p)
			return
		}
	}
}

// wasLooked says whether parseNames has dealt with the name.
func (x *Index) wasLooked(name string) bool {
	_, ok := slices.BinarySearch(x.looked, name)
	return ok
}

// mentions says whether the piece's text has the line needle.
func mentions(text, needle []byte) bool {
	for off := 0; ; {
		i := bytes.Index(text[off:], needle)
		if i < 0 {
			return false
		}
		if i += off; i == 0 || text[i-1] == '\n' {
			return true
		}
		off = i + 1
	}
}

// lazyLookups is how many packages are looked up in pieces without a
// filter before the whole index is parsed.
const lazyLookups = 64

// parseAll parses every piece, decompressing and parsing them on every
// core.
func (x *Index) parseAll() {
	if !x.lazy {
		return
	}
	var todo []*piece
	for _, p := range x.pieces {
		if p.unparsed {
			todo = append(todo, p)
		}
	}
	// The maps are made at the size the headers say, not grown.
	n := len(x.byKey)
	for _, p := range todo {
		n += max(p.count, 0)
	}
	if n > 2*len(x.byKey) {
		byKey := make(map[Key]*Stanza, n)
		maps.Copy(byKey, x.byKey)
		x.byKey = byKey
		if x.at != nil {
			at := make(map[Key]*piece, n)
			maps.Copy(at, x.at)
			x.at = at
		}
	}
	parsed := make([][]*Stanza, len(todo))
	errs := make([]error, len(todo))
	_ = parallel(len(todo), func(i int) error {
		text, err := todo[i].text()
		if err == nil {
			parsed[i], err = parseText(text)
		}
		errs[i] = err
		return nil
	})
	for i, p := range todo {
		x.addParsed(p, parsed[i], errs[i])
	}
	x.lazy = false
}

// parseMentioning parses the unparsed pieces in which one of the fields
// (relationship fields, lower-case names; a field name matches without
// regard to case) names one of the packages in names. Every unparsed piece
// is decompressed (on every core) and keeps its text, which a later search
// or render reuses.
func (x *Index) parseMentioning(fields []string, names []string) {
	if !x.lazy || len(names) == 0 {
		return
	}
	x.inflatePieces()
	set := make(map[string]bool, len(names))
	for _, n := range names {
		set[n] = true
	}
	for _, p := range x.pieces {
		if p.unparsed && p.raw != nil && fieldsName(p.raw, fields, set) {
			x.parsePiece(p)
		}
	}
}

// inflatePieces decompresses the text of every unparsed piece that lacks
// it, on every core.
func (x *Index) inflatePieces() {
	var todo []*piece
	for _, p := range x.pieces {
		if p.unparsed && p.raw == nil && p.plainLen > 0 {
			todo = append(todo, p)
		}
	}
	errs := make([]error, len(todo))
	_ = parallel(len(todo), func(i int) error {
		_, errs[i] = todo[i].text()
		return nil
	})
	for i, p := range todo {
		if errs[i] != nil {
			x.addParsed(p, nil, errs[i])
		}
	}
}

// fieldsName says whether one of the relationship fields (lower case) of a
// stanza in text names one of the packages in names, in any alternative:
// "Depends: a (>= 1), b:any | c [amd64]" names a, b and c. Continuation
// lines count as their field's.
func fieldsName(text []byte, fields []string, names map[string]bool) bool {
	in := false // the current line continues one of the fields
	for len(text) > 0 {
		var line []byte
		line, text = cutLine(text)
		if len(line) == 0 {
			in = false
			continue
		}
		if line[0] != ' ' && line[0] != '\t' {
			in = false
			c := line[0] | 0x20 // lower case
			if c != fields[0][0] && !slices.ContainsFunc(fields[1:], func(f string) bool { return f[0] == c }) {
				continue // most lines, cheaply
			}
			name, value, ok := bytes.Cut(line, []byte(":"))
			if !ok || !slices.ContainsFunc(fields, func(f string) bool { return bytes.EqualFold(name, []byte(f)) }) {
				continue
			}
			in, line = true, value
		} else if !in {
			continue
		}
		if relationNames(line, names) {
			return true
		}
	}
	return false
}

// relationNames says whether a relationship field's value (or a line of
// it) names one of the packages in names.
func relationNames(value []byte, names map[string]bool) bool {
	for len(value) > 0 {
		// An alternative starts after a ',' or '|': its name runs to the
		// first space, '(', ':', '[', '<', ',' or '|'.
		value = bytes.TrimLeft(value, " \t,|")
		end := bytes.IndexAny(value, " \t(:[<,|")
		if end < 0 {
			end = len(value)
		}
		if end > 0 && names[string(value[:end])] {
			return true
		}
		next := bytes.IndexAny(value, ",|")
		if next < 0 {
			return false
		}
		value = value[next:]
	}
	return false
}

// parseArchUntil parses the unparsed pieces that hold packages of an
// architecture other than all (their headers say so), in file order, until
// found holds for a stanza; the parsed stanzas are looked at first.
func (x *Index) parseArchUntil(found func(*Stanza) bool) {
	for _, s := range x.byKey {
		if found(s) {
			return
		}
	}
	for _, p := range x.pieces {
		if !p.unparsed || p.count >= 0 && p.count == p.allCount {
			continue
		}
		x.parsePiece(p)
		if slices.ContainsFunc(p.stanzas, found) {
			return
		}
	}
}

// counts returns the number of stanzas of the index and of its
// Architecture: all ones, from the pieces' headers where they are not
// parsed.
func (x *Index) counts() (n, all int) {
	for _, p := range x.pieces {
		if p.unparsed && p.count < 0 {
			x.parseAll()
			break
		}
	}
	for _, p := range x.pieces {
		if p.unparsed {
			n, all = n+p.count, all+p.allCount
		}
	}
	for _, s := range x.byKey {
		n++
		if s.Architecture == "all" {
			all++
		}
	}
	return n, all
}

// renderedIndex is an index ready to be written.
type renderedIndex struct {
	plainSum Hashes
	// files are the pieced formats (gz, xz), each as the parts to write
	// one after the other: the pieces' compressed bytes, not a second
	// copy of them.
	files  map[compress.Format][][]byte
	pieces []*piece
}

// plain returns the whole plain index, decompressing the pieces that are
// not parsed.
func (ri *renderedIndex) plain() ([]byte, error) {
	buf := make([]byte, 0, ri.plainSum.Size)
	for _, p := range ri.pieces {
		var err error
		if buf, err = p.plainTo(buf); err != nil {
			return nil, err
		}
	}
	return buf, nil
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
		added = x.addedStanzas()
	}
	// Which pieces stay: the clean ones keep their compressed bytes. A
	// changed piece (or one that lacks a format, or a version 1 member)
	// is compressed again; emptied ones go.
	stale := func(p *piece) bool {
		return p.dirty || p.state == nil || p.legacy || !want[compress.Gzip] || p.gz == nil || want[compress.Xz] != p.hasXz
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
	if x.err != nil {
		return nil, x.err
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
		if err := last.writeTo(h); err != nil {
			return nil, err
		}
	}
	// The hash runs through the pieces in order; the pieces to compress
	// are laid out again in the parallel jobs, one at a time per core, so
	// that a large first publish never holds its whole plain text.
	var jobs []int
	for i := first; i < len(pieces); i++ {
		p := pieces[i]
		st, err := h.(encoding.BinaryMarshaler).MarshalBinary()
		if err != nil {
			return nil, err
		}
		moved := !bytes.Equal(st, p.state)
		p.state = st
		if err := p.writeTo(h); err != nil {
			return nil, err
		}
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
		p := pieces[jobs[j]]
		plain, err := p.plainTo(make([]byte, 0, p.plainSize()))
		if err != nil {
			return err
		}
		p.gz, p.xz, p.xzInfo, p.hasXz = nil, nil, compress.XzBlockInfo{}, false
		if want[compress.Xz] {
			p.hasXz = true
			if len(plain) > 0 { // an empty piece has no block
				if p.xz, p.xzInfo, err = compress.XzBlock(plain); err != nil {
					return err
				}
			}
		}
		if want[compress.Gzip] {
			gz, err := gzipMember(plain, p.xzInfo.Unpadded, p.state, summarize(p.stanzas))
			if err != nil {
				return err
			}
			p.gz = gz
		}
		p.dirty, p.legacy = false, false
		return nil
	})
	if err != nil {
		return nil, err
	}

	out := &renderedIndex{files: map[compress.Format][][]byte{}, pieces: pieces}
	n := 0
	for _, p := range pieces {
		n += p.plainSize()
	}
	out.plainSum = Hashes{Size: int64(n), SHA256: hex.EncodeToString(sum)}
	if want[compress.Gzip] {
		members := make([][]byte, len(pieces))
		for i, p := range pieces {
			members[i] = p.gz
		}
		out.files[compress.Gzip] = members
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
		out.files[compress.Xz] = compress.XzStreamParts(blocks, infos)
	}

	// The index now stands as published. Which piece holds a key is
	// worked out again if the index changes further (see pieceOf): most
	// renders are the last thing done with the index.
	x.pieces = pieces
	x.at = nil
	return out, nil
}

// hashParts is hashSHA256 of parts written one after the other.
func hashParts(parts [][]byte) Hashes {
	h := sha256.New()
	n := 0
	for _, p := range parts {
		h.Write(p)
		n += len(p)
	}
	return Hashes{Size: int64(n), SHA256: hex.EncodeToString(h.Sum(nil))}
}

// hashSHA256 is the only sum debflow lists for the files it writes: apt
// uses the strongest hash a Release lists, and SHA-256 is what it checks.
func hashSHA256(data []byte) Hashes {
	s := sha256.Sum256(data)
	return Hashes{Size: int64(len(data)), SHA256: hex.EncodeToString(s[:])}
}
