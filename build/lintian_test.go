package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lintianSpecTags are the lintian tags that the test's spec itself
// earns (a debconf question without a debconf dependency, a changelog
// that closes no bug, ...): they point at the spec, not at debflow.
var lintianSpecTags = []string{
	"bugs-field-does-not-refer-to-debian-infrastructure",
	"initial-upload-closes-no-bugs",
	"malformed-prompt-in-templates",
	"missing-debconf-dependency",
	"postinst-does-not-load-confmodule",
	"postrm-does-not-purge-debconf",
}

// TestLintian builds a spec that uses the fields lintian has opinions
// about (license, vendor, an empty deb.fields value, debconf, triggers,
// a changelog, a conffile) outside git and without SOURCE_DATE_EPOCH, and
// wants no lintian error or warning that points at debflow: no unknown
// control field, no file dated 1970, no bad control member.
func TestLintian(t *testing.T) {
	need(t, "lintian")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"scripts/config":    "#!/bin/sh\nset -e\n. /usr/share/debconf/confmodule\ndb_input low app/question || true\ndb_go || true\n",
		"scripts/postinst":  "#!/bin/sh\nset -e\necho postinst \"$@\"\n",
		"scripts/templates": "Template: app/question\nType: string\nDefault: yes\nDescription: A question?\n",
		"changelog.yaml":    "- semver: 1.0.0-1\n  date: 2023-11-14T22:13:20Z\n  packager: T <t@example.com>\n  changes:\n    - note: initial\n",
		"app.conf":          "level=1\n",
		"copyright":         "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: 2023 T\nLicense: MIT\n",
	})
	spec := `name: app
version: 1.0.0
release: 1
maintainer: T <t@example.com>
description: |
  Tool that does things
  It does them well.
section: utils
license: MIT
vendor: Example
homepage: https://example.com
changelog: changelog.yaml
contents:
  - src: app.conf
    dst: /etc/app/app.conf
    type: config
  - src: copyright
    dst: /usr/share/doc/app/copyright
scripts:
  postinstall: scripts/postinst
deb:
  fields:
    X-Empty: ""
    Bugs: https://example.com/bugs
  scripts:
    templates: scripts/templates
    config: scripts/config
  triggers:
    interest_noawait: [app-reload]
`
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(spec), 0o644)
	s, err := LoadSpec(filepath.Join(dir, "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), s, Options{OutDir: t.TempDir(), Getenv: env(), Check: inspect})
	if err != nil {
		t.Fatal(err)
	}
	lintianClean(t, res.Path)

	// Inside git, the version and the commit come from git: still clean
	// (the Vcs-Git-Commit field, which lintian does not know, is opt-in).
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-qm", "x"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	s.Version = ""
	res, err = Build(context.Background(), s, Options{OutDir: t.TempDir(), Getenv: env(), Check: inspect})
	if err != nil {
		t.Fatal(err)
	}
	lintianClean(t, res.Path)
}

// lintianClean fails the test on any lintian error or warning that does
// not point at the test's spec.
func lintianClean(t *testing.T, deb string) {
	t.Helper()
	out, _ := exec.Command("lintian", "--no-cfg", "--allow-root", deb).CombinedOutput()
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(line, "E: ") && !strings.HasPrefix(line, "W: ") {
			continue
		}
		fields := strings.Fields(line) // "E:", "app:", tag, ...
		if len(fields) < 3 {
			continue
		}
		tag := fields[2]
		spec := false
		for _, s := range lintianSpecTags {
			spec = spec || tag == s
		}
		if !spec {
			t.Errorf("lintian: %s", line)
		}
	}
}
