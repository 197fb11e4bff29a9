package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestManPagesRender: debflow man writes a page for every command, and
// each renders with man --warnings (groff -ww) without a single warning.
func TestManPagesRender(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "man1")
	var stdout, stderr bytes.Buffer
	vars := map[string]string{"SOURCE_DATE_EPOCH": "1700000000", "DEBFLOW_REPO": "/secret/where/i/made/them"}
	code := Execute("1.2.3", []string{"man", "--out", dir}, env{stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }, now: time.Now})
	if code != 0 {
		t.Fatalf("debflow man: exit %d: %s", code, stderr.String())
	}
	want := 0
	for _, c := range commandTree(t) {
		if (c.IsAvailableCommand() || c.Parent() == nil) && c.Name() != "help" {
			want++
			if _, err := os.Stat(filepath.Join(dir, manName(c)+".1")); err != nil {
				t.Errorf("no page for %s: %v", c.CommandPath(), err)
			}
		}
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "*.1"))
	if len(pages) != want || want < 30 {
		t.Errorf("%d pages, want %d (one per command)", len(pages), want)
	}
	publish, err := os.ReadFile(filepath.Join(dir, "debflow-publish.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{`.TH "DEBFLOW-PUBLISH" 1 "2023-11-14" "debflow 1.2.3"`, ".SH EXAMPLES", `\-\-dry\-run`} {
		if !bytes.Contains(publish, []byte(s)) {
			t.Errorf("debflow-publish.1 lacks %q", s)
		}
	}
	if bytes.Contains(publish, []byte("/where/i/made/them")) {
		t.Errorf("the page carries the $DEBFLOW_REPO of the machine that made it")
	}

	if _, err := exec.LookPath("man"); err != nil {
		t.Skip("man not installed (CI: apt-get install man-db groff-base)")
	}
	for _, p := range pages {
		cmd := exec.Command("man", "--warnings", "-l", p)
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "MANPAGER=cat", "PAGER=cat", "LANG=C.UTF-8")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil || errOut.Len() > 0 {
			t.Errorf("man -l %s: %v\n%s", filepath.Base(p), err, errOut.String())
		}
		if filepath.Base(p) == "debflow-publish.1" && !strings.Contains(out.String(), "debflow publish --repo /srv/apt --key release.key dist/*.deb") {
			t.Errorf("rendered page lacks its example:\n%s", out.String())
		}
	}
}

// TestManEscapesRoff: text that roff would read as requests or escapes is
// escaped.
func TestManEscapesRoff(t *testing.T) {
	if got := roffLine(`.not a request \n -x`); got != `\&.not a request \en \-x` {
		t.Errorf("roffLine = %q", got)
	}
	if got := roffLine(`'quoted`); !strings.HasPrefix(got, `\&'`) {
		t.Errorf("roffLine = %q", got)
	}
}
