package repo

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/snapshot"
)

// benchRepo makes a repository whose development suite holds n packages
// (amd64, with a tenth Architecture: all), by writing the indexes
// directly: the benchmarks measure the operations on a large suite, not the
// building of one. No pool file exists; nothing measured reads one.
func benchRepo(b *testing.B, n int, compressions []string) (*Repo, string) {
	b.Helper()
	controls := make([]debian.Paragraph, n)
	for i := range controls {
		arch := "amd64"
		if i%10 == 0 {
			arch = "all"
		}
		name := fmt.Sprintf("pkg%05d", i)
		controls[i] = debian.Paragraph{
			{Name: "Package", Value: name}, {Name: "Version", Value: "1.0." + fmt.Sprint(i%7)},
			{Name: "Architecture", Value: arch}, {Name: "Maintainer", Value: "Fleet Team <fleet@example.com>"},
			{Name: "Installed-Size", Value: "120"}, {Name: "Depends", Value: "libc6 (>= 2.36), pkg00001"},
			{Name: "Section", Value: "utils"}, {Name: "Priority", Value: "optional"},
			{Name: "Description", Value: "benchmark package " + name + "\nIt exists to make the index as large as a real one.\nA second line of description."},
		}
	}
	cfg := DefaultConfig()
	cfg.IndexCompression = compressions
	r, root := indexedRepo(b, cfg, controls)
	return r, root
}

// indexedRepo makes a repository with the configuration cfg whose
// development suite holds the packages of controls (in component main),
// by writing the indexes directly. No pool file exists.
func indexedRepo(tb testing.TB, cfg Config, controls []debian.Paragraph) (*Repo, string) {
	tb.Helper()
	root := filepath.Join(tb.TempDir(), "repo")
	st, err := NewFS(root)
	if err != nil {
		tb.Fatal(err)
	}
	r := New(st, WithSigner(testkit.Key(tb)))
	ctx := context.Background()
	if err := writeJSON(ctx, st, configName, &cfg); err != nil {
		tb.Fatal(err)
	}
	s, err := r.loadSuite(ctx, cfg, "development")
	if err != nil {
		tb.Fatal(err)
	}
	for i, control := range controls {
		name, arch := control.Get("Package"), control.Get("Architecture")
		pool := PoolPath("main", name, control.Get("Version"), arch)
		st, err := NewStanza(control, pool, 4242, "0123456789abcdef0123456789abcdef", fmt.Sprintf("%064x", i))
		if err != nil {
			tb.Fatal(err)
		}
		for _, a := range archesFor(s.release, arch) {
			idx, err := r.index(ctx, s, "main", a)
			if err != nil {
				tb.Fatal(err)
			}
			idx.Put(st)
			s.changed[indexDir("main", a)] = true
		}
	}
	files, err := renderIndexes(s, cfg.IndexCompression)
	if err != nil {
		tb.Fatal(err)
	}
	if err := r.commit(ctx, cfg, s, files, 0, nil); err != nil {
		tb.Fatal(err)
	}
	return r, root
}

var benchDebs = struct {
	sync.Mutex
	n int
}{}

// nextDeb writes a fresh small package for the next iteration.
func nextDeb(b *testing.B) string {
	benchDebs.Lock()
	defer benchDebs.Unlock()
	benchDebs.n++
	return testkit.WriteDeb(b, b.TempDir(), testkit.Deb{Name: "citool", Version: fmt.Sprintf("1.%d", benchDebs.n), Arch: "amd64"})
}

// BenchmarkPublishOne is the CI step: one more package into a suite of
// 10,000 and of 50,000, with reprepro's default index (gz) and with
// debflow's (gz, xz). With indexes in pieces its cost should not grow
// with the suite: compare the two sizes.
func BenchmarkPublishOne(b *testing.B) {
	for _, c := range []struct {
		n    int
		name string
		comp []string
	}{{10000, "gz", []string{"gz"}}, {10000, "gz+xz", []string{"gz", "xz"}}, {50000, "gz", []string{"gz"}}, {50000, "gz+xz", []string{"gz", "xz"}}} {
		b.Run(fmt.Sprintf("n=%d/%s", c.n, c.name), func(b *testing.B) {
			r, _ := benchRepo(b, c.n, c.comp)
			ctx := context.Background()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				pkgs, err := Inspect([]string{nextDeb(b)})
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := r.Publish(ctx, pkgs, PublishOptions{LockTimeout: time.Minute}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSnapshotCreate freezes a 50,000-package development suite.
func BenchmarkSnapshotCreate(b *testing.B) {
	r, _ := benchRepo(b, 50000, []string{"gz", "xz"})
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.CreateSnapshot(ctx, SnapshotOptions{Name: fmt.Sprintf("1-%d", i)}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSnapshotPick picks one package into a new snapshot of a
// 10,000-package base, with gz indexes and with gz and xz: the changed
// architecture's index is compressed again, the others are shared.
func BenchmarkSnapshotPick(b *testing.B) {
	for _, c := range []struct {
		name string
		comp []string
	}{{"gz", []string{"gz"}}, {"gz+xz", []string{"gz", "xz"}}} {
		b.Run("n=10000/"+c.name, func(b *testing.B) {
			r, _ := benchRepo(b, 10000, c.comp)
			ctx := context.Background()
			base, err := r.CreateSnapshot(ctx, SnapshotOptions{Name: "1-base"})
			if err != nil {
				b.Fatal(err)
			}
			pkgs, err := Inspect([]string{nextDeb(b)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := r.Publish(ctx, pkgs, PublishOptions{}); err != nil {
				b.Fatal(err)
			}
			pick := []snapshot.Pick{{Name: pkgs[0].Info.Package, Version: pkgs[0].Info.Version}}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := r.PickSnapshot(ctx, base.Name, pick, SnapshotOptions{Name: fmt.Sprintf("2-%d", i)}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPromote makes canary serve a 50,000-package snapshot,
// alternating between two so that every iteration really promotes.
func BenchmarkPromote(b *testing.B) {
	r, _ := benchRepo(b, 50000, []string{"gz", "xz"})
	ctx := context.Background()
	var snaps []string
	for _, name := range []string{"1-a", "1-b"} {
		if _, err := r.CreateSnapshot(ctx, SnapshotOptions{Name: name}); err != nil {
			b.Fatal(err)
		}
		snaps = append(snaps, name)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := r.Promote(ctx, snaps[i%2], "canary", PromoteOptions{By: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}
