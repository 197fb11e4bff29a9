package compress

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

var allFormats = []Format{None, Gzip, Xz, Zstd}

// compress runs data through NewWriter in Write calls of the given sizes
// (cycled; nil means one call).
func compress(t testing.TB, f Format, data []byte, sizes []int) []byte {
	t.Helper()
	return compressWith(t, func(w io.Writer) (io.WriteCloser, error) { return NewWriter(w, f) }, data, sizes)
}

// compressWith is compress with the writer that newWriter makes.
func compressWith(t testing.TB, newWriter func(io.Writer) (io.WriteCloser, error), data []byte, sizes []int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := newWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := 0, data; len(p) > 0; i++ {
		n := len(p)
		if len(sizes) > 0 {
			n = min(n, sizes[i%len(sizes)])
		}
		if _, err := w.Write(p[:n]); err != nil {
			t.Fatalf("write: %v", err)
		}
		p = p[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return buf.Bytes()
}

func decompress(t testing.TB, f Format, comp []byte) []byte {
	t.Helper()
	r, err := NewReader(bytes.NewReader(comp), f)
	if err != nil {
		t.Fatalf("%s: new reader: %v", f, err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: read: %v", f, err)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("%s: close reader: %v", f, err)
	}
	return got
}

type namedInput struct {
	name string
	data []byte
}

// testInputs are the round-trip inputs: edge sizes around the gzip chunk
// and the xz block, and several MB of mixed data.
func testInputs() []namedInput {
	rnd := make([]byte, 3<<20)
	rand.New(rand.NewSource(7)).Read(rnd)
	mixed := realisticInput(9<<20, 2)
	return []namedInput{
		{"empty", nil},
		{"one-byte", []byte{'x'}},
		{"small", []byte("Package: hello\nVersion: 2.10-3\nArchitecture: amd64\n")},
		{"gzip-chunk", mixed[:gzipChunkSize]},
		{"gzip-chunk+1", mixed[:gzipChunkSize+1]},
		{"xz-block", mixed[:xzBlockSize]},
		{"random-3MiB", rnd},
		{"zeros-5MiB", make([]byte, 5<<20)},
		{"mixed-9MiB", mixed},
	}
}

func TestRoundTrip(t *testing.T) {
	inputs := testInputs()
	for _, f := range allFormats {
		for _, in := range inputs {
			t.Run(string(f)+"/"+in.name, func(t *testing.T) {
				comp := compress(t, f, in.data, []int{100 << 10, 1, 7 << 10, 3 << 20})
				got := decompress(t, f, comp)
				if !bytes.Equal(got, in.data) {
					t.Fatalf("round trip: got %d bytes, want %d", len(got), len(in.data))
				}
				if f == None && !bytes.Equal(comp, in.data) {
					t.Fatal("none changed the data")
				}
			})
		}
	}
}

// TestWriteSplitting checks that the output does not depend on how the
// input is cut into Write calls.
func TestWriteSplitting(t *testing.T) {
	data := realisticInput(9<<20+12345, 3)
	for _, f := range []Format{Gzip, Xz, Zstd} {
		t.Run(string(f), func(t *testing.T) {
			want := compress(t, f, data, nil)
			for _, sizes := range [][]int{{1 << 20}, {4096, 1, 65536, 999}, {xzBlockSize + 1}} {
				if got := compress(t, f, data, sizes); !bytes.Equal(got, want) {
					t.Fatalf("writes of %v gave different output", sizes)
				}
			}
		})
	}
}

// TestDeterministicAcrossGOMAXPROCS compresses the same input with 1 and 4
// Ps: debflow's packages are reproducible, so the bytes must not change with
// the machine.
func TestDeterministicAcrossGOMAXPROCS(t *testing.T) {
	// Large enough for several gzip chunks, xz blocks and zstd jobs.
	data := realisticInput(18<<20, 4)
	old := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(old)
	for _, f := range []Format{Gzip, Xz, Zstd} {
		t.Run(string(f), func(t *testing.T) {
			var sums [2][32]byte
			for i, procs := range []int{1, 4} {
				runtime.GOMAXPROCS(procs)
				sums[i] = sha256.Sum256(compress(t, f, data, []int{64 << 10}))
			}
			runtime.GOMAXPROCS(old)
			if sums[0] != sums[1] {
				t.Fatalf("GOMAXPROCS=1 gave %x, GOMAXPROCS=4 gave %x", sums[0][:8], sums[1][:8])
			}
		})
	}
}

// TestGzipFormat checks the fixed header and that small inputs give a plain
// gzip stream that ends in one final block.
func TestGzipFormat(t *testing.T) {
	comp := compress(t, Gzip, []byte("hello\n"), nil)
	want := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255}
	if !bytes.Equal(comp[:10], want) {
		t.Fatalf("header % x, want % x", comp[:10], want)
	}
	// A sync flush marker (00 00 ff ff) only appears between chunks.
	if bytes.Contains(comp, []byte{0, 0, 0xff, 0xff}) {
		t.Fatalf("single-chunk output contains a sync flush: % x", comp)
	}
	big := compress(t, Gzip, realisticInput(3<<20, 5), nil)
	if n := bytes.Count(big, []byte{0, 0, 0xff, 0xff}); n < 2 {
		t.Fatalf("3 MiB gave %d sync flushes, want at least 2 (one per chunk boundary)", n)
	}
}

type closeRecorder struct {
	bytes.Buffer
	closed bool
}

func (c *closeRecorder) Close() error {
	c.closed = true
	return nil
}

func TestWriterDoesNotCloseUnderlying(t *testing.T) {
	for _, f := range allFormats {
		var c closeRecorder
		w, err := NewWriter(&c, f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if c.closed {
			t.Errorf("%s: Close closed the underlying writer", f)
		}
		if err := w.Close(); err != nil {
			t.Errorf("%s: second Close: %v", f, err)
		}
		if _, err := w.Write([]byte("x")); err == nil {
			t.Errorf("%s: Write after Close succeeded", f)
		}
		if f != None {
			if got := decompress(t, f, c.Bytes()); string(got) != "data" {
				t.Errorf("%s: got %q", f, got)
			}
		}
	}
}

type failingWriter struct{ after int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errDiskFull
	}
	w.after--
	return len(p), nil
}

// TestWriterErrors checks that an error of the underlying writer reaches
// the caller, wrapped, from Write or Close.
func TestWriterErrors(t *testing.T) {
	data := realisticInput(5<<20, 6)
	for _, f := range allFormats {
		for _, after := range []int{0, 1, 2} {
			w, err := NewWriter(&failingWriter{after: after}, f)
			if err != nil {
				t.Fatal(err)
			}
			var werr error
			for p := data; len(p) > 0 && werr == nil; {
				n := min(len(p), 2<<20)
				_, werr = w.Write(p[:n])
				p = p[n:]
			}
			cerr := w.Close()
			if !errors.Is(werr, errDiskFull) && !errors.Is(cerr, errDiskFull) {
				t.Errorf("%s after %d writes: Write error %v, Close error %v; want %v", f, after, werr, cerr, errDiskFull)
			}
		}
	}
}

func TestReaderRejectsGarbage(t *testing.T) {
	garbage := []byte("this is not compressed data at all, not even a little")
	for _, f := range []Format{Gzip, Xz, Zstd} {
		r, err := NewReader(bytes.NewReader(garbage), f)
		if err == nil {
			_, err = io.ReadAll(r)
		}
		if err == nil {
			t.Errorf("%s: garbage accepted", f)
		}
	}
}

// TestReaderTruncatedAndCorrupt cuts and flips our own output: every reader
// must report an error, never return wrong data silently.
func TestReaderTruncatedAndCorrupt(t *testing.T) {
	data := realisticInput(300<<10, 8)
	for _, f := range []Format{Gzip, Xz, Zstd} {
		comp := compress(t, f, data, nil)
		for _, cut := range []int{1, 5, len(comp) / 2, len(comp) - 1} {
			r, err := NewReader(bytes.NewReader(comp[:cut]), f)
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if err == nil {
				t.Errorf("%s: truncation to %d bytes not detected", f, cut)
			}
		}
		rng := rand.New(rand.NewSource(9))
		for i := 0; i < 20; i++ {
			bad := bytes.Clone(comp)
			bad[rng.Intn(len(bad))] ^= byte(1 + rng.Intn(255))
			r, err := NewReader(bytes.NewReader(bad), f)
			if err != nil {
				continue
			}
			got, err := io.ReadAll(r)
			if err == nil && !bytes.Equal(got, data) {
				t.Errorf("%s: corruption gave different data without an error", f)
			}
		}
	}
}

// TestXzConcatenatedAndPadded checks concatenated xz streams with stream
// padding, and rejects misaligned padding.
func TestXzConcatenatedAndPadded(t *testing.T) {
	a := compress(t, Xz, []byte("first\n"), nil)
	b := compress(t, Xz, []byte("second\n"), nil)
	empty := compress(t, Xz, nil, nil)
	in := bytes.Join([][]byte{a, make([]byte, 8), empty, b, make([]byte, 4)}, nil)
	if got := decompress(t, Xz, in); string(got) != "first\nsecond\n" {
		t.Fatalf("got %q", got)
	}
	r, err := NewReader(bytes.NewReader(append(bytes.Clone(a), 0, 0)), Xz)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("padding of 2 bytes accepted")
	}
	r, err = NewReader(bytes.NewReader(append(bytes.Clone(a), "junk"...)), Xz)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(r); err == nil {
		t.Fatal("trailing garbage accepted")
	}
}

func TestMultiMemberGzip(t *testing.T) {
	in := append(compress(t, Gzip, []byte("one "), nil), compress(t, Gzip, []byte("two"), nil)...)
	if got := decompress(t, Gzip, in); string(got) != "one two" {
		t.Fatalf("got %q", got)
	}
}

// xzWithDict returns our xz stream for "hi" with the dictionary size code
// in its block header replaced.
func xzWithDict(t *testing.T, code byte) []byte {
	t.Helper()
	out := compress(t, Xz, []byte("hi"), nil)
	hdr := out[12:]
	size := (int(hdr[0]) + 1) * 4
	// size, flags, compressed size, uncompressed size, filter ID, property size
	pos := 2
	for i := 0; i < 2; i++ {
		_, n, err := parseVarint(hdr[pos:])
		if err != nil {
			t.Fatal(err)
		}
		pos += n
	}
	if hdr[pos] != xzFilterLZMA2 || hdr[pos+1] != 1 {
		t.Fatalf("unexpected block header % x", hdr[:size])
	}
	hdr[pos+2] = code
	binary.LittleEndian.PutUint32(hdr[size-4:], crc32.ChecksumIEEE(hdr[:size-4]))
	return out
}

// TestXzDictionaryLimit checks that a block asking for a dictionary beyond
// MaxDecoderWindow is refused before anything is allocated for it.
func TestXzDictionaryLimit(t *testing.T) {
	if got := decompress(t, Xz, xzWithDict(t, 22)); string(got) != "hi" { // 8 MiB
		t.Fatalf("got %q", got)
	}
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	r, err := NewReader(bytes.NewReader(xzWithDict(t, 40)), Xz) // 4 GiB - 1
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(r)
	runtime.ReadMemStats(&ms1)
	if err == nil || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("4 GiB dictionary: error %v", err)
	}
	if d := ms1.TotalAlloc - ms0.TotalAlloc; d > 16<<20 {
		t.Fatalf("refusing a 4 GiB dictionary allocated %d bytes", d)
	}
}

// TestZstdWindowLimit checks that a frame asking for a 1 GiB window is
// refused.
func TestZstdWindowLimit(t *testing.T) {
	frame := []byte{
		0x28, 0xb5, 0x2f, 0xfd, // magic
		0x00,             // no checksum, no content size, not single segment
		(30 - 10) << 3,   // window descriptor: 2^30
		0x01, 0x00, 0x00, // last raw block of 0 bytes
	}
	r, err := NewReader(bytes.NewReader(frame), Zstd)
	if err == nil {
		_, err = io.ReadAll(r)
	}
	if !errors.Is(err, zstd.ErrWindowSizeExceeded) && !errors.Is(err, zstd.ErrDecoderSizeExceeded) {
		t.Fatalf("1 GiB window: error %v, want a window size error", err)
	}
	// The same frame with a 1 MiB window is fine.
	frame[5] = (20 - 10) << 3
	if got := decompress(t, Zstd, frame); len(got) != 0 {
		t.Fatalf("got %d bytes", len(got))
	}
}

func TestLimitReader(t *testing.T) {
	data := []byte("0123456789")
	for _, tc := range []struct {
		limit   int64
		wantErr bool
	}{
		{-1, true}, {0, true}, {9, true}, {10, false}, {11, false}, {1 << 40, false},
	} {
		got, err := io.ReadAll(LimitReader(bytes.NewReader(data), tc.limit))
		if tc.wantErr {
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("limit %d: error %v, want ErrTooLarge", tc.limit, err)
			}
			if int64(len(got)) > max(tc.limit, 0) {
				t.Errorf("limit %d: returned %d bytes", tc.limit, len(got))
			}
			continue
		}
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("limit %d: got %q, %v", tc.limit, got, err)
		}
	}
	// The error sticks.
	lr := LimitReader(strings.NewReader("abc"), 1)
	io.ReadAll(lr)
	if _, err := lr.Read(make([]byte, 1)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("second read: %v", err)
	}
}

// countingSource counts the compressed bytes a reader pulls.
type countingSource struct {
	r io.Reader
	n int64
}

func (c *countingSource) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zeroReader yields zeros forever.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestDecompressionBomb checks that 1 GiB of zeros, which compresses to a
// few tens of KiB, is stopped by LimitReader quickly, after reading little
// of the compressed input and allocating little memory.
func TestDecompressionBomb(t *testing.T) {
	const size = 1 << 30
	cases := []struct {
		f    Format
		size int64
	}{
		{Zstd, size},
		{Gzip, 64 << 20}, // deflate tops out at 1:1032; 64 MiB keeps the test quick
	}
	for _, tc := range cases {
		t.Run(string(tc.f), func(t *testing.T) {
			var comp bytes.Buffer
			w, err := NewWriter(&comp, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.CopyN(w, zeroReader{}, tc.size); err != nil {
				t.Fatal(err)
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d MiB of zeros compress to %d bytes", tc.size>>20, comp.Len())

			const limit = 10 << 20
			var ms0, ms1 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms0)
			start := time.Now()
			src := &countingSource{r: bytes.NewReader(comp.Bytes())}
			r, err := NewReader(src, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			n, err := io.Copy(io.Discard, LimitReader(r, limit))
			r.Close()
			elapsed := time.Since(start)
			runtime.ReadMemStats(&ms1)
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("read %d bytes, error %v; want ErrTooLarge", n, err)
			}
			if n != limit {
				t.Errorf("read %d bytes before the error, want %d", n, limit)
			}
			alloc := ms1.TotalAlloc - ms0.TotalAlloc
			t.Logf("stopped after %v, %d compressed bytes read, %d bytes allocated", elapsed, src.n, alloc)
			if alloc > 64<<20 {
				t.Errorf("allocated %d bytes to reject a bomb", alloc)
			}
			if src.n > int64(comp.Len())/2 && comp.Len() > 1<<20 {
				t.Errorf("read %d of %d compressed bytes", src.n, comp.Len())
			}
			if elapsed > 10*time.Second {
				t.Errorf("took %v", elapsed)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
	}{
		{"none", None}, {"gzip", Gzip}, {"gz", Gzip}, {"xz", Xz}, {"zstd", Zstd}, {"zst", Zstd},
		{"GZIP", Gzip}, {" xz ", Xz},
	} {
		got, err := ParseFormat(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseFormat(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "bzip2", "lzma", "zstandard", "gzip9", "tar"} {
		_, err := ParseFormat(in)
		if !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("ParseFormat(%q): error %v, want ErrUnknownFormat", in, err)
			continue
		}
		for _, name := range []string{"none", "gzip", "gz", "xz", "zstd", "zst"} {
			if !strings.Contains(err.Error(), name) {
				t.Errorf("ParseFormat(%q): error %q does not list %q", in, err, name)
			}
		}
	}
}

func TestExt(t *testing.T) {
	for f, want := range map[Format]string{None: "", Gzip: ".gz", Xz: ".xz", Zstd: ".zst", "bogus": ""} {
		if got := f.Ext(); got != want {
			t.Errorf("%q.Ext() = %q, want %q", f, got, want)
		}
	}
	// Ext and FormatForName agree.
	for _, f := range allFormats {
		got, err := FormatForName("data.tar" + f.Ext())
		if err != nil || got != f {
			t.Errorf("FormatForName(data.tar%s) = %q, %v", f.Ext(), got, err)
		}
	}
}

func TestFormatForName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want Format
	}{
		{"data.tar.xz", Xz}, {"data.tar.gz", Gzip}, {"data.tar.zst", Zstd}, {"data.tar", None},
		{"control.tar.zst", Zstd}, {"control.tar", None}, {"debian-binary", None},
		{"dists/stable/main/binary-amd64/Packages.gz", Gzip},
		{"dists/stable/main/binary-amd64/Packages.xz", Xz},
		{"dists/stable/main/binary-amd64/Packages", None},
		{"/srv/repo/dists/stable.d/Release", None},
	} {
		got, err := FormatForName(tc.name)
		if err != nil || got != tc.want {
			t.Errorf("FormatForName(%q) = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"data.tar.bz2", "data.tar.lzma", "Packages.lz4", "hello_1.0_amd64.deb", "data.tar.ZST", "x.zstd"} {
		if _, err := FormatForName(name); !errors.Is(err, ErrUnknownFormat) {
			t.Errorf("FormatForName(%q): error %v, want ErrUnknownFormat", name, err)
		}
	}
}

func TestUnknownFormat(t *testing.T) {
	if _, err := NewWriter(io.Discard, "bzip2"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("NewWriter: %v", err)
	}
	if _, err := NewReader(strings.NewReader(""), ""); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("NewReader: %v", err)
	}
}

// Example of the intended use for a .deb member.
func ExampleNewWriter() {
	var member bytes.Buffer
	f, _ := FormatForName("data.tar.zst")
	w, _ := NewWriter(&member, f)
	fmt.Fprintln(w, "tar bytes would go here")
	w.Close()
	r, _ := NewReader(&member, f)
	out, _ := io.ReadAll(LimitReader(r, 1<<20))
	fmt.Print(string(out))
	// Output: tar bytes would go here
}
