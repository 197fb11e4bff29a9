package signing

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestSignersEachKeyAloneVerifies: an InRelease and a Release.gpg made by
// two keys carry one signature per key, and gpgv with either key alone
// reports a good signature by that key (the situation of a device that
// trusts only the old key, or only the new one, during a rotation).
func TestSignersEachKeyAloneVerifies(t *testing.T) {
	needTool(t, "gpgv")
	old, next := testKey(t, Ed25519), testKey(t, RSA4096)
	s := Signers{old, next}
	dir := t.TempDir()
	release := "Origin: fleet\nSuite: production\n"
	var in, det bytes.Buffer
	if err := s.ClearSign(&in, []byte(release), sigTime); err != nil {
		t.Fatal(err)
	}
	if err := s.DetachSign(&det, strings.NewReader(release), true, sigTime); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "InRelease"), in.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "Release.gpg"), det.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "Release"), []byte(release), 0o644)
	for _, k := range []*Key{old, next} {
		var pub bytes.Buffer
		k.WritePublic(&pub, false)
		ring := filepath.Join(dir, "only-"+k.Fingerprint()+".gpg")
		os.WriteFile(ring, pub.Bytes(), 0o644)
		for _, args := range [][]string{{"InRelease"}, {"Release.gpg", "Release"}} {
			cmd := exec.Command("gpgv", append([]string{"--status-fd", "1", "--keyring", ring}, args...)...)
			cmd.Dir = dir
			out, _ := cmd.CombinedOutput()
			if !strings.Contains(string(out), "[GNUPG:] VALIDSIG "+k.Fingerprint()) {
				t.Errorf("gpgv with %s alone on %v: no valid signature by it:\n%s", k.Fingerprint(), args, out)
			}
			if n := strings.Count(string(out), "[GNUPG:] NEWSIG"); n != 2 {
				t.Errorf("gpgv on %v sees %d signatures, want 2", args, n)
			}
		}
		if _, fp, err := k.Keyring().VerifyClearsigned(in.Bytes()); err != nil || fp != k.Fingerprint() {
			t.Errorf("VerifyClearsigned with %s alone: %s %v", k.Fingerprint(), fp, err)
		}
		if fp, err := k.Keyring().VerifyDetached(strings.NewReader(release), det.Bytes()); err != nil || fp != k.Fingerprint() {
			t.Errorf("VerifyDetached with %s alone: %s %v", k.Fingerprint(), fp, err)
		}
	}
}

// TestLoadKeysSeveral: --key A --key B, and two armored keys in
// DEBFLOW_KEY; the same key twice is refused.
func TestLoadKeysSeveral(t *testing.T) {
	a, b := testKey(t, Ed25519), otherKey(t)
	dir := t.TempDir()
	var env bytes.Buffer
	for i, k := range []*Key{a, b} {
		var buf bytes.Buffer
		k.WriteSecret(&buf)
		os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".asc"), buf.Bytes(), 0o600)
		env.Write(buf.Bytes())
	}
	noEnv := func(string) (string, bool) { return "", false }
	keys, err := LoadKeys([]string{filepath.Join(dir, "a.asc"), filepath.Join(dir, "b.asc")}, noEnv)
	if err != nil || len(keys) != 2 || keys[1].Fingerprint() != b.Fingerprint() {
		t.Fatalf("two files: %v %v", keys, err)
	}
	lookup := func(n string) (string, bool) {
		if n == EnvKey {
			return env.String(), true
		}
		return "", false
	}
	keys, err = LoadKeys(nil, lookup)
	if err != nil || len(keys) != 2 || keys[0].Fingerprint() != a.Fingerprint() || keys[1].Fingerprint() != b.Fingerprint() {
		t.Fatalf("two keys in DEBFLOW_KEY: %v %v", keys, err)
	}
	if _, err := LoadKeys([]string{filepath.Join(dir, "a.asc"), filepath.Join(dir, "a.asc")}, noEnv); !errors.Is(err, ErrUnusableKey) || !strings.Contains(err.Error(), "given twice") {
		t.Errorf("the same key twice: %v", err)
	}
}

// TestParseKeyRefusesUnusable: an expired key, a revoked key and a key
// that may not sign are refused, each with its own error.
func TestParseKeyRefusesUnusable(t *testing.T) {
	secret := func(k *Key) []byte {
		var buf bytes.Buffer
		if err := k.WriteSecret(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	expired, err := GenerateExpiring("Old <old@example.org>", Ed25519, time.Now().Add(-48*time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKey(secret(expired), nil); !errors.Is(err, ErrKeyExpired) {
		t.Errorf("expired key: %v", err)
	}
	revoked, err := Generate("Gone <gone@example.org>", Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := revoked.entity.RevokeKey(packet.KeyCompromised, "leaked", signConfig(time.Now())); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseKey(secret(revoked), nil); !errors.Is(err, ErrKeyRevoked) {
		t.Errorf("revoked key: %v", err)
	}
	certOnly, err := Generate("Cert <cert@example.org>", Ed25519, time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range certOnly.entity.Identities {
		id.SelfSignature.FlagSign = false
		if err := id.SelfSignature.SignUserId(id.UserId.Id, certOnly.entity.PrimaryKey, certOnly.entity.PrivateKey, signConfig(time.Now())); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ParseKey(secret(certOnly), nil); !errors.Is(err, ErrCannotSign) {
		t.Errorf("a key that may only certify: %v", err)
	}
}
