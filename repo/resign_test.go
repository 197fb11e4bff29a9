package repo_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/signing"
)

// signedCopy appends a _gpgorigin member, a signature by key made at t,
// to an unsigned package, and writes the result to a new file.
func signedCopy(t *testing.T, unsigned string, key *signing.Key, at time.Time) string {
	t.Helper()
	data, err := os.ReadFile(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	var sig bytes.Buffer
	if err := key.DetachSign(&sig, bytes.NewReader(data), false, at); err != nil {
		t.Fatal(err)
	}
	hdr := fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10d`\n", "_gpgorigin", 1700000000, 0, 0, "100644", sig.Len())
	out := append(append(data, hdr...), sig.Bytes()...)
	if sig.Len()%2 == 1 {
		out = append(out, '\n')
	}
	name := filepath.Join(t.TempDir(), filepath.Base(unsigned))
	if err := os.WriteFile(name, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

// TestRepublishResigned: a CI re-run that signs the same members again
// with the same key (another signature time) is a no-op; another key's
// signature, or other members, is a conflict; the tree does not change.
func TestRepublishResigned(t *testing.T) {
	f := newFixture(t)
	key := testkit.Key(t)
	unsigned := f.deb("hello", "1.0", "amd64")
	now := time.Now()
	first := signedCopy(t, unsigned, key, now)
	f.mustPublish(repo.PublishOptions{}, first)
	before := testkit.TreeHash(t, f.root)

	rerun := signedCopy(t, unsigned, key, now.Add(time.Minute))
	res := f.mustPublish(repo.PublishOptions{}, rerun)
	if len(res.Unchanged) != 1 || len(res.Added) != 0 {
		t.Fatalf("republish of a re-signed package: %+v, want unchanged", res)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Fatal("a no-op republish changed the tree")
	}

	other, err := signing.Generate("Other <other@example.com>", signing.Ed25519, time.Unix(1600000000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.publish(repo.PublishOptions{}, signedCopy(t, unsigned, other, now)); !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("same members signed by another key: %v, want ErrConflict", err)
	}
	changed := testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64", Payload: "other\n"})
	if _, err := f.publish(repo.PublishOptions{}, signedCopy(t, changed, key, now)); !errors.Is(err, repo.ErrConflict) {
		t.Fatalf("other members signed by the same key: %v, want ErrConflict", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Fatal("a refused republish changed the tree")
	}
}

// TestConflictAcrossComponents: one content per name, version and
// architecture in a suite, whatever the component.
func TestConflictAcrossComponents(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	before := testkit.TreeHash(t, f.root)
	other := testkit.WriteDeb(t, t.TempDir(), testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64", Payload: "other\n"})
	_, err := f.publish(repo.PublishOptions{Component: "contrib"}, other)
	if !errors.Is(err, repo.ErrConflict) || !strings.Contains(err.Error(), "another component") {
		t.Fatalf("the same package with other contents in contrib: %v, want ErrConflict", err)
	}
	if testkit.TreeHash(t, f.root) != before {
		t.Fatal("a refused publish changed the tree")
	}
}
