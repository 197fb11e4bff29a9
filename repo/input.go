package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/debflow/debflow/internal/debfile"
)

// Package is a .deb checked and ready to publish. It holds on to the bytes
// that were checked, so that what is stored is what was checked even when
// the file is replaced on disk while its publisher waits for the lock (a CI
// job rebuilding dist/):
//
//   - a regular file stays open from the check to the store, so a file
//     renamed over it does not matter;
//   - an input that is not a regular file (a pipe, <(…), /dev/stdin, a FIFO)
//     is read once, before the lock, into a private unlinked temporary file;
//   - when a batch has more files than it may keep open, a regular file is
//     opened again to be stored.
//
// In every case the bytes are hashed again while they are stored, and a
// store whose SHA-256 is not the checked one fails before the commit point,
// so the pool can never hold other bytes than the index lists.
//
// The control paragraph is kept as the text the package's index stanza
// starts with (Info.Control is nil), and once Publish has made that stanza,
// in the stanza alone: a batch of thousands of packages holds each
// paragraph once, in its smallest form, until the commit.
//
// Close releases the file.
type Package struct {
	Path string // as given, for messages
	Info *debfile.Info

	control []byte   // the control paragraph, as its stanza writes it; nil once built
	built   *Stanza  // the stanza made last, whose text starts with the paragraph
	file    *os.File // the checked bytes; nil when Path is to be opened again
	private bool     // file is a private copy, which Path cannot give again
}

// newPackage makes a Package of a checked file, keeping the paragraph as
// text. The identity strings are copied out of the paragraph's, which
// they would otherwise keep alive.
func newPackage(path string, info *debfile.Info, f *os.File) Package {
	p := Package{Path: path, Info: info, control: info.Control.Bytes(), file: f}
	info.Control = nil
	info.Package, info.Version, info.Architecture = strings.Clone(info.Package), strings.Clone(info.Version), strings.Clone(info.Architecture)
	return p
}

// stanza returns the package's index stanza for the pool file name,
// making it the first time.
func (p *Package) stanza(pool string) (*Stanza, error) {
	if p.built != nil {
		if p.built.Filename == pool {
			return p.built, nil
		}
		p.control = p.built.control()
	}
	var st *Stanza
	var err error
	if p.control == nil { // a Package made by hand, with its paragraph in Info
		st, err = NewStanza(p.Info.Control, pool, p.Info.Size, p.Info.MD5, p.Info.SHA256)
	} else {
		st, err = stanzaOf(p.control, pool, p.Info.Size, p.Info.MD5, p.Info.SHA256)
	}
	if err != nil {
		return nil, err
	}
	p.built, p.control = st, nil
	// The same strings as the stanza's, held once.
	p.Info.Package, p.Info.Version, p.Info.Architecture, p.Info.SHA256 = st.Package, st.Version, st.Architecture, st.SHA256
	return st, nil
}

// Close releases the package's open file, if any.
func (p *Package) Close() error {
	if p.file == nil {
		return nil
	}
	err := p.file.Close()
	p.file = nil
	return err
}

// ClosePackages closes every package of a batch.
func ClosePackages(pkgs []Package) {
	for i := range pkgs {
		pkgs[i].Close()
	}
}

// ErrChanged is wrapped by the error of a publish whose input no longer has
// the bytes that were checked.
var ErrChanged = errors.New("changed after it was checked")

// Inspect reads and checks .deb files, in parallel, before anything is
// written. The first problem found is returned, naming its file.
func Inspect(files []string) ([]Package, error) {
	return InspectProgress(context.Background(), files, nil)
}

// keepOpenBudget is how many inputs a batch keeps open: half of the open
// file limit (which Go raises to the hard limit at start), leaving the rest
// for the storage and the runtime.
var keepOpenBudget = func() int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur > math.MaxInt32 {
		return 512
	}
	return int(lim.Cur / 2)
}

// InspectProgress is Inspect that stops when ctx is done and calls progress
// (when not nil) after each file with the number done so far; calls may
// come from several goroutines, one at a time. On error, the packages
// opened so far are closed.
func InspectProgress(ctx context.Context, files []string, progress func(done, total int)) ([]Package, error) {
	keepOpen := len(files) <= keepOpenBudget()
	pkgs := make([]Package, len(files))
	var mu sync.Mutex
	done := 0
	err := parallel(len(files), func(i int) error {
		p, err := inspectInput(ctx, files[i], keepOpen)
		if err != nil {
			return err
		}
		pkgs[i] = p
		if progress != nil {
			mu.Lock()
			done++
			progress(done, len(files))
			mu.Unlock()
		}
		return nil
	})
	if err != nil {
		ClosePackages(pkgs)
		return nil, err
	}
	return pkgs, nil
}

// inspectInput opens one input without ever blocking (O_NONBLOCK: opening a
// FIFO nobody writes to would otherwise wait forever), takes a private copy
// of what is not a regular file, and checks the bytes.
func inspectInput(ctx context.Context, path string, keepOpen bool) (Package, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return Package{}, fmt.Errorf("%w: %w", ErrInput, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return Package{}, fmt.Errorf("%w: %s: %w", ErrInput, path, err)
	}
	switch {
	case fi.IsDir():
		f.Close()
		return Package{}, fmt.Errorf("%w: %s is a directory, not a .deb file", ErrInput, path)
	case !fi.Mode().IsRegular():
		cp, err := privateCopy(ctx, f, path)
		f.Close()
		if err != nil {
			return Package{}, err
		}
		f, keepOpen = cp, true // an unlinked copy cannot be opened again
	}
	info, err := debfile.Inspect(io.NewSectionReader(f, 0, math.MaxInt64), debfile.DefaultLimits())
	if err != nil {
		f.Close()
		return Package{}, fmt.Errorf("%s: %w", path, err)
	}
	p := newPackage(path, info, f)
	p.private = !fi.Mode().IsRegular()
	if !keepOpen {
		p.Close()
	}
	return p, nil
}

// ErrInput is wrapped by errors about a package input that cannot be read
// at all (missing, a directory, unreadable).
var ErrInput = errors.New("cannot read the package")

// privateCopy reads a non-regular input (a pipe or FIFO) once, to its end,
// into an unlinked temporary file, and stops when ctx is done even if the
// writer never writes nor closes.
func privateCopy(ctx context.Context, in *os.File, path string) (*os.File, error) {
	tmp, err := os.CreateTemp("", "debflow-input-*.deb")
	if err != nil {
		return nil, fmt.Errorf("%s: a private copy of a non-regular file: %w", path, err)
	}
	os.Remove(tmp.Name()) // unlinked: nothing is left behind, whatever happens
	stop := context.AfterFunc(ctx, func() { in.SetReadDeadline(time.Unix(1, 0)) })
	_, err = io.Copy(tmp, in)
	stop()
	if err != nil {
		tmp.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("%s: reading: %w", path, err)
	}
	return tmp, nil
}

// content returns the package's checked bytes for storing. The reader
// fails at its end, instead of returning io.EOF, when they are not the
// bytes that were checked, so that a storage's Put keeps nothing.
func (p *Package) content() (io.ReadCloser, error) {
	var r io.Reader
	var c io.Closer = io.NopCloser(nil)
	if p.file != nil {
		r = io.NewSectionReader(p.file, 0, math.MaxInt64)
	} else {
		f, err := os.Open(p.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: opening it again: %w", p.Path, ErrChanged, err)
		}
		r, c = f, f
	}
	return &checkedReader{r: r, c: c, path: p.Path, size: p.Info.Size, sha256: p.Info.SHA256, h: sha256.New()}, nil
}

// checkedReader passes its reader's bytes through, hashing them, and
// replaces the final io.EOF with an error when the size or SHA-256 differ
// from the expected ones.
type checkedReader struct {
	r      io.Reader
	c      io.Closer
	path   string
	size   int64
	sha256 string
	h      hash.Hash
	n      int64
}

func (c *checkedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.size {
		return n, fmt.Errorf("%s: %w: now larger than the %d bytes checked", c.path, ErrChanged, c.size)
	}
	if err == io.EOF {
		if got := hex.EncodeToString(c.h.Sum(nil)); c.n != c.size || got != c.sha256 {
			return n, fmt.Errorf("%s: %w (now %d bytes, sha256 %s; checked %d bytes, sha256 %s): publish it again",
				c.path, ErrChanged, c.n, got, c.size, c.sha256)
		}
	}
	return n, err
}

func (c *checkedReader) Close() error { return c.c.Close() }
