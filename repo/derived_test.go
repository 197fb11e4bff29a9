package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// TestLostMetadataIsRefused: when debflow's records under .debflow/ are
// lost while the tree still serves suites, nothing that could drop
// packages, delete pool files or change the Origin runs; the tree is
// exactly as before and the error says how to recover.
func TestLostMetadataIsRefused(t *testing.T) {
	for _, lose := range []string{".debflow", ".debflow/config.json", ".debflow/suites/development.json"} {
		t.Run(lose, func(t *testing.T) {
			f := newFixture(t)
			f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
			if err := os.RemoveAll(filepath.Join(f.root, lose)); err != nil {
				t.Fatal(err)
			}
			before := testkit.TreeHash(t, f.root)
			_, err := f.publish(repo.PublishOptions{}, f.deb("other", "1.0", "amd64"))
			if !errors.Is(err, repo.ErrNeedsRepair) || !strings.Contains(err.Error(), "debflow repair") {
				t.Fatalf("publish: %v, want ErrNeedsRepair with a pointer to repair", err)
			}
			if _, err := f.repo.GC(context.Background(), repo.DefaultLockTimeout, false); err == nil {
				t.Fatal("gc ran without the records")
			}
			if testkit.TreeHash(t, f.root) != before {
				t.Fatal("a refused command changed the tree")
			}
			if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "hello", "1.0", "amd64"))); err != nil {
				t.Fatalf("the served package is gone: %v", err)
			}
		})
	}
}

// TestBadConfigIsRefused: a configuration value apt or dpkg would not
// accept, or an unknown key, stops every command with a message naming it,
// records nothing, and once the file is fixed everything works again.
func TestBadConfigIsRefused(t *testing.T) {
	for _, tc := range []struct{ name, from, to string }{
		{"trailing space", `"amd64"`, `"amd64 "`},
		{"upper case", `"amd64"`, `"ARM64"`},
		{"path", `"amd64"`, `"../x"`},
		{"unknown key", `"origin"`, `"orign"`},
		{"compression", `"xz"`, `"bz2"`},
		{"origin with newline", `"origin": "debflow-`, `"origin": "x\ny: z-`},
		{"stages", `"production"`, `"Production"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
			cfgPath := filepath.Join(f.root, ".debflow/config.json")
			good, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			bad := strings.Replace(string(good), tc.from, tc.to, 1)
			if bad == string(good) {
				t.Fatalf("%s not found in the config:\n%s", tc.from, good)
			}
			os.WriteFile(cfgPath, []byte(bad), 0o644)
			before := testkit.TreeHash(t, f.root)
			_, err = f.publish(repo.PublishOptions{}, f.deb("other", "1.0", "amd64"))
			if !errors.Is(err, repo.ErrBadConfig) {
				t.Fatalf("publish with a bad config: %v, want ErrBadConfig", err)
			}
			if testkit.TreeHash(t, f.root) != before {
				t.Fatal("a refused publish changed the tree")
			}
			os.WriteFile(cfgPath, good, 0o644)
			f.mustPublish(repo.PublishOptions{}, f.deb("other", "1.0", "amd64"))
		})
	}
}

// TestNotARepository: a directory with other files is never turned into a
// repository, and commands that only work on one write nothing there.
func TestNotARepository(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644)
	st, err := repo.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(st, repo.WithSigner(testkit.Key(t)))
	pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(context.Background(), pkgs, repo.PublishOptions{}); !errors.Is(err, repo.ErrNotEmpty) {
		t.Fatalf("publish into a source tree: %v, want ErrNotEmpty", err)
	}
	if _, err := r.GC(context.Background(), repo.DefaultLockTimeout, false); !errors.Is(err, repo.ErrNoRepo) {
		t.Fatalf("gc of a source tree: %v, want ErrNoRepo", err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".debflow")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused command created .debflow/ in a source tree (%v)", err)
	}
}

// TestNewRepositoriesHaveTheirOwnOrigin: two repositories on one device
// must never share an apt pin.
func TestNewRepositoriesHaveTheirOwnOrigin(t *testing.T) {
	origin := func() string {
		f := newFixture(t)
		f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
		cfg, _, err := repo.LoadConfig(context.Background(), f.repo.Storage())
		if err != nil {
			t.Fatal(err)
		}
		return cfg.Origin
	}
	a, b := origin(), origin()
	if a == b || !regexp.MustCompile(`^debflow-[0-9a-f]{8}$`).MatchString(a) {
		t.Fatalf("origins %q and %q: want two different debflow- origins with eight hex digits", a, b)
	}
}

// TestDamagedPinnedListIsRebuilt: the pinned list is a cache; truncated,
// garbled or missing, it is rebuilt from the snapshot records, and --keep
// never frees a pool file that a snapshot serves.
func TestDamagedPinnedListIsRebuilt(t *testing.T) {
	for _, damage := range []func(string) error{
		func(p string) error { return os.Remove(p) },
		func(p string) error { return os.Truncate(p, 10) },
		func(p string) error { return os.WriteFile(p, []byte("garbage\n"), 0o644) },
		func(p string) error { // an older copy: valid, but from before the snapshot
			data, err := os.ReadFile(p + ".old")
			if err != nil {
				return err
			}
			return os.WriteFile(p, data, 0o644)
		},
	} {
		f := newFixture(t)
		v1 := f.deb("hello", "1.0", "amd64")
		f.mustPublish(repo.PublishOptions{}, v1)
		f.mustPublish(repo.PublishOptions{}, f.deb("hello", "0.9", "arm64"))
		if _, err := f.repo.CreateSnapshot(context.Background(), repo.SnapshotOptions{Name: "2026-01-01"}); err != nil {
			t.Fatal(err)
		}
		// Snapshot create does not read the indexes; the list learns the
		// snapshot when it is next read.
		if set, err := f.repo.Pinned(context.Background()); err != nil || !set[repo.PoolPath("main", "hello", "1.0", "amd64")] {
			t.Fatalf("pinned list after the first snapshot: %v, %v", set, err)
		}
		pinned := filepath.Join(f.root, ".debflow/pinned")
		// keep a valid list that predates the second snapshot
		data, _ := os.ReadFile(pinned)
		os.WriteFile(pinned+".old", data, 0o644)
		f.mustPublish(repo.PublishOptions{}, f.deb("other", "1.0", "amd64"))
		if _, err := f.repo.CreateSnapshot(context.Background(), repo.SnapshotOptions{Name: "2026-01-02"}); err != nil {
			t.Fatal(err)
		}
		if err := damage(pinned); err != nil {
			t.Fatal(err)
		}
		os.Remove(pinned + ".old")
		f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("hello", "2.0", "amd64"))
		f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("other", "2.0", "amd64"))
		for _, p := range []string{repo.PoolPath("main", "hello", "1.0", "amd64"), repo.PoolPath("main", "other", "1.0", "amd64")} {
			if _, err := os.Stat(filepath.Join(f.root, p)); err != nil {
				t.Fatalf("--keep freed %s, which a snapshot serves: %v", p, err)
			}
		}
		if rep := f.verify(); len(rep.Problems) > 0 {
			t.Fatalf("verify: %v", rep.Problems)
		}
	}
}

// TestRepairRebuildsRecords: after .debflow/ (or part of it) is lost,
// repair rebuilds the records from the served, signed tree; the Origin
// devices pin is kept, and every command works again.
func TestRepairRebuildsRecords(t *testing.T) {
	for _, lose := range []string{".debflow", ".debflow/suites/development.json", ".debflow/config.json"} {
		t.Run(lose, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
			snap, err := f.repo.CreateSnapshot(ctx, repo.SnapshotOptions{Name: "2026-01-01"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.repo.Promote(ctx, snap.Name, "canary", repo.PromoteOptions{}); err != nil {
				t.Fatal(err)
			}
			cfg, _, _ := repo.LoadConfig(ctx, f.repo.Storage())
			os.RemoveAll(filepath.Join(f.root, lose))
			served := testkit.TreeHash(t, filepath.Join(f.root, "dists"))

			res, err := f.repo.Repair(ctx, repo.RepairOptions{Keyring: testkit.Key(t).Keyring()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Config != (lose != ".debflow/suites/development.json") {
				t.Errorf("config rebuilt = %v", res.Config)
			}
			if testkit.TreeHash(t, filepath.Join(f.root, "dists")) != served {
				t.Fatal("repair changed what devices are served")
			}
			got, _, err := repo.LoadConfig(ctx, f.repo.Storage())
			if err != nil || got.Origin != cfg.Origin {
				t.Fatalf("Origin after repair: %q (%v), want %q", got.Origin, err, cfg.Origin)
			}
			if rep := f.verify(); len(rep.Problems) > 0 {
				t.Fatalf("verify after repair: %v", rep.Problems)
			}
			// Every command works again, and development kept its package.
			f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("hello", "2.0", "amd64"))
			if _, err := f.repo.GC(ctx, repo.DefaultLockTimeout, false); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "hello", "1.0", "amd64"))); err != nil {
				t.Fatalf("the snapshot's package is gone after repair, publish and gc: %v", err)
			}
			if rep := f.verify(); len(rep.Problems) > 0 {
				t.Fatalf("verify: %v", rep.Problems)
			}
		})
	}
}

// TestKeepNeedsWholeRecords: --keep frees pool files only when every
// served suite has its record: a rolling suite whose record was lost may
// list the very file.
func TestKeepNeedsWholeRecords(t *testing.T) {
	f := newFixture(t)
	hello := f.deb("hello", "1.0", "amd64")
	f.mustPublish(repo.PublishOptions{}, hello)
	f.mustPublish(repo.PublishOptions{Suite: "team", CreateSuite: true}, hello)
	os.Remove(filepath.Join(f.root, ".debflow/suites/team.json"))
	before := testkit.TreeHash(t, f.root)
	if _, err := f.publish(repo.PublishOptions{Keep: 1}, f.deb("hello", "2.0", "amd64")); !errors.Is(err, repo.ErrNeedsRepair) {
		t.Fatalf("--keep with a lost record: %v, want ErrNeedsRepair", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Fatal("a refused publish changed the tree")
	}
}
