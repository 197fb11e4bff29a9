package s3_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/s3"
	"github.com/debflow/debflow/repo/storage/s3/s3test"
	"github.com/debflow/debflow/repo/storagetest"
)

// TestStorageSuite runs the shared storage suite on versitygw, one bucket
// and prefix per test.
func TestStorageSuite(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "suite")
	var n atomic.Int32
	storagetest.Run(t, func(t *testing.T) repo.Storage {
		return srv.Open(t, fmt.Sprintf("s3://suite/t%d", n.Add(1)), s3.Options{LeaseTTL: 3 * 1e9})
	})
}

func TestParseURL(t *testing.T) {
	for _, tt := range []struct{ in, bucket, prefix, err string }{
		{"s3://b", "b", "", ""},
		{"s3://b/", "b", "", ""},
		{"s3://b/x/y/", "b", "x/y", ""},
		{"s3://", "", "", "no bucket"},
		{"s3://b/../x", "", "", "invalid object name"},
		{"/dir", "", "", "not an s3://"},
	} {
		b, p, err := s3.ParseURL(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseURL(%q) = %v, want an error with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || b != tt.bucket || p != tt.prefix {
			t.Errorf("ParseURL(%q) = %q, %q, %v; want %q, %q", tt.in, b, p, err, tt.bucket, tt.prefix)
		}
	}
}

// TestConditionalPut: the compare-and-swap the commit point relies on.
func TestConditionalPut(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "cas")
	st := srv.Open(t, "s3://cas", s3.Options{})
	ctx := t.Context()
	v1, err := st.PutIfVersion(ctx, ".debflow/suites/dev.json", strings.NewReader("1"), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutIfVersion(ctx, ".debflow/suites/dev.json", strings.NewReader("other"), ""); !errors.Is(err, repo.ErrPreconditionFailed) {
		t.Fatalf("a second create = %v, want ErrPreconditionFailed", err)
	}
	data, v, err := st.GetVersion(ctx, ".debflow/suites/dev.json")
	if err != nil || v != v1 || string(data) != "1" {
		t.Fatalf("GetVersion = %q, %q, %v; want %q, %q", data, v, err, "1", v1)
	}
	v2, err := st.PutIfVersion(ctx, ".debflow/suites/dev.json", strings.NewReader("2"), v1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.PutIfVersion(ctx, ".debflow/suites/dev.json", strings.NewReader("stale"), v1); !errors.Is(err, repo.ErrPreconditionFailed) || !strings.Contains(err.Error(), "s3://cas/.debflow/suites/dev.json") {
		t.Fatalf("a put on a stale version = %v, want ErrPreconditionFailed naming the object", err)
	}
	if data, v, _ := st.GetVersion(ctx, ".debflow/suites/dev.json"); string(data) != "2" || v != v2 {
		t.Errorf("after the refused put: %q, %q; want %q, %q", data, v, "2", v2)
	}
	if _, _, err := st.GetVersion(ctx, "missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("GetVersion of a missing object = %v", err)
	}
	_ = bytes.MinRead
}

// TestLeaseTakeover: a publisher killed while holding the lease (it no
// longer renews it) delays the next one by one lease length, no more.
func TestLeaseTakeover(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "lease")
	st := srv.Open(t, "s3://lease/p", s3.Options{LeaseTTL: 2 * time.Second})
	if err := s3.WriteDeadLease(t.Context(), st, "killed publisher", 2*time.Second); err != nil {
		t.Fatal(err)
	}
	var waited []string
	start := time.Now()
	unlock, err := st.Lock(t.Context(), "next", func(h string, _ time.Time) { waited = append(waited, h) })
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 1500*time.Millisecond || d > 5*time.Second {
		t.Errorf("took over a dead lease of 2s after %v", d)
	}
	if len(waited) == 0 || waited[0] != "killed publisher" {
		t.Errorf("waiting reports %q, want the dead holder", waited)
	}
	// A live holder renews its lease: nobody takes it over.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := st.Lock(ctx, "second", nil); !errors.Is(err, repo.ErrLockTimeout) || !strings.Contains(err.Error(), "next") {
		t.Errorf("Lock while a live holder renews its lease = %v, want a timeout naming the holder", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
}

// TestRequestLog: with LogRequests, each request is listed with its
// method, path and status (DEBFLOW_S3_STATS=2 prints them).
func TestRequestLog(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "rlog")
	st := srv.Open(t, "s3://rlog/p", s3.Options{LogRequests: true})
	ctx := t.Context()
	if err := st.Put(ctx, "a/b", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "a/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Stat of a missing object: %v", err)
	}
	want := []string{"PUT /rlog/p/a/b?x-id=PutObject 200", "HEAD /rlog/p/a/missing 404"}
	got := st.RequestLog()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("RequestLog() = %q, want %q", got, want)
	}
	if n, _ := st.Stats(); n != int64(len(want)) {
		t.Errorf("Stats() counts %d requests, want %d", n, len(want))
	}
	if l := srv.Open(t, "s3://rlog/q", s3.Options{}).RequestLog(); l != nil {
		t.Errorf("RequestLog() without LogRequests = %q, want nil", l)
	}
}

// checksumRewriter changes the CRC32 that PUT responses report.
type checksumRewriter struct {
	mode atomic.Value // "", "drop" or "wrong"
}

func (c *checksumRewriter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.Method != http.MethodPut {
		return resp, err
	}
	switch c.mode.Load() {
	case "drop":
		resp.Header.Del("X-Amz-Checksum-Crc32")
	case "wrong":
		resp.Header.Set("X-Amz-Checksum-Crc32", "AAAAAA==")
	}
	return resp, err
}

// TestPutStat: a pool file is stored and its size known in one request
// when the server reports the checksum of what it stored; a HEAD is made
// when it reports none, and a different checksum is an error.
func TestPutStat(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "putstat")
	rw := &checksumRewriter{}
	rw.mode.Store("")
	st := srv.Open(t, "s3://putstat", s3.Options{HTTPClient: &http.Client{Transport: rw}, LogRequests: true})
	ctx := t.Context()
	body := strings.Repeat("deb", 1000)
	for _, tt := range []struct {
		mode, name string
		requests   []string
		err        string
	}{
		{"", "a.deb", []string{"PUT /putstat/a.deb?x-id=PutObject 200"}, ""},
		{"drop", "b.deb", []string{"PUT /putstat/b.deb?x-id=PutObject 200", "HEAD /putstat/b.deb 200"}, ""},
		{"wrong", "c.deb", []string{"PUT /putstat/c.deb?x-id=PutObject 200"}, "the server stored an object with CRC32 AAAAAA=="},
	} {
		rw.mode.Store(tt.mode)
		before := len(st.RequestLog())
		oi, err := st.PutStat(ctx, tt.name, strings.NewReader(body))
		if got := st.RequestLog()[before:]; strings.Join(got, "\n") != strings.Join(tt.requests, "\n") {
			t.Errorf("%s (%q): requests %q, want %q", tt.name, tt.mode, got, tt.requests)
		}
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || !strings.Contains(err.Error(), "s3://putstat/"+tt.name) {
				t.Errorf("%s (%q): %v, want an error with %q naming the object", tt.name, tt.mode, err, tt.err)
			}
			continue
		}
		if err != nil || oi.Size != int64(len(body)) || oi.Name != tt.name {
			t.Errorf("%s (%q): PutStat = %+v, %v; want size %d", tt.name, tt.mode, oi, err, len(body))
		}
	}
}
