package compress

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"strings"
	"sync"
	"testing"
)

// realisticInput returns size bytes that look like the data.tar of a
// package: text (documentation, scripts, source) and binary (executable
// code, tables) in pieces of a few to a few hundred KiB, with some already
// compressed data in between. It depends only on size and seed.
func realisticInput(size int, seed int64) []byte {
	rng := rand.New(rand.NewSource(seed))
	// A vocabulary with a skewed (Zipf) word frequency, like natural text.
	words := make([]string, 4000)
	const letters = "etaoinshrdlcumwfgypbvkjxqz_"
	for i := range words {
		n := 2 + rng.Intn(9)
		var sb strings.Builder
		for j := 0; j < n; j++ {
			sb.WriteByte(letters[min(rng.Intn(len(letters)), rng.Intn(len(letters)))])
		}
		words[i] = sb.String()
	}
	zipf := rand.NewZipf(rng, 1.1, 4, uint64(len(words)-1))
	// Binary "instructions": a small set of opcode patterns with varying
	// operands.
	opcodes := make([][]byte, 300)
	for i := range opcodes {
		op := make([]byte, 2+rng.Intn(6))
		rng.Read(op)
		opcodes[i] = op
	}
	opZipf := rand.NewZipf(rng, 1.3, 2, uint64(len(opcodes)-1))

	out := make([]byte, 0, size)
	for len(out) < size {
		piece := 4<<10 + rng.Intn(256<<10)
		end := min(size, len(out)+piece)
		switch k := rng.Intn(10); {
		case k < 5: // text
			col := 0
			for len(out) < end {
				w := words[zipf.Uint64()]
				out = append(out, w...)
				col += len(w) + 1
				switch {
				case col > 72:
					out = append(out, '\n')
					col = 0
					if rng.Intn(8) == 0 {
						out = append(out, "    "...)
					}
				case rng.Intn(12) == 0:
					out = append(out, ", "...)
				default:
					out = append(out, ' ')
				}
			}
		case k < 9: // code and tables
			for len(out) < end {
				out = append(out, opcodes[opZipf.Uint64()]...)
				switch rng.Intn(4) {
				case 0:
					out = append(out, byte(rng.Intn(16)), 0, 0, 0)
				case 1:
					out = append(out, byte(rng.Intn(256)), byte(rng.Intn(4)))
				}
			}
		default: // already compressed (images, .gz files)
			n := end - len(out)
			out = out[:len(out)+n]
			rng.Read(out[len(out)-n:])
		}
	}
	return out[:size]
}

var (
	benchInputOnce sync.Once
	benchInput     []byte
)

// benchData is the shared 32 MiB benchmark input.
func benchData() []byte {
	benchInputOnce.Do(func() { benchInput = realisticInput(32<<20, 1) })
	return benchInput
}

// BenchmarkWriter compresses 32 MiB of realistic data, written in 64 KiB
// pieces like archive/tar does, and reports the compression ratio.
func BenchmarkWriter(b *testing.B) {
	data := benchData()
	for _, f := range []Format{Gzip, Xz, Zstd} {
		b.Run(string(f), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var out bytes.Buffer
			out.Grow(len(data))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out.Reset()
				w, err := NewWriter(&out, f)
				if err != nil {
					b.Fatal(err)
				}
				for p := data; len(p) > 0; {
					n := min(len(p), 64<<10)
					if _, err := w.Write(p[:n]); err != nil {
						b.Fatal(err)
					}
					p = p[n:]
				}
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(100*float64(out.Len())/float64(len(data)), "%size")
		})
	}
}

// BenchmarkReader decompresses the output of BenchmarkWriter's input.
func BenchmarkReader(b *testing.B) {
	data := benchData()
	for _, f := range []Format{Gzip, Xz, Zstd} {
		b.Run(string(f), func(b *testing.B) {
			var comp bytes.Buffer
			w, err := NewWriter(&comp, f)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(data); err != nil {
				b.Fatal(err)
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r, err := NewReader(bytes.NewReader(comp.Bytes()), f)
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, r)
				if err != nil || n != int64(len(data)) {
					b.Fatal(fmt.Errorf("read %d bytes: %w", n, err))
				}
				r.Close()
			}
		})
	}
}
