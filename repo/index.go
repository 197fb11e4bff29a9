package repo

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/debflow/debflow/internal/debian"
)

// Stanza is one package's entry in a Packages index. Its text is kept as
// written, so that an index read back and written again is byte-identical,
// and only the fields the publisher needs are pulled out.
type Stanza struct {
	Package      string
	Version      string
	Architecture string
	Filename     string
	SHA256       string
	Size         int64
	Text         []byte // the stanza, ending in "\n", without the blank separator line
}

// Key identifies a package in a suite: name, version and architecture.
type Key struct{ Package, Version, Architecture string }

// Key returns the stanza's identity.
func (s *Stanza) Key() Key { return Key{s.Package, s.Version, s.Architecture} }

func (k Key) String() string { return k.Package + "_" + k.Version + "_" + k.Architecture }

// Index is the set of packages in one Packages file.
type Index struct {
	// byKey holds the parsed stanzas: all of them, unless pieces are
	// still unparsed (lazy); use stanzaMap to range over all.
	byKey map[Key]*Stanza
	// versions holds each package name's stanzas, so that retention looks
	// at one package without scanning the index; nil until byName needs
	// it.
	versions map[string]map[Key]*Stanza
	// pieces is the index as published, in file order (see pieces.go);
	// nil for an index built afresh, which renders sorted. at says which
	// piece holds a key (nil: to be worked out again, see pieceOf); the
	// stanzas no piece holds are those put since the index was loaded.
	pieces []*piece
	at     map[Key]*piece
	// lazy says some pieces are not parsed yet: a lookup parses only the
	// pieces that hold the package, so that a publish does not parse the
	// suite (looked: the names a batch lookup has dealt with). lookups
	// counts the lookups that had to search pieces without a filter
	// (written by an older debflow); scratch is where a piece whose filter
	// answers "maybe" is decompressed to be searched. err is the first
	// parse error met on the way.
	lazy    bool
	lookups int
	scratch []byte
	looked  []string // sorted: the names whose pieces parseNames has parsed
	err     error
	// plainStored says the plain Packages this index was read from is
	// stored (an older debflow's layout): its named copy goes at the
	// next change (see stored).
	plainStored bool
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{byKey: map[Key]*Stanza{},
		at: map[Key]*piece{}}
}

// ParseIndex reads a Packages file that debflow wrote. It relies on the
// fields being on single lines, as debflow writes them, and so avoids a
// full deb822 parse: this is the hot path of every publish.
func ParseIndex(data []byte) (*Index, error) {
	idx := NewIndex()
	for len(data) > 0 {
		var text []byte
		if i := bytes.Index(data, []byte("\n\n")); i >= 0 {
			text, data = data[:i+1], data[i+2:]
		} else {
			text, data = data, nil
		}
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		s, err := parseStanza(text)
		if err != nil {
			return nil, err
		}
		if _, dup := idx.byKey[s.Key()]; dup {
			return nil, fmt.Errorf("index lists %s twice", s.Key())
		}
		idx.Put(s)
	}
	return idx, nil
}

func parseStanza(text []byte) (*Stanza, error) {
	s := &Stanza{Text: text}
	// The five strings are copied out of the text in one allocation:
	// an index of thousands of stanzas holds them all.
	var vals [5][]byte // Package, Version, Architecture, Filename, SHA256
	for rest := text; len(rest) > 0; {
		var line []byte
		line, rest = cutLine(rest)
		name, value, ok := bytes.Cut(line, []byte(": "))
		if !ok || len(line) == 0 || line[0] == ' ' {
			continue
		}
		switch string(name) {
		case "Package":
			vals[0] = value
		case "Version":
			vals[1] = value
		case "Architecture":
			vals[2] = value
		case "Filename":
			vals[3] = value
		case "SHA256":
			vals[4] = value
		case "Size":
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("index stanza for %s: bad Size %q", vals[0], value)
			}
			s.Size = n
		}
	}
	var b strings.Builder
	b.Grow(len(vals[0]) + len(vals[1]) + len(vals[2]) + len(vals[3]) + len(vals[4]))
	for _, v := range vals {
		b.Write(v)
	}
	all := b.String()
	strs := [5]*string{&s.Package, &s.Version, &s.Architecture, &s.Filename, &s.SHA256}
	for i, v := range vals {
		*strs[i], all = all[:len(v)], all[len(v):]
	}
	if s.Package == "" || s.Version == "" || s.Architecture == "" || s.Filename == "" || s.SHA256 == "" {
		return nil, fmt.Errorf("index stanza lacks Package, Version, Architecture, Filename or SHA256: %.80q", text)
	}
	return s, nil
}

// cutLine returns the first line of text, without its newline, and what
// follows it.
func cutLine(text []byte) (line, rest []byte) {
	line, rest, _ = bytes.Cut(text, newline)
	return line, rest
}

// Len returns the number of packages.
func (x *Index) Len() int { return len(x.stanzaMap()) }

// Get returns the stanza for k, or nil.
func (x *Index) Get(k Key) *Stanza {
	x.parseName(k.Package)
	return x.byKey[k]
}

// Put adds or replaces a stanza. In an index loaded in pieces, a new
// stanza goes at the end and a replaced one stays where it was.
func (x *Index) Put(s *Stanza) {
	k := s.Key()
	x.parseName(k.Package)
	if x.pieces != nil {
		if p := x.pieceOf(k); p != nil {
			for i, old := range p.stanzas {
				if old.Key() == k {
					p.stanzas[i] = s
				}
			}
			p.dirty = true
		}
	}
	x.put(s)
}

// addedStanzas returns, sorted, the stanzas put since the index was
// loaded in pieces: those no piece holds.
func (x *Index) addedStanzas() []*Stanza {
	var added []*Stanza
	for k, s := range x.byKey {
		if x.pieceOf(k) == nil {
			added = append(added, s)
		}
	}
	sort.Slice(added, func(i, j int) bool { return lessStanza(added[i], added[j]) })
	return added
}

// put records a stanza in the maps, without searching the pieces: Put
// for a key that no piece holds, which a caller that looked it up (Get)
// and found nothing knows.
func (x *Index) put(s *Stanza) {
	k := s.Key()
	x.byKey[k] = s
	if x.versions == nil {
		return // built by byName when first needed
	}
	v := x.versions[k.Package]
	if v == nil {
		v = map[Key]*Stanza{}
		x.versions[k.Package] = v
	}
	v[k] = s
}

// pieceOf returns the parsed piece that holds k, if any, making the map
// of parsed keys to pieces when a render dropped it.
func (x *Index) pieceOf(k Key) *piece {
	if x.at == nil {
		x.at = map[Key]*piece{}
		for _, p := range x.pieces {
			for _, s := range p.stanzas { // none in unparsed pieces
				x.at[s.Key()] = p
			}
		}
	}
	return x.at[k]
}

// Delete removes a stanza.
func (x *Index) Delete(k Key) {
	x.parseName(k.Package)
	if p := x.pieceOf(k); p != nil {
		p.stanzas = slices.DeleteFunc(p.stanzas, func(s *Stanza) bool { return s.Key() == k })
		p.dirty = true
		delete(x.at, k)
	}
	delete(x.byKey, k)
	if v := x.versions[k.Package]; v != nil {
		delete(v, k)
		if len(v) == 0 {
			delete(x.versions, k.Package)
		}
	}
}

// Stanzas returns the stanzas in index order: by package name, then by
// version in dpkg order, then by architecture.
func (x *Index) Stanzas() []*Stanza {
	all := x.stanzaMap()
	out := make([]*Stanza, 0, len(all))
	for _, s := range all {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return lessStanza(out[i], out[j]) })
	return out
}

func lessStanza(a, b *Stanza) bool {
	if a.Package != b.Package {
		return a.Package < b.Package
	}
	if c := debian.CompareVersions(a.Version, b.Version); c != 0 {
		return c < 0
	}
	return a.Architecture < b.Architecture
}

// stanzaMap returns every stanza by key, parsing what is not parsed yet.
func (x *Index) stanzaMap() map[Key]*Stanza {
	x.parseAll()
	return x.byKey
}

// Bytes renders the index as a Packages file: in the order of its pieces
// with additions at the end when it was loaded in pieces, sorted when it
// was built afresh.
func (x *Index) Bytes() []byte {
	stanzas := x.Stanzas()
	if x.pieces != nil {
		stanzas = stanzas[:0]
		for _, p := range x.pieces {
			stanzas = append(stanzas, p.stanzas...)
		}
		stanzas = append(stanzas, x.addedStanzas()...)
	}
	n := 0
	for _, s := range stanzas {
		n += len(s.Text) + 1
	}
	// Every stanza is followed by a blank line, the last one too, as in
	// Debian's own indexes: debootstrap takes a stanza only at the blank
	// line after it, and would miss the last package otherwise.
	buf := make([]byte, 0, n)
	for _, s := range stanzas {
		buf = append(buf, s.Text...)
		buf = append(buf, '\n')
	}
	return buf
}

// NewStanza builds the index entry for a package from its control data
// and the facts only the publisher knows: where it lies and its hashes.
// Publisher fields go last, as in Debian's own indexes.
func NewStanza(control debian.Paragraph, filename string, size int64, md5, sha256 string) (*Stanza, error) {
	p := append(slices.Clip(control), publisherTail(filename, size, md5, sha256)...)
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return parseStanza(p.Bytes())
}

// stanzaOf is NewStanza for the text of a checked package's control
// paragraph (see Package), which debfile made sure holds no publisher
// field: the stanza's text is made once, at its size.
func stanzaOf(control []byte, filename string, size int64, md5, sha256 string) (*Stanza, error) {
	tail := publisherTail(filename, size, md5, sha256)
	if err := tail.Validate(); err != nil {
		return nil, err
	}
	text := make([]byte, 0, len(control)+len(tail.Bytes()))
	return parseStanza(tail.AppendText(append(text, control...)))
}

// control returns the text of a stanza made by stanzaOf without the
// publisher's fields: the package's control paragraph.
func (s *Stanza) control() []byte {
	i := bytes.Index(s.Text, []byte("\nFilename: "))
	return slices.Clone(s.Text[:i+1])
}

// publisherTail is the fields the publisher adds to a package's stanza.
func publisherTail(filename string, size int64, md5, sha256 string) debian.Paragraph {
	return debian.Paragraph{
		{Name: "Filename", Value: filename},
		{Name: "Size", Value: strconv.FormatInt(size, 10)},
		{Name: "MD5sum", Value: md5},
		{Name: "SHA256", Value: sha256},
	}
}

// byName returns every stanza of a package, in no particular order.
func (x *Index) byName(name string) []*Stanza {
	x.parseName(name)
	if x.versions == nil {
		x.versions = map[string]map[Key]*Stanza{}
		for _, s := range x.byKey {
			x.put(s)
		}
	}
	out := make([]*Stanza, 0, len(x.versions[name]))
	for _, s := range x.versions[name] {
		out = append(out, s)
	}
	return out
}
