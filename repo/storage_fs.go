package repo

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/debflow/debflow/internal/ctxio"
)

const (
	fsLockName   = ".debflow/lock" // the flock(2) file, reserved
	fsTempPrefix = ".tmp-"         // temporary files written by Put, reserved
	fsLockPoll   = 50 * time.Millisecond
)

// FS stores a repository in a directory tree, one regular file per object.
//
// Put writes a temporary file next to the target (".tmp-" and random
// letters), flushes it to disk, makes it mode 0644 and renames it over the
// target, then flushes the directory. Readers therefore see the old file or
// the new one, and an object that Put stored survives a power loss. Files are
// 0644 and the directories FS creates 0755 whatever the umask, so that a web
// server can serve the tree. Delete removes the directories it empties, up
// to the root (so a dropped suite leaves no empty dists/NAME/ behind); a Put
// into such a directory at the same moment could fail, which debflow never
// does, its writers holding the lock. A killed Put can leave a temporary file
// behind; List ignores it.
//
// Every access goes through os.Root, so no name and no symbolic link placed
// in the tree reaches outside the root. List returns regular files only and
// never follows symbolic links. It includes debflow's metadata under
// ".debflow/", which the publisher needs, but not the lock file, temporary
// files, or files whose names ValidName refuses.
//
// Lock takes flock(2) on ".debflow/lock", polling so that the context can
// stop the wait. The kernel releases the lock when its holder exits, even
// when it is killed with SIGKILL, so a crashed publisher never blocks the
// next one. The lock file is never removed (that would let two publishers
// lock two different files); the holder writes {"holder":…,"since":…} into
// it, which waiters read and Unlock clears. flock locks belong to an open
// file, so two Lock calls exclude each other within one process too. The
// lock is meant for a local file system: NFS emulates flock with
// per-process POSIX locks.
type FS struct {
	root string // absolute

	// While this FS holds the lock, no other debflow changes the tree
	// (every writer takes the lock first), and the root stays open for
	// every operation instead of being opened for each: a publish of
	// thousands of packages makes a few operations per package.
	mu     sync.Mutex
	locked *heldRoot
}

// heldRoot is the root an FS keeps open while it holds the lock. It is
// closed when the lock is released and the last operation using it is
// done.
type heldRoot struct {
	root     *os.Root
	users    int
	released bool
}

// NewFS returns the storage of the repository in directory root. root need
// not exist yet: it is created by the first Put or Lock.
func NewFS(root string) (*FS, error) {
	if root == "" {
		return nil, errors.New("repo: empty repository root directory")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("repo: repository root %s: %w", root, err)
	}
	if fi, err := os.Stat(abs); err == nil && !fi.IsDir() {
		return nil, fmt.Errorf("repo: repository root %s: not a directory", abs)
	}
	return &FS{root: abs}, nil
}

// Get implements Storage.
func (f *FS) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := f.checkName(name); err != nil {
		return nil, err
	}
	r, done, err := f.open(false)
	if err != nil {
		return nil, lookupError("get", name, err)
	}
	defer done()
	file, err := r.Open(name)
	if err != nil {
		return nil, lookupError("get", name, err)
	}
	fi, err := file.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotObject
	}
	if err != nil {
		file.Close()
		return nil, lookupError("get", name, err)
	}
	return file, nil
}

// Stat implements Storage.
func (f *FS) Stat(ctx context.Context, name string) (ObjectInfo, error) {
	if err := f.checkName(name); err != nil {
		return ObjectInfo{}, err
	}
	r, done, err := f.open(false)
	if err != nil {
		return ObjectInfo{}, lookupError("stat", name, err)
	}
	defer done()
	fi, err := r.Stat(name)
	if err == nil && !fi.Mode().IsRegular() {
		err = errNotObject
	}
	if err != nil {
		return ObjectInfo{}, lookupError("stat", name, err)
	}
	return ObjectInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete implements Storage. A directory is not an object: deleting its
// name does nothing.
func (f *FS) Delete(ctx context.Context, name string) error {
	if err := f.checkName(name); err != nil {
		return err
	}
	err := f.remove(name)
	if err = lookupError("delete", name, err); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func (f *FS) remove(name string) error {
	r, done, err := f.open(false)
	if err != nil {
		return err
	}
	defer done()
	fi, err := r.Lstat(name)
	if err != nil || fi.IsDir() {
		return err
	}
	if err := r.Remove(name); err != nil {
		return err
	}
	// Directories are not objects: remove those this emptied, up to the
	// root. Removing a directory that is not empty fails, which ends it.
	for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
		if r.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// Put implements Storage.
func (f *FS) Put(ctx context.Context, name string, src io.Reader) error {
	_, err := f.put(ctx, name, src)
	return err
}

// PutStat stores an object and says what the file system then holds at
// name: the size of the file it wrote, from the open file, without looking
// the name up again.
func (f *FS) PutStat(ctx context.Context, name string, src io.Reader) (ObjectInfo, error) {
	return f.put(ctx, name, src)
}

func (f *FS) put(ctx context.Context, name string, src io.Reader) (ObjectInfo, error) {
	if err := f.checkName(name); err != nil {
		return ObjectInfo{}, err
	}
	r, done, err := f.open(true)
	if err != nil {
		return ObjectInfo{}, fsError("put", name, err)
	}
	defer done()
	// The file's directory is opened once: every call on a root walks
	// the whole path, and a put makes several.
	d, err := openDirCreate(r, path.Dir(name))
	if err != nil {
		return ObjectInfo{}, fsError("put", name, err)
	}
	defer d.Close()
	tmp, base := fsTempPrefix+rand.Text(), path.Base(name)
	fi, err := writeFile(ctx, d, tmp, src)
	if err != nil {
		return ObjectInfo{}, fsError("put", name, err)
	}
	if err := d.Rename(tmp, base); err != nil {
		d.Remove(tmp)
		return ObjectInfo{}, fsError("put", name, err)
	}
	return ObjectInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Copy implements Storage with a hard link when it can: index files are
// never changed in place (Put replaces them), so a snapshot or a stage can
// share them with the suite they come from, and copying a suite's indexes
// costs no data. Across file systems it falls back to reading and writing.
func (f *FS) Copy(ctx context.Context, src, dst string) error {
	if err := f.checkName(src); err != nil {
		return err
	}
	if err := f.checkName(dst); err != nil {
		return err
	}
	r, done, err := f.open(true)
	if err != nil {
		return fsError("copy", dst, err)
	}
	defer done()
	dir := path.Dir(dst)
	if err := mkdirs(r, dir); err != nil {
		return fsError("copy", dst, err)
	}
	fi, err := r.Lstat(src)
	if err != nil {
		return lookupError("copy", src, err)
	}
	if !fi.Mode().IsRegular() {
		return lookupError("copy", src, errNotObject)
	}
	tmp := path.Join(dir, fsTempPrefix+rand.Text())
	if err := r.Link(src, tmp); err != nil {
		rc, gerr := f.Get(ctx, src)
		if gerr != nil {
			return gerr
		}
		defer rc.Close()
		return f.Put(ctx, dst, rc)
	}
	if err := r.Rename(tmp, dst); err != nil {
		r.Remove(tmp)
		return fsError("copy", dst, err)
	}
	// When dst is a link to src already, rename(2) succeeds and does
	// nothing, leaving tmp behind.
	if err := r.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsError("copy", dst, err)
	}
	return nil
}

// Sync implements Storage: one syncfs(2) makes every completed Put and
// Delete durable. Syncing once per publishing step instead of once per file
// makes a 10,000-package import take seconds instead of a minute, and the
// order of the steps is what crash safety needs.
func (f *FS) Sync(ctx context.Context) error {
	d, err := os.Open(f.root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fsError("sync", ".", err)
	}
	defer d.Close()
	if err := unix.Syncfs(int(d.Fd())); err != nil {
		return fsError("sync", ".", err)
	}
	return nil
}

// List implements Storage.
func (f *FS) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	if err := validPrefix(prefix); err != nil {
		return nil, err
	}
	r, done, err := f.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repo: list %q: %w", prefix, err)
	}
	defer done()
	// Walk the deepest directory that the prefix names, then filter:
	// "dists/dev" walks "dists" and keeps "dists/development/...".
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	var objs []ObjectInfo
	err = fs.WalkDir(r.FS(), start, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(lookupError("list", name, err), fs.ErrNotExist) {
				return nil // no such prefix, or deleted while we walk
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if name != start && !strings.HasPrefix(name+"/", prefix) {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(name, prefix) || f.checkName(name) != nil {
			return nil
		}
		fi, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		objs = append(objs, ObjectInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repo: list %q: %w", prefix, err)
	}
	slices.SortFunc(objs, func(a, b ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return objs, nil
}

// Empty reports whether the root holds nothing but, maybe, debflow's own
// directory ".debflow/" (or does not exist). What that directory holds
// does not count: the lock file is taken before a command looks, and a
// first publisher writes the configuration there (a temporary file, then
// the rename) while others look. It reads a few directory entries, never
// the whole tree.
func (f *FS) Empty(ctx context.Context) (bool, error) {
	names, err := readNames(f.root, 2)
	if err != nil {
		return false, err
	}
	return len(names) == 0 || len(names) == 1 && names[0] == path.Dir(fsLockName), nil
}

// readNames reads at most n entry names of a directory; a missing
// directory has none.
func readNames(dir string, n int) ([]string, error) {
	d, err := os.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fsError("read", dir, err)
	}
	defer d.Close()
	names, err := d.Readdirnames(n)
	if err != nil && err != io.EOF {
		return nil, fsError("read", dir, err)
	}
	return names, nil
}

// Lock implements Storage with flock(2), as described on FS. A holder that
// wrote no description (flock(1) run by hand, another tool) is reported to
// waiting as "unknown", with a zero since: when it took the lock is not
// known.
func (f *FS) Lock(ctx context.Context, holder string, waiting func(holder string, since time.Time)) (unlock func() error, err error) {
	file, err := f.openLockFile()
	if err != nil {
		return nil, fmt.Errorf("repo: lock %s: %w", fsLockName, err)
	}
	var reported lockInfo // the holder last passed to waiting
	misses := 0           // polls in a row that found no holder description
	for {
		err := syscall.Flock(int(file.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			file.Close()
			return nil, fmt.Errorf("repo: lock %s: %w", fsLockName, err)
		}
		// The holder writes its description just after taking the lock,
		// so an empty file is usually a description about to appear. After
		// two polls, it is an unknown holder, flock(1) run by hand say.
		info, ok := readLockInfo(file)
		if ok {
			misses = 0
		} else {
			misses++
		}
		if (ok || misses >= 2) && !info.equal(reported) {
			reported = info
			if waiting != nil {
				waiting(info.Holder, info.Since)
			}
		}
		select {
		case <-ctx.Done():
			file.Close()
			return nil, fmt.Errorf("%w: held by %s: %w", ErrLockTimeout, info, ctx.Err())
		case <-time.After(fsLockPoll):
		}
	}
	data, err := json.Marshal(lockInfo{Holder: holder, Since: time.Now().UTC()})
	if err == nil {
		err = file.Truncate(0)
	}
	if err == nil {
		_, err = file.WriteAt(append(data, '\n'), 0)
	}
	if err != nil && !errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EDQUOT) {
		file.Close() // releases the lock
		return nil, fmt.Errorf("repo: lock %s: writing the holder: %w", fsLockName, err)
	}
	// On a full disk the lock is held all the same, without a description
	// (waiters see an unknown holder): gc must be able to free space.
	root, err := os.OpenRoot(f.root)
	if err != nil {
		file.Close() // releases the lock
		return nil, fmt.Errorf("repo: lock: opening the root: %w", err)
	}
	held := &heldRoot{root: root}
	f.mu.Lock()
	f.locked = held
	f.mu.Unlock()
	var once sync.Once
	var unlockErr error
	return func() error {
		once.Do(func() {
			f.mu.Lock()
			if f.locked == held {
				f.locked = nil
			}
			held.released = true
			if held.users == 0 {
				held.root.Close()
			}
			f.mu.Unlock()
			unlockErr = errors.Join(file.Truncate(0), syscall.Flock(int(file.Fd()), syscall.LOCK_UN), file.Close())
			if unlockErr != nil {
				unlockErr = fmt.Errorf("repo: unlock %s: %w", fsLockName, unlockErr)
			}
		})
		return unlockErr
	}, nil
}

// lockInfo is the content of the lock file while it is held.
type lockInfo struct {
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
}

func (i lockInfo) equal(j lockInfo) bool { return i.Holder == j.Holder && i.Since.Equal(j.Since) }

func (i lockInfo) String() string {
	if i.Since.IsZero() {
		return fmt.Sprintf("%q", i.Holder)
	}
	return fmt.Sprintf("%q since %s", i.Holder, i.Since.Local().Format(time.RFC3339))
}

// readLockInfo reads the holder's description; ok is false, with an
// "unknown" holder, when there is none (yet).
func readLockInfo(file *os.File) (info lockInfo, ok bool) {
	if err := json.NewDecoder(io.NewSectionReader(file, 0, 64<<10)).Decode(&info); err != nil {
		return lockInfo{Holder: "unknown"}, false
	}
	return info, true
}

func (f *FS) openLockFile() (*os.File, error) {
	r, err := f.openRootCreate()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	if err := mkdirs(r, path.Dir(fsLockName)); err != nil {
		return nil, err
	}
	return r.OpenFile(fsLockName, os.O_RDWR|os.O_CREATE, 0o644)
}

// checkName refuses invalid names and the names FS reserves.
func (f *FS) checkName(name string) error {
	if err := ValidName(name); err != nil {
		return err
	}
	if name == fsLockName || strings.HasPrefix(path.Base(name), fsTempPrefix) {
		return badName(name, "reserved by the file system storage")
	}
	return nil
}

// open returns the root, open, and what to call when done with it: the
// root held open while this FS holds the lock, else a root opened for the
// caller (created first when create is set and it does not exist).
func (f *FS) open(create bool) (r *os.Root, done func(), err error) {
	f.mu.Lock()
	if h := f.locked; h != nil {
		h.users++
		f.mu.Unlock()
		return h.root, func() {
			f.mu.Lock()
			if h.users--; h.users == 0 && h.released {
				h.root.Close()
			}
			f.mu.Unlock()
		}, nil
	}
	f.mu.Unlock()
	if create {
		r, err = f.openRootCreate()
	} else {
		r, err = os.OpenRoot(f.root)
	}
	if err != nil {
		return nil, nil, err
	}
	return r, func() { r.Close() }, nil
}

// openRootCreate opens the root, creating it first if needed.
func (f *FS) openRootCreate() (*os.Root, error) {
	r, err := os.OpenRoot(f.root)
	if !errors.Is(err, fs.ErrNotExist) {
		return r, err
	}
	if err := os.MkdirAll(f.root, 0o755); err != nil {
		return nil, err
	}
	if err := os.Chmod(f.root, 0o755); err != nil {
		return nil, err
	}
	return os.OpenRoot(f.root)
}

// mkdirs creates dir and its parents, mode 0755.
func mkdirs(r *os.Root, dir string) error {
	d, err := openDirCreate(r, dir)
	if err == nil {
		d.Close()
	}
	return err
}

// openDirCreate opens the directory dir of r, creating it and its missing
// parents, mode 0755 whatever the umask. Most directories exist, or only
// their last level is missing (a new package's pool directory), and every
// call on a root walks the whole path: the parent is opened once, and the
// last level made and opened from it.
func openDirCreate(r *os.Root, dir string) (*os.Root, error) {
	if dir == "." || dir == "/" { // "/" only for an invalid name
		return r.OpenRoot(".")
	}
	parent := path.Dir(dir)
	p, err := r.OpenRoot(parent)
	if errors.Is(err, fs.ErrNotExist) {
		p, err = openDirCreate(r, parent)
	}
	if err != nil {
		return nil, err
	}
	defer p.Close()
	base := path.Base(dir)
	err = p.Mkdir(base, 0o755)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	made := err == nil
	d, err := p.OpenRoot(base) // fails if base is a file
	if err != nil || !made {
		return d, err
	}
	// The umask may have taken bits off the new directory's mode.
	fi, err := d.Stat(".")
	if err == nil && fi.Mode().Perm() != 0o755 {
		err = p.Chmod(base, 0o755)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// writeFile writes src to the new file name, 0644 (Sync flushes it), and
// returns what the written file holds. It leaves no file behind when it
// fails.
func writeFile(ctx context.Context, r *os.Root, name string, src io.Reader) (fi fs.FileInfo, err error) {
	file, err := r.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			file.Close()
			r.Remove(name)
		}
	}()
	buf := copyBufs.Get().(*[]byte)
	// The file without its ReadFrom, which would copy through a buffer of
	// its own.
	_, err = io.CopyBuffer(struct{ io.Writer }{file}, ctxio.Reader(ctx, src), *buf)
	copyBufs.Put(buf)
	if err != nil {
		return nil, err
	}
	if err := file.Chmod(0o644); err != nil {
		return nil, err
	}
	if fi, err = file.Stat(); err != nil {
		return nil, err
	}
	return fi, file.Close()
}

// copyBufs are writeFile's copy buffers: a publish writes thousands of
// small files.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// errNotObject is the error for a directory or another non-regular file:
// in an object store, there would be no such object.
var errNotObject = fmt.Errorf("not a regular file: %w", fs.ErrNotExist)

func fsError(op, name string, err error) error {
	return fmt.Errorf("repo: %s %s: %w", op, name, err)
}

// lookupError is fsError for reading operations, where ENOTDIR, a parent of
// name being a file, means what it would mean in an object store: no such
// object. It returns nil for a nil err.
func lookupError(op, name string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("repo: %s %s: %w: %w", op, name, fs.ErrNotExist, err)
	}
	return fsError(op, name, err)
}

// Temporaries lists the temporary files of killed writers (".tmp-*")
// older than age, for gc: List never shows them.
func (f *FS) Temporaries(ctx context.Context, age time.Duration) ([]ObjectInfo, error) {
	r, done, err := f.open(false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("repo: list temporary files: %w", err)
	}
	defer done()
	var objs []ObjectInfo
	err = fs.WalkDir(r.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(lookupError("list", name, err), fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(d.Name(), fsTempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || time.Since(fi.ModTime()) < age {
			return nil // gone meanwhile, or maybe still being written
		}
		objs = append(objs, ObjectInfo{Name: name, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("repo: list temporary files: %w", err)
	}
	return objs, nil
}

// RemoveTemporary removes a temporary file that Temporaries listed.
func (f *FS) RemoveTemporary(ctx context.Context, name string) error {
	if err := ValidName(name); err != nil || !strings.HasPrefix(path.Base(name), fsTempPrefix) {
		return badName(name, "not a temporary file")
	}
	r, done, err := f.open(false)
	if err != nil {
		return fsError("remove", name, err)
	}
	defer done()
	if err := r.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fsError("remove", name, err)
	}
	return nil
}
