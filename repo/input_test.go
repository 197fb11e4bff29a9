package repo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// poolFile reads the one pool file of a package.
func (f *fixture) poolFile(name, version, arch string) []byte {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.root, repo.PoolPath("main", name, version, arch)))
	if err != nil {
		f.t.Fatal(err)
	}
	return data
}

// TestPublishFromPipe: a pipe (publish <(cat x.deb), /dev/stdin) is read
// once into a private copy; the pool gets its real bytes, not nothing.
func TestPublishFromPipe(t *testing.T) {
	f := newFixture(t)
	want, err := os.ReadFile(f.deb("hello", "1.0", "amd64"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		pw.Write(want)
		pw.Close()
	}()
	defer pr.Close()
	path := fmt.Sprintf("/proc/self/fd/%d", pr.Fd())
	f.mustPublish(repo.PublishOptions{}, path)
	if got := f.poolFile("hello", "1.0", "amd64"); !bytes.Equal(got, want) {
		t.Fatalf("pool holds %d bytes, the pipe gave %d", len(got), len(want))
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

// TestPublishFIFONeverBlocks: a FIFO nobody writes to is refused at once,
// instead of hanging with the lock held; one with a writer is read.
func TestPublishFIFONeverBlocks(t *testing.T) {
	f := newFixture(t)
	fifo := filepath.Join(t.TempDir(), "x.deb")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := f.publish(repo.PublishOptions{}, fifo); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("an empty FIFO was published")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("publish of a FIFO without a writer is still blocked after 20 s")
	}

	// A FIFO whose writer is slow: cancelling the context stops the read.
	// (O_RDWR opens a FIFO without waiting for a reader, on Linux.)
	w, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	w.Write([]byte("!<arch>\n"))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := repo.InspectProgress(ctx, []string{fifo}, nil)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled read of a FIFO: %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a cancelled read of a FIFO is still blocked after 20 s")
	}
}

// TestPublishStoresCheckedBytes: a .deb replaced on disk (renamed over)
// between the check and the store is stored as it was checked.
func TestPublishStoresCheckedBytes(t *testing.T) {
	f := newFixture(t)
	path := f.deb("hello", "1.0", "amd64")
	want, _ := os.ReadFile(path)
	pkgs, err := repo.Inspect([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.ClosePackages(pkgs)
	other := testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64", Payload: "rebuilt\n"})
	if err := os.Rename(other, path); err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.Publish(context.Background(), pkgs, repo.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := f.poolFile("hello", "1.0", "amd64"); !bytes.Equal(got, want) {
		t.Fatal("the pool holds the replacement, not the checked file")
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Fatalf("verify: %v", rep.Problems)
	}
}

// TestPublishRefusesChangedInPlace: a .deb rewritten in place after its
// check is refused, and the tree is as before.
func TestPublishRefusesChangedInPlace(t *testing.T) {
	for _, reopen := range []bool{false, true} {
		t.Run(fmt.Sprintf("reopen=%v", reopen), func(t *testing.T) {
			if reopen {
				restore := repo.SetKeepOpenBudget(0) // a batch too large to keep open
				defer restore()
			}
			f := newFixture(t)
			f.mustPublish(repo.PublishOptions{}, f.deb("base", "1.0", "amd64"))
			before := testkit.TreeHash(t, f.root)
			path := f.deb("hello", "1.0", "amd64")
			pkgs, err := repo.Inspect([]string{path})
			if err != nil {
				t.Fatal(err)
			}
			defer repo.ClosePackages(pkgs)
			other, _ := os.ReadFile(testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64", Payload: "rebuilt\n"}))
			if err := os.WriteFile(path, other, 0o644); err != nil { // same inode
				t.Fatal(err)
			}
			_, err = f.repo.Publish(context.Background(), pkgs, repo.PublishOptions{})
			if !errors.Is(err, repo.ErrChanged) {
				t.Fatalf("publish of a file changed in place: %v, want ErrChanged", err)
			}
			if testkit.TreeHash(t, f.root) != before {
				t.Fatal("a refused publish changed the tree")
			}
		})
	}
}

// TestPublishMissingInput names the file and wraps ErrInput.
func TestPublishMissingInput(t *testing.T) {
	f := newFixture(t)
	_, err := f.publish(repo.PublishOptions{}, filepath.Join(t.TempDir(), "nope.deb"))
	if !errors.Is(err, repo.ErrInput) {
		t.Fatalf("missing file: %v, want ErrInput", err)
	}
	_, err = f.publish(repo.PublishOptions{}, t.TempDir())
	if !errors.Is(err, repo.ErrInput) {
		t.Fatalf("directory: %v, want ErrInput", err)
	}
}
