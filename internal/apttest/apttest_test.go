package apttest_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/apttest"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// TestDateChecksAreOn proves that the isolated apt configuration checks
// Valid-Until and Date, whatever the machine's apt.conf.d says (a file
// there may switch both off): apt must refuse an expired Release and one
// dated in the future. Each Release is signed now, correctly, so the date
// is the only thing wrong with it.
func TestDateChecksAreOn(t *testing.T) {
	now := time.Now().UTC()
	for _, tc := range []struct {
		name string
		edit func(*repo.Release)
		want string // in apt's complaint
	}{
		{"expired", func(r *repo.Release) {
			r.Date = now.Add(-3 * time.Hour)
			r.ValidUntil = now.Add(-time.Hour)
		}, "expired"},
		{"future", func(r *repo.Release) { r.Date = now.Add(2 * time.Hour) }, "not valid yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root, entry := signedRepo(t)
			// The same repository, untouched, passes: what fails below is
			// the date alone. (A second apt world below, since apt keeps
			// a cached Release whose Date is newer than the one it gets.)
			control := apttest.New(t, "amd64")
			control.AddSource("test", entry)
			control.Update()

			resign(t, root, tc.edit)
			a := apttest.New(t, "amd64")
			a.AddSource("test", entry)
			out, err := a.Try("apt-get", "update")
			if err == nil && !strings.Contains(out, tc.want) {
				t.Fatalf("apt-get update accepted a Release that is %s: Acquire::Check-Valid-Until/Check-Date are off\n%s", tc.name, out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("apt-get update failed, but not because the Release is %s (want %q):\n%s", tc.name, tc.want, out)
			}
		})
	}
}

// signedRepo publishes one package into a fresh repository, serves it and
// returns its root and a .sources entry for its development suite.
func signedRepo(t *testing.T) (root, entry string) {
	t.Helper()
	root = filepath.Join(t.TempDir(), "repo")
	st, err := repo.NewFS(root)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(st, repo.WithSigner(testkit.Key(t)))
	pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(context.Background(), pkgs, repo.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	if err := testkit.Key(t).WritePublic(&pub, true); err != nil {
		t.Fatal(err)
	}
	entry, err = repo.Deb822(repo.SourcesOptions{URL: apttest.Serve(t, root), Suite: "development", ArmoredKey: pub.Bytes()})
	if err != nil {
		t.Fatal(err)
	}
	return root, entry
}

// resign rewrites development's Release files after edit, signed now.
func resign(t *testing.T, root string, edit func(*repo.Release)) {
	t.Helper()
	dir := filepath.Join(root, "dists", "development")
	data, err := os.ReadFile(filepath.Join(dir, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := repo.ParseRelease(data)
	if err != nil {
		t.Fatal(err)
	}
	edit(rel)
	text := rel.Bytes()
	var clear, detached bytes.Buffer
	key := testkit.Key(t)
	if err := key.ClearSign(&clear, text, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := key.DetachSign(&detached, bytes.NewReader(text), true, time.Now()); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"Release": text, "Release.gpg": detached.Bytes(), "InRelease": clear.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
