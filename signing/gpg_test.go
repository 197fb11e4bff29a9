package signing

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// TestGpgvAcceptsSignatures checks every kind of signature with the gpgv that
// apt runs on Debian 12 (GnuPG 2.2), against the binary keyring WritePublic
// makes.
func TestGpgvAcceptsSignatures(t *testing.T) {
	needTool(t, "gpgv")
	for _, algo := range algorithms {
		t.Run(string(algo), func(t *testing.T) {
			k := testKey(t, algo)
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "keyring.gpg"), publicKey(t, k, false))
			writeFile(t, filepath.Join(dir, "Release"), []byte(release))
			writeFile(t, filepath.Join(dir, "InRelease"), clearSign(t, k, release))
			writeFile(t, filepath.Join(dir, "Release.gpg"), detachSign(t, k, release, true))
			writeFile(t, filepath.Join(dir, "Release.sig"), detachSign(t, k, release, false))

			out := run(t, dir, "gpgv", "--keyring", "./keyring.gpg", "--output", "Release.out", "InRelease")
			t.Logf("gpgv InRelease:\n%s", out)
			if !strings.Contains(out, "Good signature") {
				t.Errorf("gpgv InRelease: no good signature:\n%s", out)
			}
			got, err := os.ReadFile(filepath.Join(dir, "Release.out"))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != release {
				t.Errorf("gpgv --output gave\n%q\nwant the signed message\n%q", got, release)
			}

			for _, sig := range []string{"Release.gpg", "Release.sig"} {
				out := run(t, dir, "gpgv", "--keyring", "./keyring.gpg", sig, "Release")
				if !strings.Contains(out, "Good signature") {
					t.Errorf("gpgv %s Release: no good signature:\n%s", sig, out)
				}
			}

			// The check above is only worth something if gpgv fails on a
			// changed message.
			writeFile(t, filepath.Join(dir, "Release"), []byte(strings.Replace(release, "stable", "stab1e", 1)))
			if out, err := runErr(dir, "gpgv", "--keyring", "./keyring.gpg", "Release.gpg", "Release"); err == nil {
				t.Errorf("gpgv accepted a signature over a changed Release:\n%s", out)
			}
		})
	}
}

// TestGpgImportsKeys checks that GnuPG 2.2 imports the armored secret and
// public keys that debflow writes.
func TestGpgImportsKeys(t *testing.T) {
	needTool(t, "gpg")
	needTool(t, "gpg-agent") // holds imported secret keys
	for _, algo := range algorithms {
		t.Run(string(algo), func(t *testing.T) {
			k := testKey(t, algo)
			dir := t.TempDir()
			home := filepath.Join(dir, "gnupg")
			if err := os.Mkdir(home, 0o700); err != nil {
				t.Fatal(err)
			}
			// Importing a secret key starts a gpg-agent for this home.
			t.Cleanup(func() { _, _ = runErr(dir, "gpgconf", "--homedir", home, "--kill", "all") })
			writeFile(t, filepath.Join(dir, "public.asc"), publicKey(t, k, true))
			writeFile(t, filepath.Join(dir, "secret.asc"), secretKey(t, k))

			run(t, dir, "gpg", "--homedir", home, "--batch", "--import", "public.asc")
			run(t, dir, "gpg", "--homedir", home, "--batch", "--import", "secret.asc")
			out := run(t, dir, "gpg", "--homedir", home, "--batch", "--with-colons", "--list-secret-keys")
			if !strings.Contains(out, "fpr:::::::::"+k.Fingerprint()+":") {
				t.Errorf("gpg --list-secret-keys does not list %s:\n%s", k.Fingerprint(), out)
			}
			if !strings.Contains(out, k.UserID()) {
				t.Errorf("gpg --list-secret-keys does not list %q:\n%s", k.UserID(), out)
			}
		})
	}
}

// TestGpgvAcceptsSubkeySignatures signs with the GnuPG-made fixture key,
// whose signing subkey does the work, and checks with gpgv.
func TestGpgvAcceptsSubkeySignatures(t *testing.T) {
	needTool(t, "gpgv")
	k, err := ParseKey(readFixture(t, "gpg-secret.asc"), []byte(gpgPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	// gpgv reads binary keyrings only: dearmor the fixture.
	block, err := armor.Decode(bytes.NewReader(readFixture(t, "gpg-public.asc")))
	if err != nil {
		t.Fatal(err)
	}
	keyring, err := io.ReadAll(block.Body)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture key was made recently: sign now, not at sigTime.
	var inRelease bytes.Buffer
	if err := k.ClearSign(&inRelease, []byte(release), time.Now()); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "keyring.gpg"), keyring)
	writeFile(t, filepath.Join(dir, "InRelease"), inRelease.Bytes())
	out := run(t, dir, "gpgv", "--keyring", "./keyring.gpg", "InRelease")
	if !strings.Contains(out, "Good signature") {
		t.Errorf("gpgv InRelease: no good signature:\n%s", out)
	}
}
