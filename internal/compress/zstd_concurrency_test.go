package compress

import (
	"bytes"
	"fmt"
	"io"
	"testing"
)

// TestZstdConcurrencyOnlyChangesSpeed compresses the same input with encoder
// concurrencies from 2 to 8, at each of the encoder's four speeds: the job
// layout (8 MiB jobs, each seeded with 256 KiB of the input before it)
// depends on the window and level only, so the bytes must be the same. The
// concurrency nevertheless never goes below 2 (zstdConcurrency), because at
// 1 the encoder switches to its serial layout; this test is what allows
// the concurrency to follow GOMAXPROCS above that.
func TestZstdConcurrencyOnlyChangesSpeed(t *testing.T) {
	full := realisticInput(26<<20+4321, 5) // three full jobs and a partial one
	for _, level := range []int{DefaultLevel, 1, 7, 11} {
		data := full
		if level != DefaultLevel {
			data = data[:9<<20+4321] // one full job and a partial one
		}
		t.Run(fmt.Sprintf("level %d", level), func(t *testing.T) {
			t.Parallel()
			run := func(concurrency int) []byte {
				return compressWith(t, func(w io.Writer) (io.WriteCloser, error) {
					return newZstdWriterConcurrency(w, level, concurrency)
				}, data, []int{300 << 10})
			}
			want := run(2)
			if got := decompress(t, Zstd, want); !bytes.Equal(got, data) {
				t.Fatal("round trip failed")
			}
			for _, c := range []int{3, 8} {
				if got := run(c); !bytes.Equal(got, want) {
					t.Errorf("concurrency %d: %d bytes, concurrency 2: %d bytes, not the same", c, len(got), len(want))
				}
			}
			if serial := run(1); bytes.Equal(serial, want) {
				t.Log("concurrency 1 gives the same bytes as well: the pin is no longer needed")
			}
		})
	}
}
