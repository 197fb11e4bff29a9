package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
)

// TestRepairCommand: a lost record stops publish (exit 5, pointing at
// repair); repair rebuilds it from the served, signed tree; publish works
// again and development kept its package.
func TestRepairCommand(t *testing.T) {
	o := newOpsRepo(t)
	o.publish(nil, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})
	if err := os.Remove(filepath.Join(o.root, ".debflow/suites/development.json")); err != nil {
		t.Fatal(err)
	}
	deb := testkit.WriteDeb(t, o.debs, testkit.Deb{Name: "more", Version: "1.0", Arch: "amd64"})
	o.wantExit(exitConflict, "debflow repair", "publish", "--key", o.key, deb)

	_, _, armored := testkit.KeyFile(t, t.TempDir())
	if out := o.mustRun("repair", "--keyring", armored); !strings.Contains(out, "rebuilt the record of development") {
		t.Fatalf("repair printed %q", out)
	}
	if out := o.mustRun("repair", "--keyring", armored); !strings.Contains(out, "nothing to repair") {
		t.Fatalf("a second repair printed %q", out)
	}
	o.mustRun("publish", "--quiet", "--key", o.key, deb)
	if out := o.mustRun("list"); !strings.Contains(out, "hello") || !strings.Contains(out, "more") {
		t.Fatalf("development after repair and publish: %q", out)
	}
	o.wantExit(exitUsage, "", "repair", "--keyring", filepath.Join(t.TempDir(), "missing.asc"))
}
