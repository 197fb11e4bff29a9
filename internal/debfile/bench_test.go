package debfile

import (
	"archive/tar"
	"bufio"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
)

// benchDataSize is the uncompressed size of the benchmark package's data.
const benchDataSize = 400 << 20

// benchDeb writes a package whose data.tar.zst holds benchDataSize bytes
// of text with 4 bits of entropy a byte (it compresses about 2:1, so the
// .deb is about 200 MB) and returns its path.
func benchDeb(b *testing.B, f compress.Format) string {
	b.Helper()
	path := filepath.Join(b.TempDir(), "big.deb")
	spool, err := os.CreateTemp(b.TempDir(), "data")
	if err != nil {
		b.Fatal(err)
	}
	defer spool.Close()
	cw, err := compress.NewWriter(spool, f)
	if err != nil {
		b.Fatal(err)
	}
	tw := tar.NewWriter(cw)
	rng := rand.New(rand.NewPCG(1, 2))
	const files = 8
	for i := range files {
		hdr := tarHeader(tarEntry{name: "./usr/share/big/" + string(rune('a'+i))})
		hdr.Size = benchDataSize / files
		if err := tw.WriteHeader(hdr); err != nil {
			b.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		for left := hdr.Size; left > 0; left -= int64(len(buf)) {
			for j := 0; j < len(buf); j += 8 {
				binary.LittleEndian.PutUint64(buf[j:], rng.Uint64()&0x0f0f0f0f0f0f0f0f|0x6060606060606060)
			}
			if _, err := tw.Write(buf[:min(left, int64(len(buf)))]); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		b.Fatal(err)
	}
	size, err := spool.Seek(0, io.SeekCurrent)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		b.Fatal(err)
	}

	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	bw := bufio.NewWriter(out)
	aw := ar.NewWriter(bw)
	for _, m := range (deb{format: f}).members(b)[:2] {
		if err := aw.WriteHeader(&ar.Header{Name: m.name, ModTime: fixtureTime, Mode: 0o100644, Size: int64(len(m.data))}); err != nil {
			b.Fatal(err)
		}
		if _, err := aw.Write(m.data); err != nil {
			b.Fatal(err)
		}
	}
	if err := aw.WriteHeader(&ar.Header{Name: "data.tar" + f.Ext(), ModTime: fixtureTime, Mode: 0o100644, Size: size}); err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(aw, spool); err != nil {
		b.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	return path
}

// BenchmarkInspect inspects a 200 MB package. Compare with
// BenchmarkDecompressOnly, which only decompresses its data member: the
// difference is the cost of hashing and checking.
func BenchmarkInspect(b *testing.B) {
	path := benchDeb(b, compress.Zstd)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		if _, err := InspectFile(path, Limits{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecompressOnly(b *testing.B) {
	path := benchDeb(b, compress.Zstd)
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(fi.Size())
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r := ar.NewReader(f)
		for {
			hdr, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if hdr.Name != "data.tar.zst" {
				continue
			}
			dec, err := compress.NewReader(r, compress.Zstd)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Copy(io.Discard, dec); err != nil {
				b.Fatal(err)
			}
			dec.Close()
		}
		f.Close()
	}
}
