package build

import (
	"os"
	"path/filepath"
	"testing"
)

// TestGlobRelativeToWorkingDirectory: a spec parsed from bytes resolves
// paths against the working directory, and a glob without a directory
// part walks it.
func TestGlobRelativeToWorkingDirectory(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(dir, "b.txt"), []byte("b"), 0o644)
	t.Chdir(dir)
	m, err := nfpmGlob("*.txt", "/usr/share/x", false)
	if err != nil || len(m) != 2 || m[0].dst != "/usr/share/x/a.txt" || m[1].dst != "/usr/share/x/b.txt" {
		t.Fatalf("nfpmGlob: %+v, %v", m, err)
	}
}
