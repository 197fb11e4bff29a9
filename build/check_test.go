package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"
)

// TestCheckSeesThePackage covers the hook that guards a build: the check
// reads exactly the bytes of the package that then gets its name, and a
// check that fails, whether it read everything or stopped early, fails the
// build without blocking it and without leaving a file.
func TestCheckSeesThePackage(t *testing.T) {
	spec, err := LoadSpec(exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	build := func(check func(io.Reader) error) (Result, string, error) {
		out := t.TempDir()
		done := make(chan struct{})
		var res Result
		var err error
		go func() {
			defer close(done)
			res, err = Build(context.Background(), spec, Options{OutDir: out, Version: "1.0.0", Check: check,
				Getenv: env("SOURCE_DATE_EPOCH", "1700000000")})
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("Build did not return: the check blocks the writer")
		}
		return res, out, err
	}

	var seen string
	res, _, err := build(func(r io.Reader) error {
		h := sha256.New()
		_, err := io.Copy(h, r)
		seen = fmt.Sprintf("%x", h.Sum(nil))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if file := fmt.Sprintf("%x", sha256.Sum256(data)); seen != file || res.SHA256 != file {
		t.Errorf("the check read %s, Result.SHA256 %s, the file is %s", seen, res.SHA256, file)
	}
	if err := inspect(bytes.NewReader(data)); err != nil {
		t.Errorf("publish's inspection refuses the package: %v", err)
	}

	refuse := errors.New("refused by the check")
	for name, check := range map[string]func(io.Reader) error{
		"after reading everything": func(r io.Reader) error { io.Copy(io.Discard, r); return refuse },
		"without reading":          func(io.Reader) error { return refuse },
		"after 100 bytes":          func(r io.Reader) error { io.CopyN(io.Discard, r, 100); return refuse },
	} {
		t.Run(name, func(t *testing.T) {
			_, out, err := build(check)
			if !errors.Is(err, refuse) {
				t.Fatalf("Build = %v, want the check's error", err)
			}
			if entries, _ := os.ReadDir(out); len(entries) > 0 {
				t.Errorf("left %s in the output directory", entries[0].Name())
			}
		})
	}
}
