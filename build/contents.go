package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/debflow/debflow/internal/compress"
)

// defaultUmask is taken off source file modes when the spec sets no
// umask. nfpm's default is 0002, which packages a group-writable checkout
// (the usual umask of desktop distributions) as group-writable files
// owned by root; debflow takes 0022, so that the modes in a package do
// not depend on the umask of the checkout.
const defaultUmask = 0o022

// debCompression reads nfpm's deb.compression: a format, optionally with
// a level after ':' ("gzip:9", "zstd:fastest"; compress.ParseMethod).
func debCompression(v string) (compress.Format, int, error) {
	return compress.ParseMethod(v)
}

// contentTree builds the data tree by nfpm's rules (files.PrepareForPackager):
// each destination at most once, directories only over implicit ones,
// parents created as needed.
type contentTree struct {
	byPath   map[string]*Entry
	implicit map[string]bool
}

func (t *contentTree) collide(p, field string) error {
	return specErr(field, "%s is already in the package", p)
}

// addParents adds the missing parent directories of p, owned by owner and
// group unless the directory belongs to the base system (as nfpm does).
func (t *contentTree) addParents(p, owner, group, field string) error {
	var parents []string
	for d := parentDir(p); d != "/"; d = parentDir(d) {
		parents = append(parents, d)
	}
	slices.Reverse(parents)
	for _, d := range parents {
		if e, ok := t.byPath[d]; ok {
			if e.Kind != KindDir {
				return specErr(field, "%s needs %s to be a directory, but it is a file or symlink in the package", p, d)
			}
			continue
		}
		e := &Entry{Path: d, Kind: KindDir, Mode: 0o755, Owner: "root", Group: "root"}
		if !ownedByFilesystem(d) {
			if owner != "" {
				e.Owner, e.UID = ownerOf(owner)
			}
			if group != "" {
				e.Group, e.GID = ownerOf(group)
			}
		}
		t.byPath[d] = e
		t.implicit[d] = true
	}
	return nil
}

// enterable gives a directory mode an execute bit for each read bit: a
// directory that can be listed but not entered is of no use, and nfpm
// packages file_info.mode 0640 on a directory as it is.
func enterable(m int64) int64 {
	return m | (m&0o444)>>2
}

// entries expands the contents list into the data tree as nfpm v2.45.2
// does for a .deb; see README.md for where debflow differs and why.
func (s *Spec) entries(arch string, getenv func(string) string) ([]Entry, error) {
	t := &contentTree{byPath: map[string]*Entry{}, implicit: map[string]bool{}}
	umask := int64(defaultUmask)
	if s.Umask != nil {
		umask = int64(*s.Umask)
	}
	for i, c := range s.Contents {
		if c.Packager != "" && c.Packager != packagerDeb {
			continue
		}
		field := fmt.Sprintf("contents[%d]", i)
		switch c.Type {
		case typeGhost, typeDoc, typeLicence, typeLicense, typeReadme:
			continue // rpm only: nfpm leaves them out of a .deb
		}
		dst := path.Clean("/" + expand(c.Dst, arch, getenv))
		if err := noControl(dst, ctlNone); err != nil {
			return nil, specErr(field+".dst", "after expansion: %v", err)
		}
		base := Entry{Owner: "root", Group: "root", MTime: c.FileInfo.MTime}
		if c.FileInfo.Owner != "" {
			base.Owner, base.UID = ownerOf(c.FileInfo.Owner)
		}
		if c.FileInfo.Group != "" {
			base.Group, base.GID = ownerOf(c.FileInfo.Group)
		}
		var fileMode *int64
		if c.FileInfo.Mode != nil {
			m := int64(*c.FileInfo.Mode)
			fileMode = &m
		}
		switch c.Type {
		case TypeDir:
			if dst == "/" {
				return nil, specErr(field+".dst", "cannot be /")
			}
			if _, ok := t.byPath[dst]; ok && !t.implicit[dst] {
				return nil, t.collide(dst, field+".dst")
			}
			if err := t.addParents(dst, "", "", field+".dst"); err != nil {
				return nil, err
			}
			e := base
			e.Path, e.Kind, e.Mode = dst, KindDir, 0o755
			if fileMode != nil {
				e.Mode = enterable(*fileMode)
			}
			t.put(&e)
		case TypeSymlink:
			if _, ok := t.byPath[dst]; ok {
				return nil, t.collide(dst, field+".dst")
			}
			if err := t.addParents(dst, "", "", field+".dst"); err != nil {
				return nil, err
			}
			e := base
			e.Path, e.Kind, e.Mode, e.Target = dst, KindSymlink, 0o777, expand(c.Src, arch, getenv)
			if err := noControl(e.Target, ctlNone); err != nil {
				return nil, specErr(field+".src", "after expansion: %v", err)
			}
			t.put(&e)
		case TypeTree:
			src := s.resolve(expand(c.Src, arch, getenv))
			if err := t.addTree(src, dst, base, fileMode, umask, c.FileInfo, field); err != nil {
				return nil, err
			}
		default:
			src := s.resolve(expand(c.Src, arch, getenv))
			matches, err := nfpmGlob(src, expand(c.Dst, arch, getenv), s.DisableGlobbing)
			if err != nil {
				return nil, specErr(field+".src", "%v", err)
			}
			for _, m := range matches {
				d := path.Clean("/" + m.dst)
				if err := noControl(d, ctlNone); err != nil {
					return nil, specErr(field+".src", "%s: %v", m.src, err)
				}
				if _, ok := t.byPath[d]; ok {
					return nil, t.collide(d, field+".dst")
				}
				if err := t.addParents(d, c.FileInfo.Owner, c.FileInfo.Group, field+".dst"); err != nil {
					return nil, err
				}
				e := base
				e.Path = d
				fi, err := os.Lstat(m.src)
				if err != nil {
					return nil, specErr(field+".src", "%v", err)
				}
				switch {
				case fi.Mode()&fs.ModeSymlink != 0:
					target, err := os.Readlink(m.src)
					if err != nil {
						return nil, specErr(field+".src", "%v", err)
					}
					e.Kind, e.Mode, e.Target = KindSymlink, 0o777, target
				case fi.Mode().IsRegular():
					e.Kind, e.Source = KindFile, m.src
					e.Mode = sourceMode(fi, umask)
					if fileMode != nil {
						e.Mode = *fileMode
					}
					e.Conffile = c.Type == TypeConfig || c.Type == TypeConfigNoReplace || c.Type == TypeConfigMissingOK
				default:
					return nil, specErr(field+".src", "%s: not a regular file (%v)", m.src, fi.Mode().Type())
				}
				t.put(&e)
			}
		}
	}
	out := make([]Entry, 0, len(t.byPath))
	for _, p := range slices.Sorted(mapsKeys(t.byPath)) {
		out = append(out, *t.byPath[p])
	}
	return out, nil
}

func mapsKeys(m map[string]*Entry) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (t *contentTree) put(e *Entry) {
	t.byPath[e.Path] = e
	delete(t.implicit, e.Path)
}

// sourceMode is a source file's permission bits, with setuid, setgid and
// sticky, less the umask: a 0600 secret stays 0600.
func sourceMode(fi fs.FileInfo, umask int64) int64 {
	m := int64(fi.Mode().Perm()) &^ umask
	if fi.Mode()&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}

// addTree copies a directory as it is: subdirectories with their modes,
// files, and symlinks as symlinks (nfpm's type: tree).
func (t *contentTree) addTree(src, dst string, base Entry, fileMode *int64, umask int64, info FileInfo, field string) error {
	if _, ok := t.byPath[dst]; ok && dst != "/" && !t.implicit[dst] {
		return t.collide(dst, field+".dst")
	}
	if err := t.addParents(dst, info.Owner, info.Group, field+".dst"); err != nil {
		return err
	}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		e := base
		e.Path = path.Join(dst, filepath.ToSlash(rel))
		if err := noControl(e.Path, ctlNone); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if e.Path == "/" {
				return nil
			}
			e.Kind, e.Mode = KindDir, sourceMode(fi, umask)
			if fileMode != nil {
				e.Mode = enterable(*fileMode)
			}
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			e.Kind, e.Mode, e.Target = KindSymlink, 0o777, target
		case fi.Mode().IsRegular():
			e.Kind, e.Source, e.Mode = KindFile, p, sourceMode(fi, umask)
			if fileMode != nil {
				e.Mode = *fileMode
			}
		default:
			return fmt.Errorf("%s: only regular files, directories and symlinks can be packaged from a tree", p)
		}
		t.put(&e)
		return nil
	})
	if err != nil {
		return specErr(field+".src", "%v", err)
	}
	return nil
}

type globMatch struct{ src, dst string }

// nfpmGlob expands a content's src as nfpm's internal/glob does: a
// pattern (with *, **, ?, [...] or {a,b}) or a path; a directory stands
// for every file below it. Each match goes to dst/BASENAME when dst ends
// in '/', else to dst joined with its path relative to the pattern's
// directory (or to the src itself, when it is a path): so a glob's files,
// even a single one, land inside dst, and ** keeps subdirectories.
func nfpmGlob(pattern, dst string, disableGlobbing bool) ([]globMatch, error) {
	hasMeta := !disableGlobbing && strings.ContainsAny(pattern, "*?[{")
	var matches []string
	if hasMeta {
		re, root, err := globRegexp(pattern)
		if err != nil {
			return nil, fmt.Errorf("bad pattern %q: %w", pattern, err)
		}
		err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if p == root && errors.Is(err, fs.ErrNotExist) {
					return fs.SkipAll
				}
				return err
			}
			if !re.MatchString(filepath.ToSlash(p)) {
				return nil
			}
			if d.IsDir() {
				files, err := filesBelow(p)
				matches = append(matches, files...)
				if err != nil {
					return err
				}
				return fs.SkipDir
			}
			matches = append(matches, p)
			return nil
		})
		if err != nil {
			return nil, err
		}
	} else {
		fi, err := os.Lstat(pattern)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			if matches, err = filesBelow(pattern); err != nil {
				return nil, err
			}
		} else {
			matches = []string{pattern}
		}
	}
	slices.Sort(matches)
	matches = slices.Compact(matches)
	if len(matches) == 0 {
		return nil, fmt.Errorf("%s: no file matches", pattern)
	}
	prefix := pattern
	if hasMeta {
		prefix = filepath.Dir(commonPrefix(matches))
	}
	var out []globMatch
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			continue // a symlink to a directory: nfpm skips it too
		}
		if strings.HasSuffix(dst, "/") {
			out = append(out, globMatch{m, path.Join(dst, filepath.Base(m))})
			continue
		}
		rel, err := filepath.Rel(prefix, m)
		if err != nil {
			return nil, err
		}
		out = append(out, globMatch{m, path.Join(dst, filepath.ToSlash(rel))})
	}
	return out, nil
}

// filesBelow lists everything but directories below dir (symlinks are not
// followed).
func filesBelow(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// commonPrefix is the longest common string prefix, as nfpm computes it.
func commonPrefix(s []string) string {
	p := s[0]
	for _, v := range s[1:] {
		n := min(len(p), len(v))
		i := 0
		for i < n && p[i] == v[i] {
			i++
		}
		p = p[:i]
	}
	return p
}

// globRegexp compiles a glob as github.com/goreleaser/fileglob reads it:
// '*' within a path element, '**' across elements ("a/**/b" needs a
// directory between a and b), '?', '[...]', '{a,b}',
// and '\' quoting. root is the directory to walk: the pattern's part
// before its first element with a wildcard.
func globRegexp(pattern string) (*regexp.Regexp, string, error) {
	pattern = filepath.ToSlash(pattern)
	elems := strings.Split(pattern, "/")
	var static []string
	for _, e := range elems {
		if strings.ContainsAny(e, "*?[{\\") {
			break
		}
		static = append(static, e)
	}
	root := strings.Join(static, "/")
	switch {
	case root == "" && strings.HasPrefix(pattern, "/"):
		root = "/"
	case root == "":
		root = "."
	}
	var b strings.Builder
	b.WriteString("^")
	depth := 0
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch c {
		case '*':
			if i+1 < len(pattern) && pattern[i+1] == '*' {
				// Any characters, '/' too; "a/**/b" still needs
				// both slashes, so it does not match "a/b".
				i++
				b.WriteString(".*")
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		case '[':
			j := strings.IndexByte(pattern[i:], ']')
			if j < 0 {
				return nil, "", fmt.Errorf("unclosed [")
			}
			class := pattern[i+1 : i+j]
			if strings.HasPrefix(class, "!") {
				class = "^" + class[1:]
			}
			b.WriteString("[" + class + "]")
			i += j
		case '{':
			depth++
			b.WriteString("(?:")
		case '}':
			if depth == 0 {
				return nil, "", fmt.Errorf("unmatched }")
			}
			depth--
			b.WriteString(")")
		case ',':
			if depth > 0 {
				b.WriteString("|")
			} else {
				b.WriteString(",")
			}
		case '\\':
			if i+1 < len(pattern) {
				i++
				b.WriteString(regexp.QuoteMeta(string(pattern[i])))
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if depth != 0 {
		return nil, "", fmt.Errorf("unclosed {")
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	return re, filepath.FromSlash(root), err
}

// ownedByFilesystem reports whether a directory belongs to the base system
// (nfpm v2.45.2's list in files/fs.go, the Fedora filesystem package's
// directories and logrotate's): a content's owner is
// not given to it when it is created as a parent.
func ownedByFilesystem(p string) bool {
	return slices.Contains(fsDirs, p)
}

var fsDirs = []string{
	"/afs", "/bin", "/boot", "/dev", "/etc", "/etc/X11", "/etc/X11/applnk", "/etc/X11/fontpath.d",
	"/etc/X11/xinit", "/etc/X11/xinit/xinitrc.d", "/etc/X11/xinit/xinput.d", "/etc/bash_completion.d",
	"/etc/keys", "/etc/keys/ima", "/etc/opt", "/etc/pki", "/etc/pm", "/etc/pm/config.d", "/etc/pm/power.d",
	"/etc/pm/sleep.d", "/etc/rwtab.d", "/etc/skel", "/etc/statetab.d", "/etc/sysconfig", "/etc/xdg",
	"/etc/xdg/autostart", "/home", "/lib", "/lib64", "/media", "/mnt", "/opt", "/proc", "/root", "/run",
	"/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/bin", "/usr/games", "/usr/include", "/usr/lib",
	"/usr/lib/debug", "/usr/lib/debug/.dwz", "/usr/lib/debug/bin", "/usr/lib/debug/lib", "/usr/lib/debug/lib64",
	"/usr/lib/debug/sbin", "/usr/lib/debug/usr", "/usr/lib/debug/usr/.dwz", "/usr/lib/debug/usr/bin",
	"/usr/lib/debug/usr/lib", "/usr/lib/debug/usr/lib64", "/usr/lib/debug/usr/sbin", "/usr/lib/games",
	"/usr/lib/locale", "/usr/lib/modules", "/usr/lib/sysimage", "/usr/lib/systemd", "/usr/lib/systemd/system",
	"/usr/lib/systemd/user", "/usr/lib/sysusers.d", "/usr/lib/tmpfiles.d", "/usr/lib64", "/usr/lib64/X11",
	"/usr/lib64/bpf", "/usr/lib64/games", "/usr/lib64/pm-utils", "/usr/lib64/pm-utils/module.d",
	"/usr/lib64/pm-utils/power.d", "/usr/lib64/pm-utils/sleep.d", "/usr/libexec", "/usr/local",
	"/usr/local/bin", "/usr/local/etc", "/usr/local/games", "/usr/local/include", "/usr/local/lib",
	"/usr/local/lib64", "/usr/local/lib64/bpf", "/usr/local/libexec", "/usr/local/sbin", "/usr/local/share",
	"/usr/local/share/applications", "/usr/local/share/info", "/usr/local/share/man",
	"/usr/local/share/man/man1", "/usr/local/share/man/man1x", "/usr/local/share/man/man2",
	"/usr/local/share/man/man2x", "/usr/local/share/man/man3", "/usr/local/share/man/man3x",
	"/usr/local/share/man/man4", "/usr/local/share/man/man4x", "/usr/local/share/man/man5",
	"/usr/local/share/man/man5x", "/usr/local/share/man/man6", "/usr/local/share/man/man6x",
	"/usr/local/share/man/man7", "/usr/local/share/man/man7x", "/usr/local/share/man/man8",
	"/usr/local/share/man/man8x", "/usr/local/share/man/man9", "/usr/local/share/man/man9x",
	"/usr/local/share/man/mann", "/usr/local/src", "/usr/sbin", "/usr/share", "/usr/share/X11",
	"/usr/share/X11/fonts", "/usr/share/aclocal", "/usr/share/appdata", "/usr/share/applications",
	"/usr/share/augeas", "/usr/share/augeas/lenses", "/usr/share/backgrounds", "/usr/share/bash-completion",
	"/usr/share/bash-completion/completions", "/usr/share/bash-completion/helpers",
	"/usr/share/desktop-directories", "/usr/share/dict", "/usr/share/doc", "/usr/share/empty",
	"/usr/share/fish", "/usr/share/fish/vendor_completions.d", "/usr/share/games", "/usr/share/gnome",
	"/usr/share/help", "/usr/share/icons", "/usr/share/idl", "/usr/share/info", "/usr/share/licenses",
	"/usr/share/locale", "/usr/share/locale/en_US", "/usr/share/locale/en_US/LC_MESSAGES", "/usr/share/man",
	"/usr/share/man/man0p", "/usr/share/man/man1", "/usr/share/man/man1p", "/usr/share/man/man1x",
	"/usr/share/man/man2", "/usr/share/man/man2x", "/usr/share/man/man3", "/usr/share/man/man3p",
	"/usr/share/man/man3x", "/usr/share/man/man4", "/usr/share/man/man4x", "/usr/share/man/man5",
	"/usr/share/man/man5x", "/usr/share/man/man6", "/usr/share/man/man6x", "/usr/share/man/man7",
	"/usr/share/man/man7x", "/usr/share/man/man8", "/usr/share/man/man8x", "/usr/share/man/man9",
	"/usr/share/man/man9x", "/usr/share/man/mann", "/usr/share/metainfo", "/usr/share/mime-info",
	"/usr/share/misc", "/usr/share/omf", "/usr/share/pixmaps", "/usr/share/sounds", "/usr/share/themes",
	"/usr/share/wayland-sessions", "/usr/share/xsessions", "/usr/share/zsh", "/usr/share/zsh/site-functions",
	"/usr/src", "/usr/src/debug", "/usr/src/kernels", "/usr/tmp", "/var", "/var/adm", "/var/cache", "/var/db",
	"/var/empty", "/var/ftp", "/var/games", "/var/lib", "/var/lib/games", "/var/lib/misc", "/var/lib/rpm-state",
	"/var/local", "/var/log", "/var/mail", "/var/nis", "/var/opt", "/var/preserve", "/var/run", "/var/spool",
	"/var/spool/lpd", "/var/spool/mail", "/var/tmp", "/var/yp", "/etc/logrotate.d", "/usr/lib/.build-id",
	"/usr/lib/.build-id/ae", "/usr/share/licenses/logrotate", "/var/lib/logrotate",
}
