package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/ci/githubtest"
	"github.com/debflow/debflow/internal/apttest"
)

// startServe serves dir on 127.0.0.1 until the test ends, and returns its
// base URL.
func startServe(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, dir) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve returned %v after its context ended", err)
		}
	})
	return "http://" + ln.Addr().String()
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// fetch sends a GET with the given headers and returns the response with
// its body read.
func fetch(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestServe serves a tree on 127.0.0.1 and checks that the repository is
// served and debflow's own records are not.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"dists/development/InRelease": "signed", ".debflow/config.json": "{}", "pool/main/h/hello.deb": "deb"})
	base := startServe(t, dir)
	if resp, body := fetch(t, base+"/dists/development/InRelease", nil); resp.StatusCode != 200 || body != "signed" {
		t.Errorf("InRelease: %d %q", resp.StatusCode, body)
	}
	if resp, body := fetch(t, base+"/pool/main/h/hello.deb", nil); resp.StatusCode != 200 || body != "deb" {
		t.Errorf("pool file: %d %q", resp.StatusCode, body)
	}
	for _, p := range []string{"/.debflow/config.json", "/dists/../.debflow/config.json", "/.debflow/", "/dists/", "/", "/pool/main/h/"} {
		if resp, _ := fetch(t, base+p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
	}
}

// TestServeStaysInTheTree: a symbolic link to a file outside the tree, a
// symbolically linked directory outside it and a FIFO are not served (and
// the FIFO does not hang the request); a link inside the tree is.
func TestServeStaysInTheTree(t *testing.T) {
	outside := t.TempDir()
	writeTree(t, outside, map[string]string{"secret": "the password", "etc/passwd": "root:x:0:0"})
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"dists/development/Release": "release", "pool/a.deb": "deb"})
	for link, target := range map[string]string{
		"dists/development/InRelease": filepath.Join(outside, "secret"), // absolute, out
		"pool/up.deb":                 "../../" + filepath.Base(outside) + "/secret",
		"pool/etc":                    filepath.Join(outside, "etc"), // a directory, out
		"dists/stable":                "/etc",
		"pool/same.deb":               "a.deb", // inside: fine
	} {
		if err := os.Symlink(target, filepath.Join(dir, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pool", "fifo.deb"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := startServe(t, dir)
	for _, p := range []string{"/dists/development/InRelease", "/pool/up.deb", "/pool/etc/passwd", "/dists/stable/passwd", "/pool/fifo.deb"} {
		resp, body := fetch(t, base+p, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d (%q), want 404", p, resp.StatusCode, body)
		}
	}
	if resp, body := fetch(t, base+"/pool/same.deb", nil); resp.StatusCode != 200 || body != "deb" {
		t.Errorf("link inside the tree: %d %q", resp.StatusCode, body)
	}
}

// TestServeChangedWithinTheSecond: InRelease is replaced by other bytes
// with the same mtime, as two publishes within one second leave it. A
// client that revalidates, by date as apt does or by the ETag it got, must
// get the new content, never 304.
func TestServeChangedWithinTheSecond(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "dists", "production", "InRelease")
	mtime := time.Now().Add(-time.Minute).Truncate(time.Second)
	write := func(body string) {
		writeTree(t, dir, map[string]string{"dists/production/InRelease": body})
		if err := os.Chtimes(name, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	etagOf := func(body string) string {
		sum := sha256.Sum256([]byte(body))
		return `"` + hex.EncodeToString(sum[:]) + `"`
	}
	write("generation 1")
	base := startServe(t, dir)
	url := base + "/dists/production/InRelease"
	resp, body := fetch(t, url, nil)
	first := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || body != "generation 1" || first != etagOf("generation 1") {
		t.Fatalf("first fetch: %d %q, ETag %q", resp.StatusCode, body, first)
	}
	if lm := resp.Header.Get("Last-Modified"); lm != "" {
		t.Errorf("Last-Modified %q sent for InRelease", lm)
	}

	write("generation 2")
	since := mtime.UTC().Format(http.TimeFormat)
	for _, h := range []map[string]string{
		{"If-Modified-Since": since},
		{"If-None-Match": first},
		{"If-None-Match": first, "If-Modified-Since": since},
	} {
		resp, body := fetch(t, url, h)
		if resp.StatusCode != 200 || body != "generation 2" || resp.Header.Get("ETag") != etagOf("generation 2") {
			t.Errorf("%v: %d %q, ETag %q; want 200 with generation 2", h, resp.StatusCode, body, resp.Header.Get("ETag"))
		}
	}
	// The current ETag still saves the transfer.
	if resp, _ := fetch(t, url, map[string]string{"If-None-Match": etagOf("generation 2")}); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: %d, want 304", resp.StatusCode)
	}
}

// TestServeAptSeesAChangeWithinTheSecond: the real apt-get follows a stage
// through debflow serve, and sees a promotion whose InRelease has the same
// mtime as the one it fetched before (two changes within one second).
func TestServeAptSeesAChangeWithinTheSecond(t *testing.T) {
	a := apttest.New(t, "amd64") // skips without apt-get
	fleet := githubtest.NewFleet(t)
	base := startServe(t, fleet.Dir)
	code, entry, stderr := ghRun(t, nil, "sources", "--repo", fleet.Dir, "--key", fleet.KeyFile, "--url", base, "--stage", "canary")
	if code != 0 {
		t.Fatalf("sources: exit %d: %s", code, stderr)
	}
	a.AddSource("fleet", entry)
	a.Update()
	if got := a.Candidate("hello"); got != "1.0" {
		t.Fatalf("candidate %q before the promotion", got)
	}
	dists := filepath.Join(fleet.Dir, "dists", "canary")
	fi, err := os.Stat(filepath.Join(dists, "InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := ghRun(t, nil, "promote", "--repo", fleet.Dir, "--key", fleet.KeyFile, "2026-01-02", "--to", "canary"); code != 0 {
		t.Fatalf("promote: exit %d: %s", code, stderr)
	}
	for _, name := range []string{"InRelease", "Release", "Release.gpg"} {
		if err := os.Chtimes(filepath.Join(dists, name), fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	a.Update()
	if got := a.Candidate("hello"); got != "1.1" {
		t.Errorf("candidate %q after the promotion, want 1.1: apt kept the old InRelease", got)
	}
}
