package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
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
	Level       int             // of Compression (compress.ParseMethod); not used when Compression is ""
	Signer      signing.Signer  // nil builds an unsigned package
	Getenv      func(string) string
	// Check, when set, reads the package, every byte as it is written to
	// the file, before the file gets its name; an error fails the build
	// and leaves nothing behind. The
	// command passes the inspection that publish applies
	// (internal/debfile.Inspect), so that build never makes a package
	// that publish refuses. (It is a hook because debfile's tests build
	// packages with this package.)
	Check func(io.Reader) error
	// CommitField writes the full git commit into the control field
	// Vcs-Git-Commit. It is off by default: lintian knows no such field
	// and warns (unknown-field), and the version already carries the
	// commit's short hash after a tag.
	CommitField bool
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
	out := io.MultiWriter(tmp, h, counter)
	var check *checker
	if opts.Check != nil {
		check = startCheck(ctx, opts.Check)
		out = io.MultiWriter(out, check)
	}
	err = WriteDebContext(ctx, out, plan.Package, DebOptions{
		Compression: plan.Compression,
		Level:       plan.Level,
		ModTime:     plan.ModTime,
		Signer:      opts.Signer,
		TempDir:     opts.OutDir,
	})
	if check != nil {
		if checkErr := check.wait(ctx, err); err == nil {
			err = checkErr
		}
	}
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Close()
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

// checker is the last guard before a package gets its name: the check
// reads the package's bytes as they are written to the file, through a
// pipe, so that it runs beside the writing instead of reading the file
// again afterwards, and its error fails the build.
type checker struct {
	pw   *io.PipeWriter
	done chan error
}

func startCheck(ctx context.Context, check func(io.Reader) error) *checker {
	pr, pw := io.Pipe()
	c := &checker{pw: pw, done: make(chan error, 1)}
	go func() {
		err := check(ctxio.Reader(ctx, pr))
		// A check that stops early must not block the writer: take the
		// rest, and fail the writer if the pipe breaks.
		_, drainErr := io.Copy(io.Discard, pr)
		pr.CloseWithError(drainErr)
		c.done <- err
	}()
	return c
}

func (c *checker) Write(p []byte) (int, error) { return c.pw.Write(p) }

// wait ends the input (with writeErr when the writing failed, so that the
// check stops) and returns the check's verdict.
func (c *checker) wait(ctx context.Context, writeErr error) error {
	c.pw.CloseWithError(writeErr)
	err := <-c.done
	if err == nil || writeErr != nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	return fmt.Errorf("the package fails the check that publish applies: %w", err)
}

// BuildPlan is a spec resolved against the file system, git and the
// options: everything needed to write the package.
type BuildPlan struct {
	Name, Version, Arch string
	Commit              string
	CommitField         bool // write Commit into the control field CommitField
	Dirty               bool // the git work tree has uncommitted changes to tracked files
	ModTime             time.Time
	Compression         compress.Format
	Level               int // of Compression, compress.DefaultLevel for its default
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
	p, err := plan(ctx, spec, opts)
	if err != nil && spec.file != "" && errors.Is(err, ErrSpec) {
		return nil, fmt.Errorf("%s: %w", spec.file, err)
	}
	return p, err
}

func plan(ctx context.Context, spec *Spec, opts Options) (*BuildPlan, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	spec = spec.effective(getenv)
	if err := spec.check(); err != nil {
		return nil, err
	}
	p := &BuildPlan{Name: spec.Name, CommitField: opts.CommitField}

	arch, field := debianArch(firstNonEmpty(spec.Arch, "amd64")), "arch"
	if spec.Deb.Arch != "" {
		arch, field = spec.Deb.Arch, "deb.arch" // as nfpm: not mapped
	}
	if opts.Arch != "" {
		arch, field = debianArch(opts.Arch), "--arch"
	}
	p.Arch = arch
	if spec.Platform != "" && spec.Platform != "linux" {
		p.Arch = spec.Platform + "-" + arch // as nfpm writes it
	}
	if err := debian.ValidArchitecture(p.Arch); err != nil {
		return nil, specErr(field, "%v", err)
	}

	var err error
	switch {
	case opts.Compression != "":
		p.Compression, err = compress.ParseFormat(string(opts.Compression))
		if err == nil {
			err = compress.CheckLevel(p.Compression, opts.Level)
			p.Level = opts.Level
		}
	case spec.Deb.Compression != "":
		p.Compression, p.Level, err = debCompression(spec.Deb.Compression)
	default:
		p.Compression = DefaultCompression
	}
	if err != nil {
		return nil, fmt.Errorf("compression: %w", err)
	}

	git, gitErr := DescribeGit(ctx, spec.dir)
	if gitErr == nil {
		p.Commit, p.Dirty = git.Commit, git.Dirty
	}
	parts := VersionParts{
		Epoch: spec.Epoch, Prerelease: spec.Prerelease, Release: spec.Release,
		Metadata: spec.VersionMetadata, Schema: spec.VersionSchema,
	}
	field = "version"
	switch {
	case opts.Version != "":
		parts.Base, field = opts.Version, "--version"
	case spec.Version != "":
		parts.Base = spec.Version
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
	if !spec.MTime.IsZero() {
		p.ModTime = spec.MTime.UTC() // nfpm: the spec's mtime comes first
	}

	pkg := &Package{Scripts: map[string][]byte{}}
	for _, s := range []struct{ field, file, name string }{
		{"scripts.preinstall", spec.Scripts.PreInstall, ScriptPreinst},
		{"scripts.postinstall", spec.Scripts.PostInstall, ScriptPostinst},
		{"scripts.preremove", spec.Scripts.PreRemove, ScriptPrerm},
		{"scripts.postremove", spec.Scripts.PostRemove, ScriptPostrm},
		{"deb.scripts.templates", spec.Deb.Scripts.Templates, ControlTemplates},
		{"deb.scripts.config", spec.Deb.Scripts.Config, ScriptConfig},
		{"deb.scripts.rules", spec.Deb.Scripts.Rules, ScriptRules},
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
	if tr := spec.triggers(); len(tr) > 0 {
		pkg.Scripts[ControlTriggers] = tr
	}

	if pkg.Entries, err = spec.entries(arch, getenv); err != nil {
		return nil, err
	}
	if spec.Changelog != "" {
		file := spec.resolve(expand(spec.Changelog, arch, getenv))
		data, err := readRegular(file)
		if err != nil {
			return nil, specErr("changelog", "%v", err)
		}
		gz, err := debianChangelog(spec.Name, data)
		if err != nil {
			return nil, specErr("changelog", "%s: %v", file, err)
		}
		dst := "/usr/share/doc/" + spec.Name + "/changelog.Debian.gz"
		for _, e := range pkg.Entries {
			if e.Path == dst {
				return nil, specErr("changelog", "%s is also in contents", dst)
			}
		}
		pkg.Entries = append(pkg.Entries, Entry{Path: dst, Kind: KindFile, Mode: 0o644, Owner: "root", Group: "root", Data: gz})
	}

	if pkg.Control, err = spec.control(p); err != nil {
		return nil, err
	}
	p.Package = pkg
	return p, nil
}

// triggers is the control member "triggers" (deb-triggers(5)), in nfpm's
// order.
func (s *Spec) triggers() []byte {
	var b bytes.Buffer
	t := s.Deb.Triggers
	for _, d := range []struct {
		directive string
		names     []string
	}{
		{"interest", t.Interest}, {"interest-await", t.InterestAwait}, {"interest-noawait", t.InterestNoAwait},
		{"activate", t.Activate}, {"activate-await", t.ActivateAwait}, {"activate-noawait", t.ActivateNoAwait},
	} {
		for _, n := range d.names {
			fmt.Fprintf(&b, "%s %s\n", d.directive, n)
		}
	}
	return b.Bytes()
}

func (s *Spec) control(p *BuildPlan) (debian.Paragraph, error) {
	c := debian.Paragraph{
		{Name: "Package", Value: s.Name},
		{Name: "Version", Value: p.Version},
		{Name: "Architecture", Value: p.Arch},
	}
	if v := s.Deb.ArchVariant; v != "" {
		if len(v) == 2 && v[0] == 'v' {
			v = "amd64" + v // nfpm's shorthand
		}
		c = append(c, debian.Field{Name: "Architecture-Variant", Value: v})
	}
	c = append(c, debian.Field{Name: "Maintainer", Value: s.Maintainer})
	for _, rel := range s.relations() {
		if rel.Value == "" {
			continue
		}
		if err := debian.ValidRelationField(rel.Name, rel.Value); err != nil {
			return nil, specErr(strings.ToLower(rel.Name), "%v", err)
		}
		c = append(c, rel)
	}
	if s.Section != "" {
		// nfpm writes an empty "Section:" line when the spec has none;
		// debflow leaves the field out.
		c = append(c, debian.Field{Name: "Section", Value: s.Section})
	}
	c = append(c, debian.Field{Name: "Priority", Value: firstNonEmpty(s.Priority, "optional")})
	if s.Homepage != "" {
		c = append(c, debian.Field{Name: "Homepage", Value: s.Homepage})
	}
	// License and Vendor are not Debian control fields (nfpm does not
	// write them either): lintian would flag them.
	if p.Commit != "" && p.CommitField {
		c = append(c, debian.Field{Name: CommitField, Value: p.Commit})
	}
	for _, name := range slices.Sorted(maps.Keys(s.Deb.Fields)) {
		if s.Deb.Fields[name] == "" {
			continue // nfpm writes no empty field
		}
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

// description turns the spec's description into the control form as nfpm
// does: the first line is the synopsis, every further line is trimmed and
// an empty one becomes ".".
func description(d string) string {
	lines := strings.Split(strings.TrimSpace(d), "\n")
	for i := range lines {
		lines[i] = strings.TrimSpace(lines[i])
		if i > 0 && lines[i] == "" {
			lines[i] = "."
		}
	}
	return strings.Join(lines, "\n")
}

// sourceDateEpoch returns the one time stamp that every archive entry gets:
// SOURCE_DATE_EPOCH when set, else the commit's time, else NoDateTime,
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
	return NoDateTime, nil
}

// NoDateTime stamps a package built outside git without SOURCE_DATE_EPOCH
// (nor a spec mtime): a fixed time, so that the build stays reproducible,
// but not the Unix epoch, since Debian's archive software (and lintian's
// package-contains-ancient-file) refuse files dated 1975 or earlier.
var NoDateTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func (s *Spec) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.dir, p)
}

// ownerOf maps a user or group given by name or number to the tar header's
// name and id. Names other than root get id 0 in the header: dpkg looks the
// name up on the target and uses the id only when the name is unknown.
func ownerOf(s string) (string, int) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return "", n
	}
	if s == "root" {
		return "root", 0
	}
	return s, 0
}

// debianArch maps the Go architecture names nfpm accepts to Debian's
// (nfpm's deb archToDebian, and a few more spellings).
func debianArch(a string) string {
	switch a {
	case "386":
		return "i386"
	case "arm5", "armv5":
		return "armel"
	case "arm6", "armv6", "arm7", "armv7", "arm":
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
	case "s390":
		return "s390x"
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
