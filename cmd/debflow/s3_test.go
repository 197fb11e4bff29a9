package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/debflow/debflow/internal/compress"
	"io"
	"math/rand"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/apttest"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage"
	"github.com/debflow/debflow/repo/storage/s3/s3test"
)

// TestS3Repository runs debflow on a bucket of a real S3 server
// (versitygw): apt reads it anonymously with Signed-By while publishers
// are SIGKILLed mid-publish, concurrent publishers lose nothing, every
// object carries its Cache-Control, snapshot/promote/gc/verify work, and
// copy moves the repository to a directory and back to another bucket.
func TestS3Repository(t *testing.T) {
	testkit.Need(t, "apt-get")
	srv := s3test.Start(t)
	srv.SetEnv(t)
	t.Setenv("DEBFLOW_S3_LEASE", "2s")
	srv.Bucket(t, "apt")
	srv.PublicRead(t, "apt")
	const spec = "s3://apt/fleet"
	dir := t.TempDir()
	secret, keyring, armored := testkit.KeyFile(t, dir)

	publish := func(debs ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], append([]string{"publish", "--quiet", "--repo", spec, "--key", secret}, debs...)...)
		cmd.Env = append(os.Environ(), "DEBFLOW_TEST_MAIN=1")
		return cmd
	}
	mustRun := func(cmd *exec.Cmd) {
		t.Helper()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd.Args, err, out)
		}
	}
	start := time.Now()
	mustRun(publish(testkit.WriteDeb(t, dir, testkit.Deb{Name: "base", Version: "1.0", Arch: "all"})))
	span := time.Since(start) * 12 / 10

	// apt reads the bucket as devices read a public bucket or its CDN.
	url := srv.URL + "/apt/fleet"
	apt := apttest.New(t, "amd64")
	pub, _ := os.ReadFile(armored)
	entry, err := repo.Deb822(repo.SourcesOptions{URL: url, Suite: "development", ArmoredKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	apt.AddSource("debflow", entry)
	apt.Update()
	if got := apt.Candidate("base"); got != "1.0" {
		t.Fatalf("candidate base = %q", got)
	}
	apt.Download("base")

	t.Run("CacheControl", func(t *testing.T) {
		st := openS3(t, spec)
		objs, err := st.List(t.Context(), "")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{}
		for _, o := range objs {
			switch {
			case strings.HasPrefix(o.Name, "pool/") && want["pool"] == "":
				want["pool"] = o.Name
			case strings.Contains(o.Name, "/by-hash/SHA256/") && want["by-hash"] == "":
				want["by-hash"] = o.Name
			case strings.HasSuffix(o.Name, "/binary-amd64/Packages.gz"):
				want["named"] = o.Name
			}
		}
		for kind, name := range map[string]string{
			"pool": want["pool"], "by-hash": want["by-hash"], "named": want["named"],
			"InRelease": "dists/development/InRelease", "Release": "dists/development/Release", "Release.gpg": "dists/development/Release.gpg",
		} {
			resp, err := http.Head(url + "/" + name) // anonymous
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			cc := resp.Header.Get("Cache-Control")
			immutable := kind == "pool" || kind == "by-hash"
			if resp.StatusCode != 200 || immutable && cc != "public, max-age=31536000, immutable" || !immutable && cc != "no-cache" {
				t.Errorf("HEAD %s (%s): %d, Cache-Control %q", name, kind, resp.StatusCode, cc)
			}
		}
	})

	t.Run("KilledPublishers", func(t *testing.T) {
		rng := rand.New(rand.NewSource(1))
		killed := 0
		for i := range 6 {
			cmd := publish(testkit.WriteDeb(t, dir, testkit.Deb{Name: "app", Version: fmt.Sprintf("1.%d", i), Arch: "amd64"}))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(time.Duration(rng.Int63n(int64(span)))):
				cmd.Process.Signal(syscall.SIGKILL)
				<-done
				killed++
			}
			apt.Update() // fails the test on any W: or E: line
		}
		t.Logf("killed %d of 6 publishers (kill points within %s)", killed, span)
		// The next publisher takes over a killed one's lease within 60 s.
		start := time.Now()
		mustRun(publish(testkit.WriteDeb(t, dir, testkit.Deb{Name: "app", Version: "2.0", Arch: "amd64"})))
		if d := time.Since(start); d > 60*time.Second {
			t.Errorf("the publisher after the kills took %v", d)
		}
		apt.Update()
		if got := apt.Candidate("app"); got != "2.0" {
			t.Errorf("candidate app = %s after the final publish", got)
		}
		verifyS3(t, spec, keyring)
	})

	t.Run("ConcurrentPublishers", func(t *testing.T) {
		var wg sync.WaitGroup
		var names []string
		for p := range 4 {
			var debs []string
			for k := range 3 {
				name := fmt.Sprintf("c%d-%d", p, k)
				names = append(names, name)
				debs = append(debs, testkit.WriteDeb(t, dir, testkit.Deb{Name: name, Version: "1.0", Arch: "amd64"}))
			}
			wg.Go(func() {
				if out, err := publish(debs...).CombinedOutput(); err != nil {
					t.Errorf("publisher %d: %v\n%s", p, err, out)
				}
			})
		}
		wg.Wait()
		apt.Update()
		for _, n := range names {
			if got := apt.Candidate(n); got != "1.0" {
				t.Errorf("package %s lost (candidate %q)", n, got)
			}
		}
	})

	var snapName string
	t.Run("SnapshotPromoteGC", func(t *testing.T) {
		code, out, errOut := stageRun(t, "--repo", spec, "--json", "snapshot", "create", "--key", secret)
		var snap struct{ Name string }
		if err := json.Unmarshal([]byte(out), &snap); code != 0 || err != nil || snap.Name == "" {
			t.Fatalf("snapshot create: %d %s %s", code, out, errOut)
		}
		snapName = snap.Name
		if code, out, errOut := stageRun(t, "--repo", spec, "promote", "--key", secret, snapName, "--to", "canary"); code != 0 {
			t.Fatalf("promote: %d %s %s", code, out, errOut)
		}
		if code, out, errOut := stageRun(t, "--repo", spec, "gc", "--key", secret); code != 0 {
			t.Fatalf("gc: %d %s %s", code, out, errOut)
		}
		st := openS3(t, spec)
		stage := readObject(t, st, "dists/canary/main/binary-amd64/Packages.gz")
		objs, _ := st.List(t.Context(), "dists/")
		found := false
		for _, o := range objs {
			if strings.Contains(o.Name, snapName) && strings.HasSuffix(o.Name, "/main/binary-amd64/Packages.gz") {
				found = true
				if snap := readObject(t, st, o.Name); !bytes.Equal(snap, stage) {
					t.Errorf("the stage's Packages differ from the snapshot's %s", o.Name)
				}
			}
		}
		if !found || !bytes.Contains(testkit.Decompress(t, "Packages.gz", stage, compress.Gzip), []byte("Package: c3-2")) {
			t.Errorf("no snapshot index found, or the stage lacks packages:\n%s", stage)
		}
		verifyS3(t, spec, keyring)
	})

	t.Run("Copy", func(t *testing.T) {
		local := filepath.Join(dir, "copy")
		if code, out, errOut := stageRun(t, "copy", "--from", spec, "--to", local, "--keyring", keyring); code != 0 || !strings.Contains(out, "verified:") {
			t.Fatalf("copy to a directory: %d %s %s", code, out, errOut)
		}
		srv.Bucket(t, "migrated")
		if code, out, errOut := stageRun(t, "copy", "--from", local, "--to", "s3://migrated", "--keyring", keyring); code != 0 || !strings.Contains(out, "verified:") {
			t.Fatalf("copy to a bucket: %d %s %s", code, out, errOut)
		}
		if code, out, errOut := stageRun(t, "--repo", "s3://migrated", "history", "canary"); code != 0 || snapName == "" || !strings.Contains(out, snapName) {
			t.Errorf("history of the migrated repository: %d %s %s", code, out, errOut)
		}
		if code, _, errOut := stageRun(t, "copy", "--from", local, "--to", "s3://migrated"); code != 5 || !strings.Contains(errOut, "not empty") {
			t.Errorf("copy into a non-empty bucket: %d %s", code, errOut)
		}
		// An object tampered with in the bucket: verify catches it.
		var pool string
		filepath.WalkDir(filepath.Join(srv.DataDir, "migrated", "pool"), func(p string, d os.DirEntry, err error) error {
			if err == nil && strings.HasSuffix(p, ".deb") && pool == "" {
				pool = p
			}
			return nil
		})
		data, err := os.ReadFile(pool)
		if err != nil {
			t.Fatal(err)
		}
		data[len(data)-1] ^= 1
		if err := os.WriteFile(pool, data, 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, _ := stageRun(t, "--repo", "s3://migrated", "verify", "--keyring", keyring)
		if code != 6 || !strings.Contains(out, filepath.Base(pool)) {
			t.Errorf("verify of a tampered bucket: %d %s", code, out)
		}
	})
}

func openS3(t *testing.T, spec string) repo.Storage {
	t.Helper()
	st, err := storage.Open(t.Context(), spec)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func readObject(t *testing.T, st repo.Storage, name string) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	data, _ := io.ReadAll(rc)
	return data
}

func verifyS3(t *testing.T, spec, keyring string) {
	t.Helper()
	if code, out, errOut := stageRun(t, "--repo", spec, "verify", "--keyring", keyring); code != 0 {
		t.Errorf("verify: %d %s %s", code, out, errOut)
	}
}
