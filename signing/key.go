package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Algorithm is the public-key algorithm of a generated key.
type Algorithm string

const (
	// Ed25519 is a version 4 key with the legacy EdDSA algorithm (22), the
	// form GnuPG 2.2 and Debian 12's gpgv accept. Never RFC 9580's algorithm
	// 27, never a version 6 key.
	Ed25519 Algorithm = "ed25519"
	// RSA4096 is a version 4 RSA key of 4096 bits, for verifiers that predate
	// Ed25519 support.
	RSA4096 Algorithm = "rsa4096"
)

// ParseAlgorithm parses the name of an Algorithm, as given on the command
// line.
func ParseAlgorithm(s string) (Algorithm, error) {
	switch a := Algorithm(strings.ToLower(strings.TrimSpace(s))); a {
	case Ed25519, RSA4096:
		return a, nil
	}
	return "", errUnknownAlgorithm(s)
}

func errUnknownAlgorithm(s string) error {
	return fmt.Errorf("signing: unknown key algorithm %q (want %s or %s)", s, Ed25519, RSA4096)
}

// Errors that callers tell apart with errors.Is. An error that wraps one of
// them starts with its text and adds what went wrong with which key.
var (
	ErrNoKey        = errors.New("signing: no key given (use --key FILE or DEBFLOW_KEY)")
	ErrNotSecretKey = errors.New("signing: the key has no secret part (a public key was given where a secret key is needed)")
	ErrPassphrase   = errors.New("signing: wrong or missing passphrase (DEBFLOW_KEY_PASSPHRASE)")
	ErrBadSignature = errors.New("signing: bad signature")
)

// Environment variables read by LoadKey.
const (
	EnvKey        = "DEBFLOW_KEY"
	EnvPassphrase = "DEBFLOW_KEY_PASSPHRASE"
)

// Key is an OpenPGP secret key able to sign, its secret part decrypted in
// memory. It is a Signer.
type Key struct {
	entity *openpgp.Entity
}

var _ Signer = (*Key)(nil)

// Generate makes a new signing-only key for uid, which has the form
// "Name <email>" or "Name (comment) <email>". now is its creation time:
// signatures dated before it are refused, by gpgv and by this package.
func Generate(uid string, algo Algorithm, now time.Time) (*Key, error) {
	name, comment, email, err := parseUserID(uid)
	if err != nil {
		return nil, err
	}
	config := signConfig(now)
	switch algo {
	case Ed25519:
		config.Algorithm = packet.PubKeyAlgoEdDSA
		config.Curve = packet.Curve25519
	case RSA4096:
		config.Algorithm = packet.PubKeyAlgoRSA
		config.RSABits = 4096
	default:
		return nil, errUnknownAlgorithm(string(algo))
	}
	e, err := openpgp.NewEntity(name, comment, email, config)
	if err != nil {
		return nil, fmt.Errorf("signing: generating %s key: %w", algo, err)
	}
	// NewEntity always adds an encryption subkey (legacy ECDH, or a second
	// RSA key, which costs a second or so to make). A repository key only
	// signs: drop it rather than publish a key nobody should encrypt to.
	e.Subkeys = nil
	return &Key{entity: e}, nil
}

// parseUserID splits "Name (comment) <email>" and checks each part.
func parseUserID(uid string) (name, comment, email string, err error) {
	bad := func(why string) error {
		return fmt.Errorf("signing: user ID %q: %s (want \"Name <email>\")", uid, why)
	}
	uid = strings.TrimSpace(uid)
	open := strings.LastIndexByte(uid, '<')
	if open < 0 || !strings.HasSuffix(uid, ">") {
		return "", "", "", bad("no <email>")
	}
	name, email = strings.TrimSpace(uid[:open]), uid[open+1:len(uid)-1]
	if i := strings.IndexByte(name, '('); i >= 0 && strings.HasSuffix(name, ")") {
		name, comment = strings.TrimSpace(name[:i]), name[i+1:len(name)-1]
	}
	if name == "" {
		return "", "", "", bad("no name")
	}
	if addr, err := mail.ParseAddress(email); err != nil || addr.Address != email {
		return "", "", "", bad("invalid email address")
	}
	if strings.ContainsAny(name+comment, "()<>\x00") {
		return "", "", "", bad("name or comment contains one of ()<> or NUL")
	}
	return name, comment, email, nil
}

// ParseKey reads an armored or binary secret key and decrypts it with
// passphrase if it is protected (passphrase is ignored otherwise). data must
// hold exactly one key. Errors wrap ErrNotSecretKey for a public key and
// ErrPassphrase for a missing or wrong passphrase.
func ParseKey(data, passphrase []byte) (*Key, error) {
	el, err := readEntities(data)
	if err != nil {
		return nil, err
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("signing: %d keys given, want exactly one secret key", len(el))
	}
	e := el[0]
	fpr := fingerprint(e.PrimaryKey)
	sk, ok := e.SigningKey(time.Now())
	if !ok {
		return nil, fmt.Errorf("signing: key %s has no usable signing key (expired, revoked, or not allowed to sign)", fpr)
	}
	if sk.PrivateKey == nil || sk.PrivateKey.Dummy() {
		return nil, fmt.Errorf("%w: key %s", ErrNotSecretKey, fpr)
	}
	if sk.PrivateKey.Encrypted {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%w: key %s is protected and no passphrase was given", ErrPassphrase, fpr)
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("%w: key %s: %w", ErrPassphrase, fpr, err)
		}
	}
	return &Key{entity: e}, nil
}

// LoadKey loads the secret key from file or, if file is empty, from the
// environment variable DEBFLOW_KEY, which holds the armored key itself. A
// protected key is decrypted with DEBFLOW_KEY_PASSPHRASE. Without either
// source it returns ErrNoKey.
func LoadKey(file string, getenv func(string) string) (*Key, error) {
	passphrase := []byte(getenv(EnvPassphrase))
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("signing: reading key: %w", err)
		}
		k, err := ParseKey(data, passphrase)
		if err != nil {
			return nil, fmt.Errorf("key file %s: %w", file, err)
		}
		return k, nil
	}
	env := getenv(EnvKey)
	if env == "" {
		return nil, ErrNoKey
	}
	if !strings.Contains(env, "-----BEGIN PGP") {
		return nil, fmt.Errorf("signing: %s must hold the armored key itself (to read a file, use --key FILE)", EnvKey)
	}
	k, err := ParseKey([]byte(env), passphrase)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvKey, err)
	}
	return k, nil
}

// WriteSecret writes the armored secret key, unprotected: keep it secret.
func (k *Key) WriteSecret(w io.Writer) error {
	return writeArmored(w, openpgp.PrivateKeyType, func(w io.Writer) error {
		// WithoutSigning: keep the self-signatures as they are rather than
		// re-sign them with the current time.
		return k.entity.SerializePrivateWithoutSigning(w, nil)
	})
}

// WritePublic writes the public key, armored or binary. The binary form is
// a keyring that apt (/etc/apt/keyrings/NAME.gpg, Signed-By) and
// `gpgv --keyring` read as it is; the armored form suits NAME.asc files and
// Signed-By fields that embed the key.
func (k *Key) WritePublic(w io.Writer, armored bool) error {
	if !armored {
		if err := k.entity.Serialize(w); err != nil {
			return fmt.Errorf("signing: writing public key: %w", err)
		}
		return nil
	}
	return writeArmored(w, openpgp.PublicKeyType, k.entity.Serialize)
}

func writeArmored(w io.Writer, blockType string, write func(io.Writer) error) error {
	aw, err := armor.Encode(w, blockType, nil)
	if err != nil {
		return fmt.Errorf("signing: writing %s: %w", blockType, err)
	}
	if err := write(aw); err != nil {
		return fmt.Errorf("signing: writing %s: %w", blockType, err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("signing: writing %s: %w", blockType, err)
	}
	// armor ends the block without a final newline; files want one.
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("signing: writing %s: %w", blockType, err)
	}
	return nil
}

// Fingerprint returns the fingerprint of the primary key: 40 upper-case hex
// digits, as apt and gpg print it without spaces.
func (k *Key) Fingerprint() string { return fingerprint(k.entity.PrimaryKey) }

// UserID returns the primary user ID, such as "Name <email>".
func (k *Key) UserID() string {
	if id := k.entity.PrimaryIdentity(); id != nil {
		return id.Name
	}
	return ""
}

// Keyring returns the public part of k, to verify its signatures.
func (k *Key) Keyring() *Keyring {
	return &Keyring{entities: openpgp.EntityList{k.entity}}
}

func fingerprint(pk *packet.PublicKey) string { return fmt.Sprintf("%X", pk.Fingerprint) }

// readEntities reads the keys in an armored or binary key block.
func readEntities(data []byte) (openpgp.EntityList, error) {
	const noKey = "signing: no usable OpenPGP key in the input (want an armored or binary key)"
	var r io.Reader = bytes.NewReader(data)
	if isArmored(data) {
		block, err := armor.Decode(r)
		if err == io.EOF {
			return nil, fmt.Errorf("%s: no armor block found", noKey)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: reading armor: %w", noKey, err)
		}
		if block.Type != openpgp.PublicKeyType && block.Type != openpgp.PrivateKeyType {
			return nil, fmt.Errorf("signing: got a %q block, want an OpenPGP key", block.Type)
		}
		r = block.Body
	}
	el, err := openpgp.ReadKeyRing(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", noKey, err)
	}
	if len(el) == 0 {
		return nil, errors.New(noKey)
	}
	return el, nil
}

// isArmored tells armored input from binary: every binary OpenPGP packet
// starts with a byte whose high bit is set, as gpg tests too.
func isArmored(data []byte) bool { return len(data) > 0 && data[0]&0x80 == 0 }
