package repo

import (
	"bytes"

	"github.com/debflow/debflow/internal/compress"
)

// file returns a pieced format's rendered file whole (nil when it was not
// made), for tests.
func (ri *renderedIndex) file(f compress.Format) []byte {
	parts, ok := ri.files[f]
	if !ok {
		return nil
	}
	return bytes.Join(parts, nil)
}

// SetPieceTarget sets the plain size of an index piece, for tests, and
// returns a function that restores it.
func SetPieceTarget(n int) (restore func()) {
	old := pieceTarget
	pieceTarget = n
	return func() { pieceTarget = old }
}

// GzipPieces returns the number of pieces of a pieced Packages.gz.
func GzipPieces(data []byte) (int, error) {
	m, err := splitGzip(data)
	return len(m), err
}
