package repo_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storagetest"
)

func TestFSStorage(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) repo.Storage {
		s, _ := newFS(t)
		return s
	})
}

// newFS returns an FS and its root directory, which does not exist yet.
func newFS(t *testing.T) (*repo.FS, string) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "repo")
	s, err := repo.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	return s, root
}

func TestStorageValidName(t *testing.T) {
	for _, name := range []string{
		"a", "pool/main/h/hello/hello_1.0+git3~rc1_amd64.deb", ".debflow/state",
		"dists/bookworm/updates/InRelease", "..a", "a..", ".a/.b", "a b/ü:c",
	} {
		if err := repo.ValidName(name); err != nil {
			t.Errorf("ValidName(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"", "/a", "a/", "a//b", "./a", "a/.", "../a", "a/../b", "a\x00", `a\b`, "\xc3"} {
		err := repo.ValidName(name)
		if !errors.Is(err, repo.ErrBadName) || !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) {
			t.Errorf("ValidName(%q) = %v, want ErrBadName naming it", name, err)
		}
	}
}

func TestNewFS(t *testing.T) {
	if _, err := repo.NewFS(""); err == nil {
		t.Error(`NewFS("") succeeded`)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := repo.NewFS(file); err == nil {
		t.Error("NewFS of a regular file succeeded")
	}
	s, root := newFS(t)
	if objs, err := s.List(t.Context(), ""); err != nil || len(objs) != 0 {
		t.Errorf("List of a missing root = %v, %v; want nothing", objs, err)
	}
	if err := s.Delete(t.Context(), "x"); err != nil {
		t.Errorf("Delete in a missing root: %v", err)
	}
	if _, err := os.Stat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the root exists before the first Put: %v", err)
	}
}

// TestFSModes checks that files are 0644 and new directories 0755, whatever
// the umask, so that a web server can serve the tree.
func TestFSModes(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o077))
	s, root := newFS(t)
	const name = "pool/main/h/hello/hello_1.0_amd64.deb"
	if err := s.Put(t.Context(), name, strings.NewReader("deb")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "pool", "pool/main", "pool/main/h", "pool/main/h/hello", name} {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil {
			t.Fatal(err)
		}
		want := fs.FileMode(0o644)
		if fi.IsDir() {
			want = fs.ModeDir | 0o755
		}
		if fi.Mode() != want {
			t.Errorf("%q: mode %v, want %v", p, fi.Mode(), want)
		}
	}
}

// TestFSFailedPut checks that a failed Put leaves neither a temporary file
// nor a target behind, and keeps the previous content.
func TestFSFailedPut(t *testing.T) {
	s, root := newFS(t)
	ctx := t.Context()
	if err := s.Put(ctx, "pool/x/old.deb", strings.NewReader("old")); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	for _, name := range []string{"pool/x/new.deb", "pool/x/old.deb"} {
		failing := io.MultiReader(strings.NewReader(strings.Repeat("x", 100000)), iotest.ErrReader(errBoom))
		if err := s.Put(ctx, name, failing); !errors.Is(err, errBoom) {
			t.Errorf("Put(%q) with a failing reader = %v, want %v", name, err, errBoom)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancelling := io.MultiReader(strings.NewReader("x"), readerFunc(func([]byte) (int, error) {
			cancel()
			return 0, io.EOF
		}), strings.NewReader("y"))
		if err := s.Put(cctx, name, cancelling); !errors.Is(err, context.Canceled) {
			t.Errorf("Put(%q) cancelled midway = %v, want context.Canceled", name, err)
		}
	}
	if err := s.Put(ctx, "pool/x", strings.NewReader("over a directory")); err == nil {
		t.Error("Put over a directory succeeded")
	}
	var files []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(root, p)
			files = append(files, rel)
		}
		return err
	})
	if !slices.Equal(files, []string{"pool/x/old.deb"}) {
		t.Errorf("files after failed Puts: %q, want only pool/x/old.deb", files)
	}
	if data, _ := os.ReadFile(filepath.Join(root, "pool/x/old.deb")); string(data) != "old" {
		t.Errorf("pool/x/old.deb = %q after failed overwrites", data)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// TestFSForeignFiles checks how FS treats what it did not write: leftover
// temporary files, the lock file, symbolic links, and files whose names are
// not valid object names.
func TestFSForeignFiles(t *testing.T) {
	s, root := newFS(t)
	ctx := t.Context()
	for _, name := range []string{"pool/a.deb", ".debflow/state"} {
		if err := s.Put(ctx, name, strings.NewReader(name)); err != nil {
			t.Fatal(err)
		}
	}
	unlock, err := s.Lock(ctx, "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	for _, err := range []error{
		os.WriteFile(filepath.Join(root, "pool/.tmp-LEFTOVER"), []byte("partial"), 0o600),
		os.WriteFile(filepath.Join(root, `pool/back\slash`), nil, 0o644),
		os.Symlink(outside, filepath.Join(root, "out")),
		os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "pool/secret")),
		os.Symlink("a.deb", filepath.Join(root, "pool/link.deb")),
		os.Symlink("../pool", filepath.Join(root, ".debflow/pool")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}

	if got := names(t, s, ""); !slices.Equal(got, []string{".debflow/state", "pool/a.deb"}) {
		t.Errorf("List = %q, want only the objects put", got)
	}
	for _, name := range []string{"out/secret", "pool/secret"} {
		if rc, err := s.Get(ctx, name); err == nil {
			rc.Close()
			t.Errorf("Get(%q) through a symbolic link out of the root succeeded", name)
		}
		if _, err := s.Stat(ctx, name); err == nil {
			t.Errorf("Stat(%q) through a symbolic link out of the root succeeded", name)
		}
	}
	if err := s.Put(ctx, "out/new", strings.NewReader("x")); err == nil {
		t.Error("Put through a symbolic link out of the root succeeded")
	}
	if _, err := os.Stat(filepath.Join(outside, "new")); err == nil {
		t.Error("Put wrote out of the root")
	}
	for _, name := range []string{".debflow/lock", "pool/.tmp-LEFTOVER", ".tmp-x"} {
		if _, err := s.Stat(ctx, name); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Stat(%q) = %v, want ErrBadName (reserved)", name, err)
		}
		if err := s.Put(ctx, name, strings.NewReader("x")); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Put(%q) = %v, want ErrBadName (reserved)", name, err)
		}
		if err := s.Delete(ctx, name); !errors.Is(err, repo.ErrBadName) {
			t.Errorf("Delete(%q) = %v, want ErrBadName (reserved)", name, err)
		}
	}
}

func names(t *testing.T, s repo.Storage, prefix string) []string {
	t.Helper()
	objs, err := s.List(t.Context(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	return names
}

// TestFSLockFile checks what waiters and administrators find in the lock
// file: the holder's description while the lock is held, nothing after.
func TestFSLockFile(t *testing.T) {
	s, root := newFS(t)
	before := time.Now()
	unlock, err := s.Lock(t.Context(), "ci-runner-3 pid 42 job 7", nil)
	if err != nil {
		t.Fatal(err)
	}
	lockFile := filepath.Join(root, ".debflow", "lock")
	data, err := os.ReadFile(lockFile)
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Holder string
		Since  time.Time
	}
	if err := json.Unmarshal(data, &info); err != nil || info.Holder != "ci-runner-3 pid 42 job 7" ||
		info.Since.Before(before.Add(-time.Second)) || info.Since.After(time.Now()) {
		t.Errorf("lock file %q: %+v, %v", data, info, err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := unlock(); err != nil {
		t.Errorf("second unlock: %v", err)
	}
	if data, err := os.ReadFile(lockFile); err != nil || len(data) != 0 {
		t.Errorf("lock file after unlock: %q, %v; want it empty", data, err)
	}
}

// TestFSLockUnknownHolder checks a lock held by something that does not
// describe itself, such as flock(1) run by an administrator.
func TestFSLockUnknownHolder(t *testing.T) {
	s, root := newFS(t)
	unlock, err := s.Lock(t.Context(), "test", nil)
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	f, err := os.Open(filepath.Join(root, ".debflow", "lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	var holders []string
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	_, err = s.Lock(ctx, "test", func(holder string, since time.Time) { holders = append(holders, holder) })
	if !errors.Is(err, repo.ErrLockTimeout) || !strings.Contains(err.Error(), `"unknown"`) {
		t.Errorf("Lock = %v, want ErrLockTimeout naming an unknown holder", err)
	}
	if !slices.Equal(holders, []string{"unknown"}) {
		t.Errorf("waiting called with %q, want [unknown]", holders)
	}
}

const lockRootEnv = "DEBFLOW_TEST_LOCK_ROOT"

// TestFSLockHelperProcess is the child process of TestFSLockKilledHolder:
// it takes the lock, says so and sleeps.
func TestFSLockHelperProcess(t *testing.T) {
	root := os.Getenv(lockRootEnv)
	if root == "" {
		t.Skip("helper process of TestFSLockKilledHolder")
	}
	s, err := repo.NewFS(root)
	if err == nil {
		_, err = s.Lock(context.Background(), fmt.Sprintf("child pid %d", os.Getpid()), nil)
	}
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestFSLockKilledHolder checks that the lock excludes another process and
// that a holder killed with SIGKILL does not block the next one.
func TestFSLockKilledHolder(t *testing.T) {
	s, root := newFS(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestFSLockHelperProcess$")
	cmd.Env = append(os.Environ(), lockRootEnv+"="+root)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("child: %q, %v", line, err)
	}
	childHolder := fmt.Sprintf("child pid %d", cmd.Process.Pid)

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if _, err := s.Lock(ctx, "parent", nil); !errors.Is(err, repo.ErrLockTimeout) || !strings.Contains(err.Error(), childHolder) {
		t.Fatalf("Lock while the child holds it = %v, want ErrLockTimeout naming %q", err, childHolder)
	}

	waiting := make(chan string, 10)
	locked := make(chan error, 1)
	var unlock func() error
	go func() {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		var err error
		unlock, err = s.Lock(ctx, "parent", func(holder string, _ time.Time) { waiting <- holder })
		locked <- err
	}()
	select {
	case holder := <-waiting:
		if holder != childHolder {
			t.Errorf("waiting(%q), want %q", holder, childHolder)
		}
	case err := <-locked:
		t.Fatalf("Lock while the child holds it: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("waiting not called within 5s")
	}
	killed := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := <-locked; err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	d := time.Since(killed)
	t.Logf("lock taken %v after the holder was killed", d)
	if d > 2*time.Second {
		t.Errorf("lock taken %v after the holder was killed", d)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkFSPut measures Put of small files, fsync included.
func BenchmarkFSPut(b *testing.B) {
	s, err := repo.NewFS(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	data := strings.Repeat("x", 1000)
	for i := 0; b.Loop(); i++ {
		if err := s.Put(b.Context(), fmt.Sprintf("pool/%d/f%d", i%10, i), strings.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
