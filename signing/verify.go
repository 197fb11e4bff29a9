package signing

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Keyring holds the public keys that signatures are checked against.
type Keyring struct {
	entities openpgp.EntityList
}

// ReadKeyring reads one or more keys, armored or binary, public or secret
// (only the public part is used), such as an apt keyring file.
func ReadKeyring(data []byte) (*Keyring, error) {
	el, err := readEntities(data)
	if err != nil {
		return nil, err
	}
	return &Keyring{entities: el}, nil
}

// Fingerprints returns the primary-key fingerprints of the keys in kr.
func (kr *Keyring) Fingerprints() []string {
	fprs := make([]string, len(kr.entities))
	for i, e := range kr.entities {
		fprs[i] = fingerprint(e.PrimaryKey)
	}
	return fprs
}

// weakHashes are the digests apt no longer trusts in a signature.
var weakHashes = map[crypto.Hash]bool{crypto.MD5: true, crypto.SHA1: true, crypto.RIPEMD160: true}

// VerifyDetached checks sig, an armored or binary detached signature, over
// signed (Release.gpg over Release, _gpgorigin over a .deb's members). It
// returns the primary-key fingerprint of the signer. Errors wrap
// ErrBadSignature.
func (kr *Keyring) VerifyDetached(signed io.Reader, sig []byte) (fingerprint string, err error) {
	if isArmored(sig) {
		block, err := armor.Decode(bytes.NewReader(sig))
		if err != nil {
			return "", fmt.Errorf("%w: reading armored signature: %w", ErrBadSignature, err)
		}
		if block.Type != openpgp.SignatureType {
			return "", fmt.Errorf("%w: got a %q block, want %q", ErrBadSignature, block.Type, openpgp.SignatureType)
		}
		if sig, err = io.ReadAll(block.Body); err != nil {
			return "", fmt.Errorf("%w: reading armored signature: %w", ErrBadSignature, err)
		}
	}
	return kr.verify(signed, sig)
}

const clearsignStart = "-----BEGIN PGP SIGNED MESSAGE-----"

// VerifyClearsigned checks a clearsigned document such as InRelease and
// returns the signed text and the primary-key fingerprint of the signer. The
// text is what `gpgv --output` writes: every line ends in "\n", so a
// document made by ClearSign (or gpg --clearsign) gives back the message
// that was signed. Like apt, it wants the document to start with the BEGIN
// line and refuses anything but blank lines after the signature, so that no
// unsigned text can pass for signed. Errors wrap ErrBadSignature.
func (kr *Keyring) VerifyClearsigned(doc []byte) (plaintext []byte, fingerprint string, err error) {
	if !bytes.HasPrefix(doc, []byte(clearsignStart)) {
		return nil, "", fmt.Errorf("%w: not a clearsigned document (want it to start with %s)", ErrBadSignature, clearsignStart)
	}
	block, rest := clearsign.Decode(doc)
	if block == nil {
		return nil, "", fmt.Errorf("%w: malformed clearsigned document", ErrBadSignature)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, "", fmt.Errorf("%w: data after the signature", ErrBadSignature)
	}
	sig, err := io.ReadAll(block.ArmoredSignature.Body)
	if err != nil {
		return nil, "", fmt.Errorf("%w: reading armored signature: %w", ErrBadSignature, err)
	}
	fpr, err := kr.verify(bytes.NewReader(block.Bytes), sig)
	if err != nil {
		return nil, "", err
	}
	return append(block.Plaintext, '\n'), fpr, nil
}

// verify checks the signature packets sig over signed.
func (kr *Keyring) verify(signed io.Reader, sig []byte) (string, error) {
	if len(sig) == 0 {
		return "", fmt.Errorf("%w: empty signature", ErrBadSignature)
	}
	s, signer, err := openpgp.VerifyDetachedSignature(kr.entities, signed, bytes.NewReader(sig), nil)
	if errors.Is(err, pgperrors.ErrUnknownIssuer) {
		return "", fmt.Errorf("%w: made by %s, not in the keyring", ErrBadSignature, issuers(sig))
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if weakHashes[s.Hash] {
		return "", fmt.Errorf("%w: made with the weak hash %s", ErrBadSignature, s.Hash)
	}
	return fingerprint(signer.PrimaryKey), nil
}

// issuers names the keys that made the signatures in sig, for errors.
func issuers(sig []byte) string {
	var ids []string
	packets := packet.NewReader(bytes.NewReader(sig))
	for {
		p, err := packets.Next()
		if err != nil {
			break
		}
		s, ok := p.(*packet.Signature)
		switch {
		case !ok:
		case len(s.IssuerFingerprint) > 0:
			ids = append(ids, fmt.Sprintf("%X", s.IssuerFingerprint))
		case s.IssuerKeyId != nil:
			ids = append(ids, fmt.Sprintf("%016X", *s.IssuerKeyId))
		}
	}
	if len(ids) == 0 {
		return "an unknown key"
	}
	return "key " + strings.Join(ids, ", ")
}

// Binary returns the keyring's public keys as a binary keyring, the form
// apt reads from /usr/share/keyrings/NAME.gpg and gpgv --keyring reads.
func (kr *Keyring) Binary() ([]byte, error) {
	var b bytes.Buffer
	for _, e := range kr.entities {
		if err := e.Serialize(&b); err != nil {
			return nil, fmt.Errorf("signing: writing keyring: %w", err)
		}
	}
	return b.Bytes(), nil
}

// Armored returns the keyring's public keys as one armored block, the form
// a deb822 Signed-By field embeds.
func (kr *Keyring) Armored() ([]byte, error) {
	var b bytes.Buffer
	err := writeArmored(&b, openpgp.PublicKeyType, func(w io.Writer) error {
		for _, e := range kr.entities {
			if err := e.Serialize(w); err != nil {
				return err
			}
		}
		return nil
	})
	return b.Bytes(), err
}
