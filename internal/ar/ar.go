// Package ar reads and writes the common ar archive format that .deb files
// use (deb(5)): an 8-byte magic, then members with 60-byte headers whose
// data is padded to an even length.
//
// debflow first used github.com/blakesmith/ar, as planned, and dropped it
// for two reasons found while testing: its Writer pads after every Write
// call with an odd length instead of once per member, which corrupts any
// member written in pieces (io.Copy of a large data.tar), and its Reader
// ignores the magic and malformed numbers and panics on a short mode field,
// which matters because publish reads packages from untrusted CI jobs.
// This package is small, strict, streams, and is fuzzed.
package ar

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Magic starts every ar archive.
const Magic = "!<arch>\n"

const headerSize = 60

// ErrFormat is wrapped by every error about a malformed archive.
var ErrFormat = errors.New("malformed ar archive")

// Header describes one member.
type Header struct {
	Name    string
	ModTime time.Time
	UID     int
	GID     int
	Mode    int64
	Size    int64
}

// Writer writes an ar archive member by member.
type Writer struct {
	w       io.Writer
	started bool
	left    int64 // bytes of the current member not yet written
	pad     bool  // the current member needs a padding byte
}

// NewWriter returns a Writer that writes the magic before the first member.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// WriteHeader finishes the previous member and starts a new one. Names are
// written as dpkg-deb writes them: at most 15 bytes, no trailing slash.
func (aw *Writer) WriteHeader(h *Header) error {
	if err := aw.finish(); err != nil {
		return err
	}
	if !aw.started {
		if _, err := io.WriteString(aw.w, Magic); err != nil {
			return err
		}
		aw.started = true
	}
	if len(h.Name) == 0 || len(h.Name) > 15 || strings.ContainsAny(h.Name, " /") {
		return fmt.Errorf("ar: member name %q: want 1 to 15 bytes without spaces or '/'", h.Name)
	}
	if h.Size < 0 {
		return fmt.Errorf("ar: member %s: negative size", h.Name)
	}
	hdr := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8o%-10d`\n", h.Name, h.ModTime.Unix(), h.UID, h.GID, h.Mode, h.Size)
	if len(hdr) != headerSize {
		return fmt.Errorf("ar: member %s: header fields do not fit", h.Name)
	}
	if _, err := io.WriteString(aw.w, hdr); err != nil {
		return err
	}
	aw.left, aw.pad = h.Size, h.Size%2 == 1
	return nil
}

// Write writes data of the current member.
func (aw *Writer) Write(p []byte) (int, error) {
	if int64(len(p)) > aw.left {
		return 0, fmt.Errorf("ar: write exceeds the member's declared size by %d bytes", int64(len(p))-aw.left)
	}
	n, err := aw.w.Write(p)
	aw.left -= int64(n)
	return n, err
}

// Close finishes the last member. It does not close the underlying writer.
func (aw *Writer) Close() error { return aw.finish() }

func (aw *Writer) finish() error {
	if aw.left != 0 {
		return fmt.Errorf("ar: member is %d bytes short of its declared size", aw.left)
	}
	if aw.pad {
		aw.pad = false
		_, err := aw.w.Write([]byte{'\n'})
		return err
	}
	return nil
}

// Reader reads an ar archive member by member. Each member's data is read
// from the Reader itself between calls to Next.
type Reader struct {
	r     *bufio.Reader
	begun bool
	left  int64
	pad   bool
	off   int64 // offset of the next header, for error messages
}

// NewReader returns a Reader; the magic is checked by the first Next.
func NewReader(r io.Reader) *Reader { return &Reader{r: bufio.NewReader(r)} }

// Next skips the rest of the current member and returns the next header,
// or io.EOF at the clean end of the archive.
func (ar *Reader) Next() (*Header, error) {
	if !ar.begun {
		ar.begun = true
		magic := make([]byte, len(Magic))
		if _, err := io.ReadFull(ar.r, magic); err != nil || string(magic) != Magic {
			return nil, fmt.Errorf("%w: not an ar archive (bad magic)", ErrFormat)
		}
		ar.off = int64(len(Magic))
	}
	skip := ar.left
	if ar.pad {
		skip++
	}
	if n, err := io.CopyN(io.Discard, ar.r, skip); err != nil {
		return nil, fmt.Errorf("%w: truncated member data at offset %d", ErrFormat, ar.off+n)
	}
	ar.off += skip
	ar.left, ar.pad = 0, false

	var buf [headerSize]byte
	n, err := io.ReadFull(ar.r, buf[:])
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("%w: truncated header at offset %d (%d of %d bytes)", ErrFormat, ar.off, n, headerSize)
	}
	h, err := parseHeader(buf[:])
	if err != nil {
		return nil, fmt.Errorf("%w: header at offset %d: %w", ErrFormat, ar.off, err)
	}
	ar.off += headerSize + h.Size + h.Size%2
	ar.left, ar.pad = h.Size, h.Size%2 == 1
	return h, nil
}

// Read reads the current member's data.
func (ar *Reader) Read(p []byte) (int, error) {
	if ar.left == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > ar.left {
		p = p[:ar.left]
	}
	n, err := ar.r.Read(p)
	ar.left -= int64(n)
	if err == io.EOF && ar.left > 0 {
		err = fmt.Errorf("%w: member data truncated, %d bytes missing", ErrFormat, ar.left)
	}
	return n, err
}

func parseHeader(b []byte) (*Header, error) {
	if string(b[58:60]) != "`\n" {
		return nil, errors.New("bad header terminator")
	}
	name := strings.TrimRight(string(b[0:16]), " ")
	name = strings.TrimSuffix(name, "/") // GNU ar writes "name/"
	if name == "" {
		return nil, errors.New("empty member name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < 0x21 || c > 0x7e {
			return nil, fmt.Errorf("member name contains byte %#x", c)
		}
	}
	num := func(field string, s []byte, base int) (int64, error) {
		t := strings.TrimRight(string(s), " ")
		if t == "" {
			return 0, nil
		}
		v, err := strconv.ParseInt(t, base, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("member %s: bad %s field %q", name, field, t)
		}
		return v, nil
	}
	mtime, err := num("date", b[16:28], 10)
	if err != nil {
		return nil, err
	}
	uid, err := num("uid", b[28:34], 10)
	if err != nil {
		return nil, err
	}
	gid, err := num("gid", b[34:40], 10)
	if err != nil {
		return nil, err
	}
	mode, err := num("mode", b[40:48], 8)
	if err != nil {
		return nil, err
	}
	size, err := num("size", b[48:58], 10)
	if err != nil {
		return nil, err
	}
	return &Header{Name: name, ModTime: time.Unix(mtime, 0), UID: int(uid), GID: int(gid), Mode: mode, Size: size}, nil
}
