package signing

import (
	"bytes"
	"crypto"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// TestClearSignFormat pins the bytes around the message: the layout gpg
// --clearsign writes and apt parses.
func TestClearSignFormat(t *testing.T) {
	for _, algo := range algorithms {
		doc := string(clearSign(t, testKey(t, algo), release))
		want := "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\n" +
			strings.Replace(release, "\n- not a field", "\n- - not a field", 1) +
			"-----BEGIN PGP SIGNATURE-----\n"
		if !strings.HasPrefix(doc, want) {
			t.Errorf("%s: clearsigned document starts\n%s\nwant\n%s", algo, doc, want)
		}
		if !strings.HasSuffix(doc, "\n-----END PGP SIGNATURE-----\n") {
			t.Errorf("%s: clearsigned document does not end with the signature's END line and a newline:\n%s", algo, doc)
		}
	}
}

func TestClearSignRefusesLossyMessages(t *testing.T) {
	k := testKey(t, Ed25519)
	for name, msg := range map[string]string{
		"empty":            "",
		"no final newline": "Origin: x\nSuite: y",
		"trailing space":   "Origin: x \nSuite: y\n",
		"trailing tab":     "Origin: x\nSuite: y\t\n",
		"CRLF":             "Origin: x\r\nSuite: y\r\n",
		"blank line":       "Origin: x\n \nSuite: y\n",
	} {
		var buf bytes.Buffer
		if err := k.ClearSign(&buf, []byte(msg), sigTime); err == nil {
			t.Errorf("%s: ClearSign(%q) succeeded, want an error", name, msg)
		}
	}
}

func TestSignBeforeKeyCreation(t *testing.T) {
	k := testKey(t, Ed25519)
	early := keyTime.Add(-time.Second)
	var buf bytes.Buffer
	if err := k.ClearSign(&buf, []byte(release), early); err == nil || !strings.Contains(err.Error(), "before key") {
		t.Errorf("ClearSign before the key was made: got %v, want an error", err)
	}
	if err := k.DetachSign(&buf, strings.NewReader(release), true, early); err == nil || !strings.Contains(err.Error(), "before key") {
		t.Errorf("DetachSign before the key was made: got %v, want an error", err)
	}
}

// TestSignaturesAreDeterministic: the same key, message and time give the
// same bytes, so republishing an unchanged repository changes nothing.
func TestSignaturesAreDeterministic(t *testing.T) {
	for _, algo := range algorithms {
		k := testKey(t, algo)
		if !bytes.Equal(clearSign(t, k, release), clearSign(t, k, release)) {
			t.Errorf("%s: two clearsigned documents differ", algo)
		}
		if !bytes.Equal(detachSign(t, k, release, false), detachSign(t, k, release, false)) {
			t.Errorf("%s: two detached signatures differ", algo)
		}
	}
}

// TestSignaturePackets checks what gpgv and apt look at in a signature.
func TestSignaturePackets(t *testing.T) {
	for _, algo := range algorithms {
		k := testKey(t, algo)
		doc := clearSign(t, k, release)
		start := bytes.Index(doc, []byte("-----BEGIN PGP SIGNATURE-----"))
		block, err := armor.Decode(bytes.NewReader(doc[start:]))
		if err != nil {
			t.Fatal(err)
		}
		for name, tc := range map[string]struct {
			sig     func() (packet.Packet, error)
			sigType packet.SignatureType
		}{
			"clearsigned": {func() (packet.Packet, error) { return packet.Read(block.Body) }, packet.SigTypeText},
			"detached": {func() (packet.Packet, error) {
				return packet.Read(bytes.NewReader(detachSign(t, k, release, false)))
			}, packet.SigTypeBinary},
		} {
			p, err := tc.sig()
			if err != nil {
				t.Fatal(err)
			}
			sig, ok := p.(*packet.Signature)
			if !ok {
				t.Fatalf("%s %s: got a %T packet, want a signature", algo, name, p)
			}
			if sig.Version != 4 || sig.Hash != crypto.SHA512 || sig.SigType != tc.sigType {
				t.Errorf("%s %s: version %d, %v, type %#x; want version 4, SHA-512, type %#x", algo, name, sig.Version, sig.Hash, sig.SigType, tc.sigType)
			}
			if !sig.CreationTime.Equal(sigTime) {
				t.Errorf("%s %s: made %v, want %v", algo, name, sig.CreationTime, sigTime)
			}
			if len(sig.Notations) != 0 {
				t.Errorf("%s %s: has notations %v, want none", algo, name, sig.Notations)
			}
		}
	}
}
