package repo

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFSHeldRootOutlivesUnlock: the root an FS keeps open while it holds
// the lock stays usable by an operation that started before the unlock,
// and is closed when that operation is done.
func TestFSHeldRootOutlivesUnlock(t *testing.T) {
	f, err := NewFS(filepath.Join(t.TempDir(), "repo"))
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := f.Lock(t.Context(), "test", func(string, time.Time) {})
	if err != nil {
		t.Fatal(err)
	}
	r, done, err := f.open(false)
	if err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Stat(".debflow"); err != nil {
		t.Fatalf("the held root, in use, was closed by the unlock: %v", err)
	}
	done()
	if _, err := r.Stat(".debflow"); err == nil {
		t.Fatal("the held root is still open after the lock and its last user are gone")
	}
	// Operations after the unlock open the root for themselves.
	if err := f.Put(t.Context(), "x/y", strings.NewReader("after")); err != nil {
		t.Fatalf("Put after the unlock: %v", err)
	}
	if oi, err := f.Stat(t.Context(), "x/y"); err != nil || oi.Size != 5 {
		t.Fatalf("Stat after the unlock = %+v, %v", oi, err)
	}
}
