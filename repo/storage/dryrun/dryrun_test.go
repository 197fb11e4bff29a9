package dryrun_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/dryrun"
	"github.com/debflow/debflow/repo/storagetest"
)

func TestStorageSuite(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) repo.Storage {
		fs, err := repo.NewFS(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return dryrun.New(fs)
	})
}

// The base is never written: not by Put, Delete, Copy or Lock, and no lock
// file appears; Changes names what a real run would have done.
func TestNothingReachesTheBase(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keep"), []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "same"), []byte("same"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs, err := repo.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := dryrun.New(fs)
	ctx := t.Context()
	unlock, err := s.Lock(ctx, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"new/a": "12345", "same": "same", "keep": "newer"} {
		if err := s.Put(ctx, name, strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Copy(ctx, "new/a", "new/b"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "same"); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if got := strings.Join(names, " "); got != "keep same" {
		t.Fatalf("base holds %q, want only the original files", got)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "keep")); string(data) != "old" {
		t.Fatalf("base file changed: %q", data)
	}
	c, err := s.Changes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Added) != 2 || c.Added[0].Name != "new/a" || c.Added[1].Name != "new/b" || c.BytesAdded != 10 {
		t.Errorf("added = %+v (%d bytes)", c.Added, c.BytesAdded)
	}
	if len(c.Replaced) != 1 || c.Replaced[0].Name != "keep" {
		t.Errorf("replaced = %+v", c.Replaced)
	}
	if len(c.Deleted) != 1 || c.Deleted[0].Name != "same" || c.BytesFreed != 4 {
		t.Errorf("deleted = %+v (%d bytes)", c.Deleted, c.BytesFreed)
	}
}
