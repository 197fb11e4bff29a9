package main

import (
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
)

func TestListCommand(t *testing.T) {
	o := newOpsRepo(t)
	o.publish(nil,
		testkit.Deb{Name: "hello", Version: "1.10", Arch: "amd64"},
		testkit.Deb{Name: "hello", Version: "1.9", Arch: "amd64"},
		testkit.Deb{Name: "docs", Version: "1.0", Arch: "all"})
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "1-first")
	o.publish(nil, testkit.Deb{Name: "zz", Version: "1.0", Arch: "arm64"})

	want := "docs   1.0   all\nhello  1.9   amd64\nhello  1.10  amd64\nzz     1.0   arm64\n"
	if out := o.mustRun("list"); out != want {
		t.Errorf("list:\n%s\nwant:\n%s", out, want)
	}
	if out := o.mustRun("list", "--snapshot", "1-first"); strings.Contains(out, "zz") || !strings.Contains(out, "hello  1.10  amd64") {
		t.Errorf("list --snapshot:\n%s", out)
	}
	out := o.mustRun("list", "--json", "--suite", "development")
	if !strings.Contains(out, `"name": "docs",
    "version": "1.0",
    "architecture": "all"`) {
		t.Errorf("list --json:\n%s", out)
	}

	o.wantExit(exitInput, "no such suite: nope", "list", "--suite", "nope")
	o.wantExit(exitInput, "no such suite", "list", "--snapshot", "2000-01-01")
	o.wantExit(exitInput, "not a snapshot", "list", "--snapshot", "development")
	o.wantExit(exitUsage, "not both", "list", "--suite", "development", "--snapshot", "1-first")

	o.mustRun("remove", "--key", o.key, "docs", "hello", "zz")
	if out := o.mustRun("list", "--json"); out != "[]\n" {
		t.Errorf("empty list --json: %q", out)
	}
	if out := o.mustRun("list"); out != "" {
		t.Errorf("empty list: %q", out)
	}
}
