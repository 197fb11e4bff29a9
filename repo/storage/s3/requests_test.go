package s3_test

import (
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/s3"
	"github.com/debflow/debflow/repo/storage/s3/s3test"
)

// TestPublishRequests: the requests of a CI step (one package into an
// existing suite) on S3, by kind (issue 15: at most 25 at 10,000
// packages). The configuration is read once before the lock and once
// under it, the pool file is looked up once (is its name free?) and not
// again after it is stored, and every safety request is still there: the
// lease, the probe, the compare-and-swap of the record.
func TestPublishRequests(t *testing.T) {
	srv := s3test.Start(t)
	srv.Bucket(t, "reqs")
	dir := t.TempDir()
	key := testkit.Key(t)
	publish := func(name string) []string {
		t.Helper()
		st := srv.Open(t, "s3://reqs", s3.Options{LogRequests: true}) // a new process

		pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, dir, testkit.Deb{Name: name, Version: "1.0", Arch: "amd64"})})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := repo.New(st, repo.WithSigner(key)).Publish(t.Context(), pkgs, repo.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		return st.RequestLog()
	}
	publish("first")
	reqs := publish("second")
	count := func(prefix string) int {
		n := 0
		for _, r := range reqs {
			if strings.HasPrefix(r, prefix) {
				n++
			}
		}
		return n
	}
	pool := "/reqs/pool/main/s/second/second_1.0_amd64.deb"
	for _, c := range []struct {
		what, prefix string
		want         int
	}{
		{"configuration reads", "GET /reqs/.debflow/config.json", 2},
		{"lease PUTs (the lease and the probe)", "PUT /reqs/.debflow/lock", 2},
		{"lease releases", "DELETE /reqs/.debflow/lock", 1},
		{"pool lookups", "HEAD " + pool, 1},
		{"pool PUTs", "PUT " + pool, 1},
		{"record PUTs (the compare-and-swap)", "PUT /reqs/.debflow/suites/development.json", 1},
	} {
		if n := count(c.prefix); n != c.want {
			t.Errorf("%s: %d, want %d", c.what, n, c.want)
		}
	}
	if len(reqs) > 21 {
		t.Errorf("%d requests, want at most 21", len(reqs))
	}
	if t.Failed() {
		t.Logf("requests:\n%s", strings.Join(reqs, "\n"))
	}
}
