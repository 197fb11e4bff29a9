package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBinaryVersion(t *testing.T) {
	info := func(v string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			return &debug.BuildInfo{Main: debug.Module{Path: "github.com/debflow/debflow", Version: v}}, true
		}
	}
	none := func() (*debug.BuildInfo, bool) { return nil, false }
	for _, c := range []struct {
		ldflags string
		info    func() (*debug.BuildInfo, bool)
		want    string
	}{
		{"v1.0.0-3-gabc", info("v0.9.0"), "v1.0.0-3-gabc"}, // make build wins
		{"dev", info("v1.2.3"), "v1.2.3"},                  // go install ...@v1.2.3
		{"dev", info("v0.0.0-20260101120000-0123456789ab"), "v0.0.0-20260101120000-0123456789ab"},
		{"dev", info("(devel)"), "dev"},
		{"dev", info(""), "dev"},
		{"dev", none, "dev"},
	} {
		if got := binaryVersion(c.ldflags, c.info); got != c.want {
			t.Errorf("binaryVersion(%q, ...) = %q, want %q", c.ldflags, got, c.want)
		}
	}
}

// TestMakeBuildStatic checks that the Makefile's build target makes a
// static binary (CGO_ENABLED=0): CI runners and devices differ in glibc.
func TestMakeBuildStatic(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	for _, tool := range []string{"make", "file"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	bin := filepath.Join(t.TempDir(), "debflow")
	cmd := exec.Command("make", "-s", "-C", "../..", "build", "BIN="+bin)
	// Whatever the caller's environment says, the target decides.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	out, err := exec.Command("file", "-L", bin).CombinedOutput()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "statically linked") {
		t.Errorf("make build made a dynamic binary: %s", out)
	}
}
