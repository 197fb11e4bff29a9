package debfile

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
)

// data walks the data member as a stream: no entry is kept in memory.
func (in *inspector) data(hdr *ar.Header, f compress.Format) error {
	limit := in.lim.dataLimit(hdr.Size)
	s, err := in.openMember(f, limit)
	if err != nil {
		return err
	}
	defer s.Close()
	err = walkData(tar.NewReader(s))
	if err == nil {
		err = s.finish()
	}
	err = s.raw.cause(err)
	if errors.Is(err, compress.ErrTooLarge) {
		if limit < in.lim.MaxData {
			return fmt.Errorf("%w: 64 MiB plus %d times the %d compressed bytes", err, in.lim.MaxRatio, hdr.Size)
		}
		return fmt.Errorf("%w: MaxData", err)
	}
	return err
}

// walkData checks every entry of data.tar and reads it to its end, which
// makes archive/tar check that the archive is complete.
func walkData(tr *tar.Reader) error {
	where := ""
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return tarHeaderError(where, err)
		}
		where = quoteName(hdr.Name)
		if _, err := tarPath(hdr.Name); err != nil {
			return err
		}
		switch hdr.Typeflag {
		case tar.TypeReg, tar.TypeDir, tar.TypeSymlink:
		case tar.TypeLink:
			// A hard link names another entry of the archive, relative to
			// the root that dpkg installs to.
			if _, err := tarPath(hdr.Linkname); err != nil {
				return fmt.Errorf("%s: hard link target: %w", where, err)
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return fmt.Errorf("%s: %s: Debian policy forbids device nodes and FIFOs in packages", where, typeName(hdr.Typeflag))
		default:
			return fmt.Errorf("%s: %s, which dpkg does not install", where, typeName(hdr.Typeflag))
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
	}
}
