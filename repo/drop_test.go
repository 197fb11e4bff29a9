package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/debflow/debflow/repo"
)

// TestDropLeavesNoDirectory: a dropped snapshot leaves no empty
// dists/NAME/ behind.
func TestDropLeavesNoDirectory(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	if err := f.repo.DropSnapshot(context.Background(), snap, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "dists", snap)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dists/%s after the drop: %v", snap, err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "dists", "development", "InRelease")); err != nil {
		t.Errorf("the drop took development with it: %v", err)
	}
	if err := f.repo.DropSnapshot(context.Background(), snap, time.Minute); !errors.Is(err, repo.ErrNoSuite) {
		t.Errorf("dropping it again: %v", err)
	}
}

// TestInterruptedDrop: a drop killed after its record, with dists/NAME/
// files left, is completed by the next drop instead of "no snapshot".
func TestInterruptedDrop(t *testing.T) {
	for n := 1; n < 6; n++ {
		f := newFixture(t)
		f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
		snap := f.snapshot("")
		st, _ := repo.NewFS(f.root)
		crashing := repo.New(&crashAfter{Storage: st, n: n})
		if err := crashing.DropSnapshot(context.Background(), snap, time.Minute); !errors.Is(err, errCrash) {
			t.Fatalf("crash after %d writes: %v", n, err)
		}
		if err := f.repo.DropSnapshot(context.Background(), snap, time.Minute); err != nil {
			t.Fatalf("crash after %d writes, then drop again: %v", n, err)
		}
		if _, err := os.Stat(filepath.Join(f.root, "dists", snap)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("crash after %d writes: dists/%s after the second drop: %v", n, snap, err)
		}
		if rep := f.verify(); len(rep.Problems) > 0 {
			t.Errorf("crash after %d writes: verify: %v", n, rep.Problems)
		}
	}
}
