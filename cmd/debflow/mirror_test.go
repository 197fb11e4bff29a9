package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
)

// TestMirrorCommands runs the mirror commands as a user would, against an
// upstream that is another debflow repository (adopting an existing
// repository is the same machinery): create, update, list, a combined
// snapshot, drop; bad input refused with the tree unchanged.
func TestMirrorCommands(t *testing.T) {
	up := newOpsRepo(t)
	up.publish(nil, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"}, testkit.Deb{Name: "other", Version: "2.0", Arch: "amd64"})
	srv := httptest.NewServer(http.FileServer(http.Dir(up.root)))
	defer srv.Close()
	_, _, armored := testkit.KeyFile(t, t.TempDir())

	o := newOpsRepo(t)
	o.publish(nil, testkit.Deb{Name: "fleet", Version: "1.0", Arch: "amd64"})
	o.wantExit(exitInput, "", "mirror", "create", "up", "--url", srv.URL, "--suite", "development", "--keyring", filepath.Join(t.TempDir(), "missing.asc"))
	o.mustRun("mirror", "create", "up", "--url", srv.URL, "--suite", "development", "--keyring", armored, "--filter", "hello", "--arch", "amd64")
	out := o.mustRun("mirror", "update", "up", "--key", o.key)
	if !strings.Contains(out, "1 packages, 1 downloaded") {
		t.Errorf("mirror update printed %q, want one package downloaded", out)
	}
	pool := filepath.Join(o.root, "pool/main/h/hello/hello_1.0_amd64.deb")
	if _, err := os.Stat(pool); err != nil {
		t.Fatalf("the mirrored package is not in the pool: %v", err)
	}
	if _, err := os.Stat(filepath.Join(o.root, "pool/main/o/other")); err == nil {
		t.Fatal("the filter let other through")
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(o.mustRun("mirror", "list", "--json")), &list); err != nil || len(list) != 1 || list[0]["name"] != "up" {
		t.Fatalf("mirror list --json: %v %v", list, err)
	}
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "2026-01-01", "--from", "development", "--from", "up")
	if out := o.mustRun("list", "--snapshot", "2026-01-01"); !strings.Contains(out, "hello") || !strings.Contains(out, "fleet") {
		t.Fatalf("the combined snapshot holds %q", out)
	}
	o.wantExit(exitInput, "", "mirror", "update", "nosuch", "--key", o.key)
	o.mustRun("mirror", "drop", "up")
	if _, err := os.Stat(filepath.Join(o.root, "dists/up")); err == nil {
		t.Fatal("mirror drop left dists/up")
	}
	if _, err := os.Stat(pool); err != nil {
		t.Fatalf("the snapshot's mirrored package is gone after the drop: %v", err)
	}
}
