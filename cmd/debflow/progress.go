package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/debflow/debflow/repo"
)

// Progress on a terminal: a step that takes more than a second (build,
// publish, verify, copy) redraws one line on stderr with what it does, how
// far it is and the rate. Nothing is drawn when stderr is not a terminal,
// with --quiet or --json, or when $CI is set; no colour is used.

// progressDelay is how long a step runs before its progress line appears.
const progressDelay = time.Second

// progressEvery is how often the line is redrawn.
const progressEvery = 250 * time.Millisecond

// showProgress reports whether progress lines may be drawn.
func showProgress(g *globalOptions, e env) bool {
	return !g.quiet && !g.json && e.getenv("CI") == "" && isTerminal(e.stderr)
}

// meter counts a step's bytes and files and draws them.
type meter struct {
	what           string
	w              io.Writer
	start          time.Time
	read, written  atomic.Int64
	files          atomic.Int64
	poll           func() int64 // when set, the bytes written so far
	stop, finished chan struct{}
	once           sync.Once
	started        atomic.Bool
}

// newMeter returns a meter for what, or nil when nothing may be drawn. A
// nil *meter is valid: its methods do nothing. It draws from Start on.
func newMeter(g *globalOptions, e env, what string, poll func() int64) *meter {
	if !showProgress(g, e) {
		return nil
	}
	return &meter{what: what, w: e.stderr, poll: poll, stop: make(chan struct{}), finished: make(chan struct{})}
}

// startMeter is newMeter and Start.
func startMeter(g *globalOptions, e env, what string, poll func() int64) *meter {
	m := newMeter(g, e, what, poll)
	m.Start(progressDelay, progressEvery)
	return m
}

// Start draws the line after delay, and then every interval, until Stop.
func (m *meter) Start(delay, every time.Duration) {
	if m == nil {
		return
	}
	m.start = time.Now()
	m.read.Store(0)
	m.written.Store(0)
	m.files.Store(0)
	m.started.Store(true)
	go func() {
		defer close(m.finished)
		drawn := false
		t := time.NewTimer(delay)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				if drawn {
					fmt.Fprintf(m.w, "\r%s\n", m.line())
				}
				return
			case <-t.C:
				fmt.Fprintf(m.w, "\r%s", m.line())
				drawn = true
				t.Reset(every)
			}
		}
	}()
}

// line is the progress line, padded to cover a longer previous one.
func (m *meter) line() string {
	elapsed := time.Since(m.start)
	var parts []string
	if n := m.files.Load(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d files", n))
	}
	written := m.written.Load()
	if m.poll != nil {
		written = m.poll()
	}
	for _, c := range []struct {
		n    int64
		verb string
	}{{written, "written"}, {m.read.Load(), "read"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s (%s/s)", byteSize(c.n), c.verb, byteSize(int64(float64(c.n)/max(elapsed.Seconds(), 0.001)))))
		}
	}
	parts = append(parts, elapsed.Round(time.Second).String())
	return fmt.Sprintf("%-72s", m.what+": "+strings.Join(parts, ", "))
}

// Stop ends the line (when one was drawn) and waits for the drawer.
func (m *meter) Stop() {
	if m == nil {
		return
	}
	m.once.Do(func() { close(m.stop) })
	if m.started.Load() {
		<-m.finished
	}
}

// byteSize formats n bytes with a binary unit.
func byteSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// tempFileSize returns the size of the files in dir whose names start with
// prefix: the package a build is writing (build's ".debflow-build-*").
func tempFileSize(dir, prefix string) func() int64 {
	return func() int64 {
		matches, _ := filepath.Glob(filepath.Join(dir, prefix+"*"))
		var n int64
		for _, p := range matches {
			if fi, err := os.Stat(p); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
}

// meterStorage counts what st reads and writes into m; with a nil m it
// returns st. It keeps st's optional abilities (conditional writes,
// temporary-file cleanup, a cheap emptiness test) that the repository
// looks for.
func meterStorage(st repo.Storage, m *meter) repo.Storage {
	if m == nil {
		return st
	}
	ms := &meteredStorage{Storage: st, m: m}
	if cs, ok := st.(repo.ConditionalStorage); ok {
		return &meteredConditional{meteredStorage: ms, cs: cs}
	}
	return ms
}

type meteredStorage struct {
	repo.Storage
	m *meter
}

type countingReader struct {
	io.Reader
	n *atomic.Int64
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	r.n.Add(int64(n))
	return n, err
}

type countingReadCloser struct {
	countingReader
	io.Closer
}

func (s *meteredStorage) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := s.Storage.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return countingReadCloser{countingReader{rc, &s.m.read}, rc}, nil
}

func (s *meteredStorage) Put(ctx context.Context, name string, r io.Reader) error {
	err := s.Storage.Put(ctx, name, countingReader{r, &s.m.written})
	if err == nil {
		s.m.files.Add(1)
	}
	return err
}

func (s *meteredStorage) Copy(ctx context.Context, src, dst string) error {
	err := s.Storage.Copy(ctx, src, dst)
	if err == nil {
		s.m.files.Add(1)
	}
	return err
}

// Empty, Temporaries and RemoveTemporary pass on what st can do, and
// otherwise do what the repository does without them.
func (s *meteredStorage) Empty(ctx context.Context) (bool, error) {
	if e, ok := s.Storage.(interface {
		Empty(context.Context) (bool, error)
	}); ok {
		return e.Empty(ctx)
	}
	objs, err := s.Storage.List(ctx, "")
	return len(objs) == 0, err
}

func (s *meteredStorage) Temporaries(ctx context.Context, age time.Duration) ([]repo.ObjectInfo, error) {
	if tc, ok := s.Storage.(interface {
		Temporaries(context.Context, time.Duration) ([]repo.ObjectInfo, error)
	}); ok {
		return tc.Temporaries(ctx, age)
	}
	return nil, nil
}

func (s *meteredStorage) RemoveTemporary(ctx context.Context, name string) error {
	if tc, ok := s.Storage.(interface {
		RemoveTemporary(context.Context, string) error
	}); ok {
		return tc.RemoveTemporary(ctx, name)
	}
	return nil
}

type meteredConditional struct {
	*meteredStorage
	cs repo.ConditionalStorage
}

func (s *meteredConditional) GetVersion(ctx context.Context, name string) ([]byte, string, error) {
	data, v, err := s.cs.GetVersion(ctx, name)
	s.m.read.Add(int64(len(data)))
	return data, v, err
}

func (s *meteredConditional) PutIfVersion(ctx context.Context, name string, r io.Reader, version string) (string, error) {
	return s.cs.PutIfVersion(ctx, name, countingReader{r, &s.m.written}, version)
}
