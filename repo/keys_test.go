package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/signing"
)

// TestRepositoryKnowsItsKeys: the first signing command records its key;
// another key is refused with both fingerprints named and the tree
// unchanged, until `key add` names it.
func TestRepositoryKnowsItsKeys(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	first := testkit.Key(t).Fingerprint()
	cfg, _, err := repo.LoadConfig(context.Background(), f.repo.Storage())
	if err != nil || len(cfg.SigningKeys) != 1 || cfg.SigningKeys[0] != first {
		t.Fatalf("signing keys after the first publish: %v (%v), want [%s]", cfg.SigningKeys, err, first)
	}

	other, err := signing.Generate("Other <other@example.com>", signing.Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	wrong := repo.New(f.repo.Storage(), repo.WithSigner(other))
	before := testkit.TreeHash(t, f.root)
	pkgs, err := repo.Inspect([]string{f.deb("more", "1.0", "amd64")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = wrong.Publish(context.Background(), pkgs, repo.PublishOptions{})
	if !errors.Is(err, repo.ErrWrongKey) || !strings.Contains(err.Error(), first) || !strings.Contains(err.Error(), other.Fingerprint()) {
		t.Fatalf("publish with another key: %v, want ErrWrongKey naming both keys", err)
	}
	if _, err := wrong.Refresh(context.Background(), 0, 0); !errors.Is(err, repo.ErrWrongKey) {
		t.Fatalf("refresh with another key: %v, want ErrWrongKey", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Fatal("a refused command changed the tree")
	}

	if _, err := f.repo.AddKey(context.Background(), other.Fingerprint(), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := wrong.Publish(context.Background(), pkgs, repo.PublishOptions{}); err != nil {
		t.Fatalf("publish with an added key: %v", err)
	}
	keys := repo.New(f.repo.Storage()) // changing the keys signs nothing
	if _, err := keys.RetireKey(context.Background(), first, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.RetireKey(context.Background(), other.Fingerprint(), 0); !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("retiring the last key: %v, want ErrConflict", err)
	}
	if _, err := f.publish(repo.PublishOptions{}, f.deb("late", "1.0", "amd64")); !errors.Is(err, repo.ErrWrongKey) {
		t.Fatalf("publish with a retired key: %v, want ErrWrongKey", err)
	}
}

// TestInit: a repository made with its settings; a change of Origin once
// suites exist needs the operator's explicit consent, and suites are not
// re-signed with a new Origin behind the devices' back.
func TestInit(t *testing.T) {
	f := newFixture(t)
	cfg, err := f.repo.Init(context.Background(), repo.InitOptions{
		Origin: "Example Fleet", Label: "fleet", Codename: "edge", Architectures: []string{"arm64"},
		Stages: []string{"dev", "field"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Origin != "Example Fleet" || cfg.Codename != "edge" || strings.Join(cfg.Stages, ",") != "dev,field" {
		t.Fatalf("init: %+v", cfg)
	}
	if _, err := f.repo.Init(context.Background(), repo.InitOptions{Architectures: []string{"ARM64"}}); !errors.Is(err, repo.ErrBadConfig) {
		t.Fatalf("init with a bad architecture: %v, want ErrBadConfig", err)
	}
	f.mustPublish(repo.PublishOptions{Suite: "dev"}, f.deb("hello", "1.0", "arm64"))
	rel := readRelease(t, f.root, "dev")
	if !strings.Contains(rel, "Origin: Example Fleet\n") || !strings.Contains(rel, "Codename: edge\n") {
		t.Fatalf("Release:\n%s", rel)
	}
	before := testkit.TreeHash(t, f.root)
	if _, err := f.repo.Init(context.Background(), repo.InitOptions{Origin: "Renamed"}); !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("changing Origin with suites: %v, want ErrConflict", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Fatal("a refused init changed the tree")
	}
	allow := repo.New(f.repo.Storage(), repo.WithSigner(testkit.Key(t)), repo.WithReleaseInfoChange())
	if _, err := allow.Init(context.Background(), repo.InitOptions{Origin: "Renamed"}); err != nil {
		t.Fatal(err)
	}
	// Without the flag, nothing re-signs the suite with the new Origin.
	if _, err := f.publish(repo.PublishOptions{Suite: "dev"}, f.deb("more", "1.0", "arm64")); !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("publish after an Origin change: %v, want ErrConflict", err)
	}
	if _, err := allow.Refresh(context.Background(), 0, 0); err != nil {
		t.Fatal(err)
	}
	if rel := readRelease(t, f.root, "dev"); !strings.Contains(rel, "Origin: Renamed\n") {
		t.Fatalf("after refresh --allow-releaseinfo-change:\n%s", rel)
	}
	dir := t.TempDir()
	st, _ := repo.NewFS(dir)
	if _, err := repo.New(st).Init(context.Background(), repo.InitOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.New(st).Init(context.Background(), repo.InitOptions{Stages: []string{"only"}}); err == nil {
		t.Fatal("init accepted a path with a single stage")
	}
}

func readRelease(t *testing.T, root, suite string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "dists", suite, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
