package debfile

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"sync"
	"sync/atomic"
)

// Chunks handed to the digest goroutines: at most hashChunks of
// hashChunkSize bytes are in flight, allocated as needed.
const (
	hashChunkSize = 256 << 10
	hashChunks    = 8
)

// hasher counts and digests everything written to it. Each digest runs on
// a goroutine of its own, fed with chunks of the input, so that hashing
// overlaps with reading and decompressing instead of adding to them: the
// four digests together cost more than zstd decompression. Every goroutine
// sees the same chunks in the same order, so the digests do not depend on
// scheduling.
type hasher struct {
	size    int64
	digests [4]hash.Hash // MD5, SHA-1, SHA-256, SHA-512
	work    [4]chan *hashChunk
	free    chan *hashChunk
	made    int
	cur     *hashChunk
	wg      sync.WaitGroup
	stopped bool
}

type hashChunk struct {
	buf  []byte
	refs atomic.Int32 // digests that have not hashed it yet
}

func newHasher() *hasher {
	h := &hasher{
		digests: [4]hash.Hash{md5.New(), sha1.New(), sha256.New(), sha512.New()},
		free:    make(chan *hashChunk, hashChunks),
	}
	for i, d := range h.digests {
		work := make(chan *hashChunk, hashChunks)
		h.work[i] = work
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			for c := range work {
				d.Write(c.buf)
				if c.refs.Add(-1) == 0 {
					h.free <- c
				}
			}
		}()
	}
	return h
}

// Write copies p into chunks and hands every full chunk to the digests. It
// blocks when all chunks are in flight.
func (h *hasher) Write(p []byte) (int, error) {
	h.size += int64(len(p))
	n := len(p)
	for len(p) > 0 {
		if h.cur == nil {
			h.cur = h.chunk()
		}
		k := copy(h.cur.buf[len(h.cur.buf):cap(h.cur.buf)], p)
		h.cur.buf = h.cur.buf[:len(h.cur.buf)+k]
		p = p[k:]
		if len(h.cur.buf) == cap(h.cur.buf) {
			h.send()
		}
	}
	return n, nil
}

// chunk returns an empty chunk: a new one while fewer than hashChunks
// exist, else one that all digests are done with.
func (h *hasher) chunk() *hashChunk {
	var c *hashChunk
	select {
	case c = <-h.free:
	default:
		if h.made < hashChunks {
			h.made++
			c = chunkPool.Get().(*hashChunk)
			c.buf = c.buf[:0]
			return c
		}
		c = <-h.free
	}
	c.buf = c.buf[:0]
	return c
}

func (h *hasher) send() {
	c := h.cur
	h.cur = nil
	c.refs.Store(int32(len(h.work)))
	for _, w := range h.work {
		w <- c
	}
}

// stop ends the digest goroutines after they have hashed everything
// written. It may be called more than once.
func (h *hasher) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	if h.cur != nil && len(h.cur.buf) > 0 {
		h.send()
	}
	for _, w := range h.work {
		close(w)
	}
	h.wg.Wait()
	// Every chunk is free now: they go back to the pool for the next
	// package (a publish inspects thousands, most smaller than a chunk).
	if h.cur != nil {
		chunkPool.Put(h.cur)
		h.cur = nil
	}
	for {
		select {
		case c := <-h.free:
			chunkPool.Put(c)
		default:
			return
		}
	}
}

var chunkPool = sync.Pool{New: func() any { return &hashChunk{buf: make([]byte, 0, hashChunkSize)} }}

// sums stops the hasher and returns the hex digests: MD5, SHA-1, SHA-256,
// SHA-512.
func (h *hasher) sums() (md5Hex, sha1Hex, sha256Hex, sha512Hex string) {
	h.stop()
	hexSum := func(d hash.Hash) string { return hex.EncodeToString(d.Sum(nil)) }
	return hexSum(h.digests[0]), hexSum(h.digests[1]), hexSum(h.digests[2]), hexSum(h.digests[3])
}
