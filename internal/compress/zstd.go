package compress

import (
	"fmt"
	"io"
	"runtime"

	"github.com/klauspost/compress/zstd"
)

// zstdConcurrency is the encoder concurrency: GOMAXPROCS, but at least 2
// and at most 8. It must never be 1: at 1 the encoder disables concurrent
// blocks and produces different bytes. Any value above 1 gives the same
// bytes (TestZstdConcurrencyOnlyChangesSpeed). Each job in flight holds
// about 20 MB: on two cores, 4 built the 200 MB benchmark payload no faster
// than 2, with a peak RSS of 190 MB instead of 147 MB.
func zstdConcurrency() int {
	return min(max(runtime.GOMAXPROCS(0), 2), 8)
}

const (
	// zstdWindow is the encoder window, as zstd -3 uses for large inputs.
	// It also sets the parallel job size (4 windows) and the overlap given
	// to each job (1/8 window).
	zstdWindow = 2 << 20
)

// zstdWriter hides the encoder's ReadFrom and Flush: both cut jobs at
// different places than Write, so output would depend on how the writer is
// driven.
type zstdWriter struct {
	enc    *zstd.Encoder
	closed bool
}

// newZstdWriter compresses at a zstd level (1-22), DefaultLevel being
// zstd's default, 3.
func newZstdWriter(w io.Writer, level int) (io.WriteCloser, error) {
	return newZstdWriterConcurrency(w, level, zstdConcurrency())
}

// newZstdWriterConcurrency is newZstdWriter with another encoder
// concurrency, for the test that the bytes do not depend on it (above 1).
func newZstdWriterConcurrency(w io.Writer, level, concurrency int) (io.WriteCloser, error) {
	enc, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstdEncoderLevel(level)),
		zstd.WithWindowSize(zstdWindow),
		zstd.WithEncoderConcurrency(concurrency),
		zstd.WithConcurrentBlocks(true),
		zstd.WithEncoderCRC(true),
		zstd.WithZeroFrames(true),
	)
	if err != nil {
		return nil, fmt.Errorf("compress: zstd: %w", err)
	}
	return &zstdWriter{enc: enc}, nil
}

func (z *zstdWriter) Write(p []byte) (int, error) {
	if z.closed {
		return 0, errClosed
	}
	n, err := z.enc.Write(p)
	if err != nil {
		return n, fmt.Errorf("compress: zstd: %w", err)
	}
	return n, nil
}

func (z *zstdWriter) Close() error {
	if z.closed {
		return nil
	}
	z.closed = true
	if err := z.enc.Close(); err != nil {
		return fmt.Errorf("compress: zstd: %w", err)
	}
	return nil
}

// zstdReader releases the decoder's resources on Close.
type zstdReader struct {
	dec *zstd.Decoder
}

func newZstdReader(r io.Reader) (io.ReadCloser, error) {
	dec, err := zstd.NewReader(r,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(MaxDecoderWindow),
		zstd.WithDecoderMaxMemory(MaxDecoderWindow),
		// Never decode a whole in-memory input at once: output must
		// stream through a LimitReader.
		zstd.WithDecodeBuffersBelow(0),
	)
	if err != nil {
		return nil, fmt.Errorf("compress: zstd: %w", err)
	}
	return &zstdReader{dec: dec}, nil
}

func (z *zstdReader) Read(p []byte) (int, error) {
	n, err := z.dec.Read(p)
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("compress: zstd: %w", err)
	}
	return n, err
}

func (z *zstdReader) Close() error {
	z.dec.Close()
	return nil
}
