package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	// Tests that need a real debflow process (to kill it) re-execute the
	// test binary with this variable set.
	if os.Getenv("DEBFLOW_TEST_MAIN") == "1" {
		os.Exit(Execute("test", os.Args[1:], defaultEnv()))
	}
	testscript.Main(m, map[string]func(){
		"debflow": func() { os.Exit(Execute("test", os.Args[1:], defaultEnv())) },
	})
}

// TestScripts runs the CLI end to end: each testdata/script/*.txtar is a
// script of debflow and shell commands with the output it must print.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("..", "..", "testdata", "script"),
		Setup: func(e *testscript.Env) error {
			e.Setenv("SOURCE_DATE_EPOCH", "1700000000")
			e.Setenv("EXAMPLE", mustAbs("../../testdata/example"))
			// A passphrase-protected key made by GnuPG (see its README).
			e.Setenv("PROTECTED", mustAbs("../../signing/testdata/gpg-secret.asc"))
			e.Setenv("MALFORMED", mustAbs("../../testdata/malformed"))
			return nil
		},
		Condition: func(cond string) (bool, error) {
			// [exec:tool] is built in; [tool:x] is kept for readability.
			_, err := exec.LookPath(cond)
			return err == nil, nil
		},
	})
}

func mustAbs(p string) string {
	abs, err := filepath.Abs(p)
	if err != nil {
		panic(err)
	}
	return abs
}
