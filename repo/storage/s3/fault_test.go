package s3_test

import (
	"bytes"
	"fmt"
	"github.com/debflow/debflow/internal/compress"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/s3"
	"github.com/debflow/debflow/repo/storage/s3/s3test"
)

// faulty fails PUT requests: every one after the first `after` with a
// reset connection when reset is set, else every other one with a 503.
type faulty struct {
	puts  atomic.Int64
	after int64
	reset atomic.Bool
}

func (f *faulty) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		n := f.puts.Add(1)
		if f.reset.Load() && n > f.after {
			return nil, &netErr{syscall.ECONNRESET}
		}
		if !f.reset.Load() && n%2 == 0 {
			return &http.Response{StatusCode: 503, Status: "503 Slow Down", Header: http.Header{}, Request: req,
				Body: io.NopCloser(strings.NewReader("<Error><Code>SlowDown</Code></Error>"))}, nil
		}
	}
	return http.DefaultTransport.RoundTrip(req)
}

type netErr struct{ error }

// TestFaults: 503s are retried with backoff; a connection that keeps
// being reset mid-publish gives an error naming the object, apt is
// still served the previous state, and the next publish completes.
func TestFaults(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "faults")
	f := &faulty{}
	st := srv.Open(t, "s3://faults", s3.Options{HTTPClient: &http.Client{Transport: f}, MaxAttempts: 3, MaxBackoff: 20 * time.Millisecond})
	dir := t.TempDir()
	key := testkit.Key(t)
	publish := func(name string) error {
		pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, dir, testkit.Deb{Name: name, Version: "1.0", Arch: "amd64"})})
		if err != nil {
			t.Fatal(err)
		}
		_, err = repo.New(st, repo.WithSigner(key)).Publish(t.Context(), pkgs, repo.PublishOptions{})
		return err
	}
	if err := publish("one"); err != nil {
		t.Fatalf("publish with every other PUT answered 503: %v", err)
	}
	before := f.puts.Load()
	var want []string
	for i, after := range []int64{3, 6, 9, 12, 20} {
		f.puts.Store(0)
		f.after = after
		f.reset.Store(true)
		err := publish(fmt.Sprintf("reset%d", i))
		f.reset.Store(false)
		if err != nil && (!strings.Contains(err.Error(), "connection reset") || !strings.Contains(err.Error(), "s3://faults/")) {
			t.Errorf("reset after %d PUTs: %v, want an error naming the object", after, err)
		}
		// Unchanged or completable: the next publish completes it.
		name := fmt.Sprintf("ok%d", i)
		if err := publish(name); err != nil {
			t.Fatalf("publish after a reset after %d PUTs: %v", after, err)
		}
		want = append(want, name)
		rep, verr := repo.New(st).Verify(t.Context(), key.Keyring())
		if verr != nil {
			t.Fatal(verr)
		}
		for _, p := range rep.Problems {
			t.Errorf("after a reset after %d PUTs and a publish: verify: %s", after, p)
		}
	}
	rc, err := st.Get(t.Context(), "dists/development/main/binary-amd64/Packages.gz")
	if err != nil {
		t.Fatal(err)
	}
	gz, _ := io.ReadAll(rc)
	rc.Close()
	data := testkit.Decompress(t, "Packages.gz", gz, compress.Gzip)
	for _, n := range append(want, "one") {
		if !bytes.Contains(data, []byte("Package: "+n+"\n")) {
			t.Errorf("%s lost:\n%s", n, data)
		}
	}
	t.Logf("%d PUTs in the first publish, half of them answered 503", before)
}
