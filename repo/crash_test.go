package repo_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// crashAfter is a Storage that fails every write after the first n, as if
// the publisher had been killed there: nothing after that point happens.
// Publish writes pool files from several goroutines at once (the Storage
// contract allows it), so the count is guarded by a mutex; which of the
// concurrent writes is the last to succeed may then vary, as it would in a
// real crash.
type crashAfter struct {
	repo.Storage
	mu sync.Mutex
	n  int
}

var errCrash = errors.New("simulated crash")

func (c *crashAfter) write() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == 0 {
		return errCrash
	}
	c.n--
	return nil
}

func (c *crashAfter) Put(ctx context.Context, name string, r io.Reader) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Storage.Put(ctx, name, r)
}

func (c *crashAfter) Copy(ctx context.Context, src, dst string) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Storage.Copy(ctx, src, dst)
}

func (c *crashAfter) Delete(ctx context.Context, name string) error {
	if err := c.write(); err != nil {
		return err
	}
	return c.Storage.Delete(ctx, name)
}

// clientView checks the tree as apt sees it: a signed InRelease whose
// every index can be fetched by hash, and whose every package file exists.
func clientView(t *testing.T, root, suite string) {
	t.Helper()
	dir := filepath.Join(root, "dists", suite)
	in, err := os.ReadFile(filepath.Join(dir, "InRelease"))
	if err != nil {
		t.Fatalf("InRelease: %v", err)
	}
	text, _, err := testkit.Key(t).Keyring().VerifyClearsigned(in)
	if err != nil {
		t.Fatalf("InRelease: %v", err)
	}
	rel, err := repo.ParseRelease(text)
	if err != nil {
		t.Fatal(err)
	}
	for name, h := range rel.Files {
		if _, gz := rel.Files[name+".gz"]; gz {
			continue // listed, not stored: apt fetches Packages.gz
		}
		data, err := os.ReadFile(filepath.Join(dir, filepath.Dir(name), "by-hash", "SHA256", h.SHA256))
		if err != nil {
			t.Fatalf("by-hash file of %s: %v", name, err)
		}
		if got := repo.HashBytes(data); got.Size != h.Size || got.SHA256 != h.SHA256 {
			t.Fatalf("by-hash file of %s does not match Release", name)
		}
		plain, isGz := strings.CutSuffix(name, ".gz")
		switch {
		case isGz:
			data = testkit.Decompress(t, name, data, compress.Gzip)
			if got, want := repo.HashBytes(data), rel.Files[plain]; got.Size != want.Size || got.SHA256 != want.SHA256 {
				t.Fatalf("%s does not decompress to the %s that Release lists", name, plain)
			}
		case !strings.HasSuffix(name, "/Packages"):
			continue
		}
		idx, err := repo.ParseIndex(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range idx.Stanzas() {
			if _, err := os.Stat(filepath.Join(root, st.Filename)); err != nil {
				t.Fatalf("%s lists a missing pool file: %v", name, err)
			}
		}
	}
}

// TestInterruptedAtEveryWrite interrupts a publish after each of its
// writes in turn. Every time, clients see a consistent repository (the old
// state or the new), and the next publish completes and verifies.
func TestInterruptedAtEveryWrite(t *testing.T) {
	for n := 0; ; n++ {
		f := newFixture(t)
		f.mustPublish(repo.PublishOptions{Keep: 1, IndexCompression: []string{"gz"}}, f.deb("app", "1.0", "amd64"), f.deb("docs", "1.0", "all"))
		st, _ := repo.NewFS(f.root)
		crashing := repo.New(&crashAfter{Storage: st, n: n}, repo.WithSigner(testkit.Key(t)))
		pkgs, err := repo.Inspect([]string{f.deb("app", "1.1", "amd64"), f.deb("docs", "1.1", "all")})
		if err != nil {
			t.Fatal(err)
		}
		_, err = crashing.Publish(context.Background(), pkgs, repo.PublishOptions{Keep: 1, IndexCompression: []string{"gz"}})
		clientView(t, f.root, "development")
		if err == nil {
			t.Logf("a publish makes %d writes; interrupted after each of them", n)
			return
		}
		if !errors.Is(err, errCrash) {
			t.Fatalf("after %d writes: %v", n, err)
		}
		// The next command completes or cleans up.
		f.mustPublish(repo.PublishOptions{Keep: 1, IndexCompression: []string{"gz"}}, f.deb("app", "1.2", "amd64"))
		clientView(t, f.root, "development")
		if rep := f.verify(); len(rep.Problems) > 0 {
			t.Fatalf("after a crash at write %d and another publish, verify: %v", n, rep.Problems)
		}
		pkgsFile := testkit.Packages(t, filepath.Join(f.root, "dists/development/main/binary-amd64/Packages"))
		if !bytes.Contains(pkgsFile, []byte("Version: 1.2\n")) {
			t.Fatalf("crash at write %d: the next publish lost its package", n)
		}
		if n > 200 {
			t.Fatalf("publish never completed in %d writes", n)
		}
	}
}
