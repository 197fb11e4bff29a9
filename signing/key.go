package signing

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/mail"
	"os"
	"strings"
	"syscall"
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
	// ErrUnusableKey is wrapped by every error of LoadKey about the key
	// itself: an unreadable key file, a DEBFLOW_KEY that is set but empty or
	// holds no key, a key that cannot sign.
	ErrUnusableKey = errors.New("signing: unusable key")
	// ErrWeakKey is wrapped when a key is too weak to sign: RSA under
	// MinRSABits bits, which modern GnuPG and apt no longer accept.
	ErrWeakKey = errors.New("signing: key too weak")
	// ErrKeyExpired, ErrKeyRevoked and ErrCannotSign: ParseKey refuses a
	// key that devices would not accept signatures from.
	ErrKeyExpired = errors.New("signing: key expired")
	ErrKeyRevoked = errors.New("signing: key revoked")
	ErrCannotSign = errors.New("signing: key cannot sign")
	// ErrKeyExists is returned, wrapped with the file name, when
	// WriteSecretFile would overwrite a file.
	ErrKeyExists = errors.New("signing: key file exists already")
)

// MinRSABits is the smallest RSA key accepted, as in GnuPG 2.4's defaults
// and apt's warning threshold.
const MinRSABits = 2048

// KeyError is an error about the key taken from Source (a file name, or
// DEBFLOW_KEY). It is ErrUnusableKey for errors.Is, besides what it wraps.
type KeyError struct {
	Source string
	Err    error
}

func (e *KeyError) Error() string        { return e.Source + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error        { return e.Err }
func (e *KeyError) Is(target error) bool { return target == ErrUnusableKey }

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
	return generate(uid, algo, now, 0)
}

func generate(uid string, algo Algorithm, now time.Time, lifetime time.Duration) (*Key, error) {
	name, comment, email, err := parseUserID(uid)
	if err != nil {
		return nil, err
	}
	config := signConfig(now)
	config.KeyLifetimeSecs = lifetimeSecs(lifetime)
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
	if err := checkStrength(e.PrimaryKey); err != nil {
		return nil, err
	}
	return &Key{entity: e}, nil
}

// checkStrength refuses keys too weak to sign: RSA under MinRSABits bits.
func checkStrength(pk *packet.PublicKey) error {
	if !pk.PubKeyAlgo.CanSign() {
		return nil
	}
	switch pk.PubKeyAlgo {
	case packet.PubKeyAlgoRSA, packet.PubKeyAlgoRSASignOnly:
		bits, err := pk.BitLength()
		if err != nil {
			return fmt.Errorf("%w: key %s: %w", ErrWeakKey, fingerprint(pk), err)
		}
		if int(bits) < MinRSABits {
			return fmt.Errorf("%w: key %s is RSA with %d bits; at least %d are needed (gpg and apt refuse weaker keys)",
				ErrWeakKey, fingerprint(pk), bits, MinRSABits)
		}
	}
	return nil
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
	now := time.Now()
	if e.Revoked(now) {
		return nil, fmt.Errorf("%w: key %s is revoked; devices refuse its signatures", ErrKeyRevoked, fpr)
	}
	if exp := entityExpiry(e); !exp.IsZero() && !now.Before(exp) {
		return nil, fmt.Errorf("%w: key %s expired at %s; devices refuse its signatures", ErrKeyExpired, fpr, exp.UTC().Format(time.RFC3339))
	}
	sk, ok := e.SigningKey(now)
	if !ok {
		return nil, fmt.Errorf("%w: key %s has no key that may sign (its subkeys are expired, revoked, or only certify or encrypt)", ErrCannotSign, fpr)
	}
	if sk.PrivateKey == nil || sk.PrivateKey.Dummy() {
		return nil, fmt.Errorf("%w: key %s", ErrNotSecretKey, fpr)
	}
	if err := checkStrength(e.PrimaryKey); err != nil {
		return nil, err
	}
	if err := checkStrength(sk.PublicKey); err != nil {
		return nil, err
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
// protected key is decrypted with DEBFLOW_KEY_PASSPHRASE. lookupEnv reads
// the environment, as os.LookupEnv does.
//
// Without either source it returns ErrNoKey. Every other failure is a
// *KeyError (errors.Is ErrUnusableKey), among them a DEBFLOW_KEY that is
// set but empty: a CI secret that is missing must fail loudly rather than
// pass for "no key".
func LoadKey(file string, lookupEnv func(string) (string, bool)) (*Key, error) {
	passphrase, _ := lookupEnv(EnvPassphrase)
	if file != "" {
		data, err := readKeyFile(file)
		if err != nil {
			return nil, &KeyError{Source: "key file " + file, Err: err}
		}
		k, err := ParseKey(data, []byte(passphrase))
		if err != nil {
			return nil, &KeyError{Source: "key file " + file, Err: err}
		}
		return k, nil
	}
	env, set := lookupEnv(EnvKey)
	if !set {
		return nil, ErrNoKey
	}
	if strings.TrimSpace(env) == "" {
		return nil, &KeyError{Source: EnvKey, Err: errors.New("set but empty (is the CI secret missing?); unset it to run without a key")}
	}
	if !strings.Contains(env, "-----BEGIN PGP") {
		return nil, &KeyError{Source: EnvKey, Err: errors.New("must hold the armored key itself (to read a file, use --key FILE)")}
	}
	k, err := ParseKey([]byte(env), []byte(passphrase))
	if err != nil {
		return nil, &KeyError{Source: EnvKey, Err: err}
	}
	return k, nil
}

// maxKeyFile bounds what readKeyFile reads: keys are a few kilobytes.
const maxKeyFile = 1 << 20

// readKeyFile reads a key file. It opens without blocking, so that a FIFO
// without a writer cannot hang the command, and refuses what is not a
// regular file.
func readKeyFile(file string) ([]byte, error) {
	f, err := os.OpenFile(file, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file (%s)", fi.Mode().Type())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("larger than %d bytes: not a key", maxKeyFile)
	}
	return data, nil
}

// WriteSecretFile writes the armored secret key to a new file of mode
// 0600. It never overwrites: an existing file gives an error wrapping
// ErrKeyExists. On failure no file is left behind.
func (k *Key) WriteSecretFile(name string) error {
	var buf bytes.Buffer
	if err := k.WriteSecret(&buf); err != nil {
		return err
	}
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%w: %s (refusing to overwrite a key)", ErrKeyExists, name)
		}
		return fmt.Errorf("signing: writing key: %w", err)
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		f.Close()
		os.Remove(name)
		return fmt.Errorf("signing: writing key %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("signing: writing key %s: %w", name, err)
	}
	return nil
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

// NotBefore is the earliest time at which k makes signatures that gpgv
// accepts: the creation time of the primary key or of the subkey that
// signs, whichever is later. A signature dated before is refused.
func (k *Key) NotBefore() time.Time {
	t := k.entity.PrimaryKey.CreationTime
	if sk, ok := k.entity.SigningKey(time.Now()); ok && sk.PublicKey.CreationTime.After(t) {
		t = sk.PublicKey.CreationTime
	}
	return t.Truncate(time.Second)
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
