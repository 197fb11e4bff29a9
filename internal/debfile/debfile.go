package debfile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

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
	MD5, SHA1, SHA256, SHA512      string // lower-case hex of the whole file
	Signed                         bool   // has a _gpgorigin member
}

// Limits bound the resources that inspecting one package may take. A zero
// field takes its value from DefaultLimits.
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
	for _, f := range []struct{ v, def *int64 }{
		{&l.MaxControlTar, &d.MaxControlTar},
		{&l.MaxControl, &d.MaxControl},
		{&l.MaxData, &d.MaxData},
		{&l.MaxRatio, &d.MaxRatio},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
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
	src := &sourceReader{r: r}
	h := newHasher()
	defer h.stop()
	tee := io.TeeReader(bufio.NewReaderSize(src, readBufSize), h)
	in := &inspector{lim: lim.withDefaults(), ar: ar.NewReader(tee)}

	err := in.members()
	if err == nil {
		// The ar reader stopped at the end of the input; drain anyway so
		// that the digests cover every byte whatever it buffered.
		_, err = io.Copy(io.Discard, tee)
	}
	if src.err != nil {
		return nil, fmt.Errorf("reading the package: %w", src.err)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}

	info := &in.info
	info.Size = h.size
	info.MD5, info.SHA1, info.SHA256, info.SHA512 = h.sums()
	return info, nil
}

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
	info Info
}

// memberSpec describes a required member: its base name and the
// compressions that may follow it.
type memberSpec struct {
	base string // "control.tar"
	what string // for messages: "control.tar[.gz|.xz|.zst]"
}

var (
	controlMember = memberSpec{"control.tar", "control.tar[.gz|.xz|.zst]"}
	dataMember    = memberSpec{"data.tar", "data.tar[.gz|.xz|.zst]"}
)

// members checks the members in deb(5) order: debian-binary, control.tar,
// data.tar, then only "_" members.
func (in *inspector) members() error {
	seen := map[string]bool{}
	next := func(after, want string) (*ar.Header, error) {
		hdr, err := in.ar.Next()
		if err == io.EOF {
			if after == "" {
				return nil, fmt.Errorf("empty ar archive: %s is missing", want)
			}
			return nil, fmt.Errorf("no %s member after %s", want, after)
		}
		if err != nil {
			if after == "" {
				return nil, fmt.Errorf("not a .deb file: %w", err)
			}
			return nil, fmt.Errorf("after %s: %w", after, err)
		}
		if seen[hdr.Name] {
			return nil, fmt.Errorf("duplicate member %s", hdr.Name)
		}
		seen[hdr.Name] = true
		return hdr, nil
	}

	hdr, err := next("", "debian-binary")
	if err != nil {
		return err
	}
	if hdr.Name != "debian-binary" {
		return fmt.Errorf("first member is %s, want debian-binary", hdr.Name)
	}
	if err := in.debianBinary(hdr); err != nil {
		return fmt.Errorf("debian-binary: %w", err)
	}

	hdr, err = next("debian-binary", controlMember.what)
	if err != nil {
		return err
	}
	format, err := memberFormat(hdr.Name, controlMember)
	if err != nil {
		return err
	}
	if err := in.control(hdr, format); err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	after := hdr.Name

	hdr, err = next(after, dataMember.what)
	if err != nil {
		return err
	}
	if format, err = memberFormat(hdr.Name, dataMember); err != nil {
		return err
	}
	if err := in.data(hdr, format); err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	after = hdr.Name

	for {
		hdr, err := in.ar.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("after %s: %w", after, err)
		}
		if seen[hdr.Name] {
			return fmt.Errorf("duplicate member %s", hdr.Name)
		}
		seen[hdr.Name] = true
		if !strings.HasPrefix(hdr.Name, "_") {
			return fmt.Errorf("unknown member %s after %s: only members named _* (signatures) may follow data.tar", hdr.Name, after)
		}
		if hdr.Name == "_gpgorigin" {
			in.info.Signed = true
		}
		after = hdr.Name
	}
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
		if strings.HasPrefix(name, dataMember.base) && spec == controlMember {
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
