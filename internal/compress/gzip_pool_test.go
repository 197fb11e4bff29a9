package compress

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// TestGzipReadersReused: a closed gzip reader is reused for the next
// stream, which then reads its own content; the closed one reads no more,
// and closing twice does not put it back twice.
func TestGzipReadersReused(t *testing.T) {
	streams := make([][]byte, 3)
	for i := range streams {
		var buf bytes.Buffer
		w, err := NewWriter(&buf, Gzip)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(w, "stream %d %s", i, bytes.Repeat([]byte{byte('a' + i)}, 100000))
		w.Close()
		streams[i] = buf.Bytes()
	}
	var first *pooledGzip
	for i, data := range streams {
		rc, err := NewReader(bytes.NewReader(data), Gzip)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.HasPrefix(got, []byte(fmt.Sprintf("stream %d ", i))) || len(got) != 100009 {
			t.Fatalf("stream %d: %d bytes, %v", i, len(got), err)
		}
		rc.Close()
		rc.Close()
		if i == 0 {
			first = rc.(*pooledGzip)
		}
	}
	if _, err := first.Read(make([]byte, 1)); err == nil {
		t.Fatal("a closed reader still reads")
	}
	a, _ := NewReader(bytes.NewReader(streams[0]), Gzip)
	b, _ := NewReader(bytes.NewReader(streams[1]), Gzip)
	if a.(*pooledGzip).Reader == b.(*pooledGzip).Reader {
		t.Fatal("two open readers share one gzip reader (closed twice, pooled twice)")
	}
}
