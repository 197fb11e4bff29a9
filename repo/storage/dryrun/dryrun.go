// Package dryrun is a Storage decorator for dry runs: a command runs for
// real against it, reading the repository underneath, while everything it
// writes or deletes goes to memory. Afterwards Changes says which objects
// the real run would add, replace and delete, and the command's own result
// says the rest (what would be published, removed, promoted, freed).
//
// The alternative, a "plan" function next to each command, would have to
// repeat each command's decisions and could drift from them; here the plan
// is the command itself. Lock takes no lock in the storage underneath (so
// no lock file appears in a fresh tree), only an in-process one: a dry run
// reads a moment of the repository and another publisher may change it
// meanwhile, which is the nature of a preview.
//
// What is written is held in memory: a dry run of a large publish needs as
// much memory as the packages it would store.
package dryrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/debflow/debflow/repo"
)

// Storage overlays an in-memory layer on a base storage.
type Storage struct {
	base repo.Storage
	now  func() time.Time

	mu      sync.Mutex
	written map[string][]byte // objects put or copied
	deleted map[string]bool   // objects deleted (and not written since)
	lock    chan struct{}     // the in-process lock
	holder  string            // its holder, and since when (under mu)
	since   time.Time
}

// New returns a dry-run overlay on base.
func New(base repo.Storage) *Storage {
	return &Storage{base: base, now: time.Now, written: map[string][]byte{}, deleted: map[string]bool{}, lock: make(chan struct{}, 1)}
}

// String names the storage underneath.
func (s *Storage) String() string { return fmt.Sprintf("dry run on %v", s.base) }

// Get returns what was written, or the base's object unless deleted.
func (s *Storage) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := repo.ValidName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	data, ok := s.written[name]
	gone := s.deleted[name]
	s.mu.Unlock()
	switch {
	case ok:
		return io.NopCloser(bytes.NewReader(data)), nil
	case gone:
		return nil, notExist("get", name)
	}
	return s.base.Get(ctx, name)
}

// Put keeps the object in memory. A failed read leaves the previous one.
func (s *Storage) Put(ctx context.Context, name string, r io.Reader) error {
	if err := repo.ValidName(name); err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("dry run: put %s: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("dry run: put %s: %w", name, err)
	}
	s.mu.Lock()
	s.written[name] = data
	delete(s.deleted, name)
	s.mu.Unlock()
	return nil
}

// Stat describes what was written, or the base's object unless deleted.
func (s *Storage) Stat(ctx context.Context, name string) (repo.ObjectInfo, error) {
	if err := repo.ValidName(name); err != nil {
		return repo.ObjectInfo{}, err
	}
	s.mu.Lock()
	data, ok := s.written[name]
	gone := s.deleted[name]
	s.mu.Unlock()
	switch {
	case ok:
		return repo.ObjectInfo{Name: name, Size: int64(len(data)), ModTime: s.now()}, nil
	case gone:
		return repo.ObjectInfo{}, notExist("stat", name)
	}
	return s.base.Stat(ctx, name)
}

// Delete hides the object.
func (s *Storage) Delete(ctx context.Context, name string) error {
	if err := repo.ValidName(name); err != nil {
		return err
	}
	s.mu.Lock()
	delete(s.written, name)
	s.deleted[name] = true
	s.mu.Unlock()
	return nil
}

// Copy writes dst with src's content, in memory.
func (s *Storage) Copy(ctx context.Context, src, dst string) error {
	if err := repo.ValidName(dst); err != nil {
		return err
	}
	rc, err := s.Get(ctx, src)
	if err != nil {
		return err
	}
	defer rc.Close()
	return s.Put(ctx, dst, rc)
}

// Sync does nothing: nothing is written.
func (s *Storage) Sync(ctx context.Context) error { return ctx.Err() }

// List merges the base's objects with the overlay.
func (s *Storage) List(ctx context.Context, prefix string) ([]repo.ObjectInfo, error) {
	objs, err := s.base.List(ctx, prefix)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]repo.ObjectInfo, 0, len(objs)+len(s.written))
	for _, o := range objs {
		if _, ok := s.written[o.Name]; ok || s.deleted[o.Name] {
			continue
		}
		out = append(out, o)
	}
	for name, data := range s.written {
		if strings.HasPrefix(name, prefix) {
			out = append(out, repo.ObjectInfo{Name: name, Size: int64(len(data)), ModTime: s.now()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Lock takes an in-process lock only: nothing is written underneath, and
// no lock file is created there.
func (s *Storage) Lock(ctx context.Context, holder string, waiting func(string, time.Time)) (func() error, error) {
	select {
	case s.lock <- struct{}{}:
	default:
		s.mu.Lock()
		h, since := s.holder, s.since
		s.mu.Unlock()
		if waiting != nil {
			waiting(h, since)
		}
		select {
		case s.lock <- struct{}{}:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: held by %s (a dry run in this process): %w", repo.ErrLockTimeout, h, ctx.Err())
		}
	}
	s.mu.Lock()
	s.holder, s.since = holder, s.now()
	s.mu.Unlock()
	var once sync.Once
	return func() error {
		once.Do(func() { <-s.lock })
		return nil
	}, nil
}

// Temporaries lists the base's temporary files, when it has any, so that
// gc's dry run names them too.
func (s *Storage) Temporaries(ctx context.Context, age time.Duration) ([]repo.ObjectInfo, error) {
	tc, ok := s.base.(interface {
		Temporaries(context.Context, time.Duration) ([]repo.ObjectInfo, error)
	})
	if !ok {
		return nil, nil
	}
	return tc.Temporaries(ctx, age)
}

// RemoveTemporary records the removal of a temporary file.
func (s *Storage) RemoveTemporary(ctx context.Context, name string) error {
	s.mu.Lock()
	s.deleted[name] = true
	s.mu.Unlock()
	return nil
}

// Change is one object the real run would write or delete.
type Change struct {
	Name string `json:"name"`
	Size int64  `json:"size"` // the new size; for a deleted object, the size it frees
}

// Changes is what the real run would do to the tree.
type Changes struct {
	Added      []Change `json:"added"`    // new objects
	Replaced   []Change `json:"replaced"` // objects with new content
	Deleted    []Change `json:"deleted"`  // objects that would go
	BytesAdded int64    `json:"bytes_added"`
	BytesFreed int64    `json:"bytes_freed"`
}

// Changes compares the overlay with the base: objects written with the
// content they already have are not changes.
func (s *Storage) Changes(ctx context.Context) (*Changes, error) {
	s.mu.Lock()
	written := make(map[string][]byte, len(s.written))
	for k, v := range s.written {
		written[k] = v
	}
	var deleted []string
	for k := range s.deleted {
		deleted = append(deleted, k)
	}
	s.mu.Unlock()
	c := &Changes{Added: []Change{}, Replaced: []Change{}, Deleted: []Change{}}
	names := make([]string, 0, len(written))
	for k := range written {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		data := written[name]
		old, err := readBase(ctx, s.base, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			c.Added = append(c.Added, Change{name, int64(len(data))})
			c.BytesAdded += int64(len(data))
		case err != nil:
			return nil, err
		case !bytes.Equal(old, data):
			c.Replaced = append(c.Replaced, Change{name, int64(len(data))})
		}
	}
	sort.Strings(deleted)
	for _, name := range deleted {
		fi, err := s.base.Stat(ctx, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted what never was there
		}
		if err != nil && !errors.Is(err, repo.ErrBadName) {
			return nil, err
		}
		if err != nil { // a temporary file: the base's Stat refuses its name
			c.Deleted = append(c.Deleted, Change{Name: name})
			continue
		}
		c.Deleted = append(c.Deleted, Change{name, fi.Size})
		c.BytesFreed += fi.Size
	}
	return c, nil
}

func readBase(ctx context.Context, st repo.Storage, name string) ([]byte, error) {
	rc, err := st.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func notExist(op, name string) error {
	return fmt.Errorf("dry run: %s %s: %w", op, name, fs.ErrNotExist)
}
