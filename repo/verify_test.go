package repo_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// wantProblem fails unless some problem's text contains every one of subs.
func wantProblem(t *testing.T, rep *repo.VerifyReport, subs ...string) {
	t.Helper()
	for _, p := range rep.Problems {
		s, all := p.String(), true
		for _, sub := range subs {
			all = all && strings.Contains(s, sub)
		}
		if all {
			return
		}
	}
	t.Fatalf("verify reported no problem with %q; problems: %v", subs, rep.Problems)
}

// TestVerifyValidUntilPassed: a suite whose Valid-Until has passed is
// refused by every device, so verify reports it. (Verify runs with a clock
// two hours on, since publish refuses a Valid-Until that has passed.)
func TestVerifyValidUntilPassed(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{ValidFor: time.Hour}, f.deb("app", "1.0", "amd64"))
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Fatalf("verify within Valid-Until: %v", rep.Problems)
	}
	st, err := repo.NewFS(f.root)
	if err != nil {
		t.Fatal(err)
	}
	later := repo.New(st, repo.WithClock(func() time.Time { return time.Now().Add(2 * time.Hour) }))
	rep, err := later.Verify(context.Background(), testkit.Key(t).Keyring())
	if err != nil {
		t.Fatal(err)
	}
	wantProblem(t, rep, "development", "dists/development/InRelease", "Valid-Until", "has passed")
}

// TestVerifyNoRepository: a mistyped --repo (an empty or missing
// directory) is a problem, not "ok: 0 suites".
func TestVerifyNoRepository(t *testing.T) {
	for _, dir := range []string{t.TempDir(), filepath.Join(t.TempDir(), "typo")} {
		st, err := repo.NewFS(dir)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := repo.New(st).Verify(context.Background(), testkit.Key(t).Keyring())
		if err != nil {
			t.Fatal(err)
		}
		wantProblem(t, rep, "no debflow repository here")
		if _, err := os.Stat(filepath.Join(dir, ".debflow")); err == nil {
			t.Fatalf("verify created .debflow in %s", dir)
		}
	}
}

// TestVerifyMetadataLost: a tree copied without .debflow/ still serves its
// suites; verify checks them and reports the missing records and config.
func TestVerifyMetadataLost(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("app", "1.0", "amd64"))
	if err := os.RemoveAll(filepath.Join(f.root, ".debflow")); err != nil {
		t.Fatal(err)
	}
	rep := f.verify()
	wantProblem(t, rep, "served suite development has no record in .debflow/suites")
	wantProblem(t, rep, ".debflow/config.json", "missing")
	if len(rep.Suites) != 1 || rep.PoolFiles != 1 {
		t.Fatalf("the served suite was not checked: %+v", rep)
	}

	// Only the record lost: the same, and the served suite is still
	// checked down to its pool files.
	f = newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("app", "1.0", "amd64"))
	if err := os.Remove(filepath.Join(f.root, ".debflow/suites/development.json")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.root, "pool/main/a/app/app_1.0_amd64.deb"), []byte("bad"), 0o644); err != nil {
		t.Fatal(err)
	}
	rep = f.verify()
	wantProblem(t, rep, "served suite development has no record")
	wantProblem(t, rep, "pool/main/a/app/app_1.0_amd64.deb", "size 3")
}

// TestVerifyEveryServedSuite: a suite apt could be pointed at that debflow
// does not record (a hand-made or half-copied dists/ tree) is checked and
// reported.
func TestVerifyEveryServedSuite(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("app", "1.0", "amd64"))
	src := filepath.Join(f.root, "dists/development")
	dst := filepath.Join(f.root, "dists/stray/updates")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"InRelease", "Release", "Release.gpg"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "InRelease" {
			data = []byte(strings.Replace(string(data), "Suite: development", "Suite: stray", 1)) // breaks the signature
		}
		if err := os.WriteFile(filepath.Join(dst, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rep := f.verify()
	wantProblem(t, rep, "stray/updates", "dists/stray/updates/InRelease")
	wantProblem(t, rep, "served suite stray/updates has no record")
}

// TestVerifyRecordNotServed: a suite debflow records but whose InRelease
// does not carry the record (lost, or from another generation) is a
// problem, reported once the retries find it persists.
func TestVerifyRecordNotServed(t *testing.T) {
	defer repo.SetVerifyRetry(3, time.Millisecond)()
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("app", "1.0", "amd64"))
	dev := filepath.Join(f.root, "dists/development")
	old := map[string][]byte{}
	for _, name := range []string{"InRelease", "Release", "Release.gpg"} {
		data, err := os.ReadFile(filepath.Join(dev, name))
		if err != nil {
			t.Fatal(err)
		}
		old[name] = data
	}
	// Restoring the Release files of an older generation (a backup, a
	// careless rsync) leaves InRelease out of line with the record.
	f.mustPublish(repo.PublishOptions{}, f.deb("app", "1.1", "amd64"))
	for name, data := range old {
		if err := os.WriteFile(filepath.Join(dev, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantProblem(t, f.verify(), "dists/development/InRelease", "does not carry the Release debflow recorded")

	if err := os.Remove(filepath.Join(dev, "InRelease")); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, f.verify(), "dists/development/InRelease", "missing")
}

// TestVerifyWhilePublishing runs verify again and again while another
// publisher publishes into the same repository, dropping old versions
// (and their pool files) as it goes, and creates and drops snapshots. The
// repository is healthy at every moment a client can see, so verify must
// report nothing, ever.
func TestVerifyWhilePublishing(t *testing.T) {
	f := newFixture(t)
	const publishes = 15
	var debs [][]string
	for i := range publishes {
		v := fmt.Sprintf("1.%d", i)
		debs = append(debs, []string{f.deb("app", v, "amd64"), f.deb("docs", v, "all")})
	}
	opts := repo.PublishOptions{Keep: 1, IndexCompression: []string{"gz"}}
	f.mustPublish(opts, debs[0]...)

	st, err := repo.NewFS(f.root)
	if err != nil {
		t.Fatal(err)
	}
	publisher := repo.New(st, repo.WithSigner(testkit.Key(t)))
	done := make(chan struct{})
	var wg sync.WaitGroup
	var pubErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		ctx := context.Background()
		for i, files := range debs[1:] {
			pkgs, err := repo.Inspect(files)
			if err == nil {
				_, err = publisher.Publish(ctx, pkgs, opts)
			}
			if err == nil && i%3 == 1 {
				_, err = publisher.CreateSnapshot(ctx, repo.SnapshotOptions{Name: fmt.Sprintf("1-%d", i)})
			}
			if err == nil && i%3 == 1 && i > 1 {
				err = publisher.DropSnapshot(ctx, fmt.Sprintf("1-%d", i-3), time.Minute)
			}
			if err != nil {
				pubErr = err
				return
			}
		}
	}()

	runs, during := 0, 0
	for {
		select {
		case <-done:
			if runs >= 30 {
				wg.Wait()
				if pubErr != nil {
					t.Fatal(pubErr)
				}
				t.Logf("%d verify runs, %d of them while publishing", runs, during)
				return
			}
		default:
			during++
		}
		runs++
		rep := f.verify()
		if len(rep.Problems) > 0 {
			t.Fatalf("verify run %d, on a healthy repository being published into: %v", runs, rep.Problems)
		}
		if !slices.Contains(rep.Suites, "development") || rep.PoolFiles < 2 {
			t.Fatalf("verify run %d checked %v suites and %d pool files", runs, rep.Suites, rep.PoolFiles)
		}
	}
}

// TestVerifyPoolLeftovers: a publish killed while it stored a pool file
// leaves a temporary file of the package's size, which no index lists and
// List hides. Verify reports it once it is old enough not to be the file a
// running publish is writing.
func TestVerifyPoolLeftovers(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("app", "1.0", "amd64"))
	dir := filepath.Join(f.root, "pool/main/a/app")
	old, fresh := filepath.Join(dir, ".tmp-KILLED"), filepath.Join(dir, ".tmp-RUNNING")
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, make([]byte, 1234), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	then := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(old, then, then); err != nil {
		t.Fatal(err)
	}
	rep := f.verify()
	wantProblem(t, rep, "pool/main/a/app/.tmp-KILLED", "interrupted write", "1234 bytes")
	if len(rep.Problems) != 1 {
		t.Fatalf("want only the old leftover reported, got %v", rep.Problems)
	}
}
