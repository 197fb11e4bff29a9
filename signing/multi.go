package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Signers signs with several keys at once, one signature per key, as a
// repository does during a key rotation: devices that trust only the old
// key and devices that trust only the new one both accept its Release
// files. It is a Signer.
type Signers []*Key

var _ Signer = Signers(nil)

// NewSigner returns the Signer for keys: the key itself when there is one,
// Signers when there are several.
func NewSigner(keys []*Key) Signer {
	if len(keys) == 1 {
		return keys[0]
	}
	return Signers(keys)
}

// Fingerprint is the first key's.
func (s Signers) Fingerprint() string { return s[0].Fingerprint() }

// Fingerprints lists every key's fingerprint.
func (s Signers) Fingerprints() []string {
	out := make([]string, len(s))
	for i, k := range s {
		out[i] = k.Fingerprint()
	}
	return out
}

// Keyring holds the public parts of every key.
func (s Signers) Keyring() *Keyring {
	kr := &Keyring{}
	for _, k := range s {
		kr.entities = append(kr.entities, k.entity)
	}
	return kr
}

// ClearSign writes msg clearsigned with one signature per key (see
// Key.ClearSign).
func (s Signers) ClearSign(w io.Writer, msg []byte, t time.Time) error {
	if err := checkClearsignable(msg); err != nil {
		return err
	}
	var sks []*packet.PrivateKey
	for _, k := range s {
		sk, err := k.signingKey(t)
		if err != nil {
			return err
		}
		sks = append(sks, sk)
	}
	pw, err := clearsign.EncodeMulti(w, sks, signConfig(t))
	if err != nil {
		return fmt.Errorf("signing: clearsigning: %w", err)
	}
	// go-crypto signs a final "\n" as part of the text and then writes an
	// empty line before the signature; gpg leaves it out of the signature.
	if _, err := pw.Write(msg[:len(msg)-1]); err != nil {
		return fmt.Errorf("signing: clearsigning: %w", err)
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("signing: clearsigning: %w", err)
	}
	// The armored signature ends without a newline; gpg ends with one.
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("signing: clearsigning: %w", err)
	}
	return nil
}

// DetachSign writes one detached signature per key over msg, in one
// armored block (or concatenated, binary), as gpg --detach-sign with
// several --local-user does.
func (s Signers) DetachSign(w io.Writer, msg io.Reader, armored bool, t time.Time) error {
	data, err := io.ReadAll(msg)
	if err != nil {
		return fmt.Errorf("signing: detached signature: %w", err)
	}
	var sigs bytes.Buffer
	for _, k := range s {
		if err := k.DetachSign(&sigs, bytes.NewReader(data), false, t); err != nil {
			return err
		}
	}
	if !armored {
		_, err := w.Write(sigs.Bytes())
		return err
	}
	return writeArmored(w, openpgp.SignatureType, func(w io.Writer) error {
		_, err := w.Write(sigs.Bytes())
		return err
	})
}

// LoadKeys loads the signing keys of files or, when there are none, of
// DEBFLOW_KEY, which may hold several armored secret keys one after the
// other. Errors are LoadKey's; the same key given twice is an error too.
func LoadKeys(files []string, lookupEnv func(string) (string, bool)) ([]*Key, error) {
	var keys []*Key
	if len(files) > 0 {
		for _, f := range files {
			k, err := LoadKey(f, lookupEnv)
			if err != nil {
				return nil, err
			}
			keys = append(keys, k)
		}
	} else {
		env, set := lookupEnv(EnvKey)
		const begin = "-----BEGIN PGP PRIVATE KEY BLOCK-----"
		if !set || strings.Count(env, begin) < 2 {
			k, err := LoadKey("", lookupEnv)
			if err != nil {
				return nil, err
			}
			return []*Key{k}, nil
		}
		passphrase, _ := lookupEnv(EnvPassphrase)
		blocks := strings.Split(env, begin)
		for i, b := range blocks[1:] {
			k, err := ParseKey([]byte(begin+b), []byte(passphrase))
			if err != nil {
				return nil, &KeyError{Source: fmt.Sprintf("%s (key %d)", EnvKey, i+1), Err: err}
			}
			keys = append(keys, k)
		}
	}
	var seen []string
	for _, k := range keys {
		if slices.Contains(seen, k.Fingerprint()) {
			return nil, &KeyError{Source: "key " + k.Fingerprint(), Err: errors.New("given twice")}
		}
		seen = append(seen, k.Fingerprint())
	}
	return keys, nil
}
