// Package apttest runs the real apt-get against a repository served on
// 127.0.0.1, in a world of its own: its own state, cache, sources and
// trusted keys under a temporary directory, so that tests never touch the
// machine's apt. The options are those of shared/APT-NOTES.md.
package apttest

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Serve serves dir on 127.0.0.1 until the test ends and returns its URL.
// Responses carry no Last-Modified, so a Release rewritten within the same
// second as a client's previous fetch is never answered 304.
func Serve(t testing.TB, dir string) string {
	t.Helper()
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("If-Modified-Since")
		w = noLastModified{w}
		files.ServeHTTP(w, r)
	}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

type noLastModified struct{ http.ResponseWriter }

func (w noLastModified) WriteHeader(code int) {
	w.Header().Del("Last-Modified")
	w.ResponseWriter.WriteHeader(code)
}

func (w noLastModified) Write(b []byte) (int, error) {
	w.Header().Del("Last-Modified")
	return w.ResponseWriter.Write(b)
}

// Apt is an isolated apt configuration.
type Apt struct {
	t    testing.TB
	Dir  string
	Arch string
}

// New prepares an isolated apt world for architecture arch, skipping the
// test when apt-get is not installed.
func New(t testing.TB, arch string) *Apt {
	t.Helper()
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("apt-get not installed (.ci/run installs it)")
	}
	d := t.TempDir()
	for _, sub := range []string{"sources.list.d", "preferences.d", "trusted.gpg.d", "lists/partial", "cache", "archives/partial", "log"} {
		if err := os.MkdirAll(filepath.Join(d, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(d, "status"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return &Apt{t: t, Dir: d, Arch: arch}
}

// AddSource writes a deb822 .sources entry.
func (a *Apt) AddSource(name, entry string) {
	a.t.Helper()
	if err := os.WriteFile(filepath.Join(a.Dir, "sources.list.d", name+".sources"), []byte(entry), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// AddPreferences writes an apt preferences file.
func (a *Apt) AddPreferences(name, prefs string) {
	a.t.Helper()
	if err := os.WriteFile(filepath.Join(a.Dir, "preferences.d", name), []byte(prefs), 0o644); err != nil {
		a.t.Fatal(err)
	}
}

// Installed makes apt believe a package is installed at a version.
func (a *Apt) Installed(pkg, version, arch string) {
	a.t.Helper()
	f, err := os.OpenFile(filepath.Join(a.Dir, "status"), os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		a.t.Fatal(err)
	}
	defer f.Close()
	_, err = f.WriteString("Package: " + pkg + "\nStatus: install ok installed\nPriority: optional\nSection: misc\nMaintainer: t <t@example.com>\nArchitecture: " +
		arch + "\nVersion: " + version + "\nDescription: installed\n\n")
	if err != nil {
		a.t.Fatal(err)
	}
}

func (a *Apt) options() []string {
	d := a.Dir
	return []string{
		"-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=" + d + "/sources.list.d",
		"-o", "Dir::Etc::Preferences=/dev/null", "-o", "Dir::Etc::PreferencesParts=" + d + "/preferences.d",
		"-o", "Dir::Etc::Trusted=/dev/null", "-o", "Dir::Etc::TrustedParts=" + d + "/trusted.gpg.d",
		"-o", "Dir::State=" + d, "-o", "Dir::State::Lists=" + d + "/lists", "-o", "Dir::State::status=" + d + "/status",
		"-o", "Dir::Cache=" + d + "/cache", "-o", "Dir::Cache::Archives=" + d + "/archives", "-o", "Dir::Log=" + d + "/log",
		"-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root", "-o", "Acquire::Languages=none",
		"-o", "APT::Architecture=" + a.Arch, "-o", "APT::Architectures::=" + a.Arch,
		// The machine's apt.conf.d may switch these off (this one does:
		// apt-config dump | grep Check); devices check both, so must we.
		"-o", "Acquire::Check-Valid-Until=true", "-o", "Acquire::Check-Date=true",
	}
}

// Run runs apt-get or apt-cache with the isolated options and returns its
// combined output, failing the test when it fails.
func (a *Apt) Run(tool string, args ...string) string {
	a.t.Helper()
	out, err := a.Try(tool, args...)
	if err != nil {
		a.t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
	return out
}

// Try is Run without failing the test.
func (a *Apt) Try(tool string, args ...string) (string, error) {
	cmd := exec.Command(tool, append(a.options(), args...)...)
	cmd.Dir = a.Dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

var warningRE = regexp.MustCompile(`(?m)^(W|E|N): .*$`)

// Update runs apt-get update and fails the test on any W:, E: or N: line:
// a repository is right only when apt has nothing to say about it.
func (a *Apt) Update() string {
	a.t.Helper()
	out := a.Run("apt-get", "update")
	if lines := warningRE.FindAllString(out, -1); len(lines) > 0 {
		a.t.Fatalf("apt-get update complained:\n%s\n\nfull output:\n%s", strings.Join(lines, "\n"), out)
	}
	return out
}

// Candidate returns the candidate version of pkg (apt-cache policy).
func (a *Apt) Candidate(pkg string) string {
	a.t.Helper()
	out := a.Run("apt-cache", "policy", pkg)
	m := regexp.MustCompile(`(?m)^\s+Candidate: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		a.t.Fatalf("no candidate for %s:\n%s", pkg, out)
	}
	return m[1]
}

// Download runs apt-get download in a fresh directory and returns the path
// of the downloaded file.
func (a *Apt) Download(pkg string) string {
	a.t.Helper()
	dir := a.t.TempDir()
	cmd := exec.Command("apt-get", append(a.options(), "download", pkg)...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		a.t.Fatalf("apt-get download %s: %v\n%s", pkg, err, out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		a.t.Fatalf("apt-get download %s left %d files:\n%s", pkg, len(entries), out)
	}
	return filepath.Join(dir, entries[0].Name())
}
