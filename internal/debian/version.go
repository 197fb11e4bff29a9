package debian

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	aptlydeb "github.com/aptly-dev/aptly/deb"
)

// CompareVersions orders two Debian versions as dpkg does: it returns -1,
// 0 or 1. Both versions should have passed ValidVersion.
func CompareVersions(a, b string) int {
	return aptlydeb.CompareVersions(a, b)
}

// ValidPackageName checks a package name against Debian policy 5.6.1: at
// least two characters of [a-z0-9.+-], starting with a letter or digit.
func ValidPackageName(name string) error {
	if len(name) < 2 {
		return fmt.Errorf("invalid package name %q: must be at least two characters", name)
	}
	if !isLowerAlnum(name[0]) {
		return fmt.Errorf("invalid package name %q: must start with a lower-case letter or digit", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isLowerAlnum(c) && c != '+' && c != '-' && c != '.' {
			return fmt.Errorf("invalid package name %q: character %q is not allowed (only a-z, 0-9, '+', '-', '.')", name, c)
		}
	}
	return nil
}

// ValidVersion checks a version against Debian policy 5.6.12:
// [epoch:]upstream[-revision], where the epoch is a number, the upstream
// part starts with a digit and holds [A-Za-z0-9.+~-] (':' only with an
// epoch, '-' only with a revision), and the revision holds [A-Za-z0-9.+~].
func ValidVersion(v string) error {
	bad := func(why string) error { return fmt.Errorf("invalid version %q: %s", v, why) }
	if v == "" {
		return bad("empty")
	}
	rest, colon := v, ""
	if epoch, after, ok := strings.Cut(rest, ":"); ok {
		if epoch == "" || strings.Trim(epoch, "0123456789") != "" {
			return bad("the epoch before ':' must be a number")
		}
		// dpkg reads the epoch as a C int and refuses anything larger.
		if _, err := strconv.ParseInt(epoch, 10, 32); err != nil {
			return bad("the epoch is too big (dpkg allows at most 2147483647)")
		}
		rest, colon = after, ":" // with an epoch, the upstream part may hold ':' too
	}
	upstream, revision := rest, ""
	if i := strings.LastIndexByte(rest, '-'); i >= 0 {
		upstream, revision = rest[:i], rest[i+1:]
		if revision == "" {
			return bad("empty revision after '-'")
		}
	}
	if upstream == "" || upstream[0] < '0' || upstream[0] > '9' {
		return bad("the upstream version must start with a digit")
	}
	for i := 0; i < len(upstream); i++ {
		if c := upstream[i]; !isAlnum(c) && !strings.ContainsRune(".+~-"+colon, rune(c)) {
			return bad(fmt.Sprintf("character %q is not allowed", c))
		}
	}
	for i := 0; i < len(revision); i++ {
		if c := revision[i]; !isAlnum(c) && !strings.ContainsRune(".+~", rune(c)) {
			return bad(fmt.Sprintf("character %q is not allowed in the revision", c))
		}
	}
	return nil
}

// ValidArchitecture checks a Debian architecture name such as amd64, arm64,
// armhf or all: lower-case letters, digits and '-', as dpkg-architecture
// accepts them. "any" and wildcards are source-package notions and refused.
func ValidArchitecture(arch string) error {
	if arch == "" {
		return fmt.Errorf("invalid architecture: empty")
	}
	if arch == "source" {
		return fmt.Errorf("invalid architecture %q: a binary package cannot be a source package (apt would get a binary-source index)", arch)
	}
	if arch == "any" || strings.Contains(arch, "any-") || strings.HasSuffix(arch, "-any") {
		return fmt.Errorf("invalid architecture %q: a binary package needs a concrete architecture or \"all\"", arch)
	}
	for i := 0; i < len(arch); i++ {
		if c := arch[i]; !isLowerAlnum(c) && c != '-' {
			return fmt.Errorf("invalid architecture %q: character %q is not allowed", arch, c)
		}
	}
	if arch[0] == '-' || arch[len(arch)-1] == '-' {
		return fmt.Errorf("invalid architecture %q", arch)
	}
	return nil
}

// relationRE matches one alternative of a relationship field:
// name[:archqual] [(op version)] [[arch ...]] [<profile ...>...].
var relationRE = regexp.MustCompile(`^([^\s:(\[<]+)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|=|>=|>>)\s*([^\s)]+)\s*\))?\s*(?:\[([^\]]*)\])?\s*((?:<[^>]*>\s*)*)$`)

// ValidRelationField checks a relationship field such as Depends: a
// comma-separated list of alternatives "pkg[:arch] (op version) [archs]",
// with names and versions checked as ValidPackageName and ValidVersion do.
func ValidRelationField(field, value string) error {
	for _, group := range strings.Split(value, ",") {
		group = strings.TrimSpace(group)
		if group == "" {
			return fmt.Errorf("%s: empty entry in %q", field, value)
		}
		for _, alt := range strings.Split(group, "|") {
			alt = strings.TrimSpace(alt)
			m := relationRE.FindStringSubmatch(alt)
			if m == nil {
				return fmt.Errorf("%s: %q is not \"package (op version)\"", field, alt)
			}
			if err := ValidPackageName(m[1]); err != nil {
				return fmt.Errorf("%s: %w", field, err)
			}
			if m[4] != "" {
				if err := ValidVersion(m[4]); err != nil {
					return fmt.Errorf("%s: %q: %w", field, alt, err)
				}
			}
		}
	}
	return nil
}

func isLowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isAlnum(c byte) bool      { return isLowerAlnum(c) || c >= 'A' && c <= 'Z' }
