package signing

import (
	"bytes"
	"testing"
	"time"
)

// TestGenerateExpiring: the lifetime is in the key's self-signature, and
// a keyring read from the public key reports it.
func TestGenerateExpiring(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	k, err := GenerateExpiring("Test <t@example.org>", Ed25519, now, 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.Expires(), now.Add(48*time.Hour); !got.Equal(want) {
		t.Fatalf("Expires = %v, want %v", got, want)
	}
	var pub bytes.Buffer
	if err := k.WritePublic(&pub, false); err != nil {
		t.Fatal(err)
	}
	kr, err := ReadKeyring(pub.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if ks := kr.Keys(); len(ks) != 1 || !ks[0].Expires.Equal(now.Add(48*time.Hour)) || ks[0].Fingerprint != k.Fingerprint() {
		t.Fatalf("Keys() = %+v", ks)
	}
	never, err := Generate("Test <t@example.org>", Ed25519, now)
	if err != nil {
		t.Fatal(err)
	}
	if !never.Expires().IsZero() {
		t.Fatalf("a key without lifetime expires at %v", never.Expires())
	}
}
