package repo_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// countingStorage counts the requests a command makes, by kind and name,
// as an object store would bill them.
type countingStorage struct {
	repo.Storage
	mu  sync.Mutex
	ops []string // "get NAME", "stat NAME", "list PREFIX", ...
}

func (c *countingStorage) note(op, name string) {
	c.mu.Lock()
	c.ops = append(c.ops, op+" "+name)
	c.mu.Unlock()
}

func (c *countingStorage) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	c.note("get", name)
	return c.Storage.Get(ctx, name)
}

func (c *countingStorage) Stat(ctx context.Context, name string) (repo.ObjectInfo, error) {
	c.note("stat", name)
	return c.Storage.Stat(ctx, name)
}

func (c *countingStorage) List(ctx context.Context, prefix string) ([]repo.ObjectInfo, error) {
	c.note("list", prefix)
	return c.Storage.List(ctx, prefix)
}

func (c *countingStorage) Put(ctx context.Context, name string, r io.Reader) error {
	c.note("put", name)
	return c.Storage.Put(ctx, name, r)
}

// take returns the operations made so far and resets the log.
func (c *countingStorage) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = nil
	return ops
}

func countOf(ops []string, op string) int {
	n := 0
	for _, o := range ops {
		if o == op {
			n++
		}
	}
	return n
}

// TestPublishReadsConfigOnce: a publish reads .debflow/config.json once
// before the lock (a tree without a repository gets no lock file) and once
// under it, not once per step; with --keep, the check that every served
// suite has a record (a list of dists/) runs once, not again when the pool
// is cleaned, and the records are listed once for the change and once for
// the cleaning (issue 15: each is a request on S3).
func TestPublishReadsConfigOnce(t *testing.T) {
	st, err := repo.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cs := &countingStorage{Storage: st}
	r := repo.New(cs, repo.WithSigner(testkit.Key(t)))
	debs := t.TempDir()
	publish := func(opts repo.PublishOptions, version string) []string {
		t.Helper()
		pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, debs, testkit.Deb{Name: "hello", Version: version, Arch: "amd64"})})
		if err != nil {
			t.Fatal(err)
		}
		cs.take()
		if _, err := r.Publish(t.Context(), pkgs, opts); err != nil {
			t.Fatal(err)
		}
		return cs.take()
	}
	ops := publish(repo.PublishOptions{}, "1.0") // creates the repository
	if n := countOf(ops, "put .debflow/config.json"); n != 1 {
		t.Fatalf("the first publish wrote the configuration %d times, want 1: %q", n, ops)
	}
	for _, tc := range []struct {
		version    string
		keep       int
		wantServed int
	}{
		{"1.1", 0, 0},
		{"1.2", 1, 1},
	} {
		ops := publish(repo.PublishOptions{Keep: tc.keep}, tc.version)
		if n := countOf(ops, "get .debflow/config.json"); n != 2 {
			t.Errorf("publish %s (--keep %d) read the configuration %d times, want 2 (before and under the lock): %q", tc.version, tc.keep, n, ops)
		}
		if n := countOf(ops, "put .debflow/config.json"); n != 0 {
			t.Errorf("publish %s wrote the configuration %d times, want 0", tc.version, n)
		}
		if n, want := countOf(ops, "list .debflow/suites/"), 2*tc.keep; n != want {
			t.Errorf("publish %s (--keep %d) listed the records %d times, want %d (before the change, and before freeing the pool): %q", tc.version, tc.keep, n, want, ops)
		}
		if n := countOf(ops, "list dists/"); n != tc.wantServed {
			t.Errorf("publish %s (--keep %d) listed dists/ %d times, want %d: %q", tc.version, tc.keep, n, tc.wantServed, ops)
		}
	}
}

// TestConfigWritesKeepTheLockCopy: under the lock the configuration is
// read once (configcache.go), so every write of it must go through
// writeConfig, which replaces that copy; a plain writeJSON or Put of
// config.json would leave later steps with the old one.
func TestConfigWritesKeepTheLockCopy(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`(writeJSON|\.Put|\.Delete)\([^\n]*configName`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "configcache.go" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			if bad.MatchString(line) {
				t.Errorf("%s:%d writes the configuration without writeConfig: %s", f, i+1, strings.TrimSpace(line))
			}
		}
	}
}
