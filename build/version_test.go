package build

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestDebianVersion checks the one function that composes versions
// against what nfpm v2.45.2 writes for the same fields.
func TestDebianVersion(t *testing.T) {
	cases := []struct {
		p    VersionParts
		want string
	}{
		{VersionParts{Base: "1.2.3"}, "1.2.3"},
		{VersionParts{Base: "v1.2.3"}, "1.2.3"},
		{VersionParts{Base: "1.2"}, "1.2.0"},
		{VersionParts{Base: "2"}, "2.0.0"},
		{VersionParts{Base: "1.2.3", Prerelease: "beta"}, "1.2.3~beta"},
		{VersionParts{Base: "v1.2.3-rc1"}, "1.2.3~rc1"},
		{VersionParts{Base: "1.2.3-rc1", Prerelease: "beta"}, "1.2.3~beta"},
		{VersionParts{Base: "1.2.3+git5.abc"}, "1.2.3+git5.abc"},
		{VersionParts{Base: "1.2.3", Metadata: "git"}, "1.2.3+git"},
		{VersionParts{Base: "1.2.3", Release: "1"}, "1.2.3-1"},
		{VersionParts{Base: "1.2.3", Epoch: "2"}, "2:1.2.3"},
		{VersionParts{Base: "1.2", Epoch: "1", Prerelease: "rc1", Metadata: "b5", Release: "2"}, "1:1.2.0~rc1+b5-2"},
		{VersionParts{Base: "1.2", Schema: SchemaNone}, "1.2"},
		{VersionParts{Base: "1.2", Schema: SchemaNone, Prerelease: "rc1", Release: "1"}, "1.2~rc1-1"},
		{VersionParts{Base: "2.0.0~rc1+git3.abc", Schema: SchemaNone, Release: "1", Epoch: "1"}, "1:2.0.0~rc1+git3.abc-1"},
		{VersionParts{Base: "1.2.3~rc1"}, "1.2.3~rc1"}, // not semver: kept
		{VersionParts{Base: "1.2.3-01"}, "1.2.3-01"},   // not semver (leading zero): kept
	}
	for _, c := range cases {
		got, err := DebianVersion(c.p)
		if err != nil || got != c.want {
			t.Errorf("DebianVersion(%+v) = %q, %v; want %q", c.p, got, err, c.want)
		}
	}
	for _, bad := range []VersionParts{{Base: "1.0", Schema: "calver"}, {Base: "1:1.0", Epoch: "2", Schema: SchemaNone}, {Base: " "}} {
		if v, err := DebianVersion(bad); err == nil {
			t.Errorf("DebianVersion(%+v) = %q, want an error", bad, v)
		}
	}
}

// TestVersionOrdering checks with dpkg itself that the composed versions
// sort as a fleet needs: a pre-release below its release, a git build
// above it and below the next pre-release, and an epoch above all.
func TestVersionOrdering(t *testing.T) {
	need(t, "dpkg")
	v := func(p VersionParts) string {
		s, err := DebianVersion(p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	order := []string{
		v(VersionParts{Base: "1.2.3", Prerelease: "rc1"}),
		v(VersionParts{Base: "v1.2.3-rc2"}),
		v(VersionParts{Base: "1.2.3"}),
		v(VersionParts{Base: "1.2.3", Release: "1"}),
		v(VersionParts{Base: "1.2.3+git1.0123456789ab", Schema: SchemaNone}),
		v(VersionParts{Base: "1.2.3+git2.0123456789ab", Schema: SchemaNone}),
		"1.2.4~",
		v(VersionParts{Base: "1.2.4", Prerelease: "alpha"}),
		v(VersionParts{Base: "1.2.4"}),
		v(VersionParts{Base: "0.1", Epoch: "1"}),
	}
	for i := 0; i+1 < len(order); i++ {
		if err := exec.Command("dpkg", "--compare-versions", order[i], "lt", order[i+1]).Run(); err != nil {
			t.Errorf("dpkg: %s is not below %s", order[i], order[i+1])
		}
	}
}

// TestVersionPaths checks that every way to a version (spec, --version,
// git) gets the spec's epoch, prerelease and release.
func TestVersionPaths(t *testing.T) {
	need(t, "git")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	spec := "name: vv\ndescription: d\nepoch: 1\nrelease: 2\ncontents:\n  - src: f\n    dst: /usr/share/v/f\n"
	gitCmd := gitIn(t, dir)
	os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(spec), 0o644)
	gitCmd("init", "-q")
	gitCmd("add", ".")
	gitCmd("commit", "-qm", "one")
	gitCmd("tag", "v1.4.0-rc1")
	plan := func(specText string, opts Options) string {
		t.Helper()
		os.WriteFile(filepath.Join(dir, "nfpm.yaml"), []byte(specText), 0o644)
		s, err := LoadSpec(filepath.Join(dir, "nfpm.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		opts.Getenv = env("VERSION", "v3.1")
		p, err := Plan(context.Background(), s, opts)
		if err != nil {
			t.Fatal(err)
		}
		return p.Version
	}
	for _, c := range []struct {
		name, spec string
		opts       Options
		want       string
	}{
		{"git", spec, Options{}, "1:1.4.0~rc1-2"},
		{"--version", spec, Options{Version: "v2.0"}, "1:2.0.0-2"},
		{"spec", spec + "version: ${VERSION}\nprerelease: beta\n", Options{}, "1:3.1.0~beta-2"},
	} {
		if got := plan(c.spec, c.opts); got != c.want {
			t.Errorf("%s: version %q, want %q", c.name, got, c.want)
		}
	}
}
