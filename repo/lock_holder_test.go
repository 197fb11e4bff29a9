package repo_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/repo"
)

// TestLockHeldByAnotherTool: a lock taken by a tool that does not describe
// itself (a bare flock on .debflow/lock) is reported as held by "unknown",
// without a made-up date.
func TestLockHeldByAnotherTool(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	lock, err := os.Open(filepath.Join(f.root, ".debflow", "lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := f.repoWith(repo.WithLog(&log))
	_, err = r.Promote(context.Background(), "2000-01-01", "canary", repo.PromoteOptions{LockTimeout: 300 * time.Millisecond})
	if !errors.Is(err, repo.ErrLockTimeout) {
		t.Fatalf("Promote with the lock held: %v", err)
	}
	for what, s := range map[string]string{"the waiting message": log.String(), "the error": err.Error()} {
		if !strings.Contains(s, "unknown") || strings.Contains(s, "0001-01-01") {
			t.Errorf("%s: %q; want the holder unknown, without a date", what, s)
		}
	}
}
