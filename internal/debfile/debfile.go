package debfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"sync"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debian"
)

// ErrInvalid is wrapped by every error about a package that Inspect
// refuses. Errors from the underlying reader do not wrap it.
var ErrInvalid = errors.New("invalid package")

// Info describes a package that passed inspection.
type Info struct {
	Control                        debian.Paragraph // the package's control stanza, validated
	Package, Version, Architecture string
	Size                           int64
	MD5, SHA256                    string // lower-case hex of the whole file: the sums a Packages stanza lists
	Signed                         bool   // has a _gpgorigin member
}

// Limits bound the resources that inspecting one package may take. A field
// that is zero (or negative) takes its value from DefaultLimits.
type Limits struct {
	MaxControlTar int64 // decompressed control.tar, default 16 MiB
	MaxControl    int64 // the ./control file, default 1 MiB
	MaxData       int64 // decompressed data.tar, default 8 GiB
	MaxRatio      int64 // decompressed/compressed data ratio allowed beyond the first 64 MiB, default 200
}

// freeData is how much data.tar may always decompress to, whatever its
// compression ratio: small packages of text or zeros compress very well.
const freeData = 64 << 20

// DefaultLimits returns limits that suit any real package.
func DefaultLimits() Limits {
	return Limits{
		MaxControlTar: 16 << 20,
		MaxControl:    1 << 20,
		MaxData:       8 << 30,
		MaxRatio:      200,
	}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	orDefault := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	orDefault(&l.MaxControlTar, d.MaxControlTar)
	orDefault(&l.MaxControl, d.MaxControl)
	orDefault(&l.MaxData, d.MaxData)
	orDefault(&l.MaxRatio, d.MaxRatio)
	return l
}

// dataLimit is the decompressed size allowed for a data member of the given
// compressed size: min(MaxData, 64 MiB + MaxRatio × compressed).
func (l Limits) dataLimit(compressed int64) int64 {
	if compressed > 0 && l.MaxRatio > (l.MaxData-freeData)/compressed {
		return l.MaxData // the product would exceed MaxData (or overflow)
	}
	return min(l.MaxData, freeData+l.MaxRatio*compressed)
}

// readBufSize is the size of the reads from the caller's reader, large
// enough that system calls and hash hand-offs cost little.
const readBufSize = 256 << 10

// InspectFile opens and inspects a file. Errors name the file.
func InspectFile(path string, lim Limits) (*Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := Inspect(f, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return info, nil
}

// Inspect reads the whole package once, from r, computing the hashes as it
// goes. See the package documentation for what it checks.
func Inspect(r io.Reader, lim Limits) (*Info, error) {
	h := newHasher()
	defer h.stop()
	info, err := inspect(r, lim, h)
	if err != nil {
		return nil, err
	}
	info.Size = h.size
	info.MD5, info.SHA256 = h.sums()
	return info, nil
}

// Check makes the checks of Inspect, with the same errors, but computes no
// digests: for a caller that only needs to know whether publish would take
// the package, such as debflow build checking what it has just written (the
// digests cost more than decompressing the data member). Like
// Inspect, it reads r to the end.
func Check(r io.Reader, lim Limits) error {
	_, err := inspect(r, lim, nil)
	return err
}

// inspect reads and checks the package, copying every byte read to h when h
// is not nil.
func inspect(r io.Reader, lim Limits, h io.Writer) (*Info, error) {
	src := &sourceReader{r: r}
	// The read buffer is reused: a publish inspects thousands of small
	// packages, and a fresh buffer for each is most of what it allocates.
	br := readBufs.Get().(*bufio.Reader)
	br.Reset(src)
	defer func() { br.Reset(nil); readBufs.Put(br) }()
	var in io.Reader = br
	if h != nil {
		in = io.TeeReader(in, h)
	}
	insp := &inspector{lim: lim.withDefaults(), ar: ar.NewReader(in)}

	err := insp.members()
	if err == nil {
		// The ar reader stopped at the end of the input; drain anyway so
		// that the digests cover every byte whatever it buffered.
		_, err = io.Copy(io.Discard, in)
	}
	if src.err != nil {
		return nil, fmt.Errorf("reading the package: %w", src.err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}

	// A copy, so that the caller does not keep the inspector and its
	// buffers alive (a publish holds thousands of these).
	info := insp.info
	return &info, nil
}

var readBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// sourceReader remembers the first error of the caller's reader, so that
// Inspect can tell a failing disk from a truncated package.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// inspector walks the ar members of one package.
type inspector struct {
	lim  Limits
	ar   *ar.Reader
	seen map[string]bool // member names
	info Info
}

// memberSpec describes a required member after debian-binary.
type memberSpec struct {
	base  string // "control.tar", which a compression suffix may follow
	what  string // for messages: "control.tar[.gz|.xz|.zst]"
	check func(*inspector, *ar.Header, compress.Format) error
}

var (
	controlMember = memberSpec{"control.tar", "control.tar[.gz|.xz|.zst]", (*inspector).control}
	dataMember    = memberSpec{"data.tar", "data.tar[.gz|.xz|.zst]", (*inspector).data}
)

// members checks the members in deb(5) order: debian-binary, control.tar,
// data.tar, then only "_" members.
func (in *inspector) members() error {
	in.seen = map[string]bool{}
	hdr, err := in.next("")
	if err == io.EOF {
		return errors.New("empty ar archive: no debian-binary member")
	}
	if err != nil {
		return err
	}
	if hdr.Name != "debian-binary" {
		return fmt.Errorf("first member is %s, want debian-binary", hdr.Name)
	}
	if err := in.debianBinary(hdr); err != nil {
		return fmt.Errorf("debian-binary: %w", err)
	}

	after := hdr.Name
	for _, spec := range []memberSpec{controlMember, dataMember} {
		hdr, err := in.next(after)
		if err == io.EOF {
			return fmt.Errorf("no %s member after %s", spec.what, after)
		}
		if err != nil {
			return err
		}
		format, err := memberFormat(hdr.Name, spec)
		if err != nil {
			return err
		}
		if err := spec.check(in, hdr, format); err != nil {
			return fmt.Errorf("%s: %w", hdr.Name, err)
		}
		after = hdr.Name
	}

	for {
		hdr, err := in.next(after)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !strings.HasPrefix(hdr.Name, "_") {
			return fmt.Errorf("unknown member %s after %s: only members named _* (signatures) may follow data.tar", hdr.Name, after)
		}
		if hdr.Name == "_gpgorigin" {
			in.info.Signed = true
		}
		after = hdr.Name
	}
}

// next returns the header of the member after the one named after ("" at
// the start), or io.EOF at the clean end of the archive.
func (in *inspector) next(after string) (*ar.Header, error) {
	hdr, err := in.ar.Next()
	switch {
	case err == io.EOF:
		return nil, err
	case err != nil && after == "":
		return nil, fmt.Errorf("not a .deb file: %w", err)
	case err != nil:
		return nil, fmt.Errorf("after %s: %w", after, err)
	case in.seen[hdr.Name]:
		return nil, fmt.Errorf("duplicate member %s", hdr.Name)
	}
	in.seen[hdr.Name] = true
	return hdr, nil
}

// debianBinaryRE is the only content of debian-binary accepted: one line
// with format version 2.N. dpkg refuses other major versions; deb(5) allows
// more lines for future minor versions, which nobody writes.
var debianBinaryRE = regexp.MustCompile(`^2\.[0-9]+\n$`)

func (in *inspector) debianBinary(hdr *ar.Header) error {
	const maxSize = 16
	if hdr.Size > maxSize {
		return fmt.Errorf("%d bytes, want the 4 bytes \"2.0\\n\"", hdr.Size)
	}
	buf := make([]byte, hdr.Size)
	if _, err := io.ReadFull(in.ar, buf); err != nil {
		return err
	}
	if !debianBinaryRE.Match(buf) {
		if strings.HasPrefix(string(buf), "2.") && !strings.HasSuffix(string(buf), "\n") {
			return fmt.Errorf("format version %q lacks its newline", buf)
		}
		return fmt.Errorf("format version %q is not 2.x (want \"2.0\\n\")", buf)
	}
	return nil
}

// memberFormat checks that name is spec's member, possibly compressed, and
// returns its compression.
func memberFormat(name string, spec memberSpec) (compress.Format, error) {
	ext, ok := strings.CutPrefix(name, spec.base)
	if !ok || (ext != "" && ext[0] != '.') {
		if strings.HasPrefix(name, dataMember.base) && spec.base == controlMember.base {
			return "", fmt.Errorf("member %s comes before control.tar: deb(5) requires debian-binary, control.tar, data.tar in this order", name)
		}
		return "", fmt.Errorf("unexpected member %s where %s must be", name, spec.what)
	}
	switch ext {
	case "", ".gz", ".xz", ".zst":
		return compress.FormatForName(name)
	case ".bz2":
		return "", fmt.Errorf("%s: bzip2 compression is not supported (use xz, zstd or gzip)", name)
	case ".lzma":
		return "", fmt.Errorf("%s: lzma compression is not supported (use xz, zstd or gzip)", name)
	}
	return "", fmt.Errorf("%s: unknown compression %q, want %s", name, ext, spec.what)
}
