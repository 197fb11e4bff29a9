// Package compress reads and writes the compression formats used by Debian
// packages and apt repositories: .deb members (control.tar.xz,
// data.tar.zst, ...) and index files (Packages.gz, Packages.xz).
//
// # Writers
//
// Every writer is reproducible: the same input gives byte-identical output on
// any machine, whatever GOMAXPROCS or the number of cores, and however the
// input is split into Write calls. Parallelism is obtained by cutting the
// input into chunks of a fixed size and compressing them on a worker pool;
// the number of workers only changes the speed, never the bytes. Close
// flushes everything but never closes the underlying writer. A writer must be
// closed to release its goroutines and produce a complete stream.
//
//   - Gzip: a single gzip member (RFC 1952) with a fixed header: no name, no
//     comment, MTIME 0, XFL 0, OS 255 ("unknown"). The deflate stream is built
//     the way pigz builds it: the input is cut into 1 MiB chunks which are
//     compressed in parallel with github.com/klauspost/compress/flate at
//     level 7 (NewWriterLevel: 1-9); every chunk is primed with the last
//     32 KiB of the previous chunk as preset dictionary and ends with a
//     sync flush, so the pieces
//     join into one ordinary deflate stream that loses almost nothing to the
//     split (the output is 2-4% larger than gzip -9's, made ten times as
//     fast on two cores). Any gzip reader (zlib, gzip(1), dpkg, apt, Go) accepts it, no
//     reader needs multi-member support. An input of at most one chunk gives
//     a plain single-chunk stream.
//   - Xz: a single .xz stream (CRC64 check) made of independent LZMA2 blocks
//     of 4 MiB of input each, laid out like "xz -T" output: every block
//     header records its compressed and uncompressed size, the index lists
//     all blocks. Blocks are compressed in parallel with
//     github.com/ulikunitz/xz/lzma (pure Go) using a 1 MiB dictionary, the
//     4-byte hash-table match finder and lc=3 lp=0 pb=2. That encoder is
//     much weaker than liblzma: its output is 15-30% larger than xz -6's,
//     about what xz -1 gives, but it is 3-8 times faster than xz -6 -T2.
//     A larger dictionary made it slower without making the output
//     smaller; its binary-tree match finder degenerates (minutes for a MiB
//     of zeros). Concatenating independent xz streams instead of blocks is
//     not an option: dpkg-deb stops after the first stream of a .deb
//     member (as it does after the first zstd frame). liblzma (xz, dpkg) and
//     github.com/ulikunitz/xz read the output. Empty input gives the 32-byte
//     stream that xz writes for empty input.
//   - Zstd: one zstd frame from github.com/klauspost/compress/zstd at
//     SpeedDefault (comparable to zstd -3, dpkg-deb's default;
//     NewWriterLevel takes zstd's levels 1-22, which select the encoder's
//     four speeds, see ParseLevel) with a 2 MiB window at every level (the
//     window zstd -3 uses for large inputs, so that no level asks more
//     memory of a device that unpacks the package) and a content checksum.
//     The encoder runs with concurrent blocks enabled: it cuts the input
//     into 8 MiB jobs (four windows), each seeded with the 256 KiB of input
//     before it, and compresses them in parallel. That layout depends only
//     on the window and level, not on the encoder's concurrency, but the
//     encoder silently falls back to its serial layout, with different
//     bytes, when the concurrency is 1. The concurrency is therefore
//     GOMAXPROCS, but never less than 2 (nor more than 8).
//   - None: a pass-through writer.
//
// # Readers
//
// Readers are meant for untrusted input. They accept everything the writers
// produce and what other tools produce for .deb files: multi-member gzip,
// concatenated zstd frames, concatenated and multi-block xz streams (xz
// with the LZMA2 filter, which is all dpkg and xz use, and any check type).
// Memory is bounded: zstd frames and LZMA2 dictionaries larger than
// MaxDecoderWindow are rejected, the zstd decoder runs synchronously
// (concurrency 1) in low-memory mode. Decompressed output is not bounded by
// the readers themselves; wrap them in LimitReader to stop decompression
// bombs.
package compress

import (
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
)

// Format is a compression format.
type Format string

// The supported formats.
const (
	None Format = "none"
	Gzip Format = "gzip"
	Xz   Format = "xz"
	Zstd Format = "zstd"
)

// MaxDecoderWindow is the largest zstd window or LZMA2 dictionary the
// readers accept (128 MiB, the default limit of the zstd tool; xz -9 uses
// 64 MiB).
const MaxDecoderWindow = 128 << 20

// ErrUnknownFormat is returned (wrapped) for a format name, file suffix or
// Format value that this package does not support.
var ErrUnknownFormat = errors.New("compress: unknown compression format")

// ErrTooLarge is returned by the reader of LimitReader once more than the
// allowed number of bytes have been read.
var ErrTooLarge = errors.New("compress: data exceeds size limit")

const validNames = "none, gzip, gz, xz, zstd, zst"

// ParseFormat parses a format name: "none", "gzip" or "gz", "xz", "zstd" or
// "zst" (case-insensitive).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "none":
		return None, nil
	case "gzip", "gz":
		return Gzip, nil
	case "xz":
		return Xz, nil
	case "zstd", "zst":
		return Zstd, nil
	}
	return "", fmt.Errorf("%w %q (valid: %s)", ErrUnknownFormat, s, validNames)
}

// String returns the format name.
func (f Format) String() string { return string(f) }

// Ext returns the file name suffix of the format: "", ".gz", ".xz" or ".zst".
// It returns "" for an unknown format too.
func (f Format) Ext() string {
	switch f {
	case Gzip:
		return ".gz"
	case Xz:
		return ".xz"
	case Zstd:
		return ".zst"
	}
	return ""
}

// FormatForName returns the format of a file from the suffix of its name:
// ".gz", ".xz" and ".zst" give Gzip, Xz and Zstd; ".tar" or no suffix at all
// (data.tar, debian-binary, Packages) give None. Any other suffix
// (".bz2", ".lzma", ".deb", ...) is an error wrapping ErrUnknownFormat.
func FormatForName(name string) (Format, error) {
	switch ext := path.Ext(path.Base(name)); ext {
	case ".gz":
		return Gzip, nil
	case ".xz":
		return Xz, nil
	case ".zst":
		return Zstd, nil
	case "", ".tar":
		return None, nil
	default:
		return "", fmt.Errorf("%w: suffix %q of %q (supported: .gz, .xz, .zst, .tar or none)", ErrUnknownFormat, ext, name)
	}
}

// NewWriter returns a writer that compresses to w in format f. The output is
// reproducible (see the package documentation). Close flushes the stream but
// does not close w.
func NewWriter(w io.Writer, f Format) (io.WriteCloser, error) {
	return NewWriterLevel(w, f, DefaultLevel)
}

// NewWriterLevel is NewWriter at a level of the format (see ParseLevel);
// DefaultLevel gives NewWriter's output. The output is as reproducible at
// every level.
func NewWriterLevel(w io.Writer, f Format, level int) (io.WriteCloser, error) {
	if err := CheckLevel(f, level); err != nil {
		return nil, err
	}
	switch f {
	case None:
		return &nopWriteCloser{w: w}, nil
	case Gzip:
		return newGzipWriter(w, level), nil
	case Xz:
		return newXzWriter(w), nil
	case Zstd:
		return newZstdWriter(w, level)
	}
	return nil, fmt.Errorf("compress: new writer: %w %q", ErrUnknownFormat, string(f))
}

// NewReader returns a reader that decompresses r in format f. Close releases
// the decoder but does not close r. For gzip and xz the stream header is read
// immediately, so a wrong format is reported here.
func NewReader(r io.Reader, f Format) (io.ReadCloser, error) {
	switch f {
	case None:
		return io.NopCloser(r), nil
	case Gzip:
		return newGzipReader(r)
	case Xz:
		return newXzReader(r)
	case Zstd:
		return newZstdReader(r)
	}
	return nil, fmt.Errorf("compress: new reader: %w %q", ErrUnknownFormat, string(f))
}

// nopWriteCloser passes writes through and does nothing on Close.
type nopWriteCloser struct {
	w      io.Writer
	closed bool
}

func (n *nopWriteCloser) Write(p []byte) (int, error) {
	if n.closed {
		return 0, errClosed
	}
	return n.w.Write(p)
}

func (n *nopWriteCloser) Close() error {
	n.closed = true
	return nil
}

var errClosed = errors.New("compress: write to closed writer")

// LimitReader returns a reader that reads from r and fails with an error
// wrapping ErrTooLarge once more than n bytes would be read: it returns at
// most n bytes, and reading exactly n bytes followed by the end of r is not
// an error. Use it around a decompressing reader to stop decompression bombs.
func LimitReader(r io.Reader, n int64) io.Reader {
	if n < 0 {
		n = 0
	}
	return &limitReader{r: r, left: n, limit: n}
}

type limitReader struct {
	r     io.Reader
	left  int64 // bytes that may still be returned; -1 once exceeded
	limit int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, l.tooLarge()
	}
	if len(p) == 0 {
		return 0, nil
	}
	// Read one byte more than allowed to notice an excess.
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if int64(n) > l.left {
		n = int(l.left)
		l.left = -1
		return n, l.tooLarge()
	}
	l.left -= int64(n)
	return n, err
}

func (l *limitReader) tooLarge() error {
	return fmt.Errorf("%w (limit %d bytes)", ErrTooLarge, l.limit)
}
