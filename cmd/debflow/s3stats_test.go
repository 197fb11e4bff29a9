package main

import (
	"bytes"
	"testing"
)

type fakeStats struct{ log []string }

func (fakeStats) String() string                     { return "s3://b/" }
func (fakeStats) Stats() (requests, bytesSent int64) { return 2, 10 }
func (f fakeStats) RequestLog() []string             { return f.log }

// TestPrintStorageStats: DEBFLOW_S3_STATS=1 prints the counts,
// DEBFLOW_S3_STATS=2 each request as well.
func TestPrintStorageStats(t *testing.T) {
	for _, tt := range []struct{ v, want string }{
		{"", ""},
		{"1", "debflow: s3://b/: 2 requests, 10 bytes sent\n"},
		{"2", "debflow: s3://b/: GET /b/x 200\ndebflow: s3://b/: PUT /b/y 200\ndebflow: s3://b/: 2 requests, 10 bytes sent\n"},
	} {
		statsMu.Lock()
		opened = []statser{fakeStats{log: []string{"GET /b/x 200", "PUT /b/y 200"}}}
		statsMu.Unlock()
		var stderr bytes.Buffer
		printStorageStats(env{stderr: &stderr, getenv: func(k string) string {
			if k == "DEBFLOW_S3_STATS" {
				return tt.v
			}
			return ""
		}})
		if stderr.String() != tt.want {
			t.Errorf("DEBFLOW_S3_STATS=%q: printed %q, want %q", tt.v, stderr.String(), tt.want)
		}
	}
}
