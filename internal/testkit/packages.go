package testkit

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/debflow/debflow/internal/compress"
)

// Packages returns the plain text of the index whose files are path
// (".../binary-amd64/Packages") with .gz or .xz appended: debflow lists the
// plain Packages in Release but stores only its compressed forms, as
// Debian's archive does. A plain file, where one is stored, is read as it is.
// It returns nil when there is no such index.
func Packages(t testing.TB, path string) []byte {
	t.Helper()
	if data, err := os.ReadFile(path); err == nil {
		return data
	}
	for _, f := range []compress.Format{compress.Gzip, compress.Xz} {
		data, err := os.ReadFile(path + f.Ext())
		if err != nil {
			continue
		}
		return Decompress(t, filepath.Base(path+f.Ext()), data, f)
	}
	return nil
}

// Decompress decompresses data in format f, failing the test on an error.
func Decompress(t testing.TB, name string, data []byte, f compress.Format) []byte {
	t.Helper()
	rc, err := compress.NewReader(bytes.NewReader(data), f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer rc.Close()
	text, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return text
}
