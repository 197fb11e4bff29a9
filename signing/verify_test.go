package signing

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestVerify(t *testing.T) {
	tampered := strings.Replace(release, "stable", "stab1e", 1)
	for _, algo := range algorithms {
		t.Run(string(algo), func(t *testing.T) {
			k := testKey(t, algo)
			kr := k.Keyring()
			doc := clearSign(t, k, release)

			text, fpr, err := kr.VerifyClearsigned(doc)
			if err != nil {
				t.Fatal(err)
			}
			if string(text) != release || fpr != k.Fingerprint() {
				t.Errorf("VerifyClearsigned = %q, %s; want %q, %s", text, fpr, release, k.Fingerprint())
			}
			_, _, err = kr.VerifyClearsigned(bytes.Replace(doc, []byte("stable"), []byte("stab1e"), 1))
			wantBad(t, "tampered clearsigned document", err, "")
			_, _, err = otherKey(t).Keyring().VerifyClearsigned(doc)
			wantBad(t, "clearsigned document, other keyring", err, "not in the keyring")

			for _, armored := range []bool{true, false} {
				sig := detachSign(t, k, release, armored)
				fpr, err := kr.VerifyDetached(strings.NewReader(release), sig)
				if err != nil || fpr != k.Fingerprint() {
					t.Errorf("VerifyDetached(armored=%v) = %s, %v; want %s", armored, fpr, err, k.Fingerprint())
				}
				_, err = kr.VerifyDetached(strings.NewReader(tampered), sig)
				wantBad(t, "tampered message", err, "")
				_, err = otherKey(t).Keyring().VerifyDetached(strings.NewReader(release), sig)
				wantBad(t, "other keyring", err, k.Fingerprint())
			}
		})
	}
}

func wantBad(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("%s: got %v, want ErrBadSignature", what, err)
	} else if !strings.Contains(err.Error(), msg) {
		t.Errorf("%s: error %q does not say %q", what, err, msg)
	}
}

// TestVerifyClearsignedRefusesUnsignedText: nothing may come before the
// signed part and only blank lines after it, or a parser could read text that
// is not signed. apt is as strict.
func TestVerifyClearsignedRefusesUnsignedText(t *testing.T) {
	k := testKey(t, Ed25519)
	doc := string(clearSign(t, k, release))
	for name, bad := range map[string]string{
		"text before":       "Origin: evil\n" + doc,
		"blank line before": "\n" + doc,
		"text after":        doc + "Origin: evil\n",
		"two messages":      doc + doc,
		"not clearsigned":   release,
		"empty":             "",
		"no signature":      strings.SplitAfter(doc, "-----BEGIN PGP SIGNATURE-----\n")[0],
	} {
		_, _, err := k.Keyring().VerifyClearsigned([]byte(bad))
		wantBad(t, name, err, "")
	}
	if _, _, err := k.Keyring().VerifyClearsigned([]byte(doc + "\n\n")); err != nil {
		t.Errorf("blank lines after the document: %v", err)
	}
}

// TestVerifyGpgDocuments reads what GnuPG made: an InRelease, and a SHA-1
// signature that must be refused.
func TestVerifyGpgDocuments(t *testing.T) {
	kr, err := ReadKeyring(readFixture(t, "gpg-public.asc"))
	if err != nil {
		t.Fatal(err)
	}
	text, fpr, err := kr.VerifyClearsigned(readFixture(t, "InRelease"))
	if err != nil {
		t.Fatal(err)
	}
	if want := string(readFixture(t, "Release")); string(text) != want {
		t.Errorf("signed text %q, want %q", text, want)
	}
	if want := "E3B381C15438D0ED84C156A9EBB32C4D99C6CD8F"; fpr != want {
		t.Errorf("signer %s, want the primary key %s", fpr, want)
	}
	_, err = kr.VerifyDetached(bytes.NewReader(readFixture(t, "Release")), readFixture(t, "Release.sha1.gpg"))
	wantBad(t, "SHA-1 signature", err, "SHA-1")
}

func TestReadKeyring(t *testing.T) {
	ed, rsa := testKey(t, Ed25519), testKey(t, RSA4096)
	both := append(publicKey(t, ed, false), publicKey(t, rsa, false)...)
	kr, err := ReadKeyring(both)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(kr.Fingerprints(), " "); got != ed.Fingerprint()+" "+rsa.Fingerprint() {
		t.Errorf("Fingerprints() = %s, want both keys", got)
	}
	for _, k := range []*Key{ed, rsa} {
		if fpr, err := kr.VerifyDetached(strings.NewReader(release), detachSign(t, k, release, true)); err != nil || fpr != k.Fingerprint() {
			t.Errorf("VerifyDetached = %s, %v; want %s", fpr, err, k.Fingerprint())
		}
	}
	// Armored public and secret keys do as well.
	for _, data := range [][]byte{publicKey(t, ed, true), secretKey(t, ed)} {
		kr, err := ReadKeyring(data)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := kr.VerifyDetached(strings.NewReader(release), detachSign(t, ed, release, false)); err != nil {
			t.Error(err)
		}
	}
	if _, err := ReadKeyring([]byte("not a key")); err == nil {
		t.Error("ReadKeyring of text succeeded")
	}
}

func TestVerifyDetachedGarbage(t *testing.T) {
	kr := testKey(t, Ed25519).Keyring()
	for name, sig := range map[string][]byte{
		"empty":       nil,
		"text":        []byte("hello"),
		"binary junk": {0x88, 0x01, 0x02},
		"key block":   publicKey(t, testKey(t, Ed25519), true),
	} {
		_, err := kr.VerifyDetached(strings.NewReader(release), sig)
		wantBad(t, name, err, "")
	}
}
