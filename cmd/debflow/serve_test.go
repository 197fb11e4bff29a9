package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

// TestServe serves a tree on 127.0.0.1 and checks that the repository is
// served and debflow's own records are not.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"dists/development/InRelease": "signed", ".debflow/config.json": "{}"} {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, dir) }()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + ln.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/dists/development/InRelease"); code != 200 || body != "signed" {
		t.Errorf("InRelease: %d %q", code, body)
	}
	for _, p := range []string{"/.debflow/config.json", "/dists/../.debflow/config.json", "/.debflow/"} {
		if code, _ := get(p); code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, code)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("serve returned %v after its context ended", err)
	}
}
