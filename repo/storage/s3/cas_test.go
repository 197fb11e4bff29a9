package s3_test

import (
	"bytes"
	"context"
	"fmt"
	"github.com/debflow/debflow/internal/compress"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/s3"
	"github.com/debflow/debflow/repo/storage/s3/s3test"
)

// noLease is a store whose lock is no lock at all, as when every
// publisher's lease expired: the commit point's compare-and-swap alone
// must keep every package.
type noLease struct{ *s3.Store }

func (noLease) Lock(context.Context, string, func(string, time.Time)) (func() error, error) {
	return func() error { return nil }, nil
}

func TestCompareAndSwapWithoutLease(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "cas")
	st := noLease{srv.Open(t, "s3://cas", s3.Options{})}
	dir := t.TempDir()
	key := testkit.Key(t)
	first, err := repo.Inspect([]string{testkit.WriteDeb(t, dir, testkit.Deb{Name: "first", Version: "1.0", Arch: "amd64"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.New(st, repo.WithSigner(key)).Publish(t.Context(), first, repo.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	names := []string{"first"}
	for p := range 4 {
		var debs []string
		for k := range 2 {
			name := fmt.Sprintf("p%d-%d", p, k)
			names = append(names, name)
			debs = append(debs, testkit.WriteDeb(t, dir, testkit.Deb{Name: name, Version: "1.0", Arch: "amd64"}))
		}
		wg.Go(func() {
			pkgs, err := repo.Inspect(debs)
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := repo.New(st, repo.WithSigner(key)).Publish(t.Context(), pkgs, repo.PublishOptions{}); err != nil {
				t.Errorf("publisher %d: %v", p, err)
			}
		})
	}
	wg.Wait()
	get := func(name string) []byte {
		rc, err := st.Get(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		data, _ := io.ReadAll(rc)
		return data
	}
	packages := testkit.Decompress(t, "Packages.gz", get("dists/development/main/binary-amd64/Packages.gz"), compress.Gzip)
	for _, n := range names {
		if !bytes.Contains(packages, []byte("Package: "+n+"\n")) {
			t.Errorf("package %s lost", n)
		}
	}
	rep, err := repo.New(st).Verify(t.Context(), key.Keyring())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Errorf("verify: %s", p)
	}
}
