package build

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/debflow/debflow/internal/debian"
)

// ErrSpec is wrapped by every error about the build spec.
var ErrSpec = errors.New("invalid build spec")

// Spec is the deb side of nfpm's YAML configuration (nfpm v2.45.2), so
// that an existing nfpm.yaml builds unchanged. Keys that only concern
// other packagers (rpm, apk, archlinux, ipk) are accepted and ignored;
// unknown keys are refused, as nfpm refuses them, because a typo in a field
// name should not silently drop a dependency.
type Spec struct {
	Name            string    `yaml:"name"`
	Arch            string    `yaml:"arch"`
	Platform        string    `yaml:"platform"`
	Version         string    `yaml:"version"`
	Epoch           string    `yaml:"epoch"`
	Release         string    `yaml:"release"`
	Prerelease      string    `yaml:"prerelease"`
	VersionSchema   string    `yaml:"version_schema"`
	VersionMetadata string    `yaml:"version_metadata"`
	Maintainer      string    `yaml:"maintainer"`
	Description     string    `yaml:"description"`
	Section         string    `yaml:"section"`
	Priority        string    `yaml:"priority"`
	Homepage        string    `yaml:"homepage"`
	License         string    `yaml:"license"` // not a Debian control field: not written (nor by nfpm)
	Vendor          string    `yaml:"vendor"`  // likewise
	Changelog       string    `yaml:"changelog"`
	DisableGlobbing bool      `yaml:"disable_globbing"`
	MTime           time.Time `yaml:"mtime"`

	// The fields that overrides.deb may replace.
	Overridables `yaml:",inline"`

	// debflow's own: a top-level pre-depends and breaks (nfpm has them
	// under deb:), kept for the specs written for earlier debflow.
	PreDepends []string `yaml:"pre-depends"`
	Breaks     []string `yaml:"breaks"`

	// Overrides replaces fields per packager; only "deb" applies here.
	Overrides map[string]*Overridables `yaml:"overrides"`

	dir  string // the spec file's directory; relative paths start here
	file string // the spec file, named in Plan's errors ("" from ParseSpec)
}

// Overridables are the fields that nfpm's overrides.<packager> replaces.
type Overridables struct {
	Depends    []string  `yaml:"depends"`
	Recommends []string  `yaml:"recommends"`
	Suggests   []string  `yaml:"suggests"`
	Conflicts  []string  `yaml:"conflicts"`
	Replaces   []string  `yaml:"replaces"`
	Provides   []string  `yaml:"provides"`
	Contents   []Content `yaml:"contents"`
	Umask      *uint32   `yaml:"umask"`
	Scripts    Scripts   `yaml:"scripts"`
	Deb        DebSpec   `yaml:"deb"`

	// Accepted for nfpm compatibility, not used for .deb files.
	RPM       yaml.Node `yaml:"rpm"`
	APK       yaml.Node `yaml:"apk"`
	ArchLinux yaml.Node `yaml:"archlinux"`
	IPK       yaml.Node `yaml:"ipk"`
}

// DebSpec holds nfpm's deb-specific section.
type DebSpec struct {
	Arch        string            `yaml:"arch"`
	ArchVariant string            `yaml:"arch_variant"`
	PreDepends  []string          `yaml:"predepends"`
	Breaks      []string          `yaml:"breaks"`
	Fields      map[string]string `yaml:"fields"`
	Compression string            `yaml:"compression"`
	Scripts     DebScripts        `yaml:"scripts"`
	Triggers    DebTriggers       `yaml:"triggers"`

	// Accepted for nfpm compatibility; debflow signs with --key instead.
	Signature        yaml.Node `yaml:"signature"`
	LintianOverrides yaml.Node `yaml:"lintian_overrides"`
}

// DebScripts are the debconf and rules members of control.tar.
type DebScripts struct {
	Rules     string `yaml:"rules"`
	Templates string `yaml:"templates"`
	Config    string `yaml:"config"`
}

// DebTriggers are written to control.tar's triggers file (deb-triggers(5)).
type DebTriggers struct {
	Interest        []string `yaml:"interest"`
	InterestAwait   []string `yaml:"interest_await"`
	InterestNoAwait []string `yaml:"interest_noawait"`
	Activate        []string `yaml:"activate"`
	ActivateAwait   []string `yaml:"activate_await"`
	ActivateNoAwait []string `yaml:"activate_noawait"`
}

// Content is one entry of the package's file tree.
type Content struct {
	Src      string   `yaml:"src"`
	Dst      string   `yaml:"dst"`
	Type     string   `yaml:"type"`
	Packager string   `yaml:"packager"`
	FileInfo FileInfo `yaml:"file_info"`
	// Expand is nfpm's switch for ${VAR} in src and dst; debflow always
	// expands them, so it changes nothing.
	Expand bool `yaml:"expand"`
}

// FileInfo overrides the mode, ownership and time of a content entry.
type FileInfo struct {
	Mode  *uint32   `yaml:"mode"`
	Owner string    `yaml:"owner"`
	Group string    `yaml:"group"`
	MTime time.Time `yaml:"mtime"`
}

// Scripts names the maintainer scripts.
type Scripts struct {
	PreInstall  string `yaml:"preinstall"`
	PostInstall string `yaml:"postinstall"`
	PreRemove   string `yaml:"preremove"`
	PostRemove  string `yaml:"postremove"`
}

// Content types, as nfpm names them.
const (
	TypeFile            = ""
	TypeConfig          = "config"
	TypeConfigNoReplace = "config|noreplace"
	TypeConfigMissingOK = "config|missingok"
	TypeSymlink         = "symlink"
	TypeDir             = "dir"
	TypeTree            = "tree"
	typeFileExplicit    = "file"
	packagerDeb         = "deb"
	// nfpm's rpm-only types: accepted, and left out of a .deb as nfpm
	// leaves them out.
	typeGhost   = "ghost"
	typeDoc     = "doc"
	typeLicence = "licence"
	typeLicense = "license"
	typeReadme  = "readme"
)

// LoadSpec reads and checks a spec file. Relative paths in it are resolved
// against the spec's own directory (nfpm resolves them against the working
// directory, which is the same place when nfpm.yaml sits at the project's
// root, as it usually does).
func LoadSpec(file string) (*Spec, error) {
	data, err := readRegular(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	s, err := ParseSpec(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	s.dir, s.file = filepath.Dir(file), file
	return s, nil
}

// ParseSpec parses a spec from YAML. It checks the syntax and what does
// not depend on the environment; the rest is checked by Plan, after ${VAR}
// expansion and overrides.deb.
func ParseSpec(data []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	s.dir = "."
	if s.Name == "" {
		return nil, specErr("name", "missing")
	}
	if err := s.checkStatic(); err != nil {
		return nil, err
	}
	return &s, nil
}

func specErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSpec, field, fmt.Sprintf(format, args...))
}

// checkStatic checks what no ${VAR} can change: content types, modes,
// field names, the compression and the version schema.
func (s *Spec) checkStatic() error {
	switch s.VersionSchema {
	case "", SchemaSemver, SchemaNone:
	default:
		return specErr("version_schema", "%q: want semver or none", s.VersionSchema)
	}
	for k := range s.Overrides {
		switch k {
		case "deb", "rpm", "apk", "archlinux", "ipk":
		default:
			return specErr("overrides."+k, "unknown packager (want deb, rpm, apk, archlinux or ipk)")
		}
	}
	check := func(prefix string, o *Overridables) error {
		if o.Deb.Compression != "" {
			if _, _, err := debCompression(o.Deb.Compression); err != nil {
				return specErr(prefix+"deb.compression", "%v", err)
			}
		}
		if m := o.Umask; m != nil && *m&^uint32(fs.ModePerm) != 0 {
			return specErr(prefix+"umask", "%#o is not a umask (write it in octal, like 0022)", *m)
		}
		for _, name := range slices.Sorted(maps.Keys(o.Deb.Fields)) {
			if err := debian.ValidFieldName(name); err != nil {
				return specErr(prefix+"deb.fields", "%v", err)
			}
			if reservedField(name) {
				return specErr(prefix+"deb.fields."+name, "may only be set by the repository (publish would refuse the package)")
			}
		}
		for i, c := range o.Contents {
			field := fmt.Sprintf("%scontents[%d]", prefix, i)
			switch c.Type {
			case TypeFile, typeFileExplicit, TypeConfig, TypeConfigNoReplace, TypeConfigMissingOK, TypeTree:
				if c.Src == "" {
					return specErr(field+".src", "missing")
				}
			case TypeSymlink:
				if c.Src == "" {
					return specErr(field+".src", "missing (the symlink's target)")
				}
			case TypeDir, typeGhost, typeDoc, typeLicence, typeLicense, typeReadme:
			default:
				return specErr(field+".type", "unknown type %q (want config, config|noreplace, config|missingok, symlink, dir, tree, ghost, doc, license, readme or none)", c.Type)
			}
			if m := c.FileInfo.Mode; m != nil && *m&^uint32(fs.ModePerm|0o7000) != 0 {
				return specErr(field+".file_info.mode", "%#o is not a file mode (write it in octal, like 0755)", *m)
			}
		}
		return nil
	}
	if err := check("", &s.Overridables); err != nil {
		return err
	}
	if o := s.Overrides["deb"]; o != nil {
		if err := check("overrides.deb.", o); err != nil {
			return err
		}
	}
	return nil
}

// effective returns the spec as nfpm's deb packager sees it:
// overrides.deb applied (a field it sets replaces the spec's, as nfpm's
// merge does), ${VAR} expanded where nfpm expands it (and in src, dst and
// scripts, where debflow always does), and nfpm's defaults filled in.
func (s *Spec) effective(getenv func(string) string) *Spec {
	e := *s
	e.Overridables = s.Overridables.clone()
	if o := s.Overrides["deb"]; o != nil {
		e.Overridables.override(o.clone())
	}
	x := func(v string) string { return os.Expand(v, getenv) }
	list := func(l []string) []string {
		var out []string
		for _, v := range l {
			if v = strings.TrimSpace(x(v)); v != "" {
				out = append(out, v)
			}
		}
		return out
	}
	e.Release, e.Version, e.Prerelease = x(e.Release), x(e.Version), x(e.Prerelease)
	e.Platform, e.Arch = x(e.Platform), x(e.Arch)
	e.Name, e.Homepage, e.Maintainer, e.Vendor, e.Description = x(e.Name), x(e.Homepage), x(e.Maintainer), x(e.Vendor), x(e.Description)
	e.Depends, e.Recommends, e.Suggests = list(e.Depends), list(e.Recommends), list(e.Suggests)
	e.Conflicts, e.Replaces, e.Provides = list(e.Conflicts), list(e.Replaces), list(e.Provides)
	e.Deb.PreDepends = list(e.Deb.PreDepends)
	if e.Deb.Fields != nil {
		fields := map[string]string{}
		for k, v := range e.Deb.Fields {
			fields[k] = x(v)
		}
		e.Deb.Fields = fields
	}
	if e.Description == "" {
		e.Description = "no description given" // as nfpm
	}
	if e.Maintainer == "" {
		// nfpm's default; dpkg wants a Maintainer field.
		e.Maintainer = "Unset Maintainer <unset@localhost>"
	}
	if strings.HasPrefix(e.Arch, "mips") {
		e.Arch = strings.NewReplacer("softfloat", "", "hardfloat", "").Replace(e.Arch)
	}
	return &e
}

func (o Overridables) clone() Overridables {
	o.Depends, o.Recommends, o.Suggests = slices.Clone(o.Depends), slices.Clone(o.Recommends), slices.Clone(o.Suggests)
	o.Conflicts, o.Replaces, o.Provides = slices.Clone(o.Conflicts), slices.Clone(o.Replaces), slices.Clone(o.Provides)
	o.Contents = slices.Clone(o.Contents)
	o.Deb.Fields = maps.Clone(o.Deb.Fields)
	return o
}

// override merges o into the receiver as nfpm does (mergo with
// WithOverride): every field that o sets replaces the receiver's, lists
// whole, structures field by field, maps key by key.
func (r *Overridables) override(o Overridables) {
	set := func(dst *[]string, src []string) {
		if len(src) > 0 {
			*dst = src
		}
	}
	str := func(dst *string, src string) {
		if src != "" {
			*dst = src
		}
	}
	set(&r.Depends, o.Depends)
	set(&r.Recommends, o.Recommends)
	set(&r.Suggests, o.Suggests)
	set(&r.Conflicts, o.Conflicts)
	set(&r.Replaces, o.Replaces)
	set(&r.Provides, o.Provides)
	if len(o.Contents) > 0 {
		r.Contents = o.Contents
	}
	if o.Umask != nil {
		r.Umask = o.Umask
	}
	str(&r.Scripts.PreInstall, o.Scripts.PreInstall)
	str(&r.Scripts.PostInstall, o.Scripts.PostInstall)
	str(&r.Scripts.PreRemove, o.Scripts.PreRemove)
	str(&r.Scripts.PostRemove, o.Scripts.PostRemove)
	str(&r.Deb.Arch, o.Deb.Arch)
	str(&r.Deb.ArchVariant, o.Deb.ArchVariant)
	str(&r.Deb.Compression, o.Deb.Compression)
	set(&r.Deb.PreDepends, o.Deb.PreDepends)
	set(&r.Deb.Breaks, o.Deb.Breaks)
	str(&r.Deb.Scripts.Rules, o.Deb.Scripts.Rules)
	str(&r.Deb.Scripts.Templates, o.Deb.Scripts.Templates)
	str(&r.Deb.Scripts.Config, o.Deb.Scripts.Config)
	t, ot := &r.Deb.Triggers, o.Deb.Triggers
	set(&t.Interest, ot.Interest)
	set(&t.InterestAwait, ot.InterestAwait)
	set(&t.InterestNoAwait, ot.InterestNoAwait)
	set(&t.Activate, ot.Activate)
	set(&t.ActivateAwait, ot.ActivateAwait)
	set(&t.ActivateNoAwait, ot.ActivateNoAwait)
	if len(o.Deb.Fields) > 0 && r.Deb.Fields == nil {
		r.Deb.Fields = map[string]string{}
	}
	maps.Copy(r.Deb.Fields, o.Deb.Fields)
}

// check validates the effective spec (see effective).
func (s *Spec) check() error {
	if s.Name == "" {
		return specErr("name", "missing")
	}
	if err := debian.ValidPackageName(s.Name); err != nil {
		return specErr("name", "%v", err)
	}
	for _, f := range []struct{ field, value string }{
		{"name", s.Name}, {"arch", s.Arch}, {"version", s.Version}, {"epoch", s.Epoch},
		{"release", s.Release}, {"prerelease", s.Prerelease}, {"maintainer", s.Maintainer},
		{"section", s.Section}, {"priority", s.Priority}, {"homepage", s.Homepage},
		{"version_metadata", s.VersionMetadata}, {"deb.arch", s.Deb.Arch}, {"deb.arch_variant", s.Deb.ArchVariant},
	} {
		if err := noControl(f.value, ctlLine); err != nil {
			return specErr(f.field, "%v", err)
		}
	}
	if err := noControl(s.Description, ctlMultiline); err != nil {
		return specErr("description", "%v", err)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Deb.Fields)) {
		field := "deb.fields." + name
		if err := noControl(s.Deb.Fields[name], ctlMultiline); err != nil {
			return specErr(field, "%v", err)
		}
		if err := debian.ValidFieldValue(name, s.Deb.Fields[name]); err != nil {
			return specErr(field, "%v", err)
		}
	}
	for i, c := range s.Contents {
		field := fmt.Sprintf("contents[%d]", i)
		if c.Packager != "" && c.Packager != packagerDeb {
			continue
		}
		if err := noControl(c.Dst, ctlNone); err != nil {
			return specErr(field+".dst", "%v", err)
		}
		if c.Type == TypeSymlink {
			if err := noControl(c.Src, ctlNone); err != nil {
				return specErr(field+".src", "%v", err)
			}
		}
		if err := noControl(c.FileInfo.Owner, ctlNone); err != nil {
			return specErr(field+".file_info.owner", "%v", err)
		}
		if err := noControl(c.FileInfo.Group, ctlNone); err != nil {
			return specErr(field+".file_info.group", "%v", err)
		}
		if c.Dst == "" && c.Type != typeGhost && c.Type != typeDoc && c.Type != typeLicence && c.Type != typeLicense && c.Type != typeReadme {
			return specErr(field+".dst", "missing")
		}
	}
	return nil
}

// reservedFields may not be set by a package: the repository writes the
// first ones into the Packages index (a package that names its own file or
// hash could point the index elsewhere), and dpkg keeps the others in its
// status database. internal/debfile refuses packages that carry them, so
// publish would refuse the build; the list is the same as debfile's.
var reservedFields = []string{
	"Filename", "MSDOS-Filename", "Size",
	"MD5sum", "SHA1", "SHA256", "SHA512", "Description-md5",
	"Phased-Update-Percentage",
	"Status", "Config-Version", "Triggers-Pending", "Triggers-Awaited", "Conffiles",
	"Installed-Size",
}

func reservedField(name string) bool {
	return slices.ContainsFunc(reservedFields, func(r string) bool { return strings.EqualFold(r, name) })
}

// Control characters that noControl lets through.
const (
	ctlNone      = ""     // paths and names: dpkg keeps file lists one name a line
	ctlLine      = "\t"   // a one-line field value
	ctlMultiline = "\t\n" // a description or a multi-line field value
)

// noControl refuses control characters other than those in allowed: they
// would change the structure of a control file or of dpkg's file lists.
func noControl(s, allowed string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < ' ' || c == 0x7f) && strings.IndexByte(allowed, c) < 0 {
			return fmt.Errorf("%q contains control character %#x", s, c)
		}
	}
	return nil
}

// relations returns the relationship fields in the order dpkg writes them.
func (s *Spec) relations() []debian.Field {
	return []debian.Field{
		{Name: "Pre-Depends", Value: joinRel(s.PreDepends, s.Deb.PreDepends)},
		{Name: "Depends", Value: joinRel(s.Depends)},
		{Name: "Recommends", Value: joinRel(s.Recommends)},
		{Name: "Suggests", Value: joinRel(s.Suggests)},
		{Name: "Breaks", Value: joinRel(s.Breaks, s.Deb.Breaks)},
		{Name: "Conflicts", Value: joinRel(s.Conflicts)},
		{Name: "Provides", Value: joinRel(s.Provides)},
		{Name: "Replaces", Value: joinRel(s.Replaces)},
	}
}

func joinRel(lists ...[]string) string {
	var all []string
	for _, l := range lists {
		for _, r := range l {
			if r = strings.TrimSpace(r); r != "" {
				all = append(all, r)
			}
		}
	}
	return strings.Join(all, ", ")
}

// expand replaces ${ARCH} (and $ARCH) in a path with the target architecture,
// and other ${VAR} references with the environment, as nfpm does.
func expand(s, arch string, getenv func(string) string) string {
	return os.Expand(s, func(name string) string {
		if name == "ARCH" {
			return arch
		}
		return getenv(name)
	})
}
