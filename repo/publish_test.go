package repo_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/apttest"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

type fixture struct {
	t       *testing.T
	root    string
	repo    *repo.Repo
	debs    string
	keyring string
	armored string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	root := filepath.Join(t.TempDir(), "repo")
	st, err := repo.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	_, keyring, armored := testkit.KeyFile(t, keys)
	return &fixture{t: t, root: root, repo: repo.New(st, repo.WithSigner(testkit.Key(t))), debs: t.TempDir(), keyring: keyring, armored: armored}
}

func (f *fixture) deb(name, version, arch string) string {
	return testkit.WriteDeb(f.t, f.debs, testkit.Deb{Name: name, Version: version, Arch: arch})
}

func (f *fixture) publish(opts repo.PublishOptions, files ...string) (*repo.PublishResult, error) {
	f.t.Helper()
	pkgs, err := repo.Inspect(files)
	if err != nil {
		return nil, err
	}
	return f.repo.Publish(context.Background(), pkgs, opts)
}

func (f *fixture) mustPublish(opts repo.PublishOptions, files ...string) *repo.PublishResult {
	f.t.Helper()
	res, err := f.publish(opts, files...)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *fixture) apt(suite string) *apttest.Apt {
	f.t.Helper()
	url := apttest.Serve(f.t, f.root)
	a := apttest.New(f.t, "amd64")
	pub, err := os.ReadFile(f.armored)
	if err != nil {
		f.t.Fatal(err)
	}
	entry, err := repo.Deb822(repo.SourcesOptions{URL: url, Suite: suite, ArmoredKey: pub})
	if err != nil {
		f.t.Fatal(err)
	}
	a.AddSource("debflow", entry)
	return a
}

func (f *fixture) verify() *repo.VerifyReport {
	f.t.Helper()
	rep, err := f.repo.Verify(context.Background(), testkit.Key(f.t).Keyring())
	if err != nil {
		f.t.Fatal(err)
	}
	return rep
}

func TestPublishThenApt(t *testing.T) {
	f := newFixture(t)
	hello := f.deb("hello", "1.0", "amd64")
	tool := f.deb("tool", "2.0", "arm64")
	docs := f.deb("docs", "0.1", "all")
	f.mustPublish(repo.PublishOptions{}, hello, tool, docs)

	a := f.apt("development")
	a.Update()
	if got := a.Candidate("hello"); got != "1.0" {
		t.Errorf("candidate hello = %s", got)
	}
	if got := a.Candidate("docs"); got != "0.1" {
		t.Errorf("Architecture: all package not offered to amd64: %s", got)
	}
	got, err := os.ReadFile(a.Download("hello"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(hello)
	if !bytes.Equal(got, want) {
		t.Error("apt-get download returned other bytes than were published")
	}

	// A second publish, then apt again (a second later: see APT-NOTES on
	// one-second Dates).
	time.Sleep(1100 * time.Millisecond)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.1", "amd64"))
	a.Update()
	if got := a.Candidate("hello"); got != "1.1" {
		t.Errorf("after the second publish, candidate hello = %s", got)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

func TestGpgvAcceptsReleaseFiles(t *testing.T) {
	testkit.Need(t, "gpgv")
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	dir := filepath.Join(f.root, "dists", "development")
	for _, args := range [][]string{
		{"--keyring", f.keyring, filepath.Join(dir, "InRelease")},
		{"--keyring", f.keyring, filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release")},
	} {
		if out, err := exec.Command("gpgv", args...).CombinedOutput(); err != nil {
			t.Errorf("gpgv %v: %v\n%s", args, err, out)
		}
	}
}

func TestReleaseFields(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{ValidFor: 72 * time.Hour}, f.deb("hello", "1.0", "amd64"))
	rel, err := os.ReadFile(filepath.Join(f.root, "dists/development/Release"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := repo.ParseRelease(rel)
	if err != nil {
		t.Fatal(err)
	}
	if r.Suite != "development" || r.Origin == "" || r.Label == "" || r.Codename == "" {
		t.Errorf("Release identity: %+v", r)
	}
	if d := r.ValidUntil.Sub(r.Date); d != 72*time.Hour {
		t.Errorf("Valid-Until - Date = %s", d)
	}
	if r.Date.After(time.Now()) {
		t.Errorf("Date %s is in the future", r.Date)
	}
	for _, name := range []string{"main/binary-amd64/Packages", "main/binary-amd64/Packages.gz", "main/binary-amd64/Packages.xz"} {
		h, ok := r.Files[name]
		// SHA-256 only: apt uses the strongest hash listed, and the
		// others cost a pass over every index file (TestAptReadsPieces
		// checks that apt takes such a Release without a word).
		if !ok || h.SHA256 == "" || h.MD5 != "" || h.SHA1 != "" || h.SHA512 != "" {
			t.Errorf("Release should list SHA256 (only) of %s: %+v", name, h)
		}
	}
	if !bytes.Contains(rel, []byte("\nAcquire-By-Hash: yes\n")) {
		t.Error("no Acquire-By-Hash")
	}
	// --valid-for is remembered: the next publish keeps it.
	time.Sleep(1100 * time.Millisecond)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.1", "amd64"))
	rel2, _ := os.ReadFile(filepath.Join(f.root, "dists/development/Release"))
	r2, _ := repo.ParseRelease(rel2)
	if r2.ValidUntil.Sub(r2.Date) != 72*time.Hour || !r2.Date.After(r.Date) {
		t.Errorf("second Release: Date %s Valid-Until %s", r2.Date, r2.ValidUntil)
	}
}

func TestRepublishAndConflict(t *testing.T) {
	f := newFixture(t)
	hello := f.deb("hello", "1.0", "amd64")
	f.mustPublish(repo.PublishOptions{}, hello)
	before := testkit.TreeHash(t, f.root)

	res := f.mustPublish(repo.PublishOptions{}, hello)
	if len(res.Added) != 0 || len(res.Unchanged) != 1 {
		t.Errorf("republish: %+v", res)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("republishing an identical file changed the tree")
	}

	other := testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64", Payload: "different bytes\n"})
	_, err := f.publish(repo.PublishOptions{}, f.deb("fresh", "1.0", "amd64"), other)
	if !errors.Is(err, repo.ErrConflict) || !strings.Contains(err.Error(), "hello_1.0_amd64 is already published") {
		t.Fatalf("error = %v, want ErrConflict naming the package", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Error("a refused batch changed the tree")
	}
}

func TestKeep(t *testing.T) {
	f := newFixture(t)
	var files []string
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		files = append(files, f.deb("hello", v, "amd64"))
		f.mustPublish(repo.PublishOptions{Keep: 2}, files[len(files)-1])
	}
	pkgs := testkit.Packages(t, filepath.Join(f.root, "dists/development/main/binary-amd64/Packages"))
	if bytes.Contains(pkgs, []byte("Version: 1.0\n")) || !bytes.Contains(pkgs, []byte("Version: 1.1\n")) || !bytes.Contains(pkgs, []byte("Version: 1.2\n")) {
		t.Errorf("--keep 2 left:\n%s", pkgs)
	}
	if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "hello", "1.0", "amd64"))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pool file of the dropped version still there: %v", err)
	}
	// A pool file another suite still lists is never removed.
	f.mustPublish(repo.PublishOptions{Suite: "other", CreateSuite: true}, files[1])
	f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("hello", "1.3", "amd64"))
	if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "hello", "1.1", "amd64"))); err != nil {
		t.Errorf("pool file still listed by suite other was removed: %v", err)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

func TestArchitectureAll(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("docs", "1.0", "all"))
	f.mustPublish(repo.PublishOptions{}, f.deb("tool", "1.0", "riscv64")) // a new architecture
	for _, arch := range []string{"amd64", "arm64", "armhf", "riscv64"} {
		pkgs := testkit.Packages(t, filepath.Join(f.root, "dists/development/main/binary-"+arch+"/Packages"))
		if !bytes.Contains(pkgs, []byte("Package: docs\n")) {
			t.Errorf("binary-%s lacks the all package", arch)
		}
	}
	rel, _ := os.ReadFile(filepath.Join(f.root, "dists/development/Release"))
	if !bytes.Contains(rel, []byte("Architectures: amd64 arm64 armhf riscv64\n")) {
		t.Errorf("Architectures:\n%s", rel)
	}
}

func TestConcurrentPublishers(t *testing.T) {
	f := newFixture(t)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		file := f.deb(fmt.Sprintf("pkg%d", i), "1.0", "amd64")
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, _ := repo.NewFS(f.root) // its own lock file descriptor, as another process would
			r := repo.New(st, repo.WithSigner(testkit.Key(t)))
			pkgs, err := repo.Inspect([]string{file})
			if err == nil {
				_, err = r.Publish(context.Background(), pkgs, repo.PublishOptions{})
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	pkgs := testkit.Packages(t, filepath.Join(f.root, "dists/development/main/binary-amd64/Packages"))
	for i := 0; i < n; i++ {
		if !bytes.Contains(pkgs, []byte(fmt.Sprintf("Package: pkg%d\n", i))) {
			t.Errorf("pkg%d lost", i)
		}
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	pool := filepath.Join(f.root, repo.PoolPath("main", "hello", "1.0", "amd64"))
	data, _ := os.ReadFile(pool)
	data[len(data)-1] ^= 1
	os.WriteFile(pool, data, 0o644)
	idx := filepath.Join(f.root, "dists/development/main/binary-amd64/Packages.gz")
	os.WriteFile(idx, []byte("Package: evil\n"), 0o644)
	rep := f.verify()
	var text []string
	for _, p := range rep.Problems {
		text = append(text, p.String())
	}
	all := strings.Join(text, "\n")
	for _, want := range []string{"main/binary-amd64/Packages.gz: does not match the hashes in Release", "hello_1.0_amd64.deb: sha256"} {
		if !strings.Contains(all, want) {
			t.Errorf("verify did not report %q:\n%s", want, all)
		}
	}
}

func TestRefresh(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{ValidFor: time.Hour}, f.deb("hello", "1.0", "amd64"))
	pkgsBefore, _ := os.ReadFile(filepath.Join(f.root, "dists/development/main/binary-amd64/Packages.gz"))
	relBefore, _ := os.ReadFile(filepath.Join(f.root, "dists/development/Release"))
	time.Sleep(1100 * time.Millisecond)
	if _, err := f.repo.Refresh(context.Background(), 0, time.Minute); err != nil {
		t.Fatal(err)
	}
	pkgsAfter, _ := os.ReadFile(filepath.Join(f.root, "dists/development/main/binary-amd64/Packages.gz"))
	relAfter, _ := os.ReadFile(filepath.Join(f.root, "dists/development/Release"))
	if !bytes.Equal(pkgsBefore, pkgsAfter) {
		t.Error("refresh touched an index")
	}
	b, _ := repo.ParseRelease(relBefore)
	a, _ := repo.ParseRelease(relAfter)
	if !a.Date.After(b.Date) || a.ValidUntil.Sub(a.Date) != time.Hour {
		t.Errorf("refresh: Date %s -> %s, Valid-Until %s", b.Date, a.Date, a.ValidUntil)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

func TestLockTimeout(t *testing.T) {
	f := newFixture(t)
	st, _ := repo.NewFS(f.root)
	unlock, err := st.Lock(context.Background(), "the other job", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	var log bytes.Buffer
	st2, _ := repo.NewFS(f.root)
	r := repo.New(st2, repo.WithSigner(testkit.Key(t)), repo.WithLog(&log))
	pkgs, _ := repo.Inspect([]string{f.deb("hello", "1.0", "amd64")})
	_, err = r.Publish(context.Background(), pkgs, repo.PublishOptions{LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, repo.ErrLockTimeout) {
		t.Fatalf("error = %v, want ErrLockTimeout", err)
	}
	if !strings.Contains(log.String(), "waiting for the repository lock, held by the other job") {
		t.Errorf("the waiting publisher did not say so: %q", log.String())
	}
}

// TestPackagesEndWithBlankLine: every stanza of an index, the last one
// too, is followed by a blank line, as in Debian's own indexes.
// debootstrap takes a stanza only at the blank line after it: without
// one, the last package (zlib1g, in a mirror of bookworm) was never
// installed and debootstrap failed.
func TestPackagesEndWithBlankLine(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("alpha", "1.0", "amd64"), f.deb("zulu", "1.0", "amd64"))
	f.mustPublish(repo.PublishOptions{}, f.deb("zz-last", "1.0", "amd64"))
	plain := testkit.Packages(t, filepath.Join(f.root, "dists/development/main/binary-amd64/Packages"))
	if !bytes.HasSuffix(plain, []byte("\n\n")) || bytes.Contains(plain, []byte("\n\n\n")) {
		t.Fatalf("Packages does not end every stanza with one blank line:\n%q", plain)
	}
	if n := bytes.Count(plain, []byte("\n\nPackage: ")); n != 2 {
		t.Fatalf("%d stanza separators, want 2", n)
	}
	gz, err := exec.Command("zcat", filepath.Join(f.root, "dists/development/main/binary-amd64/Packages.gz")).Output()
	if err != nil || !bytes.Equal(gz, plain) {
		t.Fatalf("Packages.gz decompresses to something else (%v)", err)
	}
	xz, err := exec.Command("xzcat", filepath.Join(f.root, "dists/development/main/binary-amd64/Packages.xz")).Output()
	if err != nil || !bytes.Equal(xz, plain) {
		t.Fatalf("Packages.xz decompresses to something else (%v)", err)
	}
}

// TestPublishSamePackagesAgain: the packages of one Inspect keep their
// stanza after a publish and can be published again, into another suite
// and component, where their stanza names the other pool file; the control
// fields are the same in both indexes.
func TestPublishSamePackagesAgain(t *testing.T) {
	f := newFixture(t)
	pkgs, err := repo.Inspect([]string{f.deb("hello", "1.0", "amd64"), f.deb("tool", "2.0", "all")})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.ClosePackages(pkgs)
	if _, err := f.repo.Publish(t.Context(), pkgs, repo.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.repo.Publish(t.Context(), pkgs, repo.PublishOptions{Suite: "other", Component: "contrib", CreateSuite: true}); err != nil {
		t.Fatal(err)
	}
	stanzas := func(suite, comp string) map[string]string {
		out := map[string]string{}
		text := testkit.Packages(t, filepath.Join(f.root, "dists", suite, comp, "binary-amd64/Packages"))
		for _, st := range strings.Split(strings.TrimSpace(string(text)), "\n\n") {
			name := strings.Fields(st)[1]
			out[name] = st
		}
		return out
	}
	main, contrib := stanzas("development", "main"), stanzas("other", "contrib")
	for _, name := range []string{"hello", "tool"} {
		m, c := main[name], contrib[name]
		if !strings.Contains(m, "\nFilename: pool/main/") || !strings.Contains(c, "\nFilename: pool/contrib/") {
			t.Errorf("%s: Filename lines:\n%s\n--\n%s", name, m, c)
		}
		mc, _, _ := strings.Cut(m, "\nFilename: ")
		cc, _, _ := strings.Cut(c, "\nFilename: ")
		if mc != cc || !strings.HasPrefix(mc, "Package: "+name+"\n") {
			t.Errorf("%s: the control fields differ between the suites:\n%s\n--\n%s", name, mc, cc)
		}
		if strings.Count(c, "\nFilename: ") != 1 || strings.Count(c, "\nSHA256: ") != 1 {
			t.Errorf("%s: publisher fields repeated:\n%s", name, c)
		}
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}
