package s3_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/repo/storage/s3"
	"github.com/debflow/debflow/repo/storage/s3/s3test"
)

// ignoringServer is an S3 server that accepts If-None-Match and If-Match
// and ignores them, as Garage does: every PUT succeeds.
func ignoringServer(t *testing.T) string {
	var mu sync.Mutex
	objects := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPut:
			data, _ := io.ReadAll(r.Body)
			objects[r.URL.Path] = data
			w.Header().Set("ETag", `"0123456789abcdef0123456789abcdef"`)
		case http.MethodGet, http.MethodHead:
			data, ok := objects[r.URL.Path]
			if !ok {
				w.WriteHeader(http.StatusNotFound)
				return
			}
			w.Write(data)
		case http.MethodDelete:
			delete(objects, r.URL.Path)
			w.WriteHeader(http.StatusNoContent)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func setEnv(t *testing.T, endpoint, access, secret string) {
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": access, "AWS_SECRET_ACCESS_KEY": secret, "AWS_REGION": "us-east-1",
		"AWS_ENDPOINT_URL_S3": endpoint, "AWS_ENDPOINT_URL": "", "AWS_PROFILE": "", "AWS_SESSION_TOKEN": "",
		"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

// TestProbeRefusesIgnoringServer: a server that ignores conditional
// writes is refused before anything is published, with a message that
// says so.
func TestProbeRefusesIgnoringServer(t *testing.T) {
	setEnv(t, ignoringServer(t), "k", "s")
	st, err := s3.Open(t.Context(), "s3://fleet", s3.Options{MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Lock(t.Context(), "test", nil)
	if !errors.Is(err, s3.ErrNoConditionalWrites) || !strings.Contains(err.Error(), "s3://fleet") {
		t.Fatalf("Lock on a server that ignores If-None-Match: %v, want ErrNoConditionalWrites naming the bucket", err)
	}
}

// TestConfigurationErrors: a missing bucket, wrong credentials and an
// unreachable endpoint are clear, fast errors that name the bucket.
func TestConfigurationErrors(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "exists")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for _, tc := range []struct {
		name, endpoint, access, secret, bucket, want string
	}{
		{"missing bucket", srv.URL, srv.Access, srv.Secret, "nope", `bucket "nope" does not exist`},
		{"wrong credentials", srv.URL, srv.Access, "wrong-secret", "exists", "access denied"},
		{"unreachable endpoint", closed, srv.Access, srv.Secret, "exists", "cannot reach the S3 endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, tc.endpoint, tc.access, tc.secret)
			st, err := s3.Open(t.Context(), "s3://"+tc.bucket+"/repo", s3.Options{MaxAttempts: 2, MaxBackoff: 50 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = st.Get(t.Context(), ".debflow/config.json")
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "s3://"+tc.bucket) {
				t.Fatalf("Get: %v, want an error naming s3://%s and saying %q", err, tc.bucket, tc.want)
			}
			if _, err := st.Lock(t.Context(), "test", nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Lock: %v, want %q", err, tc.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("took %s", d)
			}
		})
	}
}
