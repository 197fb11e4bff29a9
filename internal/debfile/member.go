package debfile

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	"github.com/debflow/debflow/internal/compress"
)

// memberStream is the decompressed content of the current ar member, cut
// off by compress.LimitReader after a number of bytes.
type memberStream struct {
	io.Reader // decompressed, limited
	raw       *rawMember
	dec       io.ReadCloser
}

func (in *inspector) openMember(f compress.Format, limit int64) (*memberStream, error) {
	raw := &rawMember{r: in.ar}
	dec, err := compress.NewReader(raw, f)
	if err != nil {
		return nil, raw.cause(err)
	}
	return &memberStream{Reader: compress.LimitReader(dec, limit), raw: raw, dec: dec}, nil
}

// finish reads what follows the end of the tar archive through the limit,
// which also makes the decompressor check its trailing checksums, and
// checks that the compressed stream ends where the member does. Tar writers
// pad the archive with zeros; anything else there is refused, because
// "tar --ignore-zeros" would read entries hidden after the end that dpkg
// never sees.
func (s *memberStream) finish() error {
	buf := paddingBufs.Get().(*[4 << 10]byte) // usually a few hundred bytes of padding
	defer paddingBufs.Put(buf)
	if _, err := io.CopyBuffer(&zeroChecker{}, s.Reader, buf[:]); err != nil {
		return s.raw.cause(fmt.Errorf("after the end of the tar archive: %w", err))
	}
	var b [1]byte
	if n, _ := io.ReadFull(s.raw, b[:]); n > 0 {
		return errors.New("data after the end of the compressed stream")
	}
	return s.raw.err
}

// paddingBufs are finish's read buffers: a publish reads the padding of two
// members of each of thousands of packages.
var paddingBufs = sync.Pool{New: func() any { return new([4 << 10]byte) }}

// zeroChecker fails on the first byte written to it that is not zero.
type zeroChecker struct{ off int64 }

func (z *zeroChecker) Write(p []byte) (int, error) {
	for i, c := range p {
		if c != 0 {
			return i, fmt.Errorf("non-zero byte at offset %d of the padding", z.off+int64(i))
		}
	}
	z.off += int64(len(p))
	return len(p), nil
}

func (s *memberStream) Close() error { return s.dec.Close() }

// rawMember reads the stored bytes of the current ar member and remembers
// the first error of the ar reader. A truncated member shows up as some
// decompression error; the ar reader's error says what really happened.
type rawMember struct {
	r   io.Reader
	err error
}

func (m *rawMember) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if err != nil && err != io.EOF && m.err == nil {
		m.err = err
	}
	return n, err
}

// cause returns the ar reader's error if there was one, else err.
func (m *rawMember) cause(err error) error {
	if m.err != nil {
		return m.err
	}
	return err
}

// tarPath checks the name of a tar entry (or the target of a hard link) and
// returns it cleaned, without "./": "control", "usr/bin/x", "." for the
// root. Absolute names and ".." components could point outside the
// directory that dpkg extracts to; control characters would corrupt dpkg's
// file lists, which hold one name a line, and the terminals of whoever reads
// them.
func tarPath(name string) (string, error) {
	if name == "" {
		return "", errors.New("empty name")
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; c < ' ' || c == 0x7f {
			return "", fmt.Errorf("name %q contains control character %#x", name, c)
		}
	}
	if strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("absolute name %q", name)
	}
	for _, elem := range strings.Split(name, "/") {
		if elem == ".." {
			return "", fmt.Errorf("name %q has a \"..\" component", name)
		}
	}
	return path.Clean(name), nil
}

// tarHeaderError describes a failure to read the tar header that follows
// the entry named prev ("" for the first header).
func tarHeaderError(prev string, err error) error {
	if prev == "" {
		return fmt.Errorf("reading the first tar header: %w", err)
	}
	return fmt.Errorf("reading the tar header after %s: %w", prev, err)
}

// quoteName returns a tar entry name for messages, quoted only when it
// holds characters that would make the message ambiguous.
func quoteName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; c <= ' ' || c >= 0x7f || c == '"' || c == ':' {
			return fmt.Sprintf("%q", name)
		}
	}
	return name
}
