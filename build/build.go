package build

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/ctxio"
	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/signing"
)

// CommitField is the control field that records the full git commit id a
// package was built from.
const CommitField = "Vcs-Git-Commit"

// DefaultCompression is dpkg-deb's default.
const DefaultCompression = compress.Xz

// Options are the build's inputs besides the spec.
type Options struct {
	OutDir      string
	Arch        string          // overrides the spec's arch
	Version     string          // overrides the spec's and git's version
	Compression compress.Format // "" means the spec's deb.compression, else xz
	Signer      signing.Signer  // nil builds an unsigned package
	Getenv      func(string) string
	// Check, when set, reads the finished package before it gets its
	// name; an error fails the build and leaves nothing behind. The
	// command passes the inspection that publish applies
	// (internal/debfile.Inspect), so that build never makes a package
	// that publish refuses. (It is a hook because debfile's tests build
	// packages with this package.)
	Check func(io.Reader) error
}

// Result describes a written package.
type Result struct {
	Path         string `json:"path"`
	Package      string `json:"package"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	Commit       string `json:"commit,omitempty"`
	Dirty        bool   `json:"dirty,omitempty"` // built from a work tree with uncommitted changes
	Signed       bool   `json:"signed"`
}

// Build turns a spec into a .deb in opts.OutDir. The file appears under its
// final name only when it is complete; on error nothing is left behind.
func Build(ctx context.Context, spec *Spec, opts Options) (Result, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	plan, err := Plan(ctx, spec, opts)
	if err != nil {
		return Result{}, err
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("creating output directory: %w", err)
	}
	final := filepath.Join(opts.OutDir, plan.FileName())
	tmp, err := os.CreateTemp(opts.OutDir, ".debflow-build-*")
	if err != nil {
		return Result{}, fmt.Errorf("creating output file: %w", err)
	}
	defer func() {
		tmp.Close()
		if err != nil {
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	counter := &countingWriter{}
	err = WriteDebContext(ctx, io.MultiWriter(tmp, h, counter), plan.Package, DebOptions{
		Compression: plan.Compression,
		ModTime:     plan.ModTime,
		Signer:      opts.Signer,
		TempDir:     opts.OutDir,
	})
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Close()
	}
	if err == nil && opts.Check != nil {
		err = checkBuilt(ctx, tmp.Name(), opts.Check)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), final)
	}
	if err != nil {
		return Result{}, fmt.Errorf("writing %s: %w", final, err)
	}
	return Result{
		Path:         final,
		Package:      plan.Name,
		Version:      plan.Version,
		Architecture: plan.Arch,
		Size:         counter.n,
		SHA256:       hex.EncodeToString(h.Sum(nil)),
		Commit:       plan.Commit,
		Dirty:        plan.Dirty,
		Signed:       opts.Signer != nil,
	}, nil
}

// checkBuilt is the last guard before a package gets its name: check
// reads the finished file, and its error fails the build.
func checkBuilt(ctx context.Context, file string, check func(io.Reader) error) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := check(ctxio.Reader(ctx, f)); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return ctxErr
		}
		return fmt.Errorf("the package fails the check that publish applies: %w", err)
	}
	return nil
}

// BuildPlan is a spec resolved against the file system, git and the
// options: everything needed to write the package.
type BuildPlan struct {
	Name, Version, Arch string
	Commit              string
	Dirty               bool // the git work tree has uncommitted changes to tracked files
	ModTime             time.Time
	Compression         compress.Format
	Package             *Package
}

// FileName is the Debian file name, NAME_VERSION_ARCH.deb, with the epoch
// left out as dpkg-name does.
func (p *BuildPlan) FileName() string {
	v := p.Version
	if i := strings.IndexByte(v, ':'); i >= 0 {
		v = v[i+1:]
	}
	return fmt.Sprintf("%s_%s_%s.deb", p.Name, v, p.Arch)
}

// Plan resolves the spec: version, architecture, time stamp, file tree and
// control data. It reads no file contents beyond the scripts, and reports
// every problem with the spec field it comes from.
func Plan(ctx context.Context, spec *Spec, opts Options) (*BuildPlan, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	p := &BuildPlan{Name: spec.Name}

	p.Arch = debianArch(firstNonEmpty(opts.Arch, spec.Arch, "amd64"))
	if err := debian.ValidArchitecture(p.Arch); err != nil {
		field := "arch"
		if opts.Arch != "" {
			field = "--arch"
		}
		return nil, specErr(field, "%v", err)
	}

	var comp string
	switch {
	case opts.Compression != "":
		comp = string(opts.Compression)
	case spec.Deb.Compression != "":
		comp = spec.Deb.Compression
	default:
		comp = string(DefaultCompression)
	}
	format, err := compress.ParseFormat(comp)
	if err != nil {
		return nil, fmt.Errorf("compression: %w", err)
	}
	p.Compression = format

	git, gitErr := DescribeGit(ctx, spec.dir)
	if gitErr == nil {
		p.Commit, p.Dirty = git.Commit, git.Dirty
	}
	parts := VersionParts{
		Epoch: spec.Epoch, Prerelease: expand(spec.Prerelease, p.Arch, getenv), Release: expand(spec.Release, p.Arch, getenv),
		Metadata: spec.VersionMetadata, Schema: spec.VersionSchema,
	}
	field := "version"
	switch {
	case opts.Version != "":
		parts.Base, field = opts.Version, "--version"
	case spec.Version != "":
		parts.Base = expand(spec.Version, p.Arch, getenv)
	case gitErr != nil:
		return nil, specErr("version", "not set, and no version can come from git: %v", gitErr)
	default:
		// Already a Debian version ("1.2.0+git5.H", "2.0.0~rc1"): not
		// read as a semantic version, but epoch, release and the rest
		// apply as to any other.
		parts.Base, parts.Schema = git.Version, SchemaNone
	}
	if p.Version, err = DebianVersion(parts); err != nil {
		return nil, specErr(field, "%v", err)
	}
	if err := debian.ValidVersion(p.Version); err != nil {
		return nil, specErr(field, "%v", err)
	}

	p.ModTime, err = sourceDateEpoch(getenv, git, gitErr)
	if err != nil {
		return nil, err
	}

	pkg := &Package{Scripts: map[string][]byte{}}
	for _, s := range []struct{ field, file, name string }{
		{"scripts.preinstall", spec.Scripts.PreInstall, ScriptPreinst},
		{"scripts.postinstall", spec.Scripts.PostInstall, ScriptPostinst},
		{"scripts.preremove", spec.Scripts.PreRemove, ScriptPrerm},
		{"scripts.postremove", spec.Scripts.PostRemove, ScriptPostrm},
	} {
		if s.file == "" {
			continue
		}
		body, err := readRegular(spec.resolve(expand(s.file, p.Arch, getenv)))
		if err != nil {
			return nil, specErr(s.field, "%v", err)
		}
		pkg.Scripts[s.name] = body
	}

	if pkg.Entries, err = spec.entries(p.Arch, getenv); err != nil {
		return nil, err
	}

	if pkg.Control, err = spec.control(p); err != nil {
		return nil, err
	}
	p.Package = pkg
	return p, nil
}

func (s *Spec) control(p *BuildPlan) (debian.Paragraph, error) {
	c := debian.Paragraph{
		{Name: "Package", Value: s.Name},
		{Name: "Version", Value: p.Version},
		{Name: "Architecture", Value: p.Arch},
	}
	if s.Maintainer != "" {
		c = append(c, debian.Field{Name: "Maintainer", Value: s.Maintainer})
	}
	for _, rel := range s.relations() {
		if rel.Value == "" {
			continue
		}
		if err := debian.ValidRelationField(rel.Name, rel.Value); err != nil {
			return nil, specErr(strings.ToLower(rel.Name), "%v", err)
		}
		c = append(c, rel)
	}
	c = append(c,
		debian.Field{Name: "Section", Value: firstNonEmpty(s.Section, "misc")},
		debian.Field{Name: "Priority", Value: firstNonEmpty(s.Priority, "optional")},
	)
	if s.Homepage != "" {
		c = append(c, debian.Field{Name: "Homepage", Value: s.Homepage})
	}
	if s.Vendor != "" {
		c = append(c, debian.Field{Name: "Vendor", Value: s.Vendor})
	}
	if s.License != "" {
		c = append(c, debian.Field{Name: "License", Value: s.License})
	}
	if p.Commit != "" {
		c = append(c, debian.Field{Name: CommitField, Value: p.Commit})
	}
	for _, name := range slices.Sorted(maps.Keys(s.Deb.Fields)) {
		if _, taken := c.Lookup(name); taken {
			return nil, specErr("deb.fields."+name, "would replace a field debflow writes")
		}
		c = append(c, debian.Field{Name: name, Value: s.Deb.Fields[name]})
	}
	c = append(c, debian.Field{Name: "Description", Value: description(s.Description)})
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	return c, nil
}

// description turns the spec's description into the control form: the
// first line is the synopsis, the rest the extended description.
func description(d string) string {
	lines := strings.Split(strings.TrimSpace(d), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " \t")
	}
	return strings.Join(lines, "\n")
}

// sourceDateEpoch returns the one time stamp that every archive entry gets:
// SOURCE_DATE_EPOCH when set, else the commit's time, else the Unix epoch,
// so that a build never depends on when or where it ran.
func sourceDateEpoch(getenv func(string) string, git GitInfo, gitErr error) (time.Time, error) {
	if v := getenv("SOURCE_DATE_EPOCH"); v != "" {
		secs, err := strconv.ParseInt(v, 10, 64)
		if err != nil || secs < 0 {
			return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a non-negative number of seconds", v)
		}
		return time.Unix(secs, 0).UTC(), nil
	}
	if gitErr == nil {
		return git.Time.UTC(), nil
	}
	return time.Unix(0, 0).UTC(), nil
}

func (s *Spec) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.dir, p)
}

// entries expands the contents list into file-tree entries: globs and
// trees become one entry per file, modes default to 0755 for executables
// and 0644 otherwise (git keeps only the executable bit, so the checkout's
// umask must not leak into the package), and owners default to root.
func (s *Spec) entries(arch string, getenv func(string) string) ([]Entry, error) {
	var out []Entry
	for i, c := range s.Contents {
		if c.Packager != "" && c.Packager != packagerDeb {
			continue
		}
		field := fmt.Sprintf("contents[%d]", i)
		dst := path.Clean(expand(c.Dst, arch, getenv))
		if err := noControl(dst, ctlNone); err != nil {
			return nil, specErr(field+".dst", "after expansion: %v", err)
		}
		base := Entry{Path: dst, Owner: "root", Group: "root"}
		if c.FileInfo.Owner != "" {
			base.Owner, base.UID = owner(c.FileInfo.Owner)
		}
		if c.FileInfo.Group != "" {
			base.Group, base.GID = owner(c.FileInfo.Group)
		}
		mode := func(def int64) int64 {
			if c.FileInfo.Mode != nil {
				return int64(*c.FileInfo.Mode)
			}
			return def
		}
		switch c.Type {
		case TypeDir:
			e := base
			e.Kind, e.Mode = KindDir, mode(0o755)
			out = append(out, e)
		case TypeSymlink:
			e := base
			e.Kind, e.Mode, e.Target = KindSymlink, 0o777, expand(c.Src, arch, getenv)
			if err := noControl(e.Target, ctlNone); err != nil {
				return nil, specErr(field+".src", "after expansion: %v", err)
			}
			out = append(out, e)
		default:
			src := s.resolve(expand(c.Src, arch, getenv))
			files, err := s.sources(src, dst)
			if err != nil {
				return nil, specErr(field+".src", "%v", err)
			}
			for _, f := range files {
				if err := noControl(f.dst, ctlNone); err != nil {
					return nil, specErr(field+".src", "%s: %v", f.src, err)
				}
				e := base
				e.Path, e.Source, e.Kind = f.dst, f.src, KindFile
				if f.dir {
					e.Kind, e.Mode = KindDir, mode(0o755)
				} else {
					e.Mode = mode(f.defaultMode)
					e.Conffile = c.Type == TypeConfig || c.Type == TypeConfigNoReplace
				}
				out = append(out, e)
			}
		}
	}
	return out, nil
}

type sourceFile struct {
	src, dst    string
	dir         bool
	defaultMode int64
}

// sources expands one content's src: a glob (unless disabled), a
// directory (copied as a tree, whether or not the type says "tree"), or a
// single file.
func (s *Spec) sources(src, dst string) ([]sourceFile, error) {
	matches := []string{src}
	isGlob := !s.DisableGlobbing && strings.ContainsAny(src, "*?[")
	if isGlob {
		var err error
		matches, err = filepath.Glob(src)
		if err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", src, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("%s: no file matches", src)
		}
	}
	var out []sourceFile
	for _, m := range matches {
		target := dst
		if isGlob && len(matches) > 1 {
			target = path.Join(dst, filepath.Base(m))
		}
		fi, err := os.Stat(m)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if !fi.Mode().IsRegular() {
				return nil, fmt.Errorf("%s: not a regular file", m)
			}
			out = append(out, sourceFile{src: m, dst: target, defaultMode: modeOf(fi)})
			continue
		}
		err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(m, p)
			t := path.Join(target, filepath.ToSlash(rel))
			info, err := d.Info()
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				out = append(out, sourceFile{src: p, dst: t, dir: true})
			case info.Mode().IsRegular():
				out = append(out, sourceFile{src: p, dst: t, defaultMode: modeOf(info)})
			default:
				return fmt.Errorf("%s: only regular files and directories can be packaged from a tree", p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func modeOf(fi fs.FileInfo) int64 {
	if fi.Mode()&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// owner maps a user or group given by name or number to the tar header's
// name and id. Names other than root get id 0 in the header: dpkg looks the
// name up on the target and uses the id only when the name is unknown.
func owner(s string) (string, int) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return "", n
	}
	if s == "root" {
		return "root", 0
	}
	return s, 0
}

// debianArch maps the Go architecture names nfpm accepts to Debian's.
func debianArch(a string) string {
	switch a {
	case "386":
		return "i386"
	case "arm5", "arm6", "armv5", "armv6":
		return "armel"
	case "arm7", "armv7", "arm":
		return "armhf"
	case "arm64", "aarch64":
		return "arm64"
	case "x86_64":
		return "amd64"
	case "mipsle":
		return "mipsel"
	case "mips64le":
		return "mips64el"
	case "ppc64le":
		return "ppc64el"
	}
	return a
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

type countingWriter struct{ n int64 }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
