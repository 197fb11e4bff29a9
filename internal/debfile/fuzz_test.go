package debfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// fuzzLimits keep every execution small: a bomb costs at most 1 MiB of
// decompression.
var fuzzLimits = Limits{MaxControlTar: 256 << 10, MaxControl: 64 << 10, MaxData: 1 << 20, MaxRatio: 10}

// FuzzInspect checks that Inspect never panics, and that whatever it
// accepts has a control stanza that passes the checks again and hashes of
// exactly the input.
func FuzzInspect(f *testing.F) {
	for _, dir := range []string{corpusDir, filepath.Join("testdata", "valid")} {
		files, err := filepath.Glob(filepath.Join(dir, "*.deb"))
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := Inspect(bytes.NewReader(data), fuzzLimits)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error without ErrInvalid: %v", err)
			}
			return
		}
		if info.Size != int64(len(data)) {
			t.Fatalf("Size = %d for %d bytes", info.Size, len(data))
		}
		if err := checkControl(info.Control); err != nil {
			t.Fatalf("accepted a control stanza that fails its checks: %v", err)
		}
	})
}
