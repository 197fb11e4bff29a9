package build

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/signing"
)

// debMembers returns the ar members of a .deb by name.
func debMembers(t *testing.T, file string) map[string][]byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	members := map[string][]byte{}
	r := ar.NewReader(f)
	for {
		h, err := r.Next()
		if err == io.EOF {
			return members
		}
		if err != nil {
			t.Fatal(err)
		}
		members[h.Name], _ = io.ReadAll(r)
	}
}

// sigTime returns the creation time of the package's _gpgorigin signature.
func sigTime(t *testing.T, file string) time.Time {
	t.Helper()
	p, err := packet.Read(bytes.NewReader(debMembers(t, file)["_gpgorigin"]))
	if err != nil {
		t.Fatal(err)
	}
	sig, ok := p.(*packet.Signature)
	if !ok {
		t.Fatalf("_gpgorigin holds a %T", p)
	}
	return sig.CreationTime.UTC()
}

// gpgvPackage checks the origin signature with gpgv, over debian-binary,
// the control member and the data member as stored.
func gpgvPackage(t *testing.T, k *signing.Key, file string) {
	t.Helper()
	dir := t.TempDir()
	var pub bytes.Buffer
	if err := k.WritePublic(&pub, false); err != nil {
		t.Fatal(err)
	}
	keyring := filepath.Join(dir, "keyring.gpg")
	os.WriteFile(keyring, pub.Bytes(), 0o644)
	m := debMembers(t, file)
	signed := append(append(append([]byte{}, m["debian-binary"]...), m["control.tar.xz"]...), m["data.tar.xz"]...)
	os.WriteFile(filepath.Join(dir, "signed"), signed, 0o644)
	os.WriteFile(filepath.Join(dir, "sig"), m["_gpgorigin"], 0o644)
	run(t, "gpgv", "--keyring", keyring, filepath.Join(dir, "sig"), filepath.Join(dir, "signed"))
}

// debsigVerify checks the package with debsig-verify under a policy for k.
func debsigVerify(t *testing.T, k *signing.Key, file string) {
	t.Helper()
	if _, err := exec.LookPath("debsig-verify"); err != nil {
		t.Log("debsig-verify not installed: only gpgv checked the signature")
		return
	}
	dir := t.TempDir()
	var pub bytes.Buffer
	if err := k.WritePublic(&pub, false); err != nil {
		t.Fatal(err)
	}
	fpr := k.Fingerprint()
	keyID := fpr[len(fpr)-16:]
	policies, keyrings := filepath.Join(dir, "policies", keyID), filepath.Join(dir, "keyrings", keyID)
	os.MkdirAll(policies, 0o755)
	os.MkdirAll(keyrings, 0o755)
	os.WriteFile(filepath.Join(keyrings, "debsig.gpg"), pub.Bytes(), 0o644)
	os.WriteFile(filepath.Join(policies, "debflow.pol"), []byte(`<?xml version="1.0"?>
<!DOCTYPE Policy SYSTEM "https://www.debian.org/debsig/1.0/policy.dtd">
<Policy xmlns="https://www.debian.org/debsig/1.0/">
  <Origin Name="debflow-test" id="`+keyID+`" Description="debflow test"/>
  <Selection><Required Type="origin" File="debsig.gpg" id="`+keyID+`"/></Selection>
  <Verification MinOptional="0"><Required Type="origin" File="debsig.gpg" id="`+keyID+`"/></Verification>
</Policy>
`), 0o644)
	out := run(t, "debsig-verify", "--policies-dir", filepath.Join(dir, "policies"), "--keyrings-dir", filepath.Join(dir, "keyrings"), file)
	if !strings.Contains(out, "Verified package") {
		t.Errorf("debsig-verify: %s", out)
	}
}

// TestSignedBuildIsReproducible: the same commit built twice with the same
// key gives the same bytes, signature included, dated SOURCE_DATE_EPOCH;
// and a key made after SOURCE_DATE_EPOCH signs at its own creation time,
// which gpgv accepts. Both algorithms, both verifiers.
func TestSignedBuildIsReproducible(t *testing.T) {
	need(t, "gpgv")
	const epoch = 1700000000
	for _, algo := range []signing.Algorithm{signing.Ed25519, signing.RSA4096} {
		t.Run(string(algo), func(t *testing.T) {
			old, err := signing.Generate("Old Key <old@example.com>", algo, time.Unix(epoch-86400, 0))
			if err != nil {
				t.Fatal(err)
			}
			first := buildExample(t, t.TempDir(), Options{Signer: old})
			time.Sleep(1100 * time.Millisecond) // a second build, a second later
			second := buildExample(t, t.TempDir(), Options{Signer: old})
			a, _ := os.ReadFile(first.Path)
			b, _ := os.ReadFile(second.Path)
			if !bytes.Equal(a, b) {
				t.Error("two signed builds of the same sources with the same key differ")
			}
			if got := sigTime(t, first.Path); !got.Equal(time.Unix(epoch, 0).UTC()) {
				t.Errorf("signature dated %v, want SOURCE_DATE_EPOCH %v", got, time.Unix(epoch, 0).UTC())
			}
			gpgvPackage(t, old, first.Path)
			debsigVerify(t, old, first.Path)

			// A key newer than SOURCE_DATE_EPOCH: the signature takes the
			// key's creation time, never an earlier one.
			created := time.Now().Add(-time.Hour).Truncate(time.Second)
			young, err := signing.Generate("Young Key <young@example.com>", algo, created)
			if err != nil {
				t.Fatal(err)
			}
			res := buildExample(t, t.TempDir(), Options{Signer: young})
			if got := sigTime(t, res.Path); !got.Equal(created.UTC()) {
				t.Errorf("signature of a key created after SOURCE_DATE_EPOCH dated %v, want the key's creation %v", got, created.UTC())
			}
			again := buildExample(t, t.TempDir(), Options{Signer: young})
			c, _ := os.ReadFile(res.Path)
			d, _ := os.ReadFile(again.Path)
			if !bytes.Equal(c, d) {
				t.Error("two builds signed by a key newer than SOURCE_DATE_EPOCH differ")
			}
			gpgvPackage(t, young, res.Path)
			debsigVerify(t, young, res.Path)
		})
	}
}

// TestLoadSpecFIFO: --spec naming a FIFO is refused at once, not waited on.
func TestLoadSpecFIFO(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "nfpm.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := LoadSpec(fifo); done <- err }()
	select {
	case err := <-done:
		if !errors.Is(err, ErrSpec) || !strings.Contains(err.Error(), fifo+": not a regular file (a FIFO)") {
			t.Errorf("LoadSpec of a FIFO: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("LoadSpec blocks on a FIFO")
	}
}

// TestDirtyWorkTreeVersion: uncommitted changes to tracked files give a
// "+dirty" version that sorts above the clean build of the commit and
// below the next commit's; untracked files do not count.
func TestDirtyWorkTreeVersion(t *testing.T) {
	need(t, "git", "dpkg")
	src := copyTree(t, filepath.Dir(exampleSpec))
	git := gitIn(t, src)
	git("init", "-q")
	git("add", ".")
	git("commit", "-qm", "first")
	git("tag", "v1.2.0")
	spec, err := LoadSpec(filepath.Join(src, "nfpm.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	version := func() Result {
		t.Helper()
		res, err := Build(context.Background(), spec, Options{OutDir: t.TempDir(), Getenv: env()})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	clean := version()
	if clean.Version != "1.2.0" || clean.Dirty {
		t.Fatalf("clean build: %s (dirty %v)", clean.Version, clean.Dirty)
	}
	os.WriteFile(filepath.Join(src, "untracked"), []byte("x"), 0o644)
	if v := version(); v.Version != "1.2.0" {
		t.Errorf("an untracked file changed the version to %s", v.Version)
	}
	os.WriteFile(filepath.Join(src, "files", "README"), []byte("changed\n"), 0o644)
	dirty := version()
	if dirty.Version != "1.2.0+dirty" || !dirty.Dirty {
		t.Errorf("dirty build: version %s (dirty %v), want 1.2.0+dirty", dirty.Version, dirty.Dirty)
	}
	git("commit", "-qam", "second")
	next := version()
	for _, c := range [][3]string{{dirty.Version, "gt", clean.Version}, {dirty.Version, "lt", next.Version}} {
		if err := exec.Command("dpkg", "--compare-versions", c[0], c[1], c[2]).Run(); err != nil {
			t.Errorf("dpkg --compare-versions %s %s %s: false", c[0], c[1], c[2])
		}
	}
	// Staged but uncommitted counts too, and after a commit (+gitN.H).
	os.WriteFile(filepath.Join(src, "files", "README"), []byte("staged\n"), 0o644)
	git("add", "files/README")
	if v := version(); v.Version != next.Version+DirtySuffix {
		t.Errorf("staged change: version %s, want %s", v.Version, next.Version+DirtySuffix)
	} else if err := exec.Command("dpkg", "--compare-versions", v.Version, "gt", next.Version).Run(); err != nil {
		t.Errorf("%s does not sort above %s", v.Version, next.Version)
	}
}
