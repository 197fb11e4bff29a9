package debfile

import (
	"crypto/md5"
	"crypto/sha256"
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

// hasher counts and digests everything written to it: MD5 and SHA-256, the
// sums a Packages stanza lists (Debian's archive lists no others, and apt
// checks the strongest).
//
// The first chunk's worth of input (all of most of a publish's thousands
// of packages) is hashed as it is written, on the caller's goroutine. The
// rest of a larger package goes to a goroutine per digest, in chunks, so
// that hashing overlaps with reading and decompressing instead of adding to
// them. Every digest sees the bytes in the same order, so the digests do not
// depend on scheduling.
type hasher struct {
	size    int64
	digests [2]hash.Hash // MD5, SHA-256
	work    [2]chan *hashChunk
	free    chan *hashChunk
	made    int
	cur     *hashChunk
	wg      sync.WaitGroup
	started bool // the digest goroutines run
	stopped bool
}

type hashChunk struct {
	buf  []byte
	refs atomic.Int32 // digests that have not hashed it yet
}

func newHasher() *hasher {
	return &hasher{digests: [2]hash.Hash{md5.New(), sha256.New()}}
}

// start starts the digest goroutines, for an input larger than a chunk.
func (h *hasher) start() {
	h.started = true
	h.free = make(chan *hashChunk, hashChunks)
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
}

// Write hashes the first chunk's worth of input as it comes, on the
// caller's goroutine; beyond that, it copies p into chunks and hands every
// full chunk to the digests. It blocks when all chunks are in flight.
func (h *hasher) Write(p []byte) (int, error) {
	if !h.started && h.size+int64(len(p)) <= hashChunkSize {
		for _, d := range h.digests {
			d.Write(p)
		}
		h.size += int64(len(p))
		return len(p), nil
	}
	if !h.started {
		h.start()
	}
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
	case c = <-h.free: // nil channel before start: never ready
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
// written, or hashes it here when it fits in one chunk. It may be called
// more than once.
func (h *hasher) stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	if !h.started {
		return // all hashed already
	}
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

// sums stops the hasher and returns the hex digests: MD5, SHA-256.
func (h *hasher) sums() (md5Hex, sha256Hex string) {
	h.stop()
	var buf [sha256.Size]byte
	hexSum := func(d hash.Hash) string { return hex.EncodeToString(d.Sum(buf[:0])) }
	return hexSum(h.digests[0]), hexSum(h.digests[1])
}
