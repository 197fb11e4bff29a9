package compress

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// Settings of the xz writer (see the package documentation).
const (
	// xzBlockSize is the input size of one xz block, compressed by one
	// worker.
	xzBlockSize = 4 << 20
	// xzDictCap is the LZMA2 dictionary size. A block smaller than that
	// gets a dictionary of its own size. ulikunitz/xz's hash table gets
	// slower and no better with a larger dictionary on tar files (8 MiB:
	// half the speed, 1% larger output).
	xzDictCap = 1 << 20
	// xzMatcher is the match finder. ulikunitz/xz's binary tree degenerates
	// on long runs of one byte (a MiB of zeros took minutes) and was orders
	// of magnitude slower on tar files too. The hash table's work per byte
	// is bounded.
	xzMatcher = lzma.HashTable4
)

// The xz container format, https://tukaani.org/xz/xz-file-format.txt.
const (
	xzCheckNone   = 0x00
	xzCheckCRC32  = 0x01
	xzCheckCRC64  = 0x04
	xzCheckSHA256 = 0x0a
	xzFilterLZMA2 = 0x21
)

var (
	xzHeaderMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	xzFooterMagic = []byte{'Y', 'Z'}
	crc64Table    = crc64.MakeTable(crc64.ECMA)
)

// xzRecord is one index record: the block's unpadded and uncompressed sizes.
type xzRecord struct {
	unpadded     uint64
	uncompressed uint64
}

// appendUvarint appends x in the xz multibyte integer encoding (7 bits per
// byte, least significant first), which is the same as encoding/binary's.
func appendUvarint(b []byte, x uint64) []byte {
	return binary.AppendUvarint(b, x)
}

func appendCRC32(b []byte, data []byte) []byte {
	return binary.LittleEndian.AppendUint32(b, crc32.ChecksumIEEE(data))
}

// xzStreamFlags returns the two stream flag bytes for a check type.
func xzStreamFlags(check byte) []byte { return []byte{0x00, check} }

func xzStreamHeader(check byte) []byte {
	h := append([]byte(nil), xzHeaderMagic...)
	flags := xzStreamFlags(check)
	h = append(h, flags...)
	return appendCRC32(h, flags)
}

// xzWriter writes one xz stream of independently compressed blocks.
type xzWriter struct {
	w       io.Writer
	p       *chunkPipeline
	enc     *xzBlockEncoder
	header  bool
	closed  bool
	records []xzRecord
}

func newXzWriter(w io.Writer) *xzWriter {
	x := &xzWriter{w: w}
	x.enc = &xzBlockEncoder{}
	x.p = newChunkPipeline(&xzBlockSink{x: x}, x.enc, xzBlockSize, 0)
	return x
}

// xzBlockSink receives finished blocks in order and notes their index
// records.
type xzBlockSink struct{ x *xzWriter }

func (s *xzBlockSink) Write(b []byte) (int, error) {
	// The encoder prefixes every block with its 16-byte record.
	rec := xzRecord{
		unpadded:     binary.LittleEndian.Uint64(b[0:]),
		uncompressed: binary.LittleEndian.Uint64(b[8:]),
	}
	s.x.records = append(s.x.records, rec)
	n, err := s.x.w.Write(b[16:])
	return n + 16, err
}

func (x *xzWriter) writeHeader() error {
	if x.header {
		return nil
	}
	if _, err := x.w.Write(xzStreamHeader(xzCheckCRC64)); err != nil {
		x.p.err = err
		return fmt.Errorf("compress: xz: write header: %w", err)
	}
	x.header = true
	return nil
}

func (x *xzWriter) Write(b []byte) (int, error) {
	if x.closed {
		return 0, errClosed
	}
	if err := x.writeHeader(); err != nil {
		return 0, err
	}
	n, err := x.p.Write(b)
	if err != nil {
		return n, fmt.Errorf("compress: xz: %w", err)
	}
	return n, nil
}

func (x *xzWriter) Close() error {
	if x.closed {
		return nil
	}
	x.closed = true
	if err := x.writeHeader(); err != nil {
		return err
	}
	if err := x.p.finish(false); err != nil {
		return fmt.Errorf("compress: xz: %w", err)
	}
	if _, err := x.w.Write(xzIndexAndFooter(x.records)); err != nil {
		return fmt.Errorf("compress: xz: write index: %w", err)
	}
	return nil
}

// xzBlockEncoder compresses one chunk into a complete xz block (header,
// LZMA2 data, padding, CRC64), prefixed by its 16-byte index record for
// xzBlockSink.
type xzBlockEncoder struct{}

func (*xzBlockEncoder) newState() any { return new(bytes.Buffer) }

// xzBlockDictCap is the dictionary size for a block of n bytes: xzDictCap,
// or less for a smaller block, rounded up to a size the block header can
// express.
func xzBlockDictCap(n int) int {
	d := min(max(n, lzma.MinDictCap), xzDictCap)
	dc, err := lzma.DecodeDictCap(lzma.EncodeDictCap(int64(d)))
	if err != nil {
		return xzDictCap
	}
	return int(dc)
}

func (*xzBlockEncoder) encode(state any, job *chunkJob) error {
	buf := state.(*bytes.Buffer)
	buf.Reset()
	dictCap := xzBlockDictCap(len(job.data))
	cfg := lzma.Writer2Config{
		Properties: &lzma.Properties{LC: 3, LP: 0, PB: 2},
		DictCap:    dictCap,
		Matcher:    xzMatcher,
	}
	lw, err := cfg.NewWriter2(buf)
	if err != nil {
		return fmt.Errorf("lzma2: %w", err)
	}
	if _, err := lw.Write(job.data); err != nil {
		return fmt.Errorf("lzma2: %w", err)
	}
	if err := lw.Close(); err != nil {
		return fmt.Errorf("lzma2: %w", err)
	}
	compressed := buf.Len()

	// Block header: size, flags (one filter, both sizes present), sizes,
	// LZMA2 filter flags, padding, CRC32.
	hdr := []byte{0, 0xc0}
	hdr = appendUvarint(hdr, uint64(compressed))
	hdr = appendUvarint(hdr, uint64(len(job.data)))
	hdr = append(hdr, xzFilterLZMA2, 1, lzma.EncodeDictCap(int64(dictCap)))
	for (len(hdr)+4)%4 != 0 {
		hdr = append(hdr, 0)
	}
	hdr[0] = byte((len(hdr)+4)/4 - 1)
	hdr = appendCRC32(hdr, hdr)

	unpadded := len(hdr) + compressed + 8
	out := job.out[:0]
	out = binary.LittleEndian.AppendUint64(out, uint64(unpadded))
	out = binary.LittleEndian.AppendUint64(out, uint64(len(job.data)))
	out = append(out, hdr...)
	out = append(out, buf.Bytes()...)
	for (len(hdr)+compressed)%4 != 0 {
		out = append(out, 0)
		compressed++
	}
	out = binary.LittleEndian.AppendUint64(out, crc64.Checksum(job.data, crc64Table))
	job.out = out
	return nil
}
