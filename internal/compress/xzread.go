package compress

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// errXzData reports corrupt or unsupported xz input.
var errXzData = errors.New("compress: xz: invalid data")

func xzErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errXzData}, args...)...)
}

// xzReader decodes one or more concatenated xz streams. It parses the
// container itself, so it can bound the LZMA2 dictionary (which
// github.com/ulikunitz/xz takes from the input unchecked and allocates up
// front) and check every size, index and checksum; the LZMA2 data of each
// block is decoded by github.com/ulikunitz/xz/lzma. Only the LZMA2 filter is
// supported (dpkg and xz use nothing else for .deb members and indices).
type xzReader struct {
	r   *bufio.Reader
	err error

	check   byte
	flags   []byte
	records []xzRecord

	// Current block; blk is nil between blocks.
	blk        io.Reader
	cr         countingReader
	sum        hash.Hash
	hdrSize    uint64
	compSize   int64 // -1 if not recorded in the header
	uncompSize int64 // -1 if not recorded in the header
	uncompRead uint64
}

func newXzReader(r io.Reader) (io.ReadCloser, error) {
	x := &xzReader{r: bufio.NewReaderSize(r, 64<<10)}
	var hdr [12]byte
	if _, err := io.ReadFull(x.r, hdr[:]); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("compress: xz: read stream header: %w", err)
	}
	if err := x.parseStreamHeader(hdr[:]); err != nil {
		return nil, err
	}
	return x, nil
}

func (x *xzReader) parseStreamHeader(h []byte) error {
	if !bytes.Equal(h[:6], xzHeaderMagic) {
		return xzErrorf("not an xz stream")
	}
	if binary.LittleEndian.Uint32(h[8:]) != crc32.ChecksumIEEE(h[6:8]) {
		return xzErrorf("stream header checksum mismatch")
	}
	if h[6] != 0 || h[7]&0xf0 != 0 {
		return xzErrorf("unsupported stream flags %#x %#x", h[6], h[7])
	}
	switch h[7] {
	case xzCheckNone, xzCheckCRC32, xzCheckCRC64, xzCheckSHA256:
	default:
		return xzErrorf("unsupported check type %#x", h[7])
	}
	x.check = h[7]
	x.flags = []byte{h[6], h[7]}
	x.records = x.records[:0]
	return nil
}

func (x *xzReader) checkSize() int {
	switch x.check {
	case xzCheckCRC32:
		return 4
	case xzCheckCRC64:
		return 8
	case xzCheckSHA256:
		return 32
	}
	return 0
}

func (x *xzReader) newCheck() hash.Hash {
	switch x.check {
	case xzCheckCRC32:
		return crc32.NewIEEE()
	case xzCheckCRC64:
		return crc64.New(crc64Table)
	case xzCheckSHA256:
		return sha256.New()
	}
	return nil
}

// Read implements io.Reader.
func (x *xzReader) Read(p []byte) (int, error) {
	if x.err != nil {
		return 0, x.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	for {
		if x.blk == nil {
			if err := x.nextBlock(); err != nil {
				x.err = err
				return 0, err
			}
		}
		n, err := x.blk.Read(p)
		if n > 0 {
			x.uncompRead += uint64(n)
			if x.uncompSize >= 0 && x.uncompRead > uint64(x.uncompSize) {
				x.err = xzErrorf("block larger than its recorded size")
				return 0, x.err
			}
			if x.sum != nil {
				x.sum.Write(p[:n])
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			if err := x.finishBlock(); err != nil {
				x.err = err
				return n, err
			}
			if n > 0 {
				return n, nil
			}
		case err != nil:
			if errors.Is(err, io.ErrUnexpectedEOF) {
				x.err = fmt.Errorf("compress: xz: %w", err)
			} else {
				x.err = xzErrorf("lzma2: %w", err)
			}
			return n, x.err
		case n > 0:
			return n, nil
		}
	}
}

// Close implements io.Closer; it does not close the underlying reader.
func (x *xzReader) Close() error {
	x.blk = nil
	if x.err == nil {
		x.err = errors.New("compress: xz: read from closed reader")
	}
	return nil
}

func (x *xzReader) readFull(b []byte) error {
	if _, err := io.ReadFull(x.r, b); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("compress: xz: %w", err)
	}
	return nil
}

// nextBlock starts the next block, reading indices, footers, stream padding
// and further stream headers on the way. It returns io.EOF at the end of the
// input.
func (x *xzReader) nextBlock() error {
	for {
		b, err := x.r.ReadByte()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("compress: xz: %w", err)
		}
		if b != 0 {
			return x.startBlock(b)
		}
		if err := x.readIndexAndFooter(); err != nil {
			return err
		}
		more, err := x.nextStream()
		if err != nil {
			return err
		}
		if !more {
			return io.EOF
		}
	}
}

func (x *xzReader) startBlock(sizeByte byte) error {
	size := (int(sizeByte) + 1) * 4
	hdr := make([]byte, size)
	hdr[0] = sizeByte
	if err := x.readFull(hdr[1:]); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(hdr[size-4:]) != crc32.ChecksumIEEE(hdr[:size-4]) {
		return xzErrorf("block header checksum mismatch")
	}
	flags := hdr[1]
	if flags&0x3c != 0 {
		return xzErrorf("unsupported block flags %#x", flags)
	}
	if flags&0x03 != 0 {
		return xzErrorf("unsupported filter chain (%d filters; only LZMA2 is supported)", flags&0x03+1)
	}
	rest := hdr[2 : size-4]
	x.compSize, x.uncompSize = -1, -1
	if flags&0x40 != 0 {
		v, n, err := parseVarint(rest)
		if err != nil {
			return err
		}
		if v == 0 || v > 1<<62 {
			return xzErrorf("invalid compressed size %d", v)
		}
		x.compSize = int64(v)
		rest = rest[n:]
	}
	if flags&0x80 != 0 {
		v, n, err := parseVarint(rest)
		if err != nil {
			return err
		}
		if v > 1<<62 {
			return xzErrorf("invalid uncompressed size %d", v)
		}
		x.uncompSize = int64(v)
		rest = rest[n:]
	}
	id, n, err := parseVarint(rest)
	if err != nil {
		return err
	}
	rest = rest[n:]
	if id != xzFilterLZMA2 {
		return xzErrorf("unsupported filter %#x (only LZMA2 is supported)", id)
	}
	propSize, n, err := parseVarint(rest)
	if err != nil {
		return err
	}
	rest = rest[n:]
	if propSize != 1 || len(rest) < 1 {
		return xzErrorf("invalid LZMA2 filter properties")
	}
	if rest[0]&0xc0 != 0 {
		return xzErrorf("invalid LZMA2 dictionary size byte %#x", rest[0])
	}
	dict, err := lzma.DecodeDictCap(rest[0])
	if err != nil {
		return xzErrorf("LZMA2 dictionary: %w", err)
	}
	if dict > MaxDecoderWindow {
		return xzErrorf("LZMA2 dictionary of %d bytes exceeds the limit of %d", dict, MaxDecoderWindow)
	}
	for _, c := range rest[1:] {
		if c != 0 {
			return xzErrorf("non-zero block header padding")
		}
	}
	// The dictionary is reset at the start of a block, so it never needs to
	// hold more than the block.
	if x.uncompSize >= 0 && x.uncompSize < dict {
		dict = x.uncompSize
	}
	dict = max(dict, lzma.MinDictCap)

	x.hdrSize = uint64(size)
	x.cr = countingReader{r: x.r, limit: x.compSize}
	x.sum = x.newCheck()
	x.uncompRead = 0
	lr, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(&x.cr)
	if err != nil {
		return xzErrorf("lzma2: %w", err)
	}
	x.blk = lr
	return nil
}

func (x *xzReader) finishBlock() error {
	x.blk = nil
	comp := x.cr.n
	if x.compSize >= 0 && comp != x.compSize {
		return xzErrorf("compressed size %d differs from the recorded %d", comp, x.compSize)
	}
	if x.uncompSize >= 0 && x.uncompRead != uint64(x.uncompSize) {
		return xzErrorf("uncompressed size %d differs from the recorded %d", x.uncompRead, x.uncompSize)
	}
	if pad := (4 - (x.hdrSize+uint64(comp))%4) % 4; pad > 0 {
		var zero [3]byte
		if err := x.readFull(zero[:pad]); err != nil {
			return err
		}
		if zero != [3]byte{} {
			return xzErrorf("non-zero block padding")
		}
	}
	want := make([]byte, x.checkSize())
	if err := x.readFull(want); err != nil {
		return err
	}
	if x.sum != nil {
		got := x.sum.Sum(nil)
		if x.check != xzCheckSHA256 {
			// CRC32 and CRC64 are stored little-endian.
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
		}
		if !bytes.Equal(got, want) {
			return xzErrorf("block checksum mismatch")
		}
	}
	x.records = append(x.records, xzRecord{
		unpadded:     x.hdrSize + uint64(comp) + uint64(len(want)),
		uncompressed: x.uncompRead,
	})
	return nil
}

// readIndexAndFooter checks the index (its indicator byte has been read)
// against the blocks seen and the stream footer against the header.
func (x *xzReader) readIndexAndFooter() error {
	cr := &crcByteReader{r: x.r, n: 1, crc: crc32.Update(0, crc32.IEEETable, []byte{0})}
	count, err := readVarint(cr)
	if err != nil {
		return err
	}
	if count != uint64(len(x.records)) {
		return xzErrorf("index lists %d blocks, stream has %d", count, len(x.records))
	}
	for _, rec := range x.records {
		unpadded, err := readVarint(cr)
		if err != nil {
			return err
		}
		uncompressed, err := readVarint(cr)
		if err != nil {
			return err
		}
		if unpadded != rec.unpadded || uncompressed != rec.uncompressed {
			return xzErrorf("index record does not match its block")
		}
	}
	for cr.n%4 != 0 {
		c, err := cr.ReadByte()
		if err != nil {
			return err
		}
		if c != 0 {
			return xzErrorf("non-zero index padding")
		}
	}
	var buf [16]byte
	if err := x.readFull(buf[:]); err != nil {
		return err
	}
	if binary.LittleEndian.Uint32(buf[0:]) != cr.crc {
		return xzErrorf("index checksum mismatch")
	}
	indexSize := uint64(cr.n) + 4
	footer := buf[4:]
	if !bytes.Equal(footer[10:], xzFooterMagic) {
		return xzErrorf("bad stream footer magic")
	}
	if binary.LittleEndian.Uint32(footer[0:]) != crc32.ChecksumIEEE(footer[4:10]) {
		return xzErrorf("stream footer checksum mismatch")
	}
	if !bytes.Equal(footer[8:10], x.flags) {
		return xzErrorf("stream footer flags differ from the header")
	}
	if (uint64(binary.LittleEndian.Uint32(footer[4:]))+1)*4 != indexSize {
		return xzErrorf("stream footer backward size does not match the index")
	}
	return nil
}

// nextStream skips stream padding and reads the header of the next
// concatenated stream. It reports false at the end of the input.
func (x *xzReader) nextStream() (bool, error) {
	var w [4]byte
	for {
		n, err := io.ReadFull(x.r, w[:])
		if n == 0 && errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return false, xzErrorf("stream padding is not a multiple of four bytes")
			}
			return false, fmt.Errorf("compress: xz: %w", err)
		}
		if w != [4]byte{} {
			break
		}
	}
	var h [12]byte
	copy(h[:], w[:])
	if err := x.readFull(h[4:]); err != nil {
		return false, err
	}
	if !bytes.Equal(h[:6], xzHeaderMagic) {
		return false, xzErrorf("trailing garbage after xz stream")
	}
	return true, x.parseStreamHeader(h[:])
}

// countingReader counts the bytes read through it and stops at limit
// (unless limit is negative).
type countingReader struct {
	r     *bufio.Reader
	n     int64
	limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.limit >= 0 {
		if c.n >= c.limit {
			return 0, io.ErrUnexpectedEOF
		}
		if int64(len(p)) > c.limit-c.n {
			p = p[:c.limit-c.n]
		}
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func (c *countingReader) ReadByte() (byte, error) {
	if c.limit >= 0 && c.n >= c.limit {
		return 0, io.ErrUnexpectedEOF
	}
	b, err := c.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	c.n++
	return b, nil
}

// crcByteReader reads bytes, counting them and updating a CRC32.
type crcByteReader struct {
	r   *bufio.Reader
	n   int // bytes read, including the index indicator
	crc uint32
}

func (c *crcByteReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, fmt.Errorf("compress: xz: index: %w", err)
	}
	c.n++
	c.crc = crc32.Update(c.crc, crc32.IEEETable, []byte{b})
	return b, nil
}

// readVarint reads an xz multibyte integer: at most 9 bytes, no
// superfluous trailing zero byte.
func readVarint(r io.ByteReader) (uint64, error) {
	var v uint64
	for i := 0; i < 9; i++ {
		b, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		if b == 0 && i > 0 {
			return 0, xzErrorf("non-minimal integer encoding")
		}
		v |= uint64(b&0x7f) << (7 * i)
		if b&0x80 == 0 {
			return v, nil
		}
	}
	return 0, xzErrorf("integer too long")
}

// parseVarint decodes an xz multibyte integer from b and returns it with
// the number of bytes used.
func parseVarint(b []byte) (uint64, int, error) {
	br := bytes.NewReader(b)
	v, err := readVarint(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, 0, xzErrorf("truncated block header")
		}
		return 0, 0, err
	}
	return v, len(b) - br.Len(), nil
}
