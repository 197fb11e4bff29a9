package build

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestInstallDebconfAndTriggers installs, with dpkg --root and the
// maintainer scripts running, a package with debconf templates and
// config and a trigger interest, then a package that activates the
// trigger: dpkg must take the control members and run the postinst for
// "configure" and for "triggered".
func TestInstallDebconfAndTriggers(t *testing.T) {
	need(t, "dpkg")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a/postinst": `#!/bin/sh
set -e
log="$DPKG_ROOT/var/lib/trig-a/log"
case "$1" in
configure)
	echo "configured" >>"$log"
	grep -q '^Template: trig-a/question' "$DPKG_ROOT/var/lib/dpkg/info/trig-a.templates" && echo "templates installed" >>"$log"
	"$DPKG_ROOT/var/lib/dpkg/info/trig-a.config" configure >>"$log"
	;;
triggered)
	echo "triggered $2" >>"$log"
	;;
esac
`,
		"a/config":    "#!/bin/sh\nset -e\necho \"config ran: $1\"\n",
		"a/templates": "Template: trig-a/question\nType: string\nDefault: yes\nDescription: A question?\n",
		"a/data":      "a\n",
		"b/plugin":    "b\n",
	})
	specA := `name: trig-a
version: 1.0.0
maintainer: T <t@example.com>
description: has debconf and a trigger interest
contents:
  - dst: /var/lib/trig-a
    type: dir
  - src: a/data
    dst: /usr/share/trig-a/data
scripts:
  postinstall: a/postinst
deb:
  scripts:
    templates: a/templates
    config: a/config
  triggers:
    interest: [trig-a-reload]
`
	specB := `name: trig-b
version: 1.0.0
maintainer: T <t@example.com>
description: activates trig-a's trigger
contents:
  - src: b/plugin
    dst: /usr/share/trig-b/plugin
deb:
  triggers:
    activate_noawait: [trig-a-reload]
`
	build := func(name, spec string) string {
		t.Helper()
		file := filepath.Join(dir, name+".yaml")
		os.WriteFile(file, []byte(spec), 0o644)
		s, err := LoadSpec(file)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Build(context.Background(), s, Options{OutDir: filepath.Join(dir, "out"), Getenv: env("SOURCE_DATE_EPOCH", "1700000000"), Check: inspect})
		if err != nil {
			t.Fatal(err)
		}
		return res.Path
	}
	debA, debB := build("a", specA), build("b", specB)

	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info", "var/log"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	dpkg := func(args ...string) string {
		return run(t, "dpkg", append([]string{"--root=" + root, "--log=/dev/null", "--force-script-chrootless", "--force-depends", "--force-not-root"}, args...)...)
	}
	dpkg("-i", debA)
	for _, member := range []string{"trig-a.templates", "trig-a.config", "trig-a.triggers"} {
		if _, err := os.Stat(filepath.Join(root, "var/lib/dpkg/info", member)); err != nil {
			t.Errorf("dpkg did not install control member %s: %v", member, err)
		}
	}
	dpkg("-i", debB)
	dpkg("--triggers-only", "--pending")
	log, err := os.ReadFile(filepath.Join(root, "var/lib/trig-a/log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"configured\n", "templates installed\n", "config ran: configure\n", "triggered trig-a-reload\n"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("trig-a's log lacks %q:\n%s", want, log)
		}
	}
	if status := dpkg("-s", "trig-a"); !strings.Contains(status, "Status: install ok installed") {
		t.Errorf("trig-a is not installed:\n%s", status)
	}
}
