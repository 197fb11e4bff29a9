package build

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"go/build"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/internal/compress"
)

// nfpmVersion is the nfpm that debflow's spec reader follows. .ci/run
// installs it with `go install github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.45.2`.
const nfpmVersion = "v2.45.2"

func nfpmBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nfpm"); err == nil {
		return p
	}
	if p := filepath.Join(build.Default.GOPATH, "bin", "nfpm"); fileExists(p) {
		return p
	}
	t.Skipf("nfpm not installed (go install github.com/goreleaser/nfpm/v2/cmd/nfpm@%s)", nfpmVersion)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// nfpmModuleDir is nfpm's module in the module cache (its acceptance
// specs are read from there at test time, never copied into this repo).
func nfpmModuleDir() string {
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		return ""
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "github.com/goreleaser/nfpm/v2@"+nfpmVersion)
	if !fileExists(filepath.Join(dir, "testdata/acceptance")) {
		return ""
	}
	return dir
}

// debContents is what a user notices about a package.
type debContents struct {
	control map[string]string // field (lower case) -> value
	members map[string]string // control.tar member -> mode and contents
	tree    map[string]string // path -> type, mode, owner, size, target
}

func readDebContents(t *testing.T, file string) debContents {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dc := debContents{control: map[string]string{}, members: map[string]string{}, tree: map[string]string{}}
	r := ar.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		if !strings.HasPrefix(name, "control.tar") && !strings.HasPrefix(name, "data.tar") {
			continue
		}
		format, err := compress.FormatForName(name)
		if err != nil {
			t.Fatalf("%s: %s: %v", file, name, err)
		}
		zr, err := compress.NewReader(io.LimitReader(r, h.Size), format)
		if err != nil {
			t.Fatalf("%s: %s: %v", file, name, err)
		}
		tr := tar.NewReader(zr)
		for {
			th, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %s: %v", file, name, err)
			}
			p := "/" + strings.Trim(strings.TrimPrefix(th.Name, "./"), "/")
			if strings.HasPrefix(name, "control.tar") {
				if th.Typeflag != tar.TypeReg {
					continue
				}
				body, _ := io.ReadAll(tr)
				member := strings.TrimPrefix(p, "/")
				switch member {
				case "control":
					dc.control = parseControl(string(body))
				case "md5sums", "conffiles":
					if len(bytes.TrimSpace(body)) == 0 {
						continue // nfpm writes an empty md5sums: the same as none
					}
					lines := strings.Split(strings.TrimSpace(string(body)), "\n")
					sort.Strings(lines)
					dc.members[member] = fmt.Sprintf("%#o\n%s", th.Mode, strings.Join(lines, "\n"))
				default:
					dc.members[member] = fmt.Sprintf("%#o\n%s", th.Mode, body)
				}
				continue
			}
			if p == "/" {
				continue
			}
			owner, group := th.Uname, th.Gname
			if owner == "" && th.Uid == 0 {
				owner = "root"
			}
			if group == "" && th.Gid == 0 {
				group = "root"
			}
			entry := fmt.Sprintf("mode=%#o owner=%s:%s", th.Mode&0o7777, owner, group)
			switch th.Typeflag {
			case tar.TypeDir:
				entry = "dir " + entry
			case tar.TypeSymlink:
				// A symlink's mode means nothing on Linux (nfpm
				// writes 0 or the source's).
				entry = fmt.Sprintf("symlink owner=%s:%s -> %s", owner, group, th.Linkname)
			case tar.TypeReg:
				entry = fmt.Sprintf("file %s size=%d", entry, th.Size)
			default:
				entry = fmt.Sprintf("type %c %s", th.Typeflag, entry)
			}
			dc.tree[p] = entry
		}
	}
	return dc
}

func parseControl(s string) map[string]string {
	out := map[string]string{}
	var last string
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") {
			out[last] += "\n" + line
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		last = strings.ToLower(name)
		out[last] = strings.TrimSpace(value)
	}
	return out
}

// ignoredFields differ by design and are not counted as differences:
// Installed-Size (computed differently: nfpm adds file sizes, debflow
// rounds each file up to a KiB as dpkg-gencontrol does) and the fields
// debflow adds.
var ignoredFields = []string{"installed-size", strings.ToLower(CommitField)}

// documentedDifferences are the ways debflow's package differs from
// nfpm's on purpose; README.md's table lists the same. Each tells
// whether a difference (nfpm's value, debflow's) is this one.
var documentedDifferences = []struct {
	name string
	is   func(where, nfpm, debflow string, dtree map[string]string) bool
}{
	{"a symlink source whose target does not exist where the package is built (as /usr/bin/app): nfpm makes dst a directory holding the link, debflow makes dst the link", func(where, n, d string, dtree map[string]string) bool {
		p := strings.TrimPrefix(where, "tree ")
		return strings.HasPrefix(where, "tree ") && (strings.HasPrefix(n, "dir ") && strings.HasPrefix(d, "symlink ") ||
			strings.HasPrefix(n, "symlink ") && d == "" && strings.HasPrefix(dtree[filepath.Dir(p)], "symlink "))
	}},
	{"default umask: 0022, where nfpm's is 0002, so that a checkout made under umask 002 does not package group-writable files (umask: 0o002 in the spec gives nfpm's)", func(where, n, d string, _ map[string]string) bool {
		var nm, dm int64
		if !strings.HasPrefix(n, "file mode=") || !strings.HasPrefix(d, "file mode=") {
			return false
		}
		fmt.Sscanf(strings.TrimPrefix(n, "file mode="), "%o", &nm)
		fmt.Sscanf(strings.TrimPrefix(d, "file mode="), "%o", &dm)
		return nm&0o020 != 0 && dm == nm&^0o020 && strings.SplitN(n, " ", 3)[2] == strings.SplitN(d, " ", 3)[2]
	}},
	{"changelog: an entry without a deb: section (or without distributions) gets \"unstable; urgency=low\", since nfpm's bare \"NAME (VERSION)\" line is not a Debian changelog line", func(where, n, d string, _ map[string]string) bool {
		return strings.HasSuffix(where, "/changelog.Debian.gz") && strings.HasPrefix(n, "file ") && strings.HasPrefix(d, "file ") ||
			where == "member md5sums" && sameButChangelog(n, d)
	}},
	{"directories: a file_info.mode without execute bits gets one for each read bit, so that the directory can be entered", func(where, n, d string, dtree map[string]string) bool {
		var nm, dm int64
		if !strings.HasPrefix(where, "tree ") || !strings.HasPrefix(n, "dir ") || !strings.HasPrefix(d, "dir ") {
			return false
		}
		fmt.Sscanf(strings.TrimPrefix(n, "dir mode="), "%o", &nm)
		fmt.Sscanf(strings.TrimPrefix(d, "dir mode="), "%o", &dm)
		return dm == enterable(nm) && dm != nm && strings.SplitN(n, " ", 3)[2] == strings.SplitN(d, " ", 3)[2]
	}},
}

// sameButChangelog tells whether two md5sums differ only in the
// changelog's line.
func sameButChangelog(n, d string) bool {
	nl, dl := strings.Split(n, "\n"), strings.Split(d, "\n")
	if len(nl) != len(dl) {
		return false
	}
	for i := range nl {
		if nl[i] != dl[i] && !(strings.HasSuffix(nl[i], "/changelog.Debian.gz") && strings.HasSuffix(dl[i], "/changelog.Debian.gz")) {
			return false
		}
	}
	return true
}

// compareDebs lists the differences between nfpm's and debflow's packages;
// documented ones are returned apart.
func compareDebs(nfpmDeb, debflowDeb debContents) (undocumented, documented []string) {
	note := func(where, n, d string) {
		for _, doc := range documentedDifferences {
			if doc.is(where, n, d, debflowDeb.tree) {
				documented = append(documented, where+": "+doc.name)
				return
			}
		}
		undocumented = append(undocumented, fmt.Sprintf("%s: nfpm %q, debflow %q", where, n, d))
	}
	keys := func(maps ...map[string]string) []string {
		var all []string
		for _, m := range maps {
			for k := range m {
				all = append(all, k)
			}
		}
		slices.Sort(all)
		return slices.Compact(all)
	}
	for _, k := range keys(nfpmDeb.control, debflowDeb.control) {
		if slices.Contains(ignoredFields, k) {
			continue
		}
		if n, d := nfpmDeb.control[k], debflowDeb.control[k]; n != d {
			note("control "+k, n, d)
		}
	}
	for _, k := range keys(nfpmDeb.members, debflowDeb.members) {
		if n, d := nfpmDeb.members[k], debflowDeb.members[k]; n != d {
			note("member "+k, n, d)
		}
	}
	for _, k := range keys(nfpmDeb.tree, debflowDeb.tree) {
		if n, d := nfpmDeb.tree[k], debflowDeb.tree[k]; n != d {
			note("tree "+k, n, d)
		}
	}
	return undocumented, documented
}

// refusedByDesign are nfpm specs that nfpm turns into packages that
// break Debian's rules, and that debflow refuses with a spec error (exit
// 3), as publish would refuse the package.
var refusedByDesign = map[string]string{
	"contents.yaml":  `package name "contents foo" (dpkg -i refuses the package nfpm makes)`,
	"overrides.yaml": `dependency name "deb_depend" ('_' is not allowed in a Debian package name; apt cannot install it)`,
}

type compatCase struct {
	name  string
	dir   string // the spec's directory, where both tools run
	spec  string // file name in dir
	env   []string
	check func(t *testing.T, d debContents) // what debflow's package must hold, beyond equality
}

// runNfpm builds with nfpm from the spec's directory; ok is false when
// nfpm refuses the spec.
func runNfpm(t *testing.T, bin string, c compatCase, out string) (string, bool) {
	t.Helper()
	target := filepath.Join(out, "nfpm.deb")
	cmd := exec.Command(bin, "package", "--packager", "deb", "--config", c.spec, "--target", target)
	cmd.Dir = c.dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + out, "SOURCE_DATE_EPOCH=1700000000"}, c.env...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Logf("%s: nfpm refuses it: %v\n%s", c.name, err, msg)
		return "", false
	}
	return target, true
}

func runDebflow(t *testing.T, c compatCase, out string) (string, error) {
	t.Helper()
	spec, err := LoadSpec(filepath.Join(c.dir, c.spec))
	if err != nil {
		return "", err
	}
	kv := []string{"SOURCE_DATE_EPOCH", "1700000000"}
	for _, e := range c.env {
		k, v, _ := strings.Cut(e, "=")
		kv = append(kv, k, v)
	}
	res, err := Build(context.Background(), spec, Options{OutDir: out, Getenv: env(kv...), Check: inspect})
	if err != nil {
		return "", err
	}
	return res.Path, nil
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		mode := os.FileMode(0o644)
		if strings.HasPrefix(body, "#!") {
			mode = 0o755
		}
		if strings.HasPrefix(name, "secret") {
			mode = 0o600
		}
		if strings.HasPrefix(name, "group-writable") {
			mode = 0o664 // a checkout under umask 002
		}
		if target, ok := strings.CutPrefix(body, "symlink:"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode) // whatever the umask
	}
}

// compatFiles are the sources that the test's own specs package.
var compatFiles = map[string]string{
	"bin/app":                "#!/bin/sh\necho app\n",
	"bin/helper":             "#!/bin/sh\necho helper\n",
	"etc/app.conf":           "level = 1\n",
	"etc/extra.conf":         "extra = 1\n",
	"secret.key":             "do not read\n",
	"docs/README":            "readme\n",
	"docs/guide/intro.md":    "# intro\n",
	"docs/guide/deep/x.md":   "# x\n",
	"docs/latest":            "symlink:guide/intro.md",
	"web/index.html":         "<p>hi</p>\n",
	"web/css/site.css":       "p{}\n",
	"web/current":            "symlink:index.html",
	"link-to-app":            "symlink:/usr/bin/app",
	"scripts/postinst":       "#!/bin/sh\nset -e\necho postinst \"$@\"\n",
	"scripts/prerm":          "#!/bin/sh\nset -e\necho prerm \"$@\"\n",
	"scripts/postinst-deb":   "#!/bin/sh\nset -e\necho deb postinst \"$@\"\n",
	"scripts/config":         "#!/bin/sh\nset -e\necho config \"$@\"\n",
	"scripts/rules":          "#!/usr/bin/make -f\n%:\n\techo rules\n",
	"scripts/templates":      "Template: app/question\nType: string\nDefault: yes\nDescription: A question?\n",
	"changelog.yaml":         "- semver: 1.1.0-1\n  date: 2023-11-14T22:13:20Z\n  packager: T <t@example.com>\n  deb:\n    urgency: medium\n    distributions: [stable]\n  changes:\n    - note: first line\n    - note: |-\n        two\n        lines\n- semver: 1.0.0\n  date: 2023-01-02T03:04:05Z\n  packager: T <t@example.com>\n  changes:\n    - note: initial\n",
	"dist/amd64/tool":        "#!/bin/sh\necho amd64\n",
	"dist/arm64/tool":        "#!/bin/sh\necho arm64\n",
	"dist/armhf/tool":        "#!/bin/sh\necho armhf\n",
	"share/a/one.txt":        "1\n",
	"share/b/two.txt":        "2\n",
	"share/b/c/three.txt":    "3\n",
	"single/only.txt":        "only\n",
	"group-writable.txt":     "shared\n",
	"ghost-and-docs/LICENSE": "MIT\n",
}

const compatHead = "name: app\nversion: 1.2.3\nmaintainer: T <t@example.com>\ndescription: |\n  The app\n  does things.\n"

// compatSpecs are small specs, one or a few features each, so that a
// difference points at its feature.
var compatSpecs = []struct {
	name, spec string
	env        []string
	check      func(t *testing.T, d debContents)
}{
	{name: "minimal", spec: "name: app\nversion: 1.0.0\narch: amd64\nmaintainer: T <t@example.com>\ndescription: d\nsection: utils\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n"},
	{name: "no description, no section", spec: "name: app\nversion: 1.0.0\nmaintainer: T <t@example.com>\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n",
		check: wantField("description", "no description given")},
	{name: "prerelease", spec: compatHead + "prerelease: beta\n", check: wantField("version", "1.2.3~beta")},
	{name: "semver prerelease in version", spec: "name: app\nversion: v2.0.0-rc.1\ndescription: d\n", check: wantField("version", "2.0.0~rc.1")},
	{name: "short version", spec: "name: app\nversion: \"1.2\"\ndescription: d\n", check: wantField("version", "1.2.0")},
	{name: "version schema none", spec: "name: app\nversion: \"1.2\"\nversion_schema: none\ndescription: d\n", check: wantField("version", "1.2")},
	{name: "epoch release metadata", spec: compatHead + "epoch: 2\nrelease: 3\nversion_metadata: git5\nprerelease: rc1\n", check: wantField("version", "2:1.2.3~rc1+git5-3")},
	{name: "version from env", spec: "name: app\nversion: ${VERSION}\ndescription: d\n", env: []string{"VERSION=v3.1.4"}, check: wantField("version", "3.1.4")},
	{name: "env everywhere", spec: "name: app\nversion: 1.0.0\narch: ${BUILD_ARCH}\nmaintainer: ${WHO}\ndescription: ${WHAT}\nhomepage: ${HOME_PAGE}\ndepends: [\"${DEP}\", \"${EMPTY}\", libc6]\nrecommends: [\"${DEP}\"]\ndeb:\n  predepends: [\"${DEP}\"]\n  fields:\n    X-Built-By: ${WHO}\ncontents:\n  - src: dist/${BUILD_ARCH}/tool\n    dst: /usr/bin/tool\n    expand: true\n",
		env:   []string{"BUILD_ARCH=arm64", "WHO=Ops <ops@example.com>", "WHAT=expanded", "HOME_PAGE=https://example.com", "DEP=bash (>= 4)"},
		check: wantField("architecture", "arm64")},
	{name: "arch arm6", spec: "name: app\nversion: 1.0.0\narch: arm6\ndescription: d\n", check: wantField("architecture", "armhf")},
	{name: "arch arm5 and 386", spec: "name: app\nversion: 1.0.0\narch: arm5\ndescription: d\n", check: wantField("architecture", "armel")},
	{name: "deb.arch", spec: "name: app\nversion: 1.0.0\narch: amd64\ndescription: d\ndeb:\n  arch: all\n", check: wantField("architecture", "all")},
	{name: "relations", spec: compatHead + "depends: [bash]\nrecommends: [curl]\nsuggests: [zsh]\nconflicts: [old-app]\nreplaces: [old-app]\nprovides: [app-api]\ndeb:\n  breaks: [older-app (<< 1)]\n  predepends: [dpkg (>= 1.17)]\n"},
	{name: "deb.fields", spec: compatHead + "deb:\n  fields:\n    Bugs: https://example.com/bugs\n    X-Empty: \"\"\n", check: func(t *testing.T, d debContents) {
		if _, ok := d.control["x-empty"]; ok {
			t.Error("an empty deb.fields value is written")
		}
	}},
	{name: "license and vendor", spec: compatHead + "license: MIT\nvendor: Example\n", check: func(t *testing.T, d debContents) {
		if _, ok := d.control["license"]; ok {
			t.Error("License is written")
		}
		if _, ok := d.control["vendor"]; ok {
			t.Error("Vendor is written")
		}
	}},
	{name: "overrides.deb", spec: compatHead + "depends: [generic]\nscripts:\n  postinstall: scripts/postinst\noverrides:\n  deb:\n    depends: [bash (>= 4.4) | fish]\n    scripts:\n      postinstall: scripts/postinst-deb\n      preremove: scripts/prerm\n  rpm:\n    depends: [rpm-only]\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n",
		check: wantField("depends", "bash (>= 4.4) | fish")},
	{name: "debconf and rules", spec: compatHead + "scripts:\n  postinstall: scripts/postinst\ndeb:\n  scripts:\n    templates: scripts/templates\n    config: scripts/config\n    rules: scripts/rules\n",
		check: wantMembers("templates", "config", "rules")},
	{name: "triggers", spec: compatHead + "deb:\n  triggers:\n    interest: [app-reload]\n    interest_noawait: [/usr/share/app]\n    activate_noawait: [ldconfig]\n", check: wantMembers("triggers")},
	{name: "changelog", spec: compatHead + "changelog: changelog.yaml\n", check: wantPaths("/usr/share/doc/app/changelog.Debian.gz")},
	{name: "config types", spec: compatHead + "contents:\n  - src: etc/app.conf\n    dst: /etc/app/app.conf\n    type: config|noreplace\n  - src: etc/extra.conf\n    dst: /etc/app/extra.conf\n    type: config|missingok\n  - src: bin/app\n    dst: /etc/app/plain\n    type: config\n",
		check: wantMembers("conffiles")},
	{name: "rpm-only types", spec: compatHead + "contents:\n  - src: bin/app\n    dst: /usr/bin/app\n  - dst: /var/log/app.log\n    type: ghost\n  - src: ghost-and-docs/LICENSE\n    dst: /usr/share/licenses/app/LICENSE\n    type: license\n  - src: docs/README\n    dst: /usr/share/doc/app/README\n    type: readme\n  - src: docs/README\n    dst: /usr/share/doc/app/README.doc\n    type: doc\n"},
	{name: "glob with one match into a directory", spec: compatHead + "contents:\n  - src: single/*.txt\n    dst: /usr/share/app\n", check: wantPaths("/usr/share/app/only.txt")},
	{name: "file into a dst ending in /", spec: compatHead + "contents:\n  - src: etc/app.conf\n    dst: /etc/app/\n", check: wantPaths("/etc/app/app.conf")},
	{name: "glob of several files", spec: compatHead + "contents:\n  - src: bin/*\n    dst: /usr/lib/app/bin\n"},
	{name: "double-star glob keeps subdirectories", spec: compatHead + "contents:\n  - src: share/**/*\n    dst: /usr/share/app\n", check: wantPaths("/usr/share/app/b/c/three.txt")},
	{name: "double-star glob into dst/", spec: compatHead + "contents:\n  - src: docs/**/*.md\n    dst: /usr/share/doc/app/\n"},
	{name: "brace glob", spec: compatHead + "contents:\n  - src: etc/{app,extra}.conf\n    dst: /etc/app\n"},
	{name: "directory source with symlink", spec: compatHead + "contents:\n  - src: docs\n    dst: /usr/share/doc/app\n", check: wantPaths("/usr/share/doc/app/latest")},
	{name: "symlink source", spec: compatHead + "contents:\n  - src: docs/latest\n    dst: /usr/share/app/latest\n"},
	{name: "dangling symlink source", spec: compatHead + "contents:\n  - src: link-to-app\n    dst: /usr/bin/app-link\n",
		check: wantTree("/usr/bin/app-link", "symlink owner=root:root -> /usr/bin/app")},
	{name: "tree", spec: compatHead + "contents:\n  - src: web\n    dst: /srv/web\n    type: tree\n"},
	{name: "tree with mode and owner", spec: compatHead + "contents:\n  - src: web\n    dst: /srv/web\n    type: tree\n    file_info:\n      mode: 0750\n      owner: www-data\n      group: www-data\n"},
	{name: "directories", spec: compatHead + "contents:\n  - dst: /var/lib/app\n    type: dir\n    file_info:\n      mode: 0750\n      owner: app\n  - dst: /var/cache/app\n    type: dir\n"},
	{name: "directory mode without execute bits", spec: compatHead + "contents:\n  - dst: /var/lib/app\n    type: dir\n    file_info:\n      mode: 0640\n"},
	{name: "source modes", spec: compatHead + "contents:\n  - src: secret.key\n    dst: /etc/app/secret.key\n  - src: bin/app\n    dst: /usr/bin/app\n  - src: etc/app.conf\n    dst: /etc/app/app.conf\n    file_info:\n      mode: 0640\n      group: app\n  - src: bin/helper\n    dst: /usr/bin/helper\n    file_info:\n      mode: 04755\n",
		check: wantTree("/etc/app/secret.key", "file mode=0600 owner=root:root size=12")},
	{name: "group-writable source", spec: compatHead + "contents:\n  - src: group-writable.txt\n    dst: /usr/share/app/g.txt\n",
		check: wantTree("/usr/share/app/g.txt", "file mode=0644 owner=root:root size=7")},
	{name: "group-writable source, umask 0002", spec: compatHead + "umask: 0o002\ncontents:\n  - src: group-writable.txt\n    dst: /usr/share/app/g.txt\n"},
	{name: "owner on parents", spec: compatHead + "contents:\n  - src: etc/app.conf\n    dst: /opt/app/etc/app.conf\n    file_info:\n      owner: app\n      group: app\n"},
	{name: "relative dst", spec: compatHead + "contents:\n  - src: bin/app\n    dst: usr/bin/app\n", check: wantPaths("/usr/bin/app")},
	{name: "symlink type", spec: compatHead + "contents:\n  - src: /usr/bin/app\n    dst: /usr/local/bin/app\n    type: symlink\n"},
	{name: "packager-specific contents", spec: compatHead + "contents:\n  - src: bin/app\n    dst: /usr/bin/app\n    packager: deb\n  - src: bin/helper\n    dst: /usr/bin/app\n    packager: rpm\n"},
	{name: "disable_globbing", spec: compatHead + "disable_globbing: true\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n"},
	{name: "umask and mtime", spec: compatHead + "umask: 0o027\nmtime: 2020-01-02T03:04:05Z\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n  - src: etc/app.conf\n    dst: /etc/app/app.conf\n"},
	{name: "compression zstd", spec: compatHead + "deb:\n  compression: zstd\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n"},
	{name: "compression gzip level", spec: compatHead + "deb:\n  compression: gzip:9\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n"},
	{name: "compression zstd level", spec: compatHead + "deb:\n  compression: zstd:fastest\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n"},
	{name: "compression zstd numeric level", spec: compatHead + "deb:\n  compression: zstd:19\ncontents:\n  - src: bin/app\n    dst: /usr/bin/app\n"},
	{name: "platform and arch variant", spec: compatHead + "platform: linux\narch: amd64\ndeb:\n  arch_variant: v3\n"},
	{name: "multi-paragraph description", spec: "name: app\nversion: 1.0.0\ndescription: |\n  Synopsis\n  First paragraph\n    indented\n\n  Second paragraph\n"},
}

func wantField(name, value string) func(*testing.T, debContents) {
	return func(t *testing.T, d debContents) {
		t.Helper()
		if d.control[name] != value {
			t.Errorf("debflow's %s is %q, want %q", name, d.control[name], value)
		}
	}
}

func wantMembers(names ...string) func(*testing.T, debContents) {
	return func(t *testing.T, d debContents) {
		t.Helper()
		for _, n := range names {
			if _, ok := d.members[n]; !ok {
				t.Errorf("debflow's package lacks control member %s", n)
			}
		}
	}
}

func wantPaths(paths ...string) func(*testing.T, debContents) {
	return func(t *testing.T, d debContents) {
		t.Helper()
		for _, p := range paths {
			if _, ok := d.tree[p]; !ok {
				t.Errorf("debflow's package lacks %s", p)
			}
		}
	}
}

func wantTree(p, entry string) func(*testing.T, debContents) {
	return func(t *testing.T, d debContents) {
		t.Helper()
		if d.tree[p] != entry {
			t.Errorf("debflow's %s is %q, want %q", p, d.tree[p], entry)
		}
	}
}

// TestNfpmCompat builds specs with nfpm v2.45.2 and with debflow, from
// the spec's directory and with the same environment, and compares what a
// user would notice: control fields, control members and the data tree.
// The specs are the test's own (one feature or a few each) and nfpm's
// acceptance specs from its module.
func TestNfpmCompat(t *testing.T) {
	bin := nfpmBinary(t)
	var cases []compatCase
	own := t.TempDir()
	writeFiles(t, own, compatFiles)
	for i, s := range compatSpecs {
		file := fmt.Sprintf("spec%02d.yaml", i)
		if err := os.WriteFile(filepath.Join(own, file), []byte(s.spec), 0o644); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, compatCase{name: s.name, dir: own, spec: file, env: s.env, check: s.check})
	}
	if mod := nfpmModuleDir(); mod != "" {
		// nfpm's acceptance specs name their files relative to its
		// module's root: a copy of testdata/ with the spec beside it.
		root := t.TempDir()
		copyDir(t, filepath.Join(mod, "testdata"), filepath.Join(root, "testdata"))
		// The signed specs' keys (debflow signs with --key instead).
		copyDir(t, filepath.Join(mod, "internal/sign/testdata"), filepath.Join(root, "internal/sign/testdata"))
		specs, _ := filepath.Glob(filepath.Join(mod, "testdata/acceptance/*.yaml"))
		unit, _ := filepath.Glob(filepath.Join(mod, "testdata/*.yaml")) // nfpm's unit-test specs
		for _, s := range append(specs, unit...) {
			base := filepath.Base(s)
			if filepath.Base(filepath.Dir(s)) == "acceptance" &&
				!strings.HasPrefix(base, "core.") && !strings.HasPrefix(base, "deb.") && !strings.HasPrefix(base, "upgrade.") {
				continue // rpm, apk, ipk and archlinux only
			}
			if base == "changelog.yaml" {
				continue // not a spec
			}
			data, err := os.ReadFile(s)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(root, base), data, 0o644)
			cases = append(cases, compatCase{name: "nfpm " + base, dir: root, spec: base,
				env: []string{"BUILD_ARCH=amd64", "SEMVER=v1.2.3-rc1", "NFPM_PASSPHRASE=hunter2", "GOROOT=1.22",
					"TEST_RELEASE_ENV_VAR=1", "TEST_PRERELEASE_ENV_VAR=beta1", "TEST_DESCRIPTION_ENV_VAR=description"}})
		}
	} else {
		t.Logf("nfpm %s's module is not in the module cache: its acceptance specs are not compared", nfpmVersion)
	}

	compared, equivalent, withDocumented, acceptance, refused := 0, 0, 0, 0, 0
	documented := map[string]int{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := t.TempDir()
			nfpmDeb, ok := runNfpm(t, bin, c, out)
			if !ok {
				if c.dir == own {
					t.Fatal("nfpm refuses one of the test's own specs")
				}
				return
			}
			debflowDeb, err := runDebflow(t, c, out)
			if why, ok := refusedByDesign[c.spec]; ok && c.dir != own {
				if !errors.Is(err, ErrSpec) {
					t.Fatalf("debflow should refuse the %s: %v", why, err)
				}
				refused++
				t.Logf("refused by design: %s: %v", why, err)
				return
			}
			if err != nil {
				t.Fatalf("nfpm builds it, debflow does not: %v", err)
			}
			compared++
			if c.dir != own {
				acceptance++
			}
			n, d := readDebContents(t, nfpmDeb), readDebContents(t, debflowDeb)
			bad, docs := compareDebs(n, d)
			for _, b := range bad {
				t.Errorf("undocumented difference: %s", b)
			}
			for _, doc := range docs {
				_, name, _ := strings.Cut(doc, ": ")
				documented[name]++
				t.Logf("documented difference: %s", doc)
			}
			switch {
			case len(bad) == 0 && len(docs) == 0:
				equivalent++
			case len(bad) == 0:
				withDocumented++
			}
			if c.check != nil {
				c.check(t, d)
			}
		})
	}
	t.Logf("compared %d specs (%d of them nfpm's own): %d equivalent (%d more but for documented differences); %d more refused by design", compared, acceptance, equivalent, withDocumented, refused)
	for _, doc := range slices.Sorted(mapKeys(documented)) {
		t.Logf("  %s (%d)", doc, documented[doc])
	}
	if compared < len(compatSpecs) {
		t.Errorf("compared only %d specs", compared)
	}
}

func mapKeys(m map[string]int) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		switch {
		case fi.IsDir():
			return os.MkdirAll(dst, 0o755)
		case fi.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		// The module cache is read-only (0444): the copy keeps the
		// owner's bits as a checkout would have them.
		return os.WriteFile(dst, data, fi.Mode().Perm()|0o200)
	})
	if err != nil {
		t.Fatal(err)
	}
}
