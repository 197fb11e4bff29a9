package build

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// VersionParts are the inputs of a package's Debian version: the base
// version (from --version, the spec's version or git) and the spec's
// epoch, prerelease, release, version_metadata and version_schema.
type VersionParts struct {
	Base       string
	Epoch      string
	Prerelease string
	Release    string
	Metadata   string
	// Schema is nfpm's version_schema: "semver" (the default, also for
	// "") reads Base as a semantic version, "none" takes it as it is.
	Schema string
}

// Version schemas, as nfpm names them.
const (
	SchemaSemver = "semver"
	SchemaNone   = "none"
)

// looseSemver is the lenient semantic-version syntax that nfpm reads (that
// of github.com/Masterminds/semver/v3's NewVersion): an optional "v", one
// to three numbers, an optional "-prerelease" and "+metadata".
var looseSemver = regexp.MustCompile(`^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?` +
	`(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?` +
	`(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$`)

// parseSemver splits v as nfpm does: "v1.2-rc1+b5" is 1.2.0, pre-release
// "rc1", metadata "b5". ok is false when v is not a semantic version.
func parseSemver(v string) (core, pre, meta string, ok bool) {
	m := looseSemver.FindStringSubmatch(v)
	if m == nil {
		return "", "", "", false
	}
	var nums [3]uint64
	for i, s := range m[1:4] {
		if s == "" {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimPrefix(s, "."), 10, 64)
		if err != nil {
			return "", "", "", false
		}
		nums[i] = n
	}
	pre, meta = m[5], m[8]
	for _, id := range strings.Split(pre, ".") {
		// semver: numeric pre-release identifiers have no leading zeros.
		if len(id) > 1 && id[0] == '0' && strings.Trim(id, "0123456789") == "" {
			return "", "", "", false
		}
	}
	return fmt.Sprintf("%d.%d.%d", nums[0], nums[1], nums[2]), pre, meta, true
}

// DebianVersion is the one place where a package's version is composed,
// as nfpm's deb packager does: [epoch:]version[~prerelease][+metadata][-release].
//
// With the semver schema a base that parses as a semantic version is
// normalised ("v1.2" is 1.2.0) and its pre-release and metadata are used
// unless the spec gives its own; the pre-release goes after '~', so that
// 1.2.3~rc1 sorts below 1.2.3 as a pre-release must. A base that is not a
// semantic version (a git-derived "1.2.0+git5.H", or "1.2.3~rc1") is kept
// as it is, like nfpm does, except that a leading "v" before a digit is
// dropped (a Debian version must start with a digit). The release is the
// Debian revision; the epoch comes first.
func DebianVersion(p VersionParts) (string, error) {
	base := strings.TrimSpace(p.Base)
	pre, meta := strings.TrimSpace(p.Prerelease), strings.TrimSpace(p.Metadata)
	switch p.Schema {
	case "", SchemaSemver:
		if core, vpre, vmeta, ok := parseSemver(base); ok {
			base = core
			if pre == "" {
				pre = vpre
			}
			if meta == "" {
				meta = vmeta
			}
		}
	case SchemaNone:
	default:
		return "", fmt.Errorf("version_schema %q: want semver or none", p.Schema)
	}
	if len(base) > 1 && base[0] == 'v' && base[1] >= '0' && base[1] <= '9' {
		base = base[1:]
	}
	if base == "" {
		return "", fmt.Errorf("empty version")
	}
	v := base
	if pre != "" {
		v += "~" + pre
	}
	if meta != "" {
		v += "+" + meta
	}
	if r := strings.TrimSpace(p.Release); r != "" {
		v += "-" + r
	}
	if e := strings.TrimSpace(p.Epoch); e != "" {
		if strings.Contains(base, ":") {
			return "", fmt.Errorf("epoch %q given, but version %q has one already", e, base)
		}
		v = e + ":" + v
	}
	return v, nil
}
