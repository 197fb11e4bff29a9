package repo

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
