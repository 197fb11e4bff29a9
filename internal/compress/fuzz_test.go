package compress

import (
	"bytes"
	"io"
	"testing"
)

// FuzzReaders feeds arbitrary bytes to every reader, limited to 1 MiB of
// output: no input may panic, hang or allocate without bound.
//
//	go test ./internal/compress/ -run '^$' -fuzz FuzzReaders -fuzztime 5m -fuzzminimizetime 3s
//
// (The short minimization time keeps the fuzzer from spending a minute on
// each new input it finds.)
func FuzzReaders(f *testing.F) {
	for _, format := range []Format{Gzip, Xz, Zstd} {
		for _, in := range [][]byte{nil, []byte("hello, hello, hello\n"), realisticInput(20<<10, 14)} {
			var buf bytes.Buffer
			w, err := NewWriter(&buf, format)
			if err != nil {
				f.Fatal(err)
			}
			w.Write(in)
			w.Close()
			f.Add(buf.Bytes())
		}
	}
	// Two xz streams with padding between them, and a truncated stream.
	xzA := xzSeed(f, "a")
	f.Add(append(append(xzA, 0, 0, 0, 0), xzSeed(f, "b")...))
	f.Add(xzA[:len(xzA)-5])
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xa0, 0x01, 0x00, 0x00})
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"))

	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{Gzip, Xz, Zstd} {
			r, err := NewReader(bytes.NewReader(data), format)
			if err != nil {
				continue
			}
			io.Copy(io.Discard, LimitReader(r, 1<<20))
			r.Close()
		}
	})
}

func xzSeed(f *testing.F, s string) []byte {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, Xz)
	if err != nil {
		f.Fatal(err)
	}
	w.Write([]byte(s))
	w.Close()
	return buf.Bytes()
}
