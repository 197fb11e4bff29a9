package build

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/ctxio"
	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/signing"
)

// Kind is the type of a file-tree entry.
type Kind int

// Entry kinds.
const (
	KindFile Kind = iota
	KindDir
	KindSymlink
)

// Entry is one item of a package's data tree, with everything needed to
// write it: nothing about it depends on the machine that builds it.
type Entry struct {
	Path     string // absolute path on the target, "/usr/bin/x"
	Kind     Kind
	Mode     int64  // permission bits, with setuid/setgid/sticky
	Owner    string // user name written into the tar header
	Group    string
	UID, GID int
	Source   string    // KindFile: the file to copy, unless Data is set
	Data     []byte    // KindFile: the contents, when not from a file
	MTime    time.Time // zero: the package's time stamp
	Target   string    // KindSymlink: the link's target
	Conffile bool
}

// Package is everything a .deb holds, ready to be written.
type Package struct {
	Control debian.Paragraph // without Installed-Size, which WriteDeb adds
	Entries []Entry          // in any order; parents need not be listed
	Scripts map[string][]byte
}

// Maintainer script names inside control.tar.
const (
	ScriptPreinst  = "preinst"
	ScriptPostinst = "postinst"
	ScriptPrerm    = "prerm"
	ScriptPostrm   = "postrm"
	ScriptConfig   = "config" // debconf
	ScriptRules    = "rules"
	// Not scripts, but control members all the same (mode 0644).
	ControlTemplates = "templates" // debconf
	ControlTriggers  = "triggers"
)

// executableMember tells which control members are programs.
func executableMember(name string) bool {
	switch name {
	case ScriptPreinst, ScriptPostinst, ScriptPrerm, ScriptPostrm, ScriptConfig, ScriptRules:
		return true
	}
	return false
}

// DebOptions controls how a package is written.
type DebOptions struct {
	Compression compress.Format
	Level       int            // of Compression; compress.DefaultLevel for its default
	ModTime     time.Time      // every timestamp in the archive (SOURCE_DATE_EPOCH)
	Signer      signing.Signer // nil for an unsigned package
	TempDir     string         // where the data member is spooled; "" for os.TempDir
}

// WriteDeb writes pkg as a .deb to w. The data member is spooled to a
// temporary file because ar headers carry sizes and the control member,
// which comes first, needs the data's md5sums. With a Signer, a debsigs
// origin signature (_gpgorigin) over debian-binary, the control member and
// the data member, as stored, is appended.
func WriteDeb(w io.Writer, pkg *Package, opts DebOptions) error {
	return WriteDebContext(context.Background(), w, pkg, opts)
}

// WriteDebContext is WriteDeb that stops, with ctx's error, when ctx is
// done (an interrupted build of a large tree).
func WriteDebContext(ctx context.Context, w io.Writer, pkg *Package, opts DebOptions) error {
	entries, err := completeTree(pkg.Entries)
	if err != nil {
		return err
	}
	spool, err := os.CreateTemp(opts.TempDir, ".debflow-data-*")
	if err != nil {
		return fmt.Errorf("spooling data.tar: %w", err)
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	sums, installedKiB, err := writeDataTar(ctx, spool, entries, opts)
	if err != nil {
		return err
	}
	dataSize, err := spool.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}

	control := append(debian.Paragraph(nil), pkg.Control...)
	control = insertAfter(control, "Maintainer", debian.Field{Name: "Installed-Size", Value: fmt.Sprint(installedKiB)})
	controlMember, err := controlTar(control, entries, sums, pkg.Scripts, opts)
	if err != nil {
		return err
	}

	ext := opts.Compression.Ext()
	members := []struct {
		name string
		size int64
		open func() (io.Reader, error)
	}{
		{"debian-binary", 4, func() (io.Reader, error) { return strings.NewReader("2.0\n"), nil }},
		{"control.tar" + ext, int64(len(controlMember)), func() (io.Reader, error) { return bytes.NewReader(controlMember), nil }},
		{"data.tar" + ext, dataSize, func() (io.Reader, error) {
			_, err := spool.Seek(0, io.SeekStart)
			return io.LimitReader(spool, dataSize), err
		}},
	}

	var sig bytes.Buffer
	if opts.Signer != nil {
		var signed []io.Reader
		for _, m := range members {
			r, err := m.open()
			if err != nil {
				return err
			}
			signed = append(signed, r)
		}
		if err := opts.Signer.DetachSign(&sig, io.MultiReader(signed...), false, SignatureTime(opts.Signer, opts.ModTime)); err != nil {
			return fmt.Errorf("signing the package: %w", err)
		}
	}

	aw := ar.NewWriter(w)
	buf := make([]byte, memberCopyBufSize)
	for _, m := range members {
		if err := aw.WriteHeader(&ar.Header{Name: m.name, ModTime: opts.ModTime, Mode: 0o100644, Size: m.size}); err != nil {
			return err
		}
		r, err := m.open()
		if err != nil {
			return err
		}
		if _, err := io.CopyBuffer(aw, r, buf); err != nil {
			return fmt.Errorf("writing %s: %w", m.name, err)
		}
	}
	if sig.Len() > 0 {
		if err := aw.WriteHeader(&ar.Header{Name: "_gpgorigin", ModTime: opts.ModTime, Mode: 0o100644, Size: int64(sig.Len())}); err != nil {
			return err
		}
		if _, err := aw.Write(sig.Bytes()); err != nil {
			return err
		}
	}
	return aw.Close()
}

// SignatureTime is the creation time of a package's origin signature:
// modTime (SOURCE_DATE_EPOCH, or the commit's time), so that building the
// same commit again with the same key gives the same bytes (Ed25519 and
// RSA PKCS#1 v1.5 signatures are deterministic for the same data and
// time), but never before the key was created, since gpgv refuses a
// signature older than its key. Signers that do not tell their creation
// time (interface{ NotBefore() time.Time }) sign at modTime.
func SignatureTime(s signing.Signer, modTime time.Time) time.Time {
	t := modTime.UTC().Truncate(time.Second)
	if k, ok := s.(interface{ NotBefore() time.Time }); ok {
		if nb := k.NotBefore(); nb.After(t) {
			t = nb.UTC()
		}
	}
	return t
}

// tarEntry is an Entry with its tar name ("./usr/bin/x", "./usr/" for
// directories), which is also its sort key.
type tarEntry struct {
	Entry
	name string
}

// completeTree adds the missing parent directories, refuses duplicates and
// sorts by tar name, so that the archive does not depend on the order of
// the spec or of the file system.
func completeTree(in []Entry) ([]tarEntry, error) {
	byPath := map[string]Entry{}
	for _, e := range in {
		if old, dup := byPath[e.Path]; dup {
			if old.Kind == KindDir && e.Kind == KindDir {
				continue
			}
			return nil, fmt.Errorf("%s is in the package twice", e.Path)
		}
		byPath[e.Path] = e
	}
	for _, e := range in {
		for dir := parentDir(e.Path); dir != "/"; dir = parentDir(dir) {
			if p, ok := byPath[dir]; ok {
				if p.Kind != KindDir {
					return nil, fmt.Errorf("%s needs %s to be a directory", e.Path, dir)
				}
				continue
			}
			byPath[dir] = Entry{Path: dir, Kind: KindDir, Mode: 0o755, Owner: "root", Group: "root"}
		}
	}
	out := make([]tarEntry, 0, len(byPath)+1)
	out = append(out, tarEntry{Entry: Entry{Path: "/", Kind: KindDir, Mode: 0o755, Owner: "root", Group: "root"}, name: "./"})
	for _, e := range byPath {
		name := "." + e.Path
		if e.Kind == KindDir {
			name += "/"
		}
		out = append(out, tarEntry{Entry: e, name: name})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func writeDataTar(ctx context.Context, w io.Writer, entries []tarEntry, opts DebOptions) (md5sums map[string]string, installedKiB int64, err error) {
	cw, err := compress.NewWriterLevel(w, opts.Compression, opts.Level)
	if err != nil {
		return nil, 0, err
	}
	tw := tar.NewWriter(cw)
	md5sums = map[string]string{}
	buf := make([]byte, fileCopyBufSize)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		mtime := opts.ModTime
		if !e.MTime.IsZero() {
			mtime = e.MTime
		}
		hdr := tarHeader(e, mtime)
		if e.Kind != KindFile {
			installedKiB++
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, 0, fmt.Errorf("%s: %w", e.Path, err)
			}
			continue
		}
		if e.Data != nil {
			hdr.Size = int64(len(e.Data))
			if err := tw.WriteHeader(hdr); err != nil {
				return nil, 0, fmt.Errorf("%s: %w", e.Path, err)
			}
			if _, err := tw.Write(e.Data); err != nil {
				return nil, 0, fmt.Errorf("%s: %w", e.Path, err)
			}
			sum := md5.Sum(e.Data)
			md5sums[e.Path] = hex.EncodeToString(sum[:])
			installedKiB += (hdr.Size + 1023) / 1024
			continue
		}
		sum, size, err := copyFile(ctx, tw, hdr, e.Source, buf)
		if err != nil {
			return nil, 0, fmt.Errorf("%s (from %s): %w", e.Path, e.Source, err)
		}
		md5sums[e.Path] = sum
		installedKiB += (size + 1023) / 1024
	}
	if err := tw.Close(); err != nil {
		return nil, 0, err
	}
	if err := cw.Close(); err != nil {
		return nil, 0, err
	}
	return md5sums, installedKiB, nil
}

// Copy buffers, allocated once per package: the files of a tree are read
// in reads of up to fileCopyBufSize, and the spooled data member is copied
// into the package in pieces of memberCopyBufSize (fewer system calls and
// hand-offs to the check that reads the package as it is written).
const (
	fileCopyBufSize   = 256 << 10
	memberCopyBufSize = 1 << 20
)

// copyFile writes one regular file into the tar and returns its md5. The
// size is taken from the open file, and a file that changes size while it
// is copied is an error rather than a corrupt archive. buf is the copy
// buffer.
func copyFile(ctx context.Context, tw *tar.Writer, hdr *tar.Header, src string, buf []byte) (string, int64, error) {
	f, fi, err := openRegular(src)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	hdr.Size = fi.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return "", 0, err
	}
	h := md5.New()
	n, err := io.CopyBuffer(io.MultiWriter(tw, h), ctxio.Reader(ctx, f), buf)
	if err != nil {
		return "", 0, err
	}
	if n != hdr.Size {
		return "", 0, fmt.Errorf("file changed size while being read")
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

func tarHeader(e tarEntry, mtime time.Time) *tar.Header {
	hdr := &tar.Header{
		Name:    e.name,
		Mode:    e.Mode,
		Uid:     e.UID,
		Gid:     e.GID,
		Uname:   e.Owner,
		Gname:   e.Group,
		ModTime: mtime,
		Format:  tar.FormatGNU,
	}
	switch e.Kind {
	case KindDir:
		hdr.Typeflag = tar.TypeDir
	case KindSymlink:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = e.Target
	default:
		hdr.Typeflag = tar.TypeReg
	}
	return hdr
}

// controlTar builds the compressed control member: control, md5sums,
// conffiles and the maintainer scripts, all owned by root.
func controlTar(control debian.Paragraph, entries []tarEntry, sums map[string]string, scripts map[string][]byte, opts DebOptions) ([]byte, error) {
	files := map[string][]byte{"control": control.Bytes()}
	var md5s, conffiles strings.Builder
	for _, e := range entries { // sorted by path
		if sum, ok := sums[e.Path]; ok {
			fmt.Fprintf(&md5s, "%s  %s\n", sum, strings.TrimPrefix(e.Path, "/"))
		}
		if e.Conffile {
			fmt.Fprintf(&conffiles, "%s\n", e.Path)
		}
	}
	if md5s.Len() > 0 {
		files["md5sums"] = []byte(md5s.String())
	}
	if conffiles.Len() > 0 {
		files["conffiles"] = []byte(conffiles.String())
	}
	for name, body := range scripts {
		files[name] = body
	}

	var buf bytes.Buffer
	cw, err := compress.NewWriterLevel(&buf, opts.Compression, opts.Level)
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(cw)
	root := &tar.Header{Name: "./", Typeflag: tar.TypeDir, Mode: 0o755, Uname: "root", Gname: "root", ModTime: opts.ModTime, Format: tar.FormatGNU}
	if err := tw.WriteHeader(root); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(files)) {
		mode := int64(0o644)
		if _, isScript := scripts[name]; isScript && executableMember(name) {
			mode = 0o755
		}
		hdr := &tar.Header{Name: "./" + name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(files[name])),
			Uname: "root", Gname: "root", ModTime: opts.ModTime, Format: tar.FormatGNU}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(files[name]); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := cw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func insertAfter(p debian.Paragraph, after string, f debian.Field) debian.Paragraph {
	for i := range p {
		if strings.EqualFold(p[i].Name, after) {
			return append(p[:i+1], append([]debian.Field{f}, p[i+1:]...)...)
		}
	}
	return append(p, f)
}
