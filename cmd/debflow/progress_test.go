package main

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storagetest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestMeterDrawsWhatHowFarAndRate: the line says what, how much and the
// rate, is redrawn in place and ends with a newline; a step shorter than
// the delay draws nothing.
func TestMeterDrawsWhatHowFarAndRate(t *testing.T) {
	var out lockedBuffer
	m := &meter{what: "building amd64", w: &out, poll: func() int64 { return 3 << 20 }, stop: make(chan struct{}), finished: make(chan struct{})}
	m.Start(0, 5*time.Millisecond)
	time.Sleep(30 * time.Millisecond)
	m.Stop()
	s := out.String()
	if !strings.HasPrefix(s, "\rbuilding amd64: 3.0 MiB written (") || !strings.Contains(s, "/s)") || !strings.HasSuffix(s, "\n") || strings.Count(s, "\r") < 2 {
		t.Errorf("meter drew %q", s)
	}

	var quiet lockedBuffer
	m = &meter{what: "publishing", w: &quiet, stop: make(chan struct{}), finished: make(chan struct{})}
	m.Start(time.Hour, time.Hour)
	m.Stop()
	if quiet.String() != "" {
		t.Errorf("a short step drew %q", quiet.String())
	}
	var nilMeter *meter
	nilMeter.Start(0, 0) // nothing to draw on: no panic
	nilMeter.Stop()
}

// TestProgressOnlyOnATerminal: no progress when stderr is not a terminal,
// with --quiet, with --json, or in CI.
func TestProgressOnlyOnATerminal(t *testing.T) {
	tty, err := os.OpenFile("/dev/null", os.O_WRONLY, 0) // a character device, as a terminal is
	if err != nil {
		t.Skip(err)
	}
	defer tty.Close()
	vars := map[string]string{}
	e := env{stderr: tty, getenv: func(k string) string { return vars[k] }}
	if !showProgress(&globalOptions{}, e) {
		t.Fatal("no progress on a terminal")
	}
	for name, g := range map[string]*globalOptions{"--quiet": {quiet: true}, "--json": {json: true}} {
		if showProgress(g, e) || newMeter(g, e, "x", nil) != nil || terminalProgress(g, e, "x") != nil {
			t.Errorf("progress with %s", name)
		}
	}
	vars["CI"] = "true"
	if showProgress(&globalOptions{}, e) {
		t.Error("progress in CI")
	}
	delete(vars, "CI")
	if showProgress(&globalOptions{}, env{stderr: &bytes.Buffer{}, getenv: e.getenv}) {
		t.Error("progress into a pipe")
	}
}

// TestMeteredStorageSuite: the counting decorator is a Storage like any
// other, and it counts.
func TestMeteredStorageSuite(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) repo.Storage {
		fs, err := repo.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return meterStorage(fs, &meter{})
	})
	fs, err := repo.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m := &meter{}
	st := meterStorage(fs, m)
	if err := st.Put(t.Context(), "a/b", strings.NewReader("12345")); err != nil {
		t.Fatal(err)
	}
	if m.written.Load() != 5 || m.files.Load() != 1 {
		t.Errorf("counted %d bytes, %d files", m.written.Load(), m.files.Load())
	}
	if meterStorage(fs, nil) != repo.Storage(fs) {
		t.Error("without a meter the storage should be unwrapped")
	}
}
