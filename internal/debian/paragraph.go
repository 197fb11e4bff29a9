package debian

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// ErrSyntax is wrapped by every error about malformed control data.
var ErrSyntax = errors.New("control syntax error")

// Field is one "Name: value" pair. A multi-line value keeps its
// continuation lines, each without its leading space, joined by "\n".
type Field struct {
	Name  string
	Value string
}

// Paragraph is a deb822 stanza with its fields in their original order.
// Lookups compare names case-insensitively, as dpkg does.
type Paragraph []Field

// Get returns the value of the named field, or "" when it is absent.
func (p Paragraph) Get(name string) string {
	v, _ := p.Lookup(name)
	return v
}

// Lookup returns the value of the named field and whether it is present.
func (p Paragraph) Lookup(name string) (string, bool) {
	for _, f := range p {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Set replaces the value of the named field, or appends the field.
func (p *Paragraph) Set(name, value string) {
	for i, f := range *p {
		if strings.EqualFold(f.Name, name) {
			(*p)[i].Value = value
			return
		}
	}
	*p = append(*p, Field{Name: name, Value: value})
}

// Delete removes the named field if present.
func (p *Paragraph) Delete(name string) {
	out := (*p)[:0]
	for _, f := range *p {
		if !strings.EqualFold(f.Name, name) {
			out = append(out, f)
		}
	}
	*p = out
}

// WriteTo writes the paragraph in deb822 form, without a trailing blank line.
// Continuation lines are indented by one space, and empty continuation lines
// are written as " .", as Debian policy requires.
func (p Paragraph) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(p.Bytes())
	return int64(n), err
}

// Bytes returns the paragraph as WriteTo writes it, in a slice of exactly
// its size.
func (p Paragraph) Bytes() []byte {
	return p.AppendText(make([]byte, 0, p.textSize()))
}

// AppendText appends the paragraph as WriteTo writes it to dst.
func (p Paragraph) AppendText(dst []byte) []byte {
	for _, f := range p {
		dst = append(dst, f.Name...)
		dst = append(dst, ':')
		first, rest, multi := strings.Cut(f.Value, "\n")
		if first != "" {
			dst = append(dst, ' ')
			dst = append(dst, first...)
		}
		dst = append(dst, '\n')
		for multi {
			var l string
			l, rest, multi = strings.Cut(rest, "\n")
			if l == "" {
				l = "."
			}
			dst = append(dst, ' ')
			dst = append(dst, l...)
			dst = append(dst, '\n')
		}
	}
	return dst
}

// textSize is the length of the paragraph's text, counted as AppendText
// writes it.
func (p Paragraph) textSize() int {
	n := 0
	for _, f := range p {
		n += len(f.Name) + 2 // "Name:" and the newline
		first, rest, multi := strings.Cut(f.Value, "\n")
		if first != "" {
			n += 1 + len(first)
		}
		for multi {
			var l string
			l, rest, multi = strings.Cut(rest, "\n")
			n += 1 + max(len(l), 1) + 1 // " ", the line or ".", "\n"
		}
	}
	return n
}

// Validate checks every field name and value with ValidFieldName and
// ValidFieldValue.
func (p Paragraph) Validate() error {
	seen := make(map[string]bool, len(p))
	for _, f := range p {
		if err := ValidFieldName(f.Name); err != nil {
			return err
		}
		key := strings.ToLower(f.Name)
		if seen[key] {
			return fmt.Errorf("%w: field %q appears twice", ErrSyntax, f.Name)
		}
		seen[key] = true
		if err := ValidFieldValue(f.Name, f.Value); err != nil {
			return err
		}
	}
	return nil
}

// ValidFieldName reports whether name may be a field name: printable ASCII
// without ':' or spaces, not starting with '#' or '-'.
func ValidFieldName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty field name", ErrSyntax)
	}
	if name[0] == '#' || name[0] == '-' {
		return fmt.Errorf("%w: field name %q starts with %q", ErrSyntax, name, name[0])
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return fmt.Errorf("%w: field name %q contains byte %#x", ErrSyntax, name, c)
		}
	}
	return nil
}

// ValidFieldValue refuses values that would change the structure of a
// stanza once written: control characters other than tabs and the newlines
// that separate continuation lines, and continuation lines of white space
// only (they would end the stanza). An empty continuation line is fine: it
// is written as " .".
func ValidFieldValue(name, value string) error {
	for i, line := range strings.Split(value, "\n") {
		for j := 0; j < len(line); j++ {
			if c := line[j]; (c < ' ' && c != '\t') || c == 0x7f {
				return fmt.Errorf("%w: field %s: control character %#x", ErrSyntax, name, c)
			}
		}
		if i > 0 && line != "" && strings.TrimSpace(line) == "" {
			return fmt.Errorf("%w: field %s: continuation line %d holds only white space", ErrSyntax, name, i)
		}
	}
	return nil
}

// ParseParagraph parses exactly one stanza. Comment lines are not allowed
// (binary package control files have none), nor are blank lines except at
// the end, nor duplicate fields.
func ParseParagraph(data []byte) (Paragraph, error) {
	ps, err := parse(data, 1)
	if err != nil {
		return nil, err
	}
	if len(ps) != 1 {
		return nil, fmt.Errorf("%w: want one stanza, found %d", ErrSyntax, len(ps))
	}
	return ps[0], nil
}

// ParseParagraphs parses a file of stanzas separated by blank lines, such as
// a Packages index.
func ParseParagraphs(data []byte) ([]Paragraph, error) {
	return parse(data, -1)
}

func parse(data []byte, max int) ([]Paragraph, error) {
	// One copy of the text: every single-line value is a substring of it,
	// and a multi-line value is built once, at its size. A package's
	// paragraph is held until its index stanza is written (thousands at
	// once in a large publish), so it is kept compact.
	text := string(data)
	var (
		out []Paragraph
		cur Paragraph
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		if err := cur.Validate(); err != nil {
			return err
		}
		out = append(out, cur)
		cur = nil
		if max > 0 && len(out) > max {
			return fmt.Errorf("%w: more than %d stanza(s)", ErrSyntax, max)
		}
		return nil
	}
	lineNo := 0
	for rest := text; rest != ""; {
		lineNo++
		i := strings.IndexByte(rest, '\n')
		if i < 0 {
			return nil, fmt.Errorf("%w: line %d: missing final newline", ErrSyntax, lineNo)
		}
		line := rest[:i]
		rest = rest[i+1:]
		if strings.TrimRight(line, " \t") == "" {
			if err := flush(); err != nil {
				return nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			return nil, fmt.Errorf("%w: line %d: continuation line outside a field", ErrSyntax, lineNo)
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("%w: line %d: no ':' in %q", ErrSyntax, lineNo, truncate(line))
		}
		if cur == nil {
			cur = make(Paragraph, 0, countFields(rest)+1)
		}
		value = strings.TrimSpace(value)
		// The field's continuation lines, if any: lines that start with
		// white space and hold something else (a line of white space only
		// ends the stanza).
		cont := 0
		for cont < len(rest) && (rest[cont] == ' ' || rest[cont] == '\t') {
			j := strings.IndexByte(rest[cont:], '\n')
			if j < 0 || strings.TrimRight(rest[cont:cont+j], " \t") == "" {
				break // the missing newline or the blank line is met below
			}
			cont += j + 1
		}
		if cont > 0 {
			var b strings.Builder
			b.Grow(len(value) + cont)
			b.WriteString(value)
			for l := range strings.Lines(rest[:cont]) {
				lineNo++
				l = strings.TrimRight(l[1:len(l)-1], " \t")
				if l == "." {
					l = ""
				}
				b.WriteByte('\n')
				b.WriteString(l)
			}
			value = b.String()
			rest = rest[cont:]
		}
		cur = append(cur, Field{Name: name, Value: value})
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// countFields counts the field lines of text up to its first blank line.
func countFields(text string) int {
	n := 0
	for text != "" {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			i = len(text) - 1
		}
		line := text[:i]
		text = text[i+1:]
		if strings.TrimRight(line, " \t") == "" {
			break
		}
		if line[0] != ' ' && line[0] != '\t' {
			n++
		}
	}
	return n
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
