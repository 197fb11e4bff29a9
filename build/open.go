package build

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// openRegular opens a file the build reads: the spec, a maintainer script,
// a content source. It opens without blocking, so that a FIFO (which would
// wait for a writer forever) or a device cannot hang the build, and then
// refuses anything that is not a regular file. The check is made on the
// open file, so a file swapped after an earlier Stat is caught too.
func openRegular(name string) (*os.File, os.FileInfo, error) {
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, fmt.Errorf("%s: not a regular file (%s)", name, fileType(fi.Mode()))
	}
	return f, fi, nil
}

// readRegular reads a regular file whole; see openRegular.
func readRegular(name string) ([]byte, error) {
	f, fi, err := openRegular(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, fi.Size()+1<<20))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return data, nil
}

func fileType(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	}
	return m.Type().String()
}
