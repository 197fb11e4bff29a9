package repo_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// TestPublishNewSuiteNeedsCreate: a mistyped --suite is refused, naming
// the rolling suites, and changes nothing; --create-suite creates it.
func TestPublishNewSuiteNeedsCreate(t *testing.T) {
	f := newFixture(t)
	hello := f.deb("hello", "1.0", "amd64")
	f.mustPublish(repo.PublishOptions{}, hello) // development needs no permission
	before := testkit.TreeHash(t, f.root)
	_, err := f.publish(repo.PublishOptions{Suite: "developmnet"}, hello)
	if !errors.Is(err, repo.ErrNoSuite) || !strings.Contains(err.Error(), "developmnet (rolling suites: development)") || !strings.Contains(err.Error(), "--create-suite") {
		t.Fatalf("error = %v, want ErrNoSuite naming the rolling suites", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a refused publish changed the tree")
	}
	f.mustPublish(repo.PublishOptions{Suite: "team", CreateSuite: true}, hello)
	f.mustPublish(repo.PublishOptions{Suite: "team"}, f.deb("hello", "1.1", "amd64")) // exists now
}

// TestPublishFirstStageNeedsNoCreate: the repository's first stage is
// where publish goes by design, whatever it is called.
func TestPublishFirstStageNeedsNoCreate(t *testing.T) {
	f := newFixture(t)
	if err := os.MkdirAll(filepath.Join(f.root, ".debflow"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := repo.NewConfig()
	cfg.Stages = []string{"edge", "fleet"}
	data, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(f.root, ".debflow/config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	f.mustPublish(repo.PublishOptions{Suite: "edge"}, f.deb("hello", "1.0", "amd64"))
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	if _, err := f.publish(repo.PublishOptions{Suite: "edg"}, f.deb("hello", "1.0", "amd64")); !errors.Is(err, repo.ErrNoSuite) ||
		!strings.Contains(err.Error(), "rolling suites: development, edge") {
		t.Errorf("error = %v", err)
	}
}

func TestSuites(t *testing.T) {
	f := newFixture(t)
	if _, err := f.repo.Suites(context.Background()); !errors.Is(err, repo.ErrNoRepo) {
		t.Fatalf("no repository: %v, want ErrNoRepo", err)
	}
	os.MkdirAll(filepath.Join(f.root, ".debflow"), 0o755)
	data, _ := json.Marshal(repo.NewConfig())
	os.WriteFile(filepath.Join(f.root, ".debflow/config.json"), data, 0o644)
	if all, err := f.repo.Suites(context.Background()); err != nil || all == nil || len(all) != 0 {
		t.Fatalf("empty repository: %#v, %v", all, err)
	}
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"), f.deb("docs", "1.0", "all"))
	f.mustPublish(repo.PublishOptions{Suite: "team", CreateSuite: true}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	f.promote(snap, "canary", false)
	dropped := f.snapshot("1-dropped")
	if err := f.repo.DropSnapshot(context.Background(), dropped, time.Minute); err != nil {
		t.Fatal(err)
	}
	all, err := f.repo.Suites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		Name, Kind, Serves string
		Packages           int
	}
	var got []row
	for _, e := range all {
		got = append(got, row{e.Name, e.Kind, e.Serves, e.Packages})
		if e.Date.IsZero() {
			t.Errorf("%s has no Date", e.Name)
		}
	}
	want := []row{
		{"development", "rolling", "", 2},
		{"team", "rolling", "", 1},
		{"canary", "stage", snap, 2},
		{snap, "snapshot", "", 2},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("suites\n got %+v\nwant %+v", got, want)
	}
}

// TestDropSuite: the suite's files, record and the pool files only it
// listed go; a nested suite's files, and pool files a snapshot or another
// suite lists, stay.
func TestDropSuite(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	shared := f.deb("shared", "1.0", "amd64")
	f.mustPublish(repo.PublishOptions{}, shared)
	f.mustPublish(repo.PublishOptions{Suite: "team", CreateSuite: true}, shared, f.deb("pinned", "1.0", "all"))
	if _, err := f.repo.CreateSnapshot(ctx, repo.SnapshotOptions{From: "team", Name: "1-team"}); err != nil {
		t.Fatal(err)
	}
	f.mustPublish(repo.PublishOptions{Suite: "team"}, f.deb("only", "1.0", "amd64"))
	f.mustPublish(repo.PublishOptions{Suite: "team/updates", CreateSuite: true}, f.deb("upd", "1.0", "amd64"))
	f.mustPublish(repo.PublishOptions{Suite: "team/main", CreateSuite: true}, f.deb("upd", "1.0", "amd64"))
	wantFreed := []string{repo.PoolPath("main", "only", "1.0", "amd64")}

	before := testkit.TreeHash(t, f.root)
	res, err := f.repo.DropSuite(ctx, "team", true, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a dry run changed the tree")
	}
	if !res.DryRun || res.Packages != 3 || !reflect.DeepEqual(res.PoolFreed, wantFreed) || len(res.Files) == 0 {
		t.Errorf("dry run: %+v", res)
	}
	for _, file := range res.Files {
		if strings.HasPrefix(file, "dists/team/updates/") || strings.HasPrefix(file, "dists/team/main/InRelease") {
			t.Errorf("dry run would remove %s, a file of a nested suite", file)
		}
	}

	for _, bad := range []string{"development", "canary", "production", "1-team"} {
		if _, err := f.repo.DropSuite(ctx, bad, false, time.Minute); !errors.Is(err, repo.ErrConflict) {
			t.Errorf("drop %s: %v, want ErrConflict", bad, err)
		}
	}
	if _, err := f.repo.DropSuite(ctx, "nope", false, time.Minute); !errors.Is(err, repo.ErrNoSuite) {
		t.Errorf("drop nope: %v", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a refused drop changed the tree")
	}

	res, err = f.repo.DropSuite(ctx, "team", false, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.PoolFreed, wantFreed) {
		t.Errorf("freed %v, want %v", res.PoolFreed, wantFreed)
	}
	for _, p := range wantFreed {
		if f.exists(p) {
			t.Errorf("%s still there", p)
		}
	}
	for _, p := range []string{repo.PoolPath("main", "shared", "1.0", "amd64"), repo.PoolPath("main", "upd", "1.0", "amd64"), repo.PoolPath("main", "pinned", "1.0", "all")} {
		if !f.exists(p) {
			t.Errorf("%s, which another suite or a snapshot lists, was removed", p)
		}
	}
	for _, gone := range []string{"dists/team/InRelease", "dists/team/Release", "dists/team/main/binary-amd64/Packages.gz", ".debflow/suites/team.json"} {
		if f.exists(gone) {
			t.Errorf("%s is still there", gone)
		}
	}
	for _, n := range []string{"updates", "main"} {
		if !f.exists("dists/team/"+n+"/InRelease") || !f.exists("dists/team/"+n+"/main/binary-amd64/Packages.gz") {
			t.Errorf("dropping team removed team/%s's files", n)
		}
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
	if all, _ := f.repo.Suites(ctx); len(all) != 4 { // development, team/main, team/updates, 1-team
		t.Errorf("suites after the drop: %+v", all)
	}
	// The name is free again, but only on purpose.
	if _, err := f.publish(repo.PublishOptions{Suite: "team"}, shared); !errors.Is(err, repo.ErrNoSuite) {
		t.Errorf("publish into the dropped suite: %v", err)
	}
	f.mustPublish(repo.PublishOptions{Suite: "team", CreateSuite: true}, shared)
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}
