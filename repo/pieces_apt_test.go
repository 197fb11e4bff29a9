package repo_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/debflow/debflow/repo"
)

var aptWarning = regexp.MustCompile(`(?m)^(W|E|N): .*$`)

// aptView runs apt-get update with one compression type first and
// returns apt-cache dumpavail (the candidates) and apt-cache show of the
// names (every version), their stanzas sorted.
func aptView(t *testing.T, f *fixture, suite, compression string, names []string) (dumpavail, show string) {
	t.Helper()
	a := f.apt(suite)
	out := a.Run("apt-get", "-o", "Acquire::CompressionTypes::Order::="+compression, "update")
	if w := aptWarning.FindAllString(out, -1); len(w) > 0 {
		t.Fatalf("apt-get update (%s) complained:\n%s\n%s", compression, strings.Join(w, "\n"), out)
	}
	sorted := func(out string) string {
		stanzas := strings.Split(strings.TrimSpace(out), "\n\n")
		slices.Sort(stanzas)
		return strings.Join(stanzas, "\n\n")
	}
	return sorted(a.Run("apt-cache", "dumpavail")), sorted(a.Run("apt-cache", append([]string{"show"}, names...)...))
}

// TestAptReadsPieces checks, with the real apt-get, that apt reads a
// Packages.gz of many gzip members and a Packages.xz of many xz streams
// whole, that it takes a Release listing SHA256 only without a word, and
// that a suite built by many small steps (publish, --keep, remove) gives
// apt exactly what the same packages published in one step give.
func TestAptReadsPieces(t *testing.T) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("apt-get missing (Debian package apt)")
	}
	defer repo.SetPieceTarget(500)()
	ctx := context.Background()
	steps := newFixture(t)
	deb := func(name, version, arch string) string { return steps.deb(name, version, arch) }
	gz := repo.PublishOptions{IndexCompression: []string{"gz", "xz"}}
	keep2 := gz
	keep2.Keep = 2

	steps.mustPublish(gz, deb("app", "1.0", "amd64"), deb("docs", "1.0", "all"), deb("tool", "1.0", "amd64"))
	for _, v := range []string{"1.1", "1.2", "1.3"} {
		steps.mustPublish(gz, deb("app", v, "amd64")) // CI steps: appended
	}
	steps.mustPublish(keep2, deb("app", "1.4", "amd64")) // drops 1.0, 1.1, 1.2
	if _, err := steps.repo.Remove(ctx, []repo.PackageSpec{{Name: "tool"}}, repo.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		steps.mustPublish(gz, deb(n, "1.0", "amd64"))
	}
	if _, err := steps.repo.Remove(ctx, []repo.PackageSpec{{Name: "beta"}}, repo.RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	steps.mustPublish(keep2, deb("app", "1.5", "amd64"), deb("docs", "1.1", "all"))
	steps.mustPublish(gz, deb("zeta", "1.0", "amd64"))
	if rep := steps.verify(); len(rep.Problems) > 0 {
		t.Fatalf("verify: %v", rep.Problems)
	}

	// The indexes really are in pieces.
	dir := filepath.Join(steps.root, "dists/development/main/binary-amd64")
	gzData, err := os.ReadFile(filepath.Join(dir, "Packages.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := repo.GzipPieces(gzData); err != nil || n < 3 {
		t.Fatalf("Packages.gz has %d pieces (%v), want several", n, err)
	}
	xzData, err := os.ReadFile(filepath.Join(dir, "Packages.xz"))
	if err != nil {
		t.Fatal(err)
	}
	// One xz stream (apt reads no further), of several blocks: its
	// index records one per piece.
	if n := bytes.Count(xzData, []byte("\xfd7zXZ\x00")); n != 1 {
		t.Fatalf("Packages.xz has %d streams, want one", n)
	}
	rel, err := os.ReadFile(filepath.Join(steps.root, "dists/development/Release"))
	if err != nil {
		t.Fatal(err)
	}
	for _, weak := range []string{"MD5Sum:", "SHA1:", "SHA512:"} {
		if bytes.Contains(rel, []byte("\n"+weak+"\n")) {
			t.Errorf("Release lists %s", weak)
		}
	}

	// The same packages in one step, from the same files.
	once := newFixture(t)
	var final []string
	for _, name := range []string{"app_1.4_amd64", "app_1.5_amd64", "docs_1.0_all", "docs_1.1_all",
		"alpha_1.0_amd64", "gamma_1.0_amd64", "delta_1.0_amd64", "epsilon_1.0_amd64", "zeta_1.0_amd64"} {
		final = append(final, filepath.Join(steps.debs, name+".deb"))
	}
	once.mustPublish(gz, final...)

	for _, c := range []string{"gz", "xz"} {
		names := []string{"app", "docs", "alpha", "gamma", "delta", "epsilon", "zeta"}
		got, gotShow := aptView(t, steps, "development", c, names)
		want, wantShow := aptView(t, once, "development", c, names)
		if got != want {
			t.Errorf("%s: apt sees another suite after many steps than after one:\n--- steps\n%s\n--- one step\n%s", c, got, want)
		}
		// dumpavail lists each package's candidate: 7 names.
		if n := strings.Count(got, "Package: "); n != 7 {
			t.Errorf("%s: apt sees %d packages, want 7:\n%s", c, n, got)
		}
		// Every version of every package, in both.
		if gotShow != wantShow || strings.Count(gotShow, "Package: ") != len(final) {
			t.Errorf("%s: apt-cache show differs or lacks versions:\n--- steps\n%s\n--- one step\n%s", c, gotShow, wantShow)
		}
	}
}
