package signing

import (
	"bytes"
	"crypto"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Signer signs repository metadata and packages. *Key is one; a KMS, an
// agent or a test double can be another.
type Signer interface {
	// ClearSign writes msg as a clearsigned document (InRelease).
	ClearSign(w io.Writer, msg []byte, t time.Time) error
	// DetachSign writes a detached signature over msg (Release.gpg,
	// _gpgorigin), armored or binary.
	DetachSign(w io.Writer, msg io.Reader, armored bool, t time.Time) error
	// Fingerprint identifies the key, as Keyring.VerifyDetached reports it.
	Fingerprint() string
}

// ClearSign writes msg as a clearsigned document, the InRelease format apt
// reads: "-----BEGIN PGP SIGNED MESSAGE-----", "Hash: SHA512", the
// dash-escaped text, then the signature made at time t.
//
// msg must end in "\n", and no line may end in a space, tab or "\r":
// clearsigning would drop those. As `gpg --clearsign` does, the final
// newline is not part of the signed text and no blank line precedes the
// signature, so `gpgv --output` and VerifyClearsigned give back msg exactly,
// and apt, which joins the signed lines with "\n", reads msg without its
// final newline (the same as for Debian's own InRelease files).
func (k *Key) ClearSign(w io.Writer, msg []byte, t time.Time) error {
	return Signers{k}.ClearSign(w, msg, t)
}

// DetachSign writes a signature over the exact bytes of msg (signature
// type 0x00), made at time t.
//
// Release.gpg must be armored: apt refuses a binary one ("Signed file isn't
// valid, got 'NODATA'"). The debsigs _gpgorigin member of a .deb is binary
// by convention (debsigs runs gpg --detach-sign without --armor);
// debsig-verify 0.28 accepts either form.
func (k *Key) DetachSign(w io.Writer, msg io.Reader, armored bool, t time.Time) error {
	sk, err := k.signingKey(t)
	if err != nil {
		return err
	}
	config := signConfig(t)
	config.SigningKeyId = sk.KeyId
	sign := func(w io.Writer) error { return openpgp.DetachSign(w, k.entity, msg, config) }
	if armored {
		return writeArmored(w, openpgp.SignatureType, sign)
	}
	if err := sign(w); err != nil {
		return fmt.Errorf("signing: detached signature: %w", err)
	}
	return nil
}

// signingKey picks the key that signs at time t: the primary key, or the
// newest signing subkey of a key made elsewhere.
func (k *Key) signingKey(t time.Time) (*packet.PrivateKey, error) {
	created := k.entity.PrimaryKey.CreationTime
	if t.Unix() < created.Unix() {
		return nil, fmt.Errorf("signing: signature time %s is before key %s was created (%s); gpgv would reject the signature",
			t.UTC().Format(time.RFC3339), k.Fingerprint(), created.UTC().Format(time.RFC3339))
	}
	sk, ok := k.entity.SigningKey(t)
	if !ok || sk.PrivateKey == nil || sk.PrivateKey.Dummy() || sk.PrivateKey.Encrypted {
		return nil, fmt.Errorf("signing: key %s has no usable signing key at %s (expired or revoked?)",
			k.Fingerprint(), t.UTC().Format(time.RFC3339))
	}
	return sk.PrivateKey, nil
}

// signConfig makes SHA-512 signatures dated t, without go-crypto's random
// salt notation, so that they are deterministic and shaped like GnuPG's.
func signConfig(t time.Time) *packet.Config {
	salted := false
	return &packet.Config{
		DefaultHash:                           crypto.SHA512,
		Time:                                  func() time.Time { return t },
		NonDeterministicSignaturesViaNotation: &salted,
	}
}

// checkClearsignable reports whether msg survives clearsigning unchanged.
func checkClearsignable(msg []byte) error {
	if len(msg) == 0 || msg[len(msg)-1] != '\n' {
		return fmt.Errorf("signing: cannot clearsign: the message does not end in a newline")
	}
	for n, line := range bytes.Split(msg[:len(msg)-1], []byte("\n")) {
		if len(line) > 0 && bytes.ContainsAny(line[len(line)-1:], " \t\r") {
			return fmt.Errorf("signing: cannot clearsign: line %d ends in white space, which clearsigning would drop", n+1)
		}
	}
	return nil
}
