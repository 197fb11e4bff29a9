package repo_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

func (f *fixture) snapshot(name string) string {
	f.t.Helper()
	res, err := f.repo.CreateSnapshot(context.Background(), repo.SnapshotOptions{Name: name})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Name
}

// TestSnapshotOutlivesDevelopment: development moves on with --keep 1 and
// drops the old versions; the snapshot keeps serving them to apt.
func TestSnapshotOutlivesDevelopment(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("hello", "1.0", "amd64"), f.deb("docs", "1.0", "all"))
	snap := f.snapshot("")
	if want := time.Now().UTC().Format("2006-01-02"); snap != want {
		t.Errorf("default name %q, want %q", snap, want)
	}
	f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("hello", "2.0", "amd64"), f.deb("docs", "2.0", "all"))

	devPkgs := testkit.Packages(t, filepath.Join(f.root, "dists/development/main/binary-amd64/Packages"))
	if strings.Contains(string(devPkgs), "Version: 1.0\n") {
		t.Fatal("development still lists 1.0")
	}
	if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "hello", "1.0", "amd64"))); err != nil {
		t.Fatalf("--keep removed a pool file the snapshot needs: %v", err)
	}

	a := f.apt(snap)
	a.Update()
	if got := a.Candidate("hello"); got != "1.0" {
		t.Errorf("snapshot candidate hello = %s", got)
	}
	a.Download("hello")
	a.Download("docs")

	// The second snapshot of the day sorts after the first.
	second := f.snapshot("")
	if second <= snap {
		t.Errorf("second name %q does not sort after %q", second, snap)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

// TestSnapshotIndexesAreTheSource: a snapshot's indexes are byte-for-byte
// those of the suite it froze.
func TestSnapshotIndexesAreTheSource(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"), f.deb("docs", "1.0", "all"))
	snap := f.snapshot("1-first")
	for _, file := range []string{"main/binary-amd64/Packages.gz", "main/binary-amd64/Packages.xz", "main/binary-arm64/Packages.xz"} {
		a, _ := os.ReadFile(filepath.Join(f.root, "dists/development", file))
		b, err := os.ReadFile(filepath.Join(f.root, "dists", snap, file))
		if err != nil || string(a) != string(b) {
			t.Errorf("%s differs from development's (%v)", file, err)
		}
	}
	// And so does the Release's entry for the plain Packages, which is
	// listed but not stored.
	for _, suite := range []string{"development", snap} {
		rel, _ := os.ReadFile(filepath.Join(f.root, "dists", suite, "Release"))
		if !bytes.Contains(rel, []byte(" main/binary-amd64/Packages\n")) {
			t.Errorf("%s's Release does not list main/binary-amd64/Packages:\n%s", suite, rel)
		}
		if _, err := os.Stat(filepath.Join(f.root, "dists", suite, "main/binary-amd64/Packages")); err == nil {
			t.Errorf("%s stores a plain Packages next to its Packages.gz", suite)
		}
	}
}

func TestPick(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"), f.deb("lib", "1.0", "amd64"))
	base := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.1", "amd64"), f.deb("lib", "1.1", "amd64"),
		testkit.WriteDeb(t, f.debs, testkit.Deb{Name: "newtool", Version: "0.1", Arch: "all", Depends: "lib (>= 2.0)"}))
	baseTree := testkit.TreeHash(t, filepath.Join(f.root, "dists", base))

	res, err := f.repo.PickSnapshot(context.Background(), base, []snapshot.Pick{{Name: "hello", Version: "1.1"}, {Name: "newtool", Version: "0.1"}}, repo.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if testkit.TreeHash(t, filepath.Join(f.root, "dists", base)) != baseTree {
		t.Error("pick changed the base snapshot")
	}
	// newtool needs lib (>= 2.0), which base lacked already: not news,
	// nothing devices had breaks (see snapshot.PlanPicks).
	if len(res.Warnings) != 0 {
		t.Errorf("warnings about what base lacked already: %q", res.Warnings)
	}
	changes, err := f.repo.Diff(context.Background(), base, res.Name)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range changes {
		got = append(got, c.Package+"/"+c.Arch+":"+string(c.Kind)+":"+c.From+"->"+c.To)
	}
	want := "hello/amd64:upgraded:1.0->1.1 newtool/all:added:->0.1"
	if strings.Join(got, " ") != want {
		t.Errorf("diff %v, want %s", got, want)
	}
	entry, err := f.repo.Snapshot(context.Background(), res.Name)
	if err != nil {
		t.Fatal(err)
	}
	if entry.Info.Base != base || strings.Join(entry.Info.Picks, " ") != "hello=1.1 newtool=0.1" {
		t.Errorf("provenance %+v", entry.Info)
	}
	a := f.apt(res.Name)
	a.Update()
	if got := a.Candidate("hello"); got != "1.1" {
		t.Errorf("picked snapshot offers hello %s", got)
	}
	if got := a.Candidate("lib"); got != "1.0" {
		t.Errorf("picked snapshot offers lib %s, want the base's 1.0", got)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

func TestSnapshotBadInput(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	base := f.snapshot("")
	before := testkit.TreeHash(t, f.root)
	ctx := context.Background()
	pick := func(base string, picks ...snapshot.Pick) error {
		_, err := f.repo.PickSnapshot(ctx, base, picks, repo.SnapshotOptions{})
		return err
	}
	for _, c := range []struct {
		name string
		err  error
		want error
	}{
		{"unknown base", pick("2000-01-01", snapshot.Pick{Name: "hello", Version: "1.0"}), repo.ErrNoSuite},
		{"unknown package", pick(base, snapshot.Pick{Name: "nope", Version: "1.0"}), snapshot.ErrUnknownPackage},
		{"unknown version", pick(base, snapshot.Pick{Name: "hello", Version: "9.9"}), snapshot.ErrUnknownVersion},
		{"name exists", func() error {
			_, err := f.repo.CreateSnapshot(ctx, repo.SnapshotOptions{Name: base})
			return err
		}(), repo.ErrConflict},
		{"unsafe name", func() error {
			_, err := f.repo.CreateSnapshot(ctx, repo.SnapshotOptions{Name: "../x"})
			return err
		}(), snapshot.ErrBadName},
		{"stage-like name", func() error {
			_, err := f.repo.CreateSnapshot(ctx, repo.SnapshotOptions{Name: "production"})
			return err
		}(), snapshot.ErrBadName},
	} {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, c.err, c.want)
		}
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a refused snapshot command changed the tree")
	}
}

func TestDropAndGC(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("hello", "2.0", "amd64"))
	old := filepath.Join(f.root, repo.PoolPath("main", "hello", "1.0", "amd64"))
	if err := f.repo.DropSnapshot(context.Background(), snap, time.Minute); err != nil {
		t.Fatal(err)
	}
	filepath.Walk(filepath.Join(f.root, "dists", snap), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			t.Errorf("%s is left after drop", p)
		}
		return nil
	})
	if _, err := os.Stat(old); err != nil {
		t.Fatalf("drop removed a pool file itself: %v", err)
	}
	res, err := f.repo.GC(context.Background(), time.Minute, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.Removed[0] != repo.PoolPath("main", "hello", "1.0", "amd64") {
		t.Errorf("gc removed %v", res.Removed)
	}
	// The dropped name is never reused.
	if _, err := f.repo.CreateSnapshot(context.Background(), repo.SnapshotOptions{Name: snap}); !errors.Is(err, repo.ErrConflict) {
		t.Errorf("reusing a dropped name: %v", err)
	}
	if next := f.snapshot(""); next == snap {
		t.Errorf("default name reused %s", snap)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}
