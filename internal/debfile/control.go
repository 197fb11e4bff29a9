package debfile

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debian"
)

// publisherFields are written by the publisher into a package's stanza in
// the Packages index. An uploader who sets them could make the index point
// at another file, claim another file's hashes, or decide the rollout.
var publisherFields = []string{
	"Filename", "MSDOS-Filename", "Size",
	"MD5sum", "SHA1", "SHA256", "SHA512", "Description-md5",
	"Phased-Update-Percentage",
}

// databaseFields belong to dpkg's status database. dpkg refuses the first
// four in a package's control file, so the package could not be installed;
// Conffiles is filled from the conffiles file.
var databaseFields = []string{
	"Status", "Config-Version", "Triggers-Pending", "Triggers-Awaited", "Conffiles",
}

// relationFields hold package relationships, which apt parses in every
// Packages stanza; one it cannot parse breaks "apt-get update" for all.
var relationFields = []string{
	"Depends", "Pre-Depends", "Recommends", "Suggests", "Enhances",
	"Breaks", "Conflicts", "Replaces", "Provides", "Built-Using",
}

// control checks the control member and fills in.info from ./control.
func (in *inspector) control(_ *ar.Header, f compress.Format) error {
	s, err := in.openMember(f, in.lim.MaxControlTar)
	if err != nil {
		return err
	}
	defer s.Close()
	name, data, err := in.controlTar(s)
	if err != nil {
		return s.raw.cause(err)
	}
	if err := s.finish(); err != nil {
		return err
	}
	if name == "" {
		return errors.New("no ./control file")
	}
	if !utf8.Valid(data) {
		// Debian policy 5.1; the index is read as UTF-8 by every client.
		return fmt.Errorf("%s: not valid UTF-8", name)
	}
	p, err := debian.ParseParagraph(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if err := checkControl(p); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	in.info.Control = p
	in.info.Package = p.Get("Package")
	in.info.Version = p.Get("Version")
	in.info.Architecture = p.Get("Architecture")
	return nil
}

// controlTar walks control.tar and returns the name and content of its
// control file; the name is "" when there is none.
func (in *inspector) controlTar(r io.Reader) (string, []byte, error) {
	tr := tar.NewReader(r)
	seen := map[string]bool{}
	var (
		where   string // the current entry, for messages
		name    string // the control file's entry name
		control []byte
	)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return name, control, nil
		}
		if err != nil {
			return "", nil, tarHeaderError(where, err)
		}
		where = quoteName(hdr.Name)
		clean, err := tarPath(hdr.Name)
		if err != nil {
			return "", nil, err
		}
		if seen[clean] {
			return "", nil, fmt.Errorf("%s: duplicate entry", where)
		}
		seen[clean] = true
		switch hdr.Typeflag {
		case tar.TypeDir:
			continue
		case tar.TypeReg:
		default:
			return "", nil, fmt.Errorf("%s: %s; control.tar may only hold regular files and directories", where, typeName(hdr.Typeflag))
		}
		limit := in.lim.MaxControlTar
		if clean == "control" {
			limit = in.lim.MaxControl
		}
		if hdr.Size > limit {
			return "", nil, fmt.Errorf("%s: %d bytes, more than the limit of %d", where, hdr.Size, limit)
		}
		if clean != "control" {
			if _, err := io.Copy(io.Discard, tr); err != nil {
				return "", nil, fmt.Errorf("%s: %w", where, err)
			}
			continue
		}
		name, control = hdr.Name, make([]byte, hdr.Size)
		if _, err := io.ReadFull(tr, control); err != nil {
			return "", nil, fmt.Errorf("%s: %w", where, err)
		}
	}
}

// checkControl applies the checks of the package documentation to a parsed
// control stanza.
func checkControl(p debian.Paragraph) error {
	for _, f := range p {
		if containsFold(publisherFields, f.Name) {
			return fmt.Errorf("field %q may only be set by the publisher", f.Name)
		}
		if containsFold(databaseFields, f.Name) {
			return fmt.Errorf("field %q belongs to dpkg's status database, not to a package", f.Name)
		}
	}
	for _, name := range []string{"Package", "Version", "Architecture", "Description"} {
		if v, ok := p.Lookup(name); !ok || v == "" {
			return fmt.Errorf("field %s is missing or empty", name)
		}
	}
	if err := debian.ValidPackageName(p.Get("Package")); err != nil {
		return fmt.Errorf("field Package: %w", err)
	}
	if err := debian.ValidVersion(p.Get("Version")); err != nil {
		return fmt.Errorf("field Version: %w", err)
	}
	if err := debian.ValidArchitecture(p.Get("Architecture")); err != nil {
		return fmt.Errorf("field Architecture: %w", err)
	}
	if synopsis, _, _ := strings.Cut(p.Get("Description"), "\n"); strings.TrimSpace(synopsis) == "" {
		return errors.New("field Description has no synopsis on its first line")
	}
	for _, f := range p {
		// An empty relationship field is allowed: dpkg and apt ignore it,
		// and templates that render "Depends:" for no dependencies are
		// common.
		if containsFold(relationFields, f.Name) && strings.TrimSpace(f.Value) != "" {
			if err := debian.ValidRelationField(f.Name, f.Value); err != nil {
				return fmt.Errorf("field %w", err)
			}
		}
	}
	if v, ok := p.Lookup("Installed-Size"); ok && (v == "" || strings.Trim(v, "0123456789") != "" || len(v) > 18) {
		return fmt.Errorf("field Installed-Size: %q is not a number of KiB", v)
	}
	return nil
}

func containsFold(names []string, name string) bool {
	return slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) })
}

// typeName names a tar entry type for messages.
func typeName(flag byte) string {
	switch flag {
	case tar.TypeReg:
		return "regular file"
	case tar.TypeDir:
		return "directory"
	case tar.TypeSymlink:
		return "symbolic link"
	case tar.TypeLink:
		return "hard link"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "FIFO"
	}
	return fmt.Sprintf("entry of type %q", flag)
}
