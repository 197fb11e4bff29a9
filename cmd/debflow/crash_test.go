package main

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/apttest"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// TestCrashingPublisher kills publishers with SIGKILL at random points.
// After every kill apt must still update cleanly against the tree (it sees
// the previous state or the new one), and after the next complete publish
// verify must find nothing wrong.
func TestCrashingPublisher(t *testing.T) {
	testkit.Need(t, "apt-get")
	dir := t.TempDir()
	root := filepath.Join(dir, "repo")
	secret, _, armored := testkit.KeyFile(t, dir)
	publish := func(deb string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "publish", "--quiet", "--repo", root, "--key", secret, "--keep", "2", deb)
		cmd.Env = append(os.Environ(), "DEBFLOW_TEST_MAIN=1")
		return cmd
	}
	mustRun := func(deb string) {
		if out, err := publish(deb).CombinedOutput(); err != nil {
			t.Fatalf("publish %s: %v\n%s", deb, err, out)
		}
	}
	start := time.Now()
	mustRun(testkit.WriteDeb(t, dir, testkit.Deb{Name: "base", Version: "1.0", Arch: "all"}))
	// Kill points spread over a whole publish, start-up included.
	span := time.Since(start) * 12 / 10

	url := apttest.Serve(t, root)
	apt := apttest.New(t, "amd64")
	pub, _ := os.ReadFile(armored)
	entry, err := repo.Deb822(repo.SourcesOptions{URL: url, Suite: "development", ArmoredKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	apt.AddSource("debflow", entry)
	apt.Update()

	rng := rand.New(rand.NewSource(1))
	killed := 0
	for i := 0; i < 12; i++ {
		deb := testkit.WriteDeb(t, dir, testkit.Deb{Name: "app", Version: fmt.Sprintf("1.%d", i), Arch: "amd64"})
		cmd := publish(deb)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int63n(int64(span)))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(delay):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			killed++
		}
		apt.Update() // fails the test on any W: or E: line
	}
	t.Logf("killed %d of 12 publishers (kill points within %s)", killed, span)

	mustRun(testkit.WriteDeb(t, dir, testkit.Deb{Name: "app", Version: "2.0", Arch: "amd64"}))
	apt.Update()
	if got := apt.Candidate("app"); got != "2.0" {
		t.Errorf("candidate app = %s after the final publish", got)
	}
	st, _ := repo.NewFS(root)
	rep, err := repo.New(st).Verify(context.Background(), testkit.Key(t).Keyring())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("verify: %s", p)
	}
}
