// Package s3test runs versitygw, a real S3 server with a POSIX backend
// that enforces If-Match and If-None-Match, on 127.0.0.1 for tests.
//
// CI installs it with
//
//	go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
//
// and tests that need it are skipped when it is missing.
package s3test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/debflow/debflow/repo/storage/s3"
)

// Server is a running versitygw.
type Server struct {
	URL     string // http://127.0.0.1:PORT
	Access  string
	Secret  string
	DataDir string // buckets are directories here
}

// Binary returns the versitygw binary, or "" when it is not installed.
func Binary() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	if gopath != "" {
		p := filepath.Join(gopath, "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Start starts versitygw on a free port and stops it when the test ends.
// The test is skipped when versitygw is not installed.
func Start(t testing.TB) *Server {
	t.Helper()
	bin := Binary()
	if bin == "" {
		t.Skip("versitygw not installed (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0; .ci/run installs it)")
	}
	dir := t.TempDir()
	data, meta := filepath.Join(dir, "data"), filepath.Join(dir, "meta")
	for _, d := range []string{data, meta} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &Server{URL: "http://" + addr, Access: "debflowtest", Secret: "debflowtestsecret", DataDir: data}
	cmd := exec.Command(bin, "--port", addr, "--keep-alive", "--quiet", "posix", "--sidecar", meta, data)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.Access, "ROOT_SECRET_KEY="+s.Secret)
	logf, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		logf.Close()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("versitygw does not answer on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return s
}

// Env returns the environment that points the AWS SDK at the server.
func (s *Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.Access,
		"AWS_SECRET_ACCESS_KEY=" + s.Secret,
		"AWS_REGION=us-east-1",
		"AWS_ENDPOINT_URL_S3=" + s.URL,
		"AWS_CONFIG_FILE=/dev/null",
		"AWS_SHARED_CREDENTIALS_FILE=/dev/null",
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// SetEnv sets Env in the test's environment.
func (s *Server) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_SESSION_TOKEN", "")
}

// client is a raw SDK client for the test's own setup.
func (s *Server) client() *s3sdk.Client {
	return s3sdk.New(s3sdk.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.URL),
		UsePathStyle: true,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: s.Access, SecretAccessKey: s.Secret}, nil
		}),
	})
}

// Bucket creates a bucket.
func (s *Server) Bucket(t testing.TB, name string) {
	t.Helper()
	if _, err := s.client().CreateBucket(t.Context(), &s3sdk.CreateBucketInput{Bucket: &name}); err != nil {
		t.Fatalf("creating bucket %s: %v", name, err)
	}
}

// PublicRead lets anyone GET the bucket's objects without credentials, as
// a public bucket or a CDN origin does for devices.
func (s *Server) PublicRead(t testing.TB, bucket string) {
	t.Helper()
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",`+
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%s/*"]}]}`, bucket)
	if _, err := s.client().PutBucketPolicy(t.Context(), &s3sdk.PutBucketPolicyInput{Bucket: &bucket, Policy: &policy}); err != nil {
		t.Fatalf("bucket policy of %s: %v", bucket, err)
	}
}

// Open sets the environment (SetEnv) and opens s3://BUCKET[/PREFIX].
func (s *Server) Open(t testing.TB, spec string, opts s3.Options) *s3.Store {
	t.Helper()
	s.SetEnv(t)
	st, err := s3.Open(t.Context(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	return st
}
