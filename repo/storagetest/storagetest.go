// Package storagetest is the test suite that every repo.Storage
// implementation passes, the file system one as well as the object store
// ones: the publisher may rely on nothing that this suite does not check.
//
// An implementation's test calls Run with a function that returns a new,
// empty storage:
//
//	func TestFSStorage(t *testing.T) {
//		storagetest.Run(t, func(t *testing.T) repo.Storage { … })
//	}
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/debflow/debflow/repo"
)

// Run runs the suite, each test on a storage made by newStorage.
func Run(t *testing.T, newStorage func(t *testing.T) repo.Storage) {
	tests := []struct {
		name string
		test func(*testing.T, repo.Storage)
	}{
		{"RoundTrip", testRoundTrip},
		{"Overwrite", testOverwrite},
		{"AtomicOverwrite", testAtomicOverwrite},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"List", testList},
		{"PutInProgressInvisible", testPutInProgress},
		{"FailedPut", testFailedPut},
		{"BadNames", testBadNames},
		{"Copy", testCopy},
		{"Sync", testSync},
		{"LockExclusion", testLockExclusion},
		{"LockWaiting", testLockWaiting},
		{"LockTimeout", testLockTimeout},
		{"UnderLock", testUnderLock},
	}
	if _, ok := newStorage(t).(putStatter); ok {
		tests = append(tests, struct {
			name string
			test func(*testing.T, repo.Storage)
		}{"PutStat", testPutStat})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.test(t, newStorage(t)) })
	}
}

// pattern returns n bytes; two patterns whose seeds differ by one differ in
// every byte.
func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i%251)*2
	}
	return b
}

func put(t *testing.T, s repo.Storage, name string, data []byte) {
	t.Helper()
	if err := s.Put(t.Context(), name, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

func get(t *testing.T, s repo.Storage, name string) []byte {
	t.Helper()
	rc, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatalf("Get(%q): %v", name, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("Get(%q): reading: %v", name, err)
	}
	return data
}

func list(t *testing.T, s repo.Storage, prefix string) []string {
	t.Helper()
	objs, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	names := []string{}
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}

// wantMissing checks that name is not an object for Get and Stat.
func wantMissing(t *testing.T, s repo.Storage, name string) {
	t.Helper()
	rc, err := s.Get(t.Context(), name)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), name) {
		t.Errorf("Get(%q) = %v, want an error naming it and wrapping fs.ErrNotExist", name, err)
	}
	if _, err := s.Stat(t.Context(), name); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), name) {
		t.Errorf("Stat(%q) = %v, want an error naming it and wrapping fs.ErrNotExist", name, err)
	}
}

func testRoundTrip(t *testing.T, s repo.Storage) {
	objects := map[string][]byte{
		"pool/main/h/hello/hello_1.0+git3~rc1_amd64.deb": pattern(1<<20+17, 1),
		"dists/stable/Release":                           []byte("Suite: stable\n"),
		"dists/bookworm/updates/InRelease":               []byte("signed\n"),
		".debflow/state.json":                            []byte("{}\n"),
		"empty":                                          {},
	}
	for name, data := range objects {
		put(t, s, name, data)
	}
	for name, data := range objects {
		if got := get(t, s, name); !bytes.Equal(got, data) {
			t.Errorf("Get(%q) = %d bytes, want the %d bytes put", name, len(got), len(data))
		}
		info, err := s.Stat(t.Context(), name)
		if err != nil {
			t.Fatalf("Stat(%q): %v", name, err)
		}
		if info.Name != name || info.Size != int64(len(data)) || info.ModTime.IsZero() {
			t.Errorf("Stat(%q) = %+v, want size %d and a modification time", name, info, len(data))
		}
	}
}

func testOverwrite(t *testing.T, s repo.Storage) {
	put(t, s, "dists/stable/Release", pattern(5000, 1))
	put(t, s, "dists/stable/Release", []byte("shorter"))
	if got := get(t, s, "dists/stable/Release"); string(got) != "shorter" {
		t.Errorf("after an overwrite with a shorter content, Get = %.40q…", got)
	}
	if info, err := s.Stat(t.Context(), "dists/stable/Release"); err != nil || info.Size != 7 {
		t.Errorf("Stat = %+v, %v; want size 7", info, err)
	}
}

// testAtomicOverwrite replaces an object again and again while a reader
// reads it: every read must give one of the two contents, whole.
func testAtomicOverwrite(t *testing.T, s repo.Storage) {
	const name = "dists/stable/main/binary-amd64/Packages"
	a, b := pattern(3<<20, 1), pattern(2<<20+1, 2)
	put(t, s, name, a)

	var reads, puts atomic.Int64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			rc, err := s.Get(t.Context(), name)
			if err != nil {
				t.Errorf("Get during overwrites: %v", err)
				return
			}
			got, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Errorf("reading during overwrites: %v", err)
				return
			}
			if !bytes.Equal(got, a) && !bytes.Equal(got, b) {
				t.Errorf("read %d bytes that are neither content (%d or %d bytes)", len(got), len(a), len(b))
				return
			}
			reads.Add(1)
		}
	}()
	stopReader := sync.OnceFunc(func() { close(stop); <-done })
	defer stopReader()
	deadline := time.Now().Add(10 * time.Second)
	for (puts.Load() < 20 || reads.Load() < 20) && time.Now().Before(deadline) {
		data := b
		if puts.Load()%2 == 1 {
			data = a
		}
		put(t, s, name, data)
		puts.Add(1)
	}
	stopReader()
	t.Logf("%d overwrites, %d reads", puts.Load(), reads.Load())
}

func testMissing(t *testing.T, s repo.Storage) {
	wantMissing(t, s, "pool/main/n/nothing/nothing_1_all.deb")
	put(t, s, "pool/main/h/hello/hello_1_all.deb", []byte("deb"))
	wantMissing(t, s, "pool/main/h/hello")                     // a "directory"
	wantMissing(t, s, "pool/main/h/hello/hello_1_all.deb/sub") // below an object
	wantMissing(t, s, "pool/main/h/hello/hello_2_all.deb")
}

func testDelete(t *testing.T, s repo.Storage) {
	put(t, s, "pool/a/one", []byte("1"))
	put(t, s, "pool/a/two", []byte("2"))
	for range 2 { // deleting twice is fine
		if err := s.Delete(t.Context(), "pool/a/one"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
	}
	wantMissing(t, s, "pool/a/one")
	for _, name := range []string{"never/was", "pool/a", "pool"} {
		if err := s.Delete(t.Context(), name); err != nil {
			t.Errorf("Delete(%q) of a missing object: %v", name, err)
		}
	}
	if got := list(t, s, ""); !slices.Equal(got, []string{"pool/a/two"}) {
		t.Errorf("after the deletions, List = %q, want [pool/a/two]", got)
	}
}

func testList(t *testing.T, s repo.Storage) {
	if got := list(t, s, ""); len(got) != 0 {
		t.Fatalf("List of a new storage = %q", got)
	}
	// Sorted by bytes: "a.txt" < "a/b" because '.' < '/', unlike a
	// directory-by-directory walk.
	all := []string{
		".debflow/meta",
		"a.txt",
		"a/b",
		"a/c/d",
		"ab",
		"b",
		"dists/dev/Release",
		"dists/development/Release",
	}
	for i, name := range slices.Backward(all) {
		put(t, s, name, pattern(i, 1))
	}
	// The storage's own bookkeeping, such as the lock, is never listed.
	unlock, err := s.Lock(t.Context(), "storagetest", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()

	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"", all},
		{"a/", []string{"a/b", "a/c/d"}},
		{"a", []string{"a.txt", "a/b", "a/c/d", "ab"}},
		{"a/c/", []string{"a/c/d"}},
		{"a/c/d", []string{"a/c/d"}},
		{".debflow/", []string{".debflow/meta"}},
		{"dists/dev/", []string{"dists/dev/Release"}},
		{"dists/dev", []string{"dists/dev/Release", "dists/development/Release"}},
		{"none/", nil},
		{"a/b/", nil},
	} {
		if got := list(t, s, tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("List(%q) = %q, want %q", tt.prefix, got, tt.want)
		}
	}
	objs, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		i := slices.Index(all, o.Name)
		if o.Size != int64(i) || o.ModTime.IsZero() {
			t.Errorf("List gives %+v, want size %d and a modification time", o, i)
		}
	}
}

// testPutInProgress checks that an object being written is invisible until
// Put returns.
func testPutInProgress(t *testing.T, s repo.Storage) {
	const name = "pool/main/s/slow/slow_1_all.deb"
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- s.Put(t.Context(), name, pr) }()
	first := pattern(100000, 1)
	if _, err := pw.Write(first); err != nil { // returns once Put has read it
		t.Fatal(err)
	}
	wantMissing(t, s, name)
	if got := list(t, s, ""); len(got) != 0 {
		t.Errorf("List during a Put = %q, want nothing", got)
	}
	pw.Write(first)
	pw.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, name); len(got) != 2*len(first) {
		t.Errorf("Get = %d bytes, want %d", len(got), 2*len(first))
	}
}

var errReader = errors.New("storagetest: reader failed")

// testFailedPut checks that a Put whose reader fails, or whose context is
// cancelled, stores nothing and keeps the previous content.
func testFailedPut(t *testing.T, s repo.Storage) {
	put(t, s, "old", []byte("old content"))
	for _, name := range []string{"new/object", "old"} {
		err := s.Put(t.Context(), name, io.MultiReader(bytes.NewReader(pattern(300000, 1)), iotest.ErrReader(errReader)))
		if !errors.Is(err, errReader) || !strings.Contains(err.Error(), name) {
			t.Errorf("Put(%q) with a failing reader = %v, want an error naming it and wrapping the reader's", name, err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := s.Put(ctx, name, bytes.NewReader([]byte("cancelled"))); err == nil {
			t.Errorf("Put(%q) with a cancelled context succeeded", name)
		}
	}
	wantMissing(t, s, "new/object")
	if got := get(t, s, "old"); string(got) != "old content" {
		t.Errorf("after failed overwrites, Get = %.40q…", got)
	}
	if got := list(t, s, ""); !slices.Equal(got, []string{"old"}) {
		t.Errorf("after failed Puts, List = %q, want [old]", got)
	}
}

// badNames are names that every Storage must refuse.
var badNames = []string{
	"", ".", "..", "/", "/etc/passwd", "../x", "a/../../x", "a/..", "./a", "a/./b",
	"a//b", "a/", "//a", "a\x00b", `a\b`, `..\x`, "\xff",
}

func testBadNames(t *testing.T, s repo.Storage) {
	ctx := t.Context()
	for _, name := range badNames {
		if err := repo.ValidName(name); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("ValidName(%q) = %v, want ErrBadName", name, err)
		}
		if _, err := s.Get(ctx, name); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Get(%q) = %v, want ErrBadName", name, err)
		}
		if err := s.Put(ctx, name, strings.NewReader("x")); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Put(%q) = %v, want ErrBadName", name, err)
		}
		if _, err := s.Stat(ctx, name); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Stat(%q) = %v, want ErrBadName", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Delete(%q) = %v, want ErrBadName", name, err)
		}
		if err := s.Copy(ctx, name, "ok/name"); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Copy(%q, ...) = %v, want ErrBadName", name, err)
		}
		if err := s.Copy(ctx, "ok/name", name); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Copy(..., %q) = %v, want ErrBadName", name, err)
		}
	}
	for _, prefix := range []string{"/", "/a", "../", "a//", "./", "a/../", "a\x00"} {
		if _, err := s.List(ctx, prefix); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("List(%q) = %v, want ErrBadName", prefix, err)
		}
	}
	if got := list(t, s, ""); len(got) != 0 {
		t.Errorf("after refused Puts, List = %q", got)
	}
}

func lock(t *testing.T, s repo.Storage, holder string) func() error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	unlock, err := s.Lock(ctx, holder, nil)
	if err != nil {
		t.Fatalf("Lock(%q): %v", holder, err)
	}
	return unlock
}

func testLockExclusion(t *testing.T, s repo.Storage) {
	var inside atomic.Int32
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for range 3 {
				ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
				unlock, err := s.Lock(ctx, "goroutine", nil)
				cancel()
				if err != nil {
					t.Errorf("goroutine %d: Lock: %v", g, err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders of the lock at once", n)
				}
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				if err := unlock(); err != nil {
					t.Errorf("goroutine %d: unlock: %v", g, err)
				}
			}
		})
	}
	wg.Wait()
}

type waitReport struct {
	holder string
	since  time.Time
}

func testLockWaiting(t *testing.T, s repo.Storage) {
	before := time.Now()
	unlockA := lock(t, s, "publisher A, job 1")

	reports := make(chan waitReport, 100)
	result := make(chan error, 1)
	var unlockB func() error
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		defer cancel()
		var err error
		unlockB, err = s.Lock(ctx, "publisher B", func(holder string, since time.Time) {
			reports <- waitReport{holder, since}
		})
		result <- err
	}()
	select {
	case r := <-reports:
		if r.holder != "publisher A, job 1" {
			t.Errorf("waiting(%q, …), want the holder's description", r.holder)
		}
		if d := r.since.Sub(before); d < -time.Minute || d > time.Minute {
			t.Errorf("waiting(…, %v), want about %v", r.since, before)
		}
	case err := <-result:
		t.Fatalf("a second Lock returned (%v) while the first holds it", err)
	case <-time.After(10 * time.Second):
		t.Fatal("waiting not called within 10s")
	}
	select {
	case err := <-result:
		t.Fatalf("a second Lock returned (%v) while the first holds it", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := unlockA(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	select {
	case err := <-result:
		if err != nil {
			t.Fatalf("second Lock after the first's unlock: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("second Lock did not get the lock within 10s of the unlock")
	}
	for len(reports) > 0 {
		if r := <-reports; r.holder != "publisher A, job 1" {
			t.Errorf("waiting(%q, …) later, but A held the lock all along", r.holder)
		}
	}
	if err := unlockB(); err != nil {
		t.Fatalf("unlock: %v", err)
	}
}

func testLockTimeout(t *testing.T, s repo.Storage) {
	unlock := lock(t, s, "publisher A, job 1")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.Lock(ctx, "publisher B", nil)
	if !errors.Is(err, repo.ErrLockTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock while held = %v, want ErrLockTimeout and context.DeadlineExceeded", err)
	} else if !strings.Contains(err.Error(), "publisher A, job 1") {
		t.Errorf("Lock while held = %v, want the holder named", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond {
		t.Errorf("Lock gave up after %v, before its context expired", d)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	lock(t, s, "publisher B")()
}

// testCopy: a copy has the source's content, replaces its target whole,
// and keeps its content when the source is replaced later (debflow never
// edits an object in place, so sharing storage is allowed).
func testCopy(t *testing.T, s repo.Storage) {
	ctx := t.Context()
	put(t, s, "dists/a/by-hash/x", []byte("first"))
	put(t, s, "dists/b/by-hash/x", []byte("old target"))
	if err := s.Copy(ctx, "dists/a/by-hash/x", "dists/b/by-hash/x"); err != nil {
		t.Fatal(err)
	}
	if err := s.Copy(ctx, "dists/a/by-hash/x", "dists/c/new/dir/x"); err != nil {
		t.Fatal(err)
	}
	put(t, s, "dists/a/by-hash/x", []byte("second"))
	for _, name := range []string{"dists/b/by-hash/x", "dists/c/new/dir/x"} {
		if got := string(get(t, s, name)); got != "first" {
			t.Errorf("%s = %q after its source was replaced, want %q", name, got, "first")
		}
	}
	if err := s.Copy(ctx, "dists/missing", "dists/d"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Copy of a missing object = %v, want fs.ErrNotExist", err)
	}
	wantMissing(t, s, "dists/d")
}

// testSync: Sync succeeds on an empty and on a written storage.
func testSync(t *testing.T, s repo.Storage) {
	if err := s.Sync(t.Context()); err != nil {
		t.Fatalf("Sync on an empty storage: %v", err)
	}
	put(t, s, "a", []byte("x"))
	if err := s.Sync(t.Context()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

// testUnderLock makes every kind of change while the lock is held, and
// again after it is released: an implementation may keep state while it
// holds the lock (the file system keeps its root open).
func testUnderLock(t *testing.T, s repo.Storage) {
	ctx := t.Context()
	for round, holder := range []string{"first", "second"} {
		unlock := lock(t, s, holder)
		name := "pool/main/h/hello/hello_1." + string(rune('0'+round)) + "_amd64.deb"
		put(t, s, name, pattern(100, byte(round)))
		if got := get(t, s, name); !bytes.Equal(got, pattern(100, byte(round))) {
			t.Errorf("%s: read back %d bytes, not what was written", name, len(got))
		}
		if err := s.Copy(ctx, name, "dists/x/"+holder); err != nil {
			t.Errorf("Copy under the lock: %v", err)
		}
		if err := s.Delete(ctx, name); err != nil {
			t.Errorf("Delete under the lock: %v", err)
		}
		wantMissing(t, s, name)
		if err := unlock(); err != nil {
			t.Fatal(err)
		}
		if got := list(t, s, "dists/"); !slices.Contains(got, "dists/x/"+holder) {
			t.Errorf("after unlocking, List(dists/) = %q, want dists/x/%s in it", got, holder)
		}
	}
	put(t, s, "after", []byte("x"))
	if got := get(t, s, "after"); string(got) != "x" {
		t.Errorf("Put after the lock was released: read back %q", got)
	}
}

// putStatter is the optional method the publisher uses to store a pool
// file and learn its size in one call.
type putStatter interface {
	PutStat(ctx context.Context, name string, r io.Reader) (repo.ObjectInfo, error)
}

// testPutStat checks, for an implementation that has it, that PutStat
// stores the object and says its size as Stat would.
func testPutStat(t *testing.T, s repo.Storage) {
	ps := s.(putStatter)
	for _, n := range []int{0, 1, 70000} {
		name := "pool/main/p/putstat/" + strings.Repeat("x", n%7+1)
		oi, err := ps.PutStat(t.Context(), name, bytes.NewReader(pattern(n, 3)))
		if err != nil {
			t.Fatalf("PutStat %d bytes: %v", n, err)
		}
		st, err := s.Stat(t.Context(), name)
		if err != nil || oi.Size != int64(n) || st.Size != oi.Size || oi.Name != name {
			t.Errorf("PutStat %d bytes = %+v; Stat = %+v, %v", n, oi, st, err)
		}
		if got := get(t, s, name); !bytes.Equal(got, pattern(n, 3)) {
			t.Errorf("PutStat %d bytes: read back %d bytes, not what was written", n, len(got))
		}
	}
}
