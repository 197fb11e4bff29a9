package compress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestParseMethod(t *testing.T) {
	for _, tc := range []struct {
		in    string
		f     Format
		level int
	}{
		{"zstd", Zstd, DefaultLevel},
		{"zstd:1", Zstd, 1},
		{"zst:22", Zstd, 22},
		{"zstd:fastest", Zstd, 1},
		{"zstd:Default", Zstd, 3},
		{"zstd:better", Zstd, 7},
		{"zstd:best", Zstd, 11},
		{"gzip:9", Gzip, 9},
		{"gz:1", Gzip, 1},
		{"xz", Xz, DefaultLevel},
		{"none", None, DefaultLevel},
	} {
		f, level, err := ParseMethod(tc.in)
		if err != nil || f != tc.f || level != tc.level {
			t.Errorf("ParseMethod(%q) = %q, %d, %v; want %q, %d", tc.in, f, level, err, tc.f, tc.level)
		}
		if err == nil {
			if err := CheckLevel(f, level); err != nil {
				t.Errorf("CheckLevel refuses what ParseMethod(%q) gave: %v", tc.in, err)
			}
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"zstd:0", `"0" for zstd (valid: 1-22, fastest, default, better or best)`},
		{"zstd:23", `"23" for zstd`},
		{"zstd:fast", `"fast" for zstd`},
		{"zstd:", `"" for zstd`},
		{"gzip:0", `"0" for gzip (valid: 1-9)`},
		{"gzip:10", `"10" for gzip`},
		{"gzip:best", `"best" for gzip`},
		{"xz:6", `xz has no compression levels ("6")`},
		{"none:1", `none has no compression levels`},
	} {
		_, _, err := ParseMethod(tc.in)
		if !errors.Is(err, ErrBadLevel) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseMethod(%q): error %v, want ErrBadLevel saying %s", tc.in, err, tc.want)
		}
	}
	if _, _, err := ParseMethod("lz4:1"); !errors.Is(err, ErrUnknownFormat) {
		t.Errorf("ParseMethod(lz4:1): error %v, want ErrUnknownFormat", err)
	}
	if _, err := NewWriterLevel(&bytes.Buffer{}, Xz, 6); !errors.Is(err, ErrBadLevel) {
		t.Errorf("NewWriterLevel(xz, 6): error %v, want ErrBadLevel", err)
	}
}

// TestLevels compresses the same input at every level of gzip and at a
// level of each zstd speed: each output reads back, does not depend on how
// the input is cut into writes, and the default level gives NewWriter's
// bytes. Higher levels give smaller output, and levels that share a zstd
// encoder speed give the same bytes.
func TestLevels(t *testing.T) {
	data := realisticInput(3<<20+777, 9)
	run := func(f Format, level int, sizes []int) []byte {
		t.Helper()
		return compressWith(t, func(w io.Writer) (io.WriteCloser, error) { return NewWriterLevel(w, f, level) }, data, sizes)
	}
	for _, tc := range []struct {
		f        Format
		levels   []int
		defLevel int
		same     [][2]int
	}{
		{Gzip, []int{1, 2, 3, 4, 5, 6, 7, 8, 9}, gzipLevel, nil},
		{Zstd, []int{1, 3, 7, 11}, 3, [][2]int{{1, 2}, {3, 5}, {6, 9}, {10, 22}}},
	} {
		t.Run(string(tc.f), func(t *testing.T) {
			sizes := map[int]int{}
			for _, level := range tc.levels {
				out := run(tc.f, level, []int{1 << 20})
				if got := decompress(t, tc.f, out); !bytes.Equal(got, data) {
					t.Fatalf("level %d: round trip failed", level)
				}
				if again := run(tc.f, level, []int{4096, 1, 65536}); !bytes.Equal(again, out) {
					t.Errorf("level %d: other writes gave other bytes", level)
				}
				sizes[level] = len(out)
			}
			if def := compress(t, tc.f, data, nil); len(def) != sizes[tc.defLevel] || !bytes.Equal(def, run(tc.f, tc.defLevel, []int{1 << 20})) {
				t.Errorf("the default level is not level %d", tc.defLevel)
			}
			first, last := tc.levels[0], tc.levels[len(tc.levels)-1]
			if sizes[last] >= sizes[first] {
				t.Errorf("level %d gave %d bytes, level %d %d: no smaller", last, sizes[last], first, sizes[first])
			}
			for _, pair := range tc.same {
				a, b := run(tc.f, pair[0], []int{1 << 20}), run(tc.f, pair[1], []int{1 << 20})
				if !bytes.Equal(a, b) {
					t.Errorf("levels %d and %d: %d and %d bytes, want the same encoder", pair[0], pair[1], len(a), len(b))
				}
			}
			t.Log(fmt.Sprint("sizes by level: ", sizes))
		})
	}
}
