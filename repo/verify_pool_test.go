package repo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// TestVerifyPoolProblemsAmongMany: among 50 packages, corrupted,
// truncated and missing pool files are all found, each against every index
// that lists it (an Architecture: all file in every binary-* index), and
// the problems come in the same order on every run, however the pool
// checks are spread over goroutines: by index, then by the index's order.
func TestVerifyPoolProblemsAmongMany(t *testing.T) {
	f := newFixture(t)
	var debs []string
	for i := range 50 {
		arch := "amd64"
		if i >= 45 {
			arch = "all"
		}
		debs = append(debs, f.deb(fmt.Sprintf("pkg%02d", i), "1.0", arch))
	}
	f.mustPublish(repo.PublishOptions{}, debs...)
	if rep := f.verify(); len(rep.Problems) > 0 || rep.PoolFiles != 50 {
		t.Fatalf("verify before damage: %d pool files, problems %v", rep.PoolFiles, rep.Problems)
	}

	pool := func(i int, arch string) string {
		return filepath.Join(f.root, repo.PoolPath("main", fmt.Sprintf("pkg%02d", i), "1.0", arch))
	}
	flip := func(name string) {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)/2] ^= 1
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	flip(pool(3, "amd64"))
	flip(pool(47, "all"))
	if err := os.Truncate(pool(20, "amd64"), 100); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{11, 38} {
		if err := os.Remove(pool(i, "amd64")); err != nil {
			t.Fatal(err)
		}
	}

	rel := f.releaseOf("development")
	var indexes []string // the binary-* Packages indexes, in Release order
	for name := range rel.Files {
		if strings.HasSuffix(name, "/Packages") {
			indexes = append(indexes, name)
		}
	}
	if len(indexes) < 2 {
		t.Fatalf("want at least two binary-* indexes (so that an all package is listed twice), Release lists %v", rel.Files)
	}
	slices.Sort(indexes)
	type want struct{ path, what, index string }
	var wants []want
	for _, idx := range indexes {
		listed := "dists/development/" + idx
		if strings.Contains(idx, "binary-amd64/") {
			wants = append(wants,
				want{repo.PoolPath("main", "pkg03", "1.0", "amd64"), "sha256 ", listed},
				want{repo.PoolPath("main", "pkg11", "1.0", "amd64"), "no such file", listed},
				want{repo.PoolPath("main", "pkg20", "1.0", "amd64"), "size 100, the index says ", listed},
				want{repo.PoolPath("main", "pkg38", "1.0", "amd64"), "no such file", listed})
		}
		wants = append(wants, want{repo.PoolPath("main", "pkg47", "1.0", "all"), "sha256 ", listed})
	}

	var first []byte
	for run := range 5 {
		rep := f.verify()
		if len(rep.Problems) != len(wants) {
			t.Fatalf("run %d: %d problems, want %d: %v", run, len(rep.Problems), len(wants), rep.Problems)
		}
		for i, w := range wants {
			p := rep.Problems[i]
			if p.Suite != "development" || p.Path != w.path || !strings.Contains(p.What, w.what) || !strings.HasSuffix(p.What, "(listed in "+w.index+")") {
				t.Errorf("run %d: problem %d is %q, want %s: ...%s... (listed in %s)", run, i, p, w.path, w.what, w.index)
			}
		}
		if rep.PoolFiles != 50 {
			t.Errorf("run %d: %d pool files, want 50", run, rep.PoolFiles)
		}
		out, err := json.Marshal(rep)
		if err != nil {
			t.Fatal(err)
		}
		if first == nil {
			first = out
		} else if string(out) != string(first) {
			t.Fatalf("run %d: the report differs from run 0:\n%s\n%s", run, out, first)
		}
	}
}

// overlapStorage records how many pool files are open at once. The first
// pool file it opens waits (at most two seconds) for a second one to be
// opened, so a verify that reads pool files one after another shows 1.
type overlapStorage struct {
	repo.Storage
	mu       sync.Mutex
	open     int
	max      int
	waited   bool
	overlaps chan struct{}
}

func (s *overlapStorage) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if !strings.HasPrefix(name, "pool/") {
		return s.Storage.Get(ctx, name)
	}
	s.mu.Lock()
	s.open++
	s.max = max(s.max, s.open)
	wait := !s.waited
	s.waited = true
	if s.open == 2 {
		select {
		case s.overlaps <- struct{}{}:
		default:
		}
	}
	s.mu.Unlock()
	if wait {
		select {
		case <-s.overlaps:
		case <-time.After(2 * time.Second):
		}
	}
	rc, err := s.Storage.Get(ctx, name)
	if err != nil {
		s.close()
		return nil, err
	}
	return &closeFunc{rc, s.close}, nil
}

func (s *overlapStorage) close() {
	s.mu.Lock()
	s.open--
	s.mu.Unlock()
}

type closeFunc struct {
	io.ReadCloser
	done func()
}

func (c *closeFunc) Close() error {
	err := c.ReadCloser.Close()
	c.done()
	return err
}

// TestVerifyChecksPoolFilesConcurrently: verify reads and hashes pool
// files on more than one goroutine (issue 15: verify at 10,000 packages
// uses both cores), and still finds them all good.
func TestVerifyChecksPoolFilesConcurrently(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	f := newFixture(t)
	var debs []string
	for i := range 20 {
		debs = append(debs, f.deb(fmt.Sprintf("pkg%02d", i), "1.0", "amd64"))
	}
	f.mustPublish(repo.PublishOptions{}, debs...)
	fs, err := repo.NewFS(f.root)
	if err != nil {
		t.Fatal(err)
	}
	st := &overlapStorage{Storage: fs, overlaps: make(chan struct{}, 1)}
	rep, err := repo.New(st).Verify(context.Background(), testkit.Key(t).Keyring())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 || rep.PoolFiles != 20 {
		t.Fatalf("verify: %d pool files, problems %v", rep.PoolFiles, rep.Problems)
	}
	if st.max < 2 {
		t.Errorf("verify had at most %d pool file open at once: it checks them one after another", st.max)
	}
	if st.open != 0 {
		t.Errorf("%d pool files left open", st.open)
	}
}
