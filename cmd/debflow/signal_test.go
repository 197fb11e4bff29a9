package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// TestSIGTERMStopsCommands: a command waiting for the lock, or reading a
// pipe whose writer never finishes, stops on SIGTERM with a non-zero exit,
// and the repository is exactly as before.
func TestSIGTERMStopsCommands(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "repo")
	secret, _, _ := testkit.KeyFile(t, dir)
	debflow := func(stdin *os.File, args ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], append([]string{"--repo", root, "--key", secret}, args...)...)
		cmd.Env = append(os.Environ(), "DEBFLOW_TEST_MAIN=1")
		cmd.Stdin = stdin
		return cmd
	}
	first := testkit.WriteDeb(t, dir, testkit.Deb{Name: "base", Version: "1.0", Arch: "amd64"})
	if out, err := debflow(nil, "publish", "--quiet", first).CombinedOutput(); err != nil {
		t.Fatalf("publish: %v\n%s", err, out)
	}
	before := testkit.TreeHash(t, root)

	// Another process holds the lock.
	st, _ := repo.NewFS(root)
	unlock, err := st.Lock(t.Context(), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	waiting := debflow(nil, "publish", testkit.WriteDeb(t, dir, testkit.Deb{Name: "app", Version: "1.0", Arch: "amd64"}))

	// A pipe whose writer never closes it.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	pw.Write([]byte("!<arch>\n"))
	reading := debflow(pr, "publish", "/dev/stdin")

	for name, cmd := range map[string]*exec.Cmd{"waiting for the lock": waiting, "reading a pipe": reading} {
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err == nil {
				t.Errorf("%s: exit 0 after SIGTERM", name)
			}
			if !strings.Contains(stderr.String(), "context canceled") {
				t.Errorf("%s: stderr %q does not say it was stopped", name, stderr.String())
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Errorf("%s: still running 20 s after SIGTERM", name)
		}
	}
	pr.Close()
	unlock()
	if testkit.TreeHash(t, root) != before {
		t.Fatal("a stopped command changed the tree")
	}
}
