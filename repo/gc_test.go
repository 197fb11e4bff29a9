package repo_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// TestGCCleansLeftovers: the temporary files of a killed publish and the
// pool files no suite lists are removed once older than the grace period;
// younger temporaries (a publish still writing) are left alone.
func TestGCCleansLeftovers(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	dir := filepath.Join(f.root, "pool/main/h/hello")
	old := filepath.Join(dir, ".tmp-KILLED")
	young := filepath.Join(dir, ".tmp-WRITING")
	orphan := filepath.Join(f.root, repo.PoolPath("main", "gone", "1.0", "amd64"))
	for _, p := range []string{old, young, orphan} {
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, make([]byte, 1000), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	os.Chtimes(old, past, past)

	res, err := f.repo.GC(context.Background(), repo.DefaultLockTimeout, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"pool/main/h/hello/.tmp-KILLED", repo.PoolPath("main", "gone", "1.0", "amd64")} {
		if !slices.Contains(res.Removed, want) {
			t.Errorf("gc did not remove %s (removed %v)", want, res.Removed)
		}
	}
	if _, err := os.Stat(young); err != nil {
		t.Errorf("gc removed a temporary file still being written: %v", err)
	}
	if _, err := os.Stat(old); !os.IsNotExist(err) {
		t.Errorf("the killed publish's temporary file is still there")
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Fatalf("verify after gc: %v", rep.Problems)
	}
}

// TestGCRemovesUnstoredPlainIndexes: the plain Packages an older debflow
// stored (by name and by hash) next to Packages.gz is listed in Release but
// no longer stored or updated; gc removes those copies (a dry run only
// lists them), and the repository still verifies.
func TestGCRemovesUnstoredPlainIndexes(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	dir := filepath.Join(f.root, "dists/development/main/binary-amd64")
	plain := testkit.Packages(t, filepath.Join(dir, "Packages"))
	sum := repo.HashBytes(plain).SHA256
	named, byHash := filepath.Join(dir, "Packages"), filepath.Join(dir, "by-hash/SHA256", sum)
	for _, p := range []string{named, byHash} {
		if _, err := os.Stat(p); err == nil {
			t.Fatalf("%s is stored", p)
		}
		if err := os.WriteFile(p, plain, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"dists/development/main/binary-amd64/Packages", "dists/development/main/binary-amd64/by-hash/SHA256/" + sum}
	for _, dry := range []bool{true, false} {
		res, err := f.repo.GC(context.Background(), repo.DefaultLockTimeout, dry)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !slices.Contains(res.Removed, w) {
				t.Errorf("dry run %v: gc did not remove %s (removed %v)", dry, w, res.Removed)
			}
		}
		for _, p := range []string{named, byHash} {
			if _, err := os.Stat(p); (err == nil) != dry {
				t.Errorf("dry run %v: %s exists: %v", dry, p, err == nil)
			}
		}
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Fatalf("verify after gc: %v", rep.Problems)
	}
}

// TestGCOnFullDisk: the command that frees space works at 100%: taking the
// lock and collecting write nothing first.
func TestGCOnFullDisk(t *testing.T) {
	r, root, fill := smallDisk(t, false)
	orphan := filepath.Join(root, repo.PoolPath("main", "big", "1.0", "amd64"))
	os.MkdirAll(filepath.Dir(orphan), 0o755)
	os.WriteFile(orphan, make([]byte, 256<<10), 0o644)
	fill()
	res, err := r.GC(context.Background(), repo.DefaultLockTimeout, false)
	if err != nil {
		t.Fatalf("gc on a full disk: %v", err)
	}
	if !slices.Contains(res.Removed, repo.PoolPath("main", "big", "1.0", "amd64")) {
		t.Fatalf("gc removed %v, not the orphan", res.Removed)
	}
}

// TestDropOnFullDisk: snapshot drop, which frees space, works at 100%.
func TestDropOnFullDisk(t *testing.T) {
	r, root, fill := smallDisk(t, true)
	fill()
	if err := r.DropSnapshot(context.Background(), "2026-01-01", 0); err != nil {
		t.Fatalf("snapshot drop on a full disk: %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "dists/2026-01-01")); !os.IsNotExist(err) {
		t.Fatalf("dists/2026-01-01 is still there (%v)", err)
	}
}

// smallDisk returns a repository with one published package (and, with
// snapshot, a snapshot of it) on a 2 MB tmpfs, and a function that fills
// the disk to its last block.
func smallDisk(t *testing.T, snapshot bool) (r *repo.Repo, root string, fill func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root")
	}
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })
	root = filepath.Join(mnt, "repo")
	st, err := repo.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	r = repo.New(st, repo.WithSigner(testkit.Key(t)))
	pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(context.Background(), pkgs, repo.PublishOptions{IndexCompression: []string{"gz"}}); err != nil {
		t.Fatal(err)
	}
	if snapshot {
		if _, err := r.CreateSnapshot(context.Background(), repo.SnapshotOptions{Name: "2026-01-01"}); err != nil {
			t.Fatal(err)
		}
	}
	return r, root, func() {
		f, err := os.Create(filepath.Join(mnt, "fill"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for {
			if _, err := f.Write(make([]byte, 4096)); err != nil {
				return
			}
		}
	}
}
