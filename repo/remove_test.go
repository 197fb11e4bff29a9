package repo_test

import (
	"context"
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

func (f *fixture) remove(opts repo.RemoveOptions, args ...string) (*repo.RemoveResult, error) {
	f.t.Helper()
	var specs []repo.PackageSpec
	for _, a := range args {
		p, err := repo.ParsePackageSpec(a)
		if err != nil {
			f.t.Fatal(err)
		}
		specs = append(specs, p)
	}
	return f.repo.Remove(context.Background(), specs, opts)
}

func (f *fixture) exists(name string) bool {
	_, err := os.Stat(filepath.Join(f.root, name))
	return err == nil
}

func (f *fixture) index(suite, arch string) string {
	return string(testkit.Packages(f.t, filepath.Join(f.root, "dists", suite, "main/binary-"+arch, "Packages")))
}

func TestParsePackageSpec(t *testing.T) {
	for in, want := range map[string]repo.PackageSpec{
		"hello":             {Name: "hello"},
		"hello=2:1.0-1~rc1": {Name: "hello", Version: "2:1.0-1~rc1"},
		"hello/all":         {Name: "hello", Architecture: "all"},
		"lib.x+y=1.0/arm64": {Name: "lib.x+y", Version: "1.0", Architecture: "arm64"},
	} {
		got, err := repo.ParsePackageSpec(in)
		if err != nil || got != want {
			t.Errorf("%s: %+v, %v", in, got, err)
		}
		if got.String() != in {
			t.Errorf("%s prints as %s", in, got)
		}
	}
	for _, bad := range []string{"", "Hello", "hello=", "hello=x1", "hello/", "hello=1.0/any", "../x", "hello=1.0/amd64/x"} {
		if _, err := repo.ParsePackageSpec(bad); !errors.Is(err, repo.ErrBadPackageSpec) {
			t.Errorf("%q: %v, want ErrBadPackageSpec", bad, err)
		}
	}
}

// TestRemove: a version of one architecture, a package of every version,
// an Architecture: all package from every index; pool files a snapshot
// holds stay, the others go.
func TestRemove(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{},
		f.deb("hello", "1.0", "amd64"), f.deb("hello", "1.1", "amd64"), f.deb("hello", "1.0", "arm64"),
		f.deb("docs", "1.0", "all"), f.deb("tool", "1.0", "amd64"))
	f.snapshot("1-before")
	f.mustPublish(repo.PublishOptions{}, f.deb("tool", "2.0", "amd64"), f.deb("tool", "2.0", "arm64"))

	res, err := f.remove(repo.RemoveOptions{}, "hello=1.0/amd64", "docs", "tool=2.0")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"docs_1.0_all", "hello_1.0_amd64", "tool_2.0_amd64", "tool_2.0_arm64"}
	if !reflect.DeepEqual(res.Removed, want) {
		t.Errorf("removed %v, want %v", res.Removed, want)
	}
	wantFreed := []string{repo.PoolPath("main", "tool", "2.0", "amd64"), repo.PoolPath("main", "tool", "2.0", "arm64")}
	if !reflect.DeepEqual(res.PoolFreed, wantFreed) {
		t.Errorf("freed %v, want %v", res.PoolFreed, wantFreed)
	}
	amd := f.index("development", "amd64")
	if strings.Contains(amd, "Package: hello\nVersion: 1.0\n") || !strings.Contains(amd, "Package: hello\nVersion: 1.1\n") || strings.Contains(amd, "Package: tool\nVersion: 2.0") {
		t.Errorf("amd64 index after remove:\n%s", amd)
	}
	for _, arch := range []string{"amd64", "arm64", "armhf"} {
		if strings.Contains(f.index("development", arch), "Package: docs\n") {
			t.Errorf("the all package is still in binary-%s", arch)
		}
	}
	if !strings.Contains(f.index("development", "arm64"), "Package: hello\nVersion: 1.0\n") {
		t.Error("hello 1.0 arm64 was removed too")
	}
	for _, p := range []string{repo.PoolPath("main", "hello", "1.0", "amd64"), repo.PoolPath("main", "docs", "1.0", "all")} {
		if !f.exists(p) {
			t.Errorf("%s removed although the snapshot lists it", p)
		}
	}
	for _, p := range wantFreed {
		if f.exists(p) {
			t.Errorf("%s kept although nothing lists it", p)
		}
	}
	if !strings.Contains(f.index("1-before", "amd64"), "Package: docs\n") {
		t.Error("the snapshot lost a package")
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

// TestRemoveAllOrNothing: one unknown argument and nothing changes; the
// error names every argument that matched nothing.
func TestRemoveAllOrNothing(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	before := testkit.TreeHash(t, f.root)
	_, err := f.remove(repo.RemoveOptions{}, "hello", "hello=9.9", "nope", "hello/arm64")
	if !errors.Is(err, repo.ErrNoPackage) {
		t.Fatalf("error = %v, want ErrNoPackage", err)
	}
	for _, s := range []string{"hello=9.9", "nope", "hello/arm64"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error does not name %s: %v", s, err)
		}
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a refused remove changed the tree")
	}
	if _, err := f.remove(repo.RemoveOptions{Suite: "nope"}, "hello"); !errors.Is(err, repo.ErrNoSuite) {
		t.Errorf("unknown suite: %v", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a refused remove changed the tree")
	}
}

// TestRemoveEpoch: a mistaken upload with an epoch shadows every later
// version; removing it frees its pool file (named without the epoch), so
// the intended 1.0 can be published.
func TestRemoveEpoch(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "2:1.0", "amd64"))
	intended := testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})
	if _, err := f.publish(repo.PublishOptions{}, intended); !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("before the remove, publishing 1.0 over the epoch's pool file: %v", err)
	}
	res, err := f.remove(repo.RemoveOptions{}, "hello=2:1.0")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Removed) != 1 || res.Removed[0] != "hello_2:1.0_amd64" || len(res.PoolFreed) != 1 || res.PoolFreed[0] != "pool/main/h/hello/hello_1.0_amd64.deb" {
		t.Errorf("result %+v", res)
	}
	f.mustPublish(repo.PublishOptions{}, intended)
	if amd := f.index("development", "amd64"); strings.Contains(amd, "2:1.0") || !strings.Contains(amd, "Version: 1.0\n") {
		t.Errorf("index:\n%s", amd)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

// TestRemoveKeepsWhatOthersList: a pool file another rolling suite lists
// stays.
func TestRemoveKeepsWhatOthersList(t *testing.T) {
	f := newFixture(t)
	hello := f.deb("hello", "1.0", "amd64")
	f.mustPublish(repo.PublishOptions{}, hello)
	f.mustPublish(repo.PublishOptions{Suite: "team", CreateSuite: true}, hello)
	res, err := f.remove(repo.RemoveOptions{}, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.PoolFreed) != 0 || !f.exists(repo.PoolPath("main", "hello", "1.0", "amd64")) {
		t.Errorf("freed %v although suite team lists it", res.PoolFreed)
	}
	res, err = f.remove(repo.RemoveOptions{Suite: "team"}, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if len(res.PoolFreed) != 1 || f.exists(repo.PoolPath("main", "hello", "1.0", "amd64")) {
		t.Errorf("the last listing suite let go, and the pool file stayed: %+v", res)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

func TestRemoveDryRun(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"), f.deb("hello", "1.1", "amd64"))
	before := testkit.TreeHash(t, f.root)
	res, err := f.remove(repo.RemoveOptions{DryRun: true}, "hello=1.0")
	if err != nil {
		t.Fatal(err)
	}
	if !res.DryRun || len(res.Removed) != 1 || len(res.PoolFreed) != 1 {
		t.Errorf("dry run: %+v", res)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a dry run changed the tree")
	}
	// A dry run needs no key.
	st, _ := repo.NewFS(f.root)
	if _, err := repo.New(st).Remove(context.Background(), []repo.PackageSpec{{Name: "hello"}}, repo.RemoveOptions{DryRun: true}); err != nil {
		t.Errorf("dry run without a key: %v", err)
	}
}

// TestRemoveRefusesStagesAndSnapshots: they change by promote and pick.
func TestRemoveRefusesStagesAndSnapshots(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	f.promote(snap, "canary", false)
	before := testkit.TreeHash(t, f.root)
	for _, suite := range []string{snap, "canary", "production"} {
		for _, dry := range []bool{false, true} {
			if _, err := f.remove(repo.RemoveOptions{Suite: suite, DryRun: dry}, "hello"); !errors.Is(err, repo.ErrConflict) {
				t.Errorf("remove from %s (dry run %v): %v, want ErrConflict", suite, dry, err)
			}
		}
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a refused remove changed the tree")
	}
}

// TestRemoveThenApt: after a remove apt no longer sees the package in
// development, and a snapshot taken before still serves it, file included.
func TestRemoveThenApt(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"), f.deb("hello", "1.1", "amd64"), f.deb("tool", "1.0", "amd64"))
	snap := f.snapshot("")
	dev := f.apt("development")
	dev.Update()
	if got := dev.Candidate("hello"); got != "1.1" {
		t.Fatalf("before: candidate hello = %s", got)
	}

	time.Sleep(1100 * time.Millisecond) // see APT-NOTES on one-second Dates
	if _, err := f.remove(repo.RemoveOptions{}, "hello=1.1", "tool"); err != nil {
		t.Fatal(err)
	}
	dev.Update()
	if got := dev.Candidate("hello"); got != "1.0" {
		t.Errorf("after removing hello 1.1, development's candidate is %s, want 1.0", got)
	}
	if out, err := dev.Try("apt-cache", "show", "tool"); err == nil {
		t.Errorf("apt still sees tool in development:\n%s", out)
	}

	old := f.apt(snap)
	old.Update()
	if got := old.Candidate("hello"); got != "1.1" {
		t.Errorf("snapshot candidate hello = %s, want 1.1", got)
	}
	old.Download("hello")
	old.Download("tool")
}
