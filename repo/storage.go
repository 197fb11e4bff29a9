package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Storage is what the publisher needs from where the repository lives.
//
// The repository tree is the database: every piece of state, the published
// files and debflow's own metadata under ".debflow/", lives under the
// repository root, in a local directory (FS) today and in S3-compatible
// object storage later. So Storage offers only what an object store does
// well: whole objects replaced atomically, prefix listing, deletion, and a
// lock. There are no hard links, symbolic links, appends or directory
// renames. A publication is made atomic by the order of its writes instead:
// immutable objects (pool files, by-hash indexes) first, then the indexes,
// and Release/InRelease last. Concurrent publishers are serialised by Lock.
// Every implementation runs the shared test suite in package
// repo/storagetest.
//
// Names are slash-separated paths relative to the repository root, such as
// "pool/main/h/hello/hello_1.0_amd64.deb": never absolute, without "." or
// ".." segments and without empty segments (see ValidName). Every method
// refuses an invalid name with an error wrapping ErrBadName. An
// implementation may also reserve some valid names for its own bookkeeping
// and refuse them the same way (FS reserves its lock file and its temporary
// files). A name must not be both an object and the "directory" of another
// object ("a" and "a/b"): object stores allow it, file systems do not.
//
// Errors wrap the underlying error with %w and carry the object name.
//
// Concurrency: a Storage must be safe for concurrent use by several
// goroutines of one process. Publish stores and checks pool files in
// parallel, so Get, Stat, Put and Copy are called concurrently, each
// goroutine on different names; readers (verify, serve, another process)
// may Get and List while a publisher writes. debflow never issues two
// concurrent writes (Put, Copy, Delete) of the same name from one process;
// across processes, writers are serialised by Lock. Delete, Sync, List and
// Lock are called from one goroutine at a time in a publisher, but an
// implementation must not assume so. Test doubles that wrap a Storage
// (fault injection, counters) must guard their own state the same way.
type Storage interface {
	// Get opens an object. A missing object gives an error wrapping
	// fs.ErrNotExist.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// Put stores an object atomically: a concurrent reader (an HTTP server
	// serving the tree, apt) sees the old content or the new, never a mix or
	// a partial file. Parent "directories" are implied. When Put fails,
	// the previous content, if any, is left in place.
	Put(ctx context.Context, name string, r io.Reader) error
	// Stat returns the size of an object (fs.ErrNotExist when missing).
	Stat(ctx context.Context, name string) (ObjectInfo, error)
	// Delete removes an object; a missing one is not an error.
	Delete(ctx context.Context, name string) error
	// Copy makes dst an object with src's content, atomically as Put does.
	// An implementation may share storage between the two (a hard link, a
	// server-side copy), so debflow copies only content-addressed objects
	// (by-hash files), which nobody edits in place.
	Copy(ctx context.Context, src, dst string) error
	// Sync makes every Put and Delete that has returned durable, across a
	// power loss. Readers see a Put's object as soon as Put returns; Sync
	// is about the disk. Publishers call it between steps whose order
	// matters (before the commit point, before the Release files).
	Sync(ctx context.Context) error
	// List returns every object whose name starts with prefix, sorted by
	// name (byte order), recursively. The prefix is "" or a string prefix of
	// a valid name, usually a "directory" such as "dists/development/".
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Lock takes the repository's exclusive publish lock, waiting until ctx
	// is done. holder describes the caller (host, pid, CI job) and is shown
	// to waiters. waiting is called (once, or each time the holder changes)
	// when the lock is busy, with the current holder's description and since
	// when it holds the lock; it may be nil. When ctx is done first, Lock
	// returns an error wrapping both ErrLockTimeout and ctx.Err() that names
	// the holder. A holder that dies must not keep the lock for long.
	Lock(ctx context.Context, holder string, waiting func(holder string, since time.Time)) (unlock func() error, err error)
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// ErrBadName is wrapped by the errors about names that are invalid or
// reserved.
var ErrBadName = errors.New("repo: invalid object name")

// ErrLockTimeout is wrapped by the error Lock returns when its context is
// done before the lock could be taken.
var ErrLockTimeout = errors.New("repo: timed out waiting for the repository lock")

// ValidName reports whether name can name an object in every Storage: a
// non-empty, slash-separated, relative path of valid UTF-8 without empty,
// "." or ".." segments, NUL bytes or backslashes. Names whose segments start
// with a dot, such as ".debflow/state", are valid. The error wraps
// ErrBadName.
func ValidName(name string) error {
	switch {
	case name == "":
		return badName(name, "empty")
	case !utf8.ValidString(name):
		return badName(name, "not UTF-8")
	case strings.ContainsRune(name, 0):
		return badName(name, "contains a NUL byte")
	case strings.ContainsRune(name, '\\'):
		return badName(name, "contains a backslash")
	case name[0] == '/':
		return badName(name, "absolute")
	}
	for seg := range strings.SplitSeq(name, "/") {
		switch seg {
		case "":
			return badName(name, "empty segment")
		case ".", "..":
			return badName(name, fmt.Sprintf("%q segment", seg))
		}
	}
	return nil
}

// validPrefix checks a List prefix: "" or a string prefix of a valid name.
// A trailing slash is allowed; so is a partial last segment ("dists/dev").
func validPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	if err := ValidName(strings.TrimSuffix(prefix, "/")); err != nil {
		return fmt.Errorf("list prefix: %w", err)
	}
	return nil
}

func badName(name, why string) error {
	return fmt.Errorf("%w %q: %s", ErrBadName, name, why)
}

// ErrPreconditionFailed is wrapped by the error of a conditional write
// whose condition no longer holds: another writer changed the object since
// it was read.
var ErrPreconditionFailed = errors.New("repo: the object changed since it was read")

// ConditionalStorage is implemented by storages that can replace an object
// only if nobody else did meanwhile (S3's If-Match / If-None-Match). The
// commit point of a suite (its record) is then a compare-and-swap, so that
// two publishers that both got past Lock (an expired lease) never lose
// each other's packages: the loser redoes its work on the newer state.
type ConditionalStorage interface {
	Storage
	// GetVersion reads an object whole, with an opaque version (an ETag).
	GetVersion(ctx context.Context, name string) (data []byte, version string, err error)
	// PutIfVersion stores an object if its version is still version, or,
	// when version is "", if it does not exist; otherwise the error wraps
	// ErrPreconditionFailed. It returns the new version.
	PutIfVersion(ctx context.Context, name string, r io.Reader, version string) (newVersion string, err error)
}
