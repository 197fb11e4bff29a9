package build

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debian"
)

// ErrSpec is wrapped by every error about the build spec.
var ErrSpec = errors.New("invalid build spec")

// Spec is the deb subset of nfpm's YAML configuration, so that an existing
// nfpm.yaml builds unchanged. Keys that only concern other packagers (rpm,
// apk, archlinux, ...) are accepted and ignored; unknown keys are refused,
// because a typo in a field name should not silently drop a dependency.
type Spec struct {
	Name        string `yaml:"name"`
	Arch        string `yaml:"arch"`
	Version     string `yaml:"version"`
	Epoch       string `yaml:"epoch"`
	Release     string `yaml:"release"`
	Prerelease  string `yaml:"prerelease"`
	Maintainer  string `yaml:"maintainer"`
	Description string `yaml:"description"`
	Section     string `yaml:"section"`
	Priority    string `yaml:"priority"`
	Homepage    string `yaml:"homepage"`
	License     string `yaml:"license"`
	Vendor      string `yaml:"vendor"`

	Depends    []string `yaml:"depends"`
	PreDepends []string `yaml:"pre-depends"`
	Recommends []string `yaml:"recommends"`
	Suggests   []string `yaml:"suggests"`
	Conflicts  []string `yaml:"conflicts"`
	Breaks     []string `yaml:"breaks"`
	Replaces   []string `yaml:"replaces"`
	Provides   []string `yaml:"provides"`

	Contents []Content `yaml:"contents"`
	Scripts  Scripts   `yaml:"scripts"`
	Deb      DebSpec   `yaml:"deb"`

	// Accepted for nfpm compatibility, not used for .deb files.
	Platform        string    `yaml:"platform"`
	VersionSchema   string    `yaml:"version_schema"`
	VersionMetadata string    `yaml:"version_metadata"`
	Umask           yaml.Node `yaml:"umask"`
	MTime           yaml.Node `yaml:"mtime"`
	Changelog       yaml.Node `yaml:"changelog"`
	DisableGlobbing bool      `yaml:"disable_globbing"`
	RPM             yaml.Node `yaml:"rpm"`
	APK             yaml.Node `yaml:"apk"`
	ArchLinux       yaml.Node `yaml:"archlinux"`
	IPK             yaml.Node `yaml:"ipk"`
	Overrides       yaml.Node `yaml:"overrides"`

	dir string // the spec file's directory; relative paths start here
}

// DebSpec holds nfpm's deb-specific section.
type DebSpec struct {
	PreDepends  []string          `yaml:"predepends"`
	Breaks      []string          `yaml:"breaks"`
	Fields      map[string]string `yaml:"fields"`
	Compression string            `yaml:"compression"`

	// Accepted for nfpm compatibility; debflow signs with --key instead.
	Signature        yaml.Node `yaml:"signature"`
	Scripts          yaml.Node `yaml:"scripts"`
	Triggers         yaml.Node `yaml:"triggers"`
	ArchVariant      yaml.Node `yaml:"arch_variant"`
	LintianOverrides yaml.Node `yaml:"lintian_overrides"`
}

// Content is one entry of the package's file tree.
type Content struct {
	Src      string   `yaml:"src"`
	Dst      string   `yaml:"dst"`
	Type     string   `yaml:"type"`
	Packager string   `yaml:"packager"`
	FileInfo FileInfo `yaml:"file_info"`
}

// FileInfo overrides the mode and ownership of a content entry.
type FileInfo struct {
	Mode  *uint32   `yaml:"mode"`
	Owner string    `yaml:"owner"`
	Group string    `yaml:"group"`
	MTime yaml.Node `yaml:"mtime"` // ignored: SOURCE_DATE_EPOCH sets every time
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
	TypeSymlink         = "symlink"
	TypeDir             = "dir"
	TypeTree            = "tree"
	typeFileExplicit    = "file"
	packagerDeb         = "deb"
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
	s.dir = filepath.Dir(file)
	return s, nil
}

// ParseSpec parses a spec from YAML. It checks the syntax and the fields that
// need no file system; Resolve checks the rest.
func ParseSpec(data []byte) (*Spec, error) {
	var s Spec
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSpec, err)
	}
	s.dir = "."
	if err := s.check(); err != nil {
		return nil, err
	}
	return &s, nil
}

func specErr(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSpec, field, fmt.Sprintf(format, args...))
}

// check validates what can be validated before the architecture and version
// are known.
func (s *Spec) check() error {
	if s.Name == "" {
		return specErr("name", "missing")
	}
	if err := debian.ValidPackageName(s.Name); err != nil {
		return specErr("name", "%v", err)
	}
	if strings.TrimSpace(s.Description) == "" {
		// dpkg-deb refuses a package without a description.
		return specErr("description", "missing")
	}
	if s.Deb.Compression != "" {
		if _, err := compress.ParseFormat(s.Deb.Compression); err != nil {
			return specErr("deb.compression", "%v", err)
		}
	}
	for _, f := range []struct{ field, value string }{
		{"name", s.Name}, {"arch", s.Arch}, {"version", s.Version}, {"epoch", s.Epoch},
		{"release", s.Release}, {"prerelease", s.Prerelease}, {"maintainer", s.Maintainer},
		{"section", s.Section}, {"priority", s.Priority}, {"homepage", s.Homepage},
		{"license", s.License}, {"vendor", s.Vendor},
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
		if err := debian.ValidFieldName(name); err != nil {
			return specErr("deb.fields", "%v", err)
		}
		if reservedField(name) {
			return specErr(field, "may only be set by the repository (publish would refuse the package)")
		}
		if err := noControl(s.Deb.Fields[name], ctlMultiline); err != nil {
			return specErr(field, "%v", err)
		}
		if err := debian.ValidFieldValue(name, s.Deb.Fields[name]); err != nil {
			return specErr(field, "%v", err)
		}
	}
	seen := map[string]int{}
	for i, c := range s.Contents {
		field := fmt.Sprintf("contents[%d]", i)
		if c.Packager != "" && c.Packager != packagerDeb {
			continue
		}
		switch c.Type {
		case TypeFile, typeFileExplicit, TypeConfig, TypeConfigNoReplace, TypeTree:
			if c.Src == "" {
				return specErr(field+".src", "missing")
			}
		case TypeSymlink:
			if c.Src == "" {
				return specErr(field+".src", "missing (the symlink's target)")
			}
		case TypeDir:
		default:
			return specErr(field+".type", "unknown type %q (want config, config|noreplace, symlink, dir, tree or none)", c.Type)
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
		if !path.IsAbs(c.Dst) {
			return specErr(field+".dst", "%q is not an absolute path", c.Dst)
		}
		dst := path.Clean(c.Dst)
		if dst == "/" {
			return specErr(field+".dst", "cannot be /")
		}
		if j, dup := seen[dst]; dup {
			return specErr(field+".dst", "%s is also the dst of contents[%d]", dst, j)
		}
		seen[dst] = i
		if m := c.FileInfo.Mode; m != nil && *m&^uint32(fs.ModePerm|0o7000) != 0 {
			return specErr(field+".file_info.mode", "%#o is not a file mode (write it in octal, like 0755)", *m)
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
