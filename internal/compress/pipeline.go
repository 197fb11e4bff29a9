package compress

import (
	"io"
	"runtime"
	"sync"
)

// chunkEncoder compresses one chunk. It appends the compressed form of
// job.data to job.out. Workers keep their own state in the value returned by
// newState, so encoders can be reused between chunks.
type chunkEncoder interface {
	newState() any
	encode(state any, job *chunkJob) error
}

// chunkJob is one fixed-size piece of input on its way through the pool.
type chunkJob struct {
	seq  int    // position in the stream, from 0
	data []byte // the chunk's input
	prev []byte // the end of the previous chunk's input (nil for the first chunk)
	last bool   // the final chunk of the stream
	out  []byte // compressed output, filled by a worker
	err  error
	done chan struct{}
}

// chunkPipeline cuts the input into chunks of exactly chunkSize bytes (the
// last one may be shorter), compresses them concurrently and writes the
// results to w in input order. The output depends only on the input, the
// chunk size and the encoder, never on the number of workers nor on how the
// input is split into Write calls.
//
// A full chunk is only dispatched once more input arrives, so the encoder
// learns which chunk is the last one (gzip must mark it). prevLen bytes of
// the previous chunk's end are handed to each job (the gzip dictionary).
type chunkPipeline struct {
	w         io.Writer
	enc       chunkEncoder
	chunkSize int
	prevLen   int

	filling []byte // input of the chunk being filled
	prev    []byte // tail of the last dispatched chunk
	seq     int

	pending []*chunkJob // dispatched, not yet written, in order
	maxPend int
	sem     chan struct{} // limits running workers
	states  chan any      // reusable worker states

	bufPool sync.Pool // *[]byte with cap chunkSize

	err    error
	closed bool
}

func newChunkPipeline(w io.Writer, enc chunkEncoder, chunkSize, prevLen int) *chunkPipeline {
	workers := runtime.GOMAXPROCS(0)
	return &chunkPipeline{
		w:         w,
		enc:       enc,
		chunkSize: chunkSize,
		prevLen:   prevLen,
		maxPend:   2 * workers,
		sem:       make(chan struct{}, workers),
		states:    make(chan any, workers),
	}
}

func (p *chunkPipeline) getBuf() []byte {
	if b, ok := p.bufPool.Get().(*[]byte); ok {
		return (*b)[:0]
	}
	return make([]byte, 0, p.chunkSize)
}

func (p *chunkPipeline) putBuf(b []byte) {
	if cap(b) == p.chunkSize {
		b = b[:0]
		p.bufPool.Put(&b)
	}
}

// Write buffers b and dispatches every chunk that is complete and followed
// by more input.
func (p *chunkPipeline) Write(b []byte) (int, error) {
	if p.closed {
		return 0, errClosed
	}
	if p.err != nil {
		return 0, p.err
	}
	n := 0
	for len(b) > 0 {
		if len(p.filling) == p.chunkSize {
			// More input follows a full chunk: it is not the last one.
			if err := p.dispatch(false); err != nil {
				return n, err
			}
		}
		if p.filling == nil {
			p.filling = p.getBuf()
		}
		k := min(len(b), p.chunkSize-len(p.filling))
		p.filling = append(p.filling, b[:k]...)
		b = b[k:]
		n += k
	}
	return n, nil
}

// dispatch hands the filling chunk to a worker.
func (p *chunkPipeline) dispatch(last bool) error {
	job := &chunkJob{
		seq:  p.seq,
		data: p.filling,
		prev: p.prev,
		last: last,
		done: make(chan struct{}),
	}
	p.seq++
	p.filling = nil
	if p.prevLen > 0 && !last {
		t := job.data[max(0, len(job.data)-p.prevLen):]
		p.prev = append([]byte(nil), t...)
	}
	p.pending = append(p.pending, job)
	p.sem <- struct{}{}
	go p.run(job)
	// Write what is finished; wait if too much is in flight.
	for len(p.pending) > 0 {
		head := p.pending[0]
		if len(p.pending) <= p.maxPend {
			select {
			case <-head.done:
			default:
				return nil
			}
		}
		if err := p.writeHead(); err != nil {
			return err
		}
	}
	return nil
}

func (p *chunkPipeline) run(job *chunkJob) {
	defer func() {
		<-p.sem
		close(job.done)
	}()
	var st any
	select {
	case st = <-p.states:
	default:
		st = p.enc.newState()
	}
	job.err = p.enc.encode(st, job)
	select {
	case p.states <- st:
	default:
	}
}

// writeHead waits for the oldest pending job and writes its output.
func (p *chunkPipeline) writeHead() error {
	job := p.pending[0]
	<-job.done
	p.pending[0] = nil
	p.pending = p.pending[1:]
	p.putBuf(job.data)
	job.data = nil
	if job.err != nil {
		p.err = job.err
		return p.err
	}
	if _, err := p.w.Write(job.out); err != nil {
		p.err = err
		return err
	}
	return nil
}

// finish dispatches the last chunk (possibly empty) and writes all pending
// output. dispatchEmpty tells whether an empty input still needs a chunk.
func (p *chunkPipeline) finish(dispatchEmpty bool) error {
	if p.err != nil {
		p.drain()
		return p.err
	}
	if len(p.filling) > 0 || (p.seq == 0 && dispatchEmpty) {
		if p.filling == nil {
			p.filling = p.getBuf()
		}
		if err := p.dispatch(true); err != nil {
			p.drain()
			return err
		}
	}
	for len(p.pending) > 0 {
		if err := p.writeHead(); err != nil {
			p.drain()
			return err
		}
	}
	return nil
}

// drain waits for all running jobs after an error.
func (p *chunkPipeline) drain() {
	for _, job := range p.pending {
		<-job.done
	}
	p.pending = nil
}
