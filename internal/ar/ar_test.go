package ar

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type member struct{ name, body string }

func write(t testing.TB, members []member, chunk int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, m := range members {
		if err := w.WriteHeader(&Header{Name: m.name, ModTime: time.Unix(1700000000, 0), Mode: 0o100644, Size: int64(len(m.body))}); err != nil {
			t.Fatal(err)
		}
		// Write in pieces: padding must come once per member, not per Write.
		for b := []byte(m.body); len(b) > 0; {
			n := min(chunk, len(b))
			if _, err := w.Write(b[:n]); err != nil {
				t.Fatal(err)
			}
			b = b[n:]
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func read(t testing.TB, data []byte) ([]member, error) {
	t.Helper()
	r := NewReader(bytes.NewReader(data))
	var out []member
	for {
		h, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		body, err := io.ReadAll(r)
		if err != nil {
			return out, err
		}
		out = append(out, member{h.Name, string(body)})
	}
}

var sample = []member{{"debian-binary", "2.0\n"}, {"odd", "abc"}, {"empty", ""}, {"control.tar.xz", strings.Repeat("x", 1001)}}

func TestRoundTrip(t *testing.T) {
	for _, chunk := range []int{1, 3, 4096} {
		data := write(t, sample, chunk)
		got, err := read(t, data)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(sample) {
			t.Fatalf("chunk %d: got %d members", chunk, len(got))
		}
		for i := range sample {
			if got[i] != sample[i] {
				t.Errorf("chunk %d: member %d = %q, want %q", chunk, i, got[i].name, sample[i].name)
			}
		}
	}
}

// TestSystemAr checks our output with binutils' ar, when installed.
func TestSystemAr(t *testing.T) {
	arTool, err := exec.LookPath("ar")
	if err != nil {
		t.Skip("binutils ar not installed")
	}
	file := filepath.Join(t.TempDir(), "x.a")
	if err := writeFile(file, write(t, sample, 7)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(arTool, "t", file).CombinedOutput()
	if err != nil {
		t.Fatalf("ar t: %v\n%s", err, out)
	}
	if want := "debian-binary\nodd\nempty\ncontrol.tar.xz\n"; string(out) != want {
		t.Errorf("ar t = %q, want %q", out, want)
	}
	out, err = exec.Command(arTool, "p", file, "odd").Output()
	if err != nil || string(out) != "abc" {
		t.Errorf("ar p odd = %q, %v", out, err)
	}
}

func TestWriterRefuses(t *testing.T) {
	w := NewWriter(io.Discard)
	if err := w.WriteHeader(&Header{Name: "a/b", Size: 1}); err == nil {
		t.Error("name with '/' accepted")
	}
	if err := w.WriteHeader(&Header{Name: "sixteen-chars-xx", Size: 1}); err == nil {
		t.Error("16-byte name accepted")
	}
	if err := w.WriteHeader(&Header{Name: "a", Size: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("abc")); err == nil {
		t.Error("write beyond the declared size accepted")
	}
	if err := w.Close(); err == nil {
		t.Error("short member accepted")
	}
}

func TestReaderRejects(t *testing.T) {
	good := write(t, sample, 4096)
	cases := map[string][]byte{
		"empty":          nil,
		"bad magic":      append([]byte("!<arch>x"), good[8:]...),
		"truncated head": good[:8+30],
		"truncated data": good[:len(good)-10],
		"bad terminator": bytes.Replace(good, []byte("`\n"), []byte("x\n"), 1),
		"bad size":       bytes.Replace(good, []byte("4         `"), []byte("4x        `"), 1),
		"short mode":     bytes.Replace(good, []byte("100644  "), []byte("1       "), 1), // once panicked blakesmith/ar
		"bad mode":       bytes.Replace(good, []byte("100644  "), []byte("100694  "), 1),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := read(t, data)
			if name == "short mode" {
				// A one-digit mode is odd but well-formed.
				if err != nil {
					t.Fatalf("short mode: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error = %v, want ErrFormat", err)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add(write(f, sample, 4096))
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data))
		for i := 0; i < 100; i++ {
			if _, err := r.Next(); err != nil {
				return
			}
			if _, err := io.Copy(io.Discard, io.LimitReader(r, 1<<20)); err != nil {
				return
			}
		}
	})
}

func writeFile(name string, data []byte) error {
	return os.WriteFile(name, data, 0o644)
}
