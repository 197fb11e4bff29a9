package compress

import (
	"bytes"
	"io"
	"testing"
)

// TestXzLongRuns guards against a match finder that degenerates on runs of
// one byte (the binary tree took minutes for a MiB of zeros): 16 MiB of
// zeros must compress and round-trip within the test's time limit.
func TestXzLongRuns(t *testing.T) {
	data := make([]byte, 16<<20)
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Xz)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(&buf, Xz)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Fatal("round trip changed the data")
	}
}
