package repo

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/testkit"
)

// TestPiecesProperty runs random sequences of publish (with and without
// --keep) and remove on suites whose indexes are kept in small pieces, and
// checks after every step that Packages.gz and Packages.xz decompress to
// the plain Packages whose size and SHA-256 the Release lists (the hash a
// step finishes from a saved state), and that the index parses to the set
// of packages the steps left, as a suite rebuilt in one step from that set
// would list.
func TestPiecesProperty(t *testing.T) {
	defer SetPieceTarget(700)()
	ctx := context.Background()
	debs := t.TempDir()
	names := []string{"app", "lib", "tool", "docs", "web", "cli"}
	for seed := range 4 {
		rng := rand.New(rand.NewPCG(uint64(seed), 15))
		st, err := NewFS(filepath.Join(t.TempDir(), "repo"))
		if err != nil {
			t.Fatal(err)
		}
		r := New(st, WithSigner(testkit.Key(t)))
		want := map[string]bool{} // NAME_VERSION_ARCH
		version := map[string]int{}
		for step := range 14 {
			var files []string
			for range 1 + rng.IntN(3) {
				n := names[rng.IntN(len(names))]
				version[n]++
				arch := "amd64"
				if n == "docs" {
					arch = "all"
				}
				files = append(files, testkit.WriteDeb(t, debs, testkit.Deb{Name: n, Version: fmt.Sprintf("1.%d", version[n]), Arch: arch}))
			}
			what := ""
			switch op := rng.IntN(4); {
			case op == 0 && len(want) > 0:
				name := names[rng.IntN(len(names))]
				what = "remove " + name
				res, err := r.Remove(ctx, []PackageSpec{{Name: name}}, RemoveOptions{})
				if err != nil {
					continue // nothing of that name
				}
				for _, k := range res.Removed {
					delete(want, k)
				}
			default:
				pkgs, err := Inspect(files)
				if err != nil {
					t.Fatal(err)
				}
				keep := 0
				if op == 1 {
					keep = 1 + rng.IntN(2)
				}
				comp := [][]string{{"gz", "xz"}, {"gz"}}[rng.IntN(2)]
				what = fmt.Sprintf("publish %d (keep %d, %v)", len(files), keep, comp)
				res, err := r.Publish(ctx, pkgs, PublishOptions{Keep: keep, IndexCompression: comp})
				if err != nil {
					t.Fatalf("seed %d step %d %s: %v", seed, step, what, err)
				}
				for _, k := range res.Added {
					want[k] = true
				}
				for _, k := range res.Removed {
					delete(want, k)
				}
			}
			checkPieced(t, r, fmt.Sprintf("seed %d step %d (%s)", seed, step, what), want)
		}
		// A suite built in one step from the packages left lists the
		// same stanzas, byte for byte.
		st2, err := NewFS(filepath.Join(t.TempDir(), "repo"))
		if err != nil {
			t.Fatal(err)
		}
		once := New(st2, WithSigner(testkit.Key(t)))
		var files []string
		for k := range want {
			files = append(files, filepath.Join(debs, k+".deb"))
		}
		pkgs, err := Inspect(files)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := once.Publish(ctx, pkgs, PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		a := checkPieced(t, r, fmt.Sprintf("seed %d, steps", seed), want)
		b := checkPieced(t, once, fmt.Sprintf("seed %d, one step", seed), want)
		if len(a) != len(b) {
			t.Fatalf("seed %d: %d stanzas after the steps, %d in one step", seed, len(a), len(b))
		}
		for i := range a {
			if !bytes.Equal(a[i].Text, b[i].Text) {
				t.Fatalf("seed %d: stanza %s differs:\n%s\n%s", seed, a[i].Key(), a[i].Text, b[i].Text)
			}
		}
	}
}

func checkPieced(t *testing.T, r *Repo, where string, want map[string]bool) []*Stanza {
	t.Helper()
	ctx := context.Background()
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.loadSuiteReadOnly(ctx, cfg, "development")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	var stanzas []*Stanza
	for _, arch := range []string{"amd64"} {
		dir := indexDir("main", arch)
		h := s.release.Files[dir+"/Packages"]
		// With a Packages.gz, the plain Packages is listed, not stored;
		// every compressed form decompresses to what Release lists for it.
		_, gzListed := s.release.Files[dir+"/Packages.gz"]
		plain, err := readAll(ctx, r.st, byHashName(s.name, dir+"/Packages", "SHA256", h.SHA256))
		if gzListed != (err != nil) {
			t.Fatalf("%s: Packages.gz listed: %v, reading the plain Packages: %v", where, gzListed, err)
		}
		for _, c := range []compress.Format{compress.Gzip, compress.Xz} {
			name := dir + "/Packages" + c.Ext()
			ch, ok := s.release.Files[name]
			if !ok {
				continue
			}
			data, err := readAll(ctx, r.st, byHashName(s.name, name, "SHA256", ch.SHA256))
			if err != nil {
				t.Fatalf("%s: %v", where, err)
			}
			if hashSHA256(data).SHA256 != ch.SHA256 {
				t.Fatalf("%s: %s does not match the Release", where, name)
			}
			rc, err := compress.NewReader(bytes.NewReader(data), c)
			if err != nil {
				t.Fatalf("%s: %s: %v", where, name, err)
			}
			dec, err := io.ReadAll(rc)
			if err != nil {
				t.Fatalf("%s: %s: %v", where, name, err)
			}
			if sum := hashSHA256(dec); sum.SHA256 != h.SHA256 || sum.Size != h.Size {
				t.Fatalf("%s: %s decompresses to %d bytes that do not match the Release's Packages (%d bytes)", where, name, len(dec), h.Size)
			}
			if plain == nil {
				plain = dec
			}
		}
		if sum := hashSHA256(plain); sum.SHA256 != h.SHA256 || sum.Size != h.Size {
			t.Fatalf("%s: Packages does not match the Release", where)
		}
		idx, err := ParseIndex(plain)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		for k := range idx.stanzaMap() {
			got[k.String()] = true
		}
		stanzas = idx.Stanzas()
	}
	// docs (all) is in amd64 too, so amd64 lists every package.
	if !maps.Equal(got, want) {
		t.Fatalf("%s: index lists %v, the steps left %v", where, slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
	return stanzas
}
