package githubtest

import (
	"context"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// Fleet is a small debflow repository for tests of the GitHub flows:
//
//	2026-01-01  hello 1.0 (amd64), tool 1.0 (all); served by canary
//	2026-01-02  development later: hello 1.0 and 1.1, tool 1.0, newpkg 0.1
//	2026-01-03  2026-01-01 with hello=1.1 picked from development
//
// production serves nothing.
type Fleet struct {
	Dir     string // the repository root
	KeyFile string // the armored secret key that signs it
	Repo    *repo.Repo
}

// NewFleet builds the Fleet in a temporary directory.
func NewFleet(t testing.TB) *Fleet {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	keyFile, _, _ := testkit.KeyFile(t, t.TempDir())
	st, err := repo.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(st, repo.WithSigner(testkit.Key(t)))
	debs := t.TempDir()
	publish := func(ds ...testkit.Deb) {
		t.Helper()
		var files []string
		for _, d := range ds {
			files = append(files, testkit.WriteDeb(t, debs, d))
		}
		pkgs, err := repo.Inspect(files)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Publish(ctx, pkgs, repo.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	publish(testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"}, testkit.Deb{Name: "tool", Version: "1.0", Arch: "all"})
	if _, err := r.CreateSnapshot(ctx, repo.SnapshotOptions{Name: "2026-01-01"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Promote(ctx, "2026-01-01", "canary", repo.PromoteOptions{By: "test"}); err != nil {
		t.Fatal(err)
	}
	publish(testkit.Deb{Name: "hello", Version: "1.1", Arch: "amd64"}, testkit.Deb{Name: "newpkg", Version: "0.1", Arch: "amd64"})
	if _, err := r.CreateSnapshot(ctx, repo.SnapshotOptions{Name: "2026-01-02"}); err != nil {
		t.Fatal(err)
	}
	pick, err := snapshot.ParsePick("hello=1.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.PickSnapshot(ctx, "2026-01-01", []snapshot.Pick{pick}, repo.SnapshotOptions{Name: "2026-01-03"}); err != nil {
		t.Fatal(err)
	}
	return &Fleet{Dir: dir, KeyFile: keyFile, Repo: r}
}

// Serves returns what a stage serves now ("" for nothing).
func (f *Fleet) Serves(t testing.TB, stage string) string {
	t.Helper()
	st, err := f.Repo.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Stage == stage {
			return s.Serves
		}
	}
	return ""
}
