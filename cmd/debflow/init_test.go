package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/signing"
)

// TestInitAndKeysCommands: init with settings, bad values refused, a wrong
// key refused with exit 4 until key add, key retire, and a mistyped --repo
// refused with exit 3.
func TestInitAndKeysCommands(t *testing.T) {
	o := newOpsRepo(t)
	out := o.mustRun("init", "--origin", "Example Fleet", "--codename", "edge", "--arch", "amd64", "--stages", "dev,field")
	if !strings.Contains(out, `Origin "Example Fleet"`) || !strings.Contains(out, "stages dev,field") {
		t.Fatalf("init: %s", out)
	}
	o.wantExit(exitInput, "invalid repository configuration", "init", "--arch", "amd64,ARM64")
	o.publish([]string{"--suite", "dev"}, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})
	o.wantExit(exitConflict, "--allow-releaseinfo-change", "init", "--origin", "Renamed")

	other, err := signing.Generate("Other <other@example.com>", signing.Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var secret, public bytes.Buffer
	other.WriteSecret(&secret)
	other.WritePublic(&public, true)
	otherKey, otherPub := filepath.Join(dir, "other.asc"), filepath.Join(dir, "other.pub.asc")
	os.WriteFile(otherKey, secret.Bytes(), 0o600)
	os.WriteFile(otherPub, public.Bytes(), 0o644)

	o.wantExit(exitKey, "not one of the repository's signing keys", "refresh", "--key", otherKey)
	if out := o.mustRun("key", "add", otherPub); !strings.Contains(out, "added "+other.Fingerprint()) {
		t.Fatalf("key add: %s", out)
	}
	o.mustRun("refresh", "--quiet", "--key", otherKey)
	o.mustRun("key", "retire", testkit.Key(t).Fingerprint())
	o.wantExit(exitConflict, "only signing key", "key", "retire", other.Fingerprint())
	o.wantExit(exitUsage, "neither a key file nor a fingerprint", "key", "add", "not-a-key")

	code, _, errOut := o.run("--repo", filepath.Join(t.TempDir(), "typo"), "gc")
	if code != exitInput || !strings.Contains(errOut, "no debflow repository") {
		t.Fatalf("gc of a missing repository: exit %d: %s", code, errOut)
	}
}
