package compress

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
)

const (
	// gzipLevel is the klauspost/compress/flate level used for gzip by
	// default.
	gzipLevel = 7
	// gzipChunkSize is the input size compressed by one worker.
	gzipChunkSize = 1 << 20
	// gzipDictSize is how much of the previous chunk primes the next one:
	// the whole deflate window.
	gzipDictSize = 32 << 10
)

// gzipHeader is the fixed member header: ID1 ID2 CM=deflate FLG=0 MTIME=0
// XFL=0 OS=255 (unknown).
var gzipHeader = [10]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}

// gzipWriter writes one gzip member whose deflate stream is compressed in
// parallel chunks (see the package documentation).
type gzipWriter struct {
	w      io.Writer
	p      *chunkPipeline
	crc    uint32
	size   uint32 // input size modulo 2^32 (ISIZE)
	header bool
	closed bool
}

// newGzipWriter deflates at level (1-9), or at gzipLevel for
// DefaultLevel.
func newGzipWriter(w io.Writer, level int) *gzipWriter {
	if level == DefaultLevel {
		level = gzipLevel
	}
	return &gzipWriter{
		w: w,
		p: newChunkPipeline(w, gzipChunkEncoder{level: level}, gzipChunkSize, gzipDictSize),
	}
}

func (z *gzipWriter) writeHeader() error {
	if z.header {
		return nil
	}
	if _, err := z.w.Write(gzipHeader[:]); err != nil {
		z.p.err = err
		return fmt.Errorf("compress: gzip: write header: %w", err)
	}
	z.header = true
	return nil
}

func (z *gzipWriter) Write(b []byte) (int, error) {
	if z.closed {
		return 0, errClosed
	}
	if err := z.writeHeader(); err != nil {
		return 0, err
	}
	n, err := z.p.Write(b)
	z.crc = crc32.Update(z.crc, crc32.IEEETable, b[:n])
	z.size += uint32(n)
	if err != nil {
		return n, fmt.Errorf("compress: gzip: %w", err)
	}
	return n, nil
}

func (z *gzipWriter) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	if err := z.writeHeader(); err != nil {
		return err
	}
	if err := z.p.finish(true); err != nil {
		return fmt.Errorf("compress: gzip: %w", err)
	}
	var trailer [8]byte
	binary.LittleEndian.PutUint32(trailer[0:], z.crc)
	binary.LittleEndian.PutUint32(trailer[4:], z.size)
	if _, err := z.w.Write(trailer[:]); err != nil {
		return fmt.Errorf("compress: gzip: write trailer: %w", err)
	}
	return nil
}

// gzipChunkEncoder deflates one chunk, primed with the end of the previous
// chunk. A chunk other than the last ends with a sync flush (an empty stored
// block), which byte-aligns it, so the next chunk's blocks simply follow.
type gzipChunkEncoder struct{ level int }

func (gzipChunkEncoder) newState() any { return new(bytes.Buffer) }

// encode uses a new flate.Writer for every chunk: a reset writer may keep
// state that a new one does not have, and the output must not depend on
// which worker compressed the previous chunk. Allocating it costs nothing
// measurable next to compressing 1 MiB.
func (e gzipChunkEncoder) encode(state any, job *chunkJob) error {
	buf := state.(*bytes.Buffer)
	buf.Reset()
	fw, err := flate.NewWriterDict(buf, e.level, job.prev)
	if err != nil {
		return fmt.Errorf("deflate: %w", err)
	}
	if _, err := fw.Write(job.data); err != nil {
		return fmt.Errorf("deflate: %w", err)
	}
	if job.last {
		err = fw.Close()
	} else {
		err = fw.Flush()
	}
	if err != nil {
		return fmt.Errorf("deflate: %w", err)
	}
	job.out = append(job.out[:0], buf.Bytes()...)
	return nil
}

// newGzipReader reads gzip data, including several concatenated members.
// Readers are reused once closed: each holds a 32 KiB window, and a publish
// opens two for each of thousands of packages.
func newGzipReader(r io.Reader) (io.ReadCloser, error) {
	var err error
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		zr, err = gzip.NewReader(r)
	} else {
		err = zr.Reset(r)
	}
	if err != nil {
		return nil, fmt.Errorf("compress: gzip: %w", err)
	}
	zr.Multistream(true)
	return &pooledGzip{Reader: zr}, nil
}

var gzipReaders sync.Pool

// pooledGzip returns its reader to the pool when closed, once.
type pooledGzip struct {
	*gzip.Reader
	closed bool
}

func (p *pooledGzip) Read(b []byte) (int, error) {
	if p.closed {
		return 0, errors.New("compress: gzip: read after close")
	}
	return p.Reader.Read(b)
}

func (p *pooledGzip) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	err := p.Reader.Close()
	gzipReaders.Put(p.Reader)
	return err
}
