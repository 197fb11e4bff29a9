package repo_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/signing"
)

// upstream is a reprepro repository signed with its own key, served on
// 127.0.0.1, counting requests.
type upstream struct {
	t        *testing.T
	dir      string
	gnupg    string
	debs     string
	pubkey   []byte
	url      string
	requests atomic.Int64
	mu       sync.Mutex
	paths    []string
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	testkit.Need(t, "reprepro", "gpg", "gpg-agent", "gpgconf")
	u := &upstream{t: t, dir: t.TempDir(), debs: t.TempDir()}
	home, err := os.MkdirTemp("", "gnupg") // short: gpg-agent's socket path is limited
	if err != nil {
		t.Fatal(err)
	}
	u.gnupg = home
	t.Cleanup(func() {
		exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run()
		os.RemoveAll(home)
	})
	k, err := signing.Generate("Upstream Archive <archive@example.org>", signing.Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var sec, pub bytes.Buffer
	if err := k.WriteSecret(&sec); err != nil {
		t.Fatal(err)
	}
	if err := k.WritePublic(&pub, true); err != nil {
		t.Fatal(err)
	}
	u.pubkey = pub.Bytes()
	secFile := filepath.Join(u.debs, "upstream-secret.asc")
	if err := os.WriteFile(secFile, sec.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	u.run("gpg", "--homedir", home, "--batch", "--import", secFile)
	conf := filepath.Join(u.dir, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	dist := "Origin: Upstream\nLabel: Upstream\nSuite: stable\nCodename: stable\nArchitectures: amd64 arm64\nComponents: main contrib\n" +
		"DebIndices: Packages Release . .gz .xz\nSignWith: " + k.Fingerprint() + "\n"
	if err := os.WriteFile(filepath.Join(conf, "distributions"), []byte(dist), 0o644); err != nil {
		t.Fatal(err)
	}
	files := http.FileServer(http.Dir(u.dir))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.requests.Add(1)
		u.mu.Lock()
		u.paths = append(u.paths, r.URL.Path)
		u.mu.Unlock()
		if strings.HasPrefix(r.URL.Path, "/conf/") || strings.HasPrefix(r.URL.Path, "/db/") {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	u.url = srv.URL
	return u
}

func (u *upstream) run(name string, args ...string) string {
	u.t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+u.gnupg)
	out, err := cmd.CombinedOutput()
	if err != nil {
		u.t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// add builds a package and includes it into component comp.
func (u *upstream) add(comp string, d testkit.Deb) string {
	u.t.Helper()
	dir := filepath.Join(u.debs, comp)
	os.MkdirAll(dir, 0o755)
	file := testkit.WriteDeb(u.t, dir, d)
	u.run("reprepro", "-b", u.dir, "-C", comp, "-S", "misc", "-P", "optional", "includedeb", "stable", file)
	return file
}

func (u *upstream) resetCount() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.requests.Store(0)
	u.paths = nil
}

// tamper rewrites a file of the upstream tree and returns a function that
// restores it.
func (u *upstream) tamper(rel string, edit func([]byte) []byte) func() {
	u.t.Helper()
	p := filepath.Join(u.dir, rel)
	orig, err := os.ReadFile(p)
	if err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(p, edit(bytes.Clone(orig)), 0o644); err != nil {
		u.t.Fatal(err)
	}
	return func() { os.WriteFile(p, orig, 0o644) }
}

func (f *fixture) createMirror(m repo.Mirror) {
	f.t.Helper()
	if _, err := f.repo.CreateMirror(context.Background(), m, time.Minute); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) updateMirror(name string) (*repo.MirrorResult, error) {
	return f.repo.UpdateMirror(context.Background(), name, repo.MirrorUpdateOptions{Timeout: 10 * time.Second})
}

func (f *fixture) keysOf(suite, comp, arch string) []string {
	f.t.Helper()
	data := testkit.Packages(f.t, filepath.Join(f.root, "dists", suite, comp, "binary-"+arch, "Packages"))
	idx, err := repo.ParseIndex(data)
	if err != nil {
		f.t.Fatal(err)
	}
	var out []string
	for _, st := range idx.Stanzas() {
		out = append(out, st.Key().String())
	}
	return out
}

// TestMirror runs the whole story against a reprepro upstream: a filtered
// mirror with dependencies (versions, Architecture: all, an alternative),
// apt-get against it, an unchanged upstream costing one request, refused
// tampering, and a combined snapshot served by a stage.
func TestMirror(t *testing.T) {
	up := newUpstream(t)
	up.add("main", testkit.Deb{Name: "hello", Version: "2.0", Depends: "libgreet (>= 1.1), greet-data (>= 1.0)"})
	up.add("contrib", testkit.Deb{Name: "hello", Version: "1.0", Depends: "libgreet (>= 1.0)"})
	up.add("main", testkit.Deb{Name: "libgreet", Version: "1.1"})
	up.add("main", testkit.Deb{Name: "greet-data", Version: "1.0", Arch: "all"})
	up.add("main", testkit.Deb{Name: "mailer", Version: "1.0", Depends: "mta-x | mta-a (>= 1.0) | mta-b"})
	up.add("main", testkit.Deb{Name: "mta-a", Version: "1.0"})
	up.add("contrib", testkit.Deb{Name: "mta-a", Version: "0.9"})
	up.add("main", testkit.Deb{Name: "mta-b", Version: "1.0"})
	up.add("main", testkit.Deb{Name: "broken", Version: "1.0", Depends: "nosuchpkg (>= 3)"})
	up.add("main", testkit.Deb{Name: "unrelated", Version: "1.0"})
	up.add("main", testkit.Deb{Name: "hello", Version: "2.0", Arch: "arm64", Depends: "libgreet (>= 1.1)"})
	up.add("main", testkit.Deb{Name: "libgreet", Version: "1.1", Arch: "arm64"})

	f := newFixture(t)
	// development: the fleet's own, with a newer libgreet than upstream's
	// and an older greet-data.
	f.mustPublish(repo.PublishOptions{},
		f.deb("libgreet", "1.2", "amd64"),
		testkit.WriteDeb(t, f.debs, testkit.Deb{Name: "greet-data", Version: "0.5", Arch: "all"}),
		testkit.WriteDeb(t, f.debs, testkit.Deb{Name: "fleet-agent", Version: "3.0", Depends: "hello (>= 2.0), mailer"}))

	armored, err := repo.ArmorKeyring(up.pubkey)
	if err != nil {
		t.Fatal(err)
	}
	f.createMirror(repo.Mirror{Name: "upstream", URL: up.url, Suite: "stable", Components: []string{"main", "contrib"},
		Architectures: []string{"amd64"}, Filter: "hello | mailer | broken", WithDeps: true, DepsFrom: []string{"development"}, Keyring: armored})

	up.resetCount()
	res, err := f.updateMirror("upstream")
	if err != nil {
		t.Fatal(err)
	}
	// libgreet comes from development (>= 1.1 met by 1.2); greet-data
	// (>= 1.0) is not met by development's 0.5, so upstream's comes; of
	// "mta-x | mta-a (>= 1.0) | mta-b" the first satisfiable, mta-a, at
	// 1.0, not 0.9; unrelated and mta-b are left out.
	want := map[string][]string{
		"main":    {"broken_1.0_amd64", "greet-data_1.0_all", "hello_2.0_amd64", "mailer_1.0_amd64", "mta-a_1.0_amd64"},
		"contrib": {"hello_1.0_amd64"},
	}
	for comp, keys := range want {
		if got := f.keysOf("upstream", comp, "amd64"); !slices.Equal(got, keys) {
			t.Errorf("mirror %s/amd64 = %v, want %v", comp, got, keys)
		}
	}
	if res.Packages != 6 || res.Downloaded != 6 {
		t.Errorf("packages %d, downloaded %d, want 6 and 6", res.Packages, res.Downloaded)
	}
	if len(res.Unresolved) != 1 || !strings.Contains(res.Unresolved[0], "broken 1.0") || !strings.Contains(res.Unresolved[0], "nosuchpkg") {
		t.Errorf("unresolved = %q, want broken's nosuchpkg", res.Unresolved)
	}
	rel := f.releaseOf("upstream")
	cfg, _, _ := repo.LoadConfig(context.Background(), f.repo.Storage())
	if rel.Origin != cfg.Origin || rel.Label != cfg.Label || rel.Codename != cfg.Codename || !slices.Equal(rel.Architectures, []string{"amd64"}) {
		t.Errorf("mirror Release: Origin %q Label %q Codename %q Architectures %v, want the repository's and amd64", rel.Origin, rel.Label, rel.Codename, rel.Architectures)
	}
	if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "mta-a", "1.0", "amd64"))); err != nil {
		t.Errorf("pool file: %v", err)
	}

	a := f.apt("upstream")
	a.Update()
	if c := a.Candidate("hello"); c != "2.0" {
		t.Errorf("apt candidate hello from the mirror = %s, want 2.0", c)
	}

	// An unchanged upstream costs one request: InRelease.
	up.resetCount()
	res, err = f.updateMirror("upstream")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Unchanged || up.requests.Load() != 1 || res.Requests != 1 {
		t.Errorf("second update: unchanged %v, %d requests (%v), want one, InRelease", res.Unchanged, up.requests.Load(), up.paths)
	}

	// development publishes mta-a 1.0, the very file the mirror lists
	// (one pool file), then 1.1 with --keep 1: the file must stay.
	mta10 := filepath.Join(up.debs, "main", "mta-a_1.0_amd64.deb")
	f.mustPublish(repo.PublishOptions{}, mta10)
	pr := f.mustPublish(repo.PublishOptions{Keep: 1}, f.deb("mta-a", "1.1", "amd64"))
	if slices.Contains(pr.PoolFreed, repo.PoolPath("main", "mta-a", "1.0", "amd64")) {
		t.Errorf("publish --keep freed %s, which the mirror lists", repo.PoolPath("main", "mta-a", "1.0", "amd64"))
	}
	if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "mta-a", "1.0", "amd64"))); err != nil {
		t.Errorf("the mirror's pool file is gone: %v", err)
	}

	// A snapshot of the mirror alone, before upstream moves on.
	bs, err := f.repo.CreateSnapshot(context.Background(), repo.SnapshotOptions{Sources: []string{"upstream"}})
	if err != nil {
		t.Fatal(err)
	}
	before := bs.Name

	// Upstream moves on: hello 2.1. Each tampering is refused and changes
	// nothing.
	up.add("main", testkit.Deb{Name: "hello", Version: "2.1", Depends: "libgreet (>= 1.1), greet-data (>= 1.0)"})
	tree := testkit.TreeHash(t, f.root)
	for _, tc := range []struct {
		name, file string
		edit       func([]byte) []byte
		names      string
	}{
		{"Release", "dists/stable/InRelease", func(b []byte) []byte {
			return bytes.Replace(b, []byte("Origin: Upstream"), []byte("Origin: Upstreax"), 1)
		}, "InRelease"},
		{"index", "dists/stable/main/binary-amd64/Packages.xz", func(b []byte) []byte { b[len(b)/2] ^= 1; return b }, "Packages.xz"},
		{"deb", "pool/main/h/hello/hello_2.1_amd64.deb", func(b []byte) []byte { b[len(b)-3] ^= 1; return b }, "hello_2.1_amd64.deb"},
	} {
		restore := up.tamper(tc.file, tc.edit)
		_, err := f.updateMirror("upstream")
		restore()
		if !errors.Is(err, repo.ErrUpstreamVerify) || !strings.Contains(err.Error(), tc.names) {
			t.Errorf("tampered %s: err = %v, want ErrUpstreamVerify naming %s", tc.name, err, tc.names)
		}
		if testkit.TreeHash(t, f.root) != tree {
			t.Errorf("tampered %s: the tree changed", tc.name)
		}
	}
	contrib := filepath.Join(f.root, "dists/upstream/contrib/binary-amd64/Packages.gz")
	contribBefore, _ := os.Stat(contrib)
	up.resetCount()
	res, err = f.updateMirror("upstream")
	if err != nil {
		t.Fatal(err)
	}
	// Only main changed upstream: contrib's index is not written again.
	if contribAfter, err := os.Stat(contrib); err != nil || contribBefore == nil || !os.SameFile(contribBefore, contribAfter) {
		t.Errorf("an update that changed only main wrote contrib's index again (%v)", err)
	}
	if res.Downloaded != 1 {
		t.Errorf("update after hello 2.1: downloaded %d, want only hello 2.1", res.Downloaded)
	}
	if got := f.keysOf(before, "main", "amd64"); !slices.Contains(got, "hello_2.0_amd64") || slices.Contains(got, "hello_2.1_amd64") {
		t.Errorf("snapshot %s changed: %v", before, got)
	}

	// A combined snapshot: the newer version wins, provenance says so, and
	// a stage serving it installs the fleet's package from it alone.
	snap, err := f.repo.CreateSnapshot(context.Background(), repo.SnapshotOptions{Sources: []string{"development", "upstream"}})
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.repo.Snapshot(context.Background(), snap.Name)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Info.Sources) != 2 || info.Info.Sources[1].Suite != "upstream" || info.Info.Sources[1].Kind != repo.KindMirror {
		t.Errorf("sources = %+v", info.Info.Sources)
	}
	// (mta-a: development's 1.1 now meets mailer's dependency, so the
	// mirror no longer carries upstream's.)
	if !slices.Equal(info.Info.Shadowed, []string{"greet-data (all): 1.0 from upstream over 0.5 from development"}) {
		t.Errorf("shadowed = %q", info.Info.Shadowed)
	}
	f.promote(snap.Name, "canary", false)
	a = f.apt("canary")
	a.Update()
	out := a.Run("apt-get", "-s", "install", "fleet-agent")
	for _, w := range []string{"Inst fleet-agent (3.0", "Inst hello (2.1", "Inst libgreet (1.2", "Inst greet-data (1.0", "Inst mailer (1.0", "Inst mta-a (1.1"} {
		if !strings.Contains(out, w) {
			t.Errorf("apt-get -s install fleet-agent from canary: no %q in\n%s", w, out)
		}
	}

	// drop unpublishes the mirror; the snapshot keeps its files.
	if err := f.repo.DropMirror(context.Background(), "upstream", time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "dists/upstream/InRelease")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dropped mirror still served: %v", err)
	}
	if _, err := f.repo.GC(context.Background(), time.Minute, false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(f.root, repo.PoolPath("main", "hello", "2.1", "amd64"))); err != nil {
		t.Errorf("gc removed a file the combined snapshot lists: %v", err)
	}
}

// TestMirrorUpstreamDown: an unreachable and a slow upstream give a clear
// error within the time limit, and the tree stays as it was.
func TestMirrorUpstreamDown(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(10 * time.Second):
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	pub, _ := os.ReadFile(f.armored)
	for _, tc := range []struct{ name, url, want string }{
		{"unreachable", closed, "connection refused"},
		{"slow", slow.URL, "no answer within"},
	} {
		f.createMirror(repo.Mirror{Name: tc.name, URL: tc.url, Suite: "stable", Keyring: string(pub)})
		tree := testkit.TreeHash(t, f.root)
		start := time.Now()
		_, err := f.repo.UpdateMirror(context.Background(), tc.name, repo.MirrorUpdateOptions{Timeout: 300 * time.Millisecond})
		if !errors.Is(err, repo.ErrUpstream) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrUpstream with %q", tc.name, err, tc.want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: took %s with a 300ms limit", tc.name, d)
		}
		if testkit.TreeHash(t, f.root) != tree {
			t.Errorf("%s: the tree changed", tc.name)
		}
	}
}

// TestMirrorIgnoreSignatures: the choice is recorded and every update
// warns.
func TestMirrorIgnoreSignatures(t *testing.T) {
	up := newUpstream(t)
	up.add("main", testkit.Deb{Name: "hello", Version: "1.0"})
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("fleet", "1.0", "amd64"))
	f.createMirror(repo.Mirror{Name: "loose", URL: up.url, Suite: "stable", Architectures: []string{"amd64"}, IgnoreSignatures: true})
	for i := range 2 {
		res, err := f.updateMirror("loose")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "NOT checked") {
			t.Errorf("update %d: warnings %q, want the ignore-signatures warning", i, res.Warnings)
		}
	}
	all, err := f.repo.Mirrors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || !all[0].IgnoreSignatures || all[0].State == nil || !all[0].State.IgnoredSignatures {
		t.Errorf("mirrors = %+v, want the ignored signatures recorded", all)
	}
	// Without --ignore-signatures a keyring is required.
	if _, err := f.repo.CreateMirror(context.Background(), repo.Mirror{Name: "nokey", URL: up.url, Suite: "stable"}, time.Minute); !errors.Is(err, repo.ErrInput) {
		t.Errorf("mirror without keyring: err = %v, want ErrInput", err)
	}
}

// TestMirrorReleaseAndDetachedSignature: an upstream without InRelease is
// read from Release and Release.gpg, and a Release.gpg that does not
// verify is refused with the tree unchanged.
func TestMirrorReleaseAndDetachedSignature(t *testing.T) {
	up := newUpstream(t)
	up.add("main", testkit.Deb{Name: "hello", Version: "1.0"})
	if err := os.Remove(filepath.Join(up.dir, "dists/stable/InRelease")); err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("fleet", "1.0", "amd64"))
	f.createMirror(repo.Mirror{Name: "up", URL: up.url, Suite: "stable", Architectures: []string{"amd64"}, Keyring: string(up.pubkey)})
	if _, err := f.updateMirror("up"); err != nil {
		t.Fatalf("update from Release + Release.gpg: %v", err)
	}
	if got := f.keysOf("up", "main", "amd64"); len(got) != 1 || got[0] != "hello_1.0_amd64" {
		t.Fatalf("mirror holds %v", got)
	}
	up.add("main", testkit.Deb{Name: "hello", Version: "2.0"})
	os.Remove(filepath.Join(up.dir, "dists/stable/InRelease"))
	before := testkit.TreeHash(t, f.root)
	restore := up.tamper("dists/stable/Release", func(b []byte) []byte { return append(b, "X-Extra: tampered\n"...) })
	if _, err := f.updateMirror("up"); err == nil || !strings.Contains(err.Error(), "Release") {
		t.Fatalf("a Release that does not match Release.gpg: %v, want an error naming it", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Fatal("a refused update changed the tree")
	}
	restore()
	if _, err := f.updateMirror("up"); err != nil {
		t.Fatal(err)
	}
}
