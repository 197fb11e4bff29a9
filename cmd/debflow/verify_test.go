package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
)

// TestVerifyMistypedRepo: verify of a path that holds no repository fails
// with exit 6 and says why, instead of "ok: 0 suites"; --json lists the
// problem, with [] for the empty lists; nothing is created there.
func TestVerifyMistypedRepo(t *testing.T) {
	_, keyring, _ := testkit.KeyFile(t, t.TempDir())
	typo := filepath.Join(t.TempDir(), "reop")
	run := func(args ...string) (int, string) {
		var out, errOut bytes.Buffer
		e := env{stdout: &out, stderr: &errOut, getenv: func(string) string { return "" }, now: time.Now}
		code := Execute("test", append([]string{"verify", "--repo", typo, "--keyring", keyring}, args...), e)
		return code, out.String() + errOut.String()
	}
	code, out := run()
	if code != exitVerify || !strings.Contains(out, "no debflow repository here") {
		t.Fatalf("verify of a mistyped --repo: exit %d, want %d:\n%s", code, exitVerify, out)
	}
	code, out = run("--json")
	if code != exitVerify {
		t.Fatalf("verify --json: exit %d, want %d:\n%s", code, exitVerify, out)
	}
	var rep struct {
		Suites   []string          `json:"suites"`
		Problems []json.RawMessage `json:"problems"`
	}
	if err := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); err != nil {
		t.Fatalf("verify --json: %v\n%s", err, out)
	}
	if rep.Suites == nil || len(rep.Problems) != 1 {
		t.Fatalf("verify --json: want \"suites\": [] and one problem:\n%s", out)
	}
	if _, err := os.Stat(typo); err == nil {
		t.Fatalf("verify created %s", typo)
	}
}
