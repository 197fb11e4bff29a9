package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
)

func TestPublishCreateSuiteCommand(t *testing.T) {
	o := newOpsRepo(t)
	hello := testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"}
	o.publish(nil, hello)
	deb := testkit.WriteDeb(t, o.debs, hello)
	o.wantExit(exitInput, "no such suite: developmnet (rolling suites: development); to create a new suite, publish with --create-suite",
		"publish", "--key", o.key, "--suite", "developmnet", deb)
	o.mustRun("publish", "--quiet", "--key", o.key, "--suite", "team", "--create-suite", deb)
	o.mustRun("publish", "--quiet", "--key", o.key, "--suite", "team", deb)
}

func TestSuiteCommands(t *testing.T) {
	o := newOpsRepo(t)
	o.wantExit(exitInput, "no debflow repository", "suite", "list", "--json")
	o.publish(nil, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})
	o.publish([]string{"--suite", "team", "--create-suite"}, testkit.Deb{Name: "only", Version: "1.0", Arch: "amd64"})
	o.publish([]string{"--suite", "team/updates", "--create-suite"}, testkit.Deb{Name: "upd", Version: "1.0", Arch: "amd64"})
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "1-first")
	o.mustRun("promote", "--quiet", "--key", o.key, "1-first", "--to", "canary")

	out := o.mustRun("suite", "list")
	for _, re := range []string{
		`(?m)^NAME +KIND +PACKAGES +DATE +SERVES$`,
		`(?m)^development +rolling +1 +\d{4}-\d\d-\d\dT`,
		`(?m)^team +rolling +1 `,
		`(?m)^team/updates +rolling +1 `,
		`(?m)^canary +stage +1 +\S+ +1-first$`,
		`(?m)^1-first +snapshot +1 `,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("suite list lacks %s:\n%s", re, out)
		}
	}
	if out := o.mustRun("suite", "list", "--json"); !strings.Contains(out, `"kind": "stage"`) || !strings.Contains(out, `"serves": "1-first"`) {
		t.Errorf("suite list --json:\n%s", out)
	}

	o.wantExit(exitConflict, "development is a stage", "suite", "drop", "development")
	o.wantExit(exitConflict, "canary is a stage", "suite", "drop", "canary")
	o.wantExit(exitConflict, "1-first is a snapshot", "suite", "drop", "1-first")
	o.wantExit(exitInput, "no such suite", "suite", "drop", "nope")
	o.wantExit(exitUsage, "", "suite", "drop")

	before := testkit.TreeHash(t, o.root)
	out = o.mustRun("suite", "drop", "--dry-run", "team")
	if !strings.Contains(out, "would free pool/main/o/only/only_1.0_amd64.deb\n") || !strings.Contains(out, "would drop team: 1 package(s)") {
		t.Errorf("dry run: %q", out)
	}
	if testkit.TreeHash(t, o.root) != before {
		t.Error("a dry run changed the tree")
	}
	out = o.mustRun("suite", "drop", "team")
	if !strings.Contains(out, "dropped team: 1 package(s)") {
		t.Errorf("drop: %q", out)
	}
	for name, want := range map[string]bool{
		"dists/team/InRelease":                             false,
		"pool/main/o/only/only_1.0_amd64.deb":              false,
		"dists/team/updates/InRelease":                     true,
		"dists/team/updates/main/binary-amd64/Packages.gz": true,
	} {
		if _, err := os.Stat(filepath.Join(o.root, name)); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", name, err == nil, want)
		}
	}
	o.mustRun("verify", "--key", o.key)
}
