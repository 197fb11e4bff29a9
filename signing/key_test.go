package signing

import (
	"bytes"
	"crypto"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

func TestParseAlgorithm(t *testing.T) {
	for in, want := range map[string]Algorithm{"ed25519": Ed25519, "Ed25519": Ed25519, " rsa4096 ": RSA4096} {
		if got, err := ParseAlgorithm(in); err != nil || got != want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "rsa", "rsa2048", "ed448", "dsa"} {
		if _, err := ParseAlgorithm(in); err == nil {
			t.Errorf("ParseAlgorithm(%q) succeeded, want an error", in)
		}
	}
}

func TestGenerateUserID(t *testing.T) {
	for _, uid := range []string{
		"Debflow Test <test@example.org>",
		"Example Archive Automatic Signing Key (12/bookworm) <ftpmaster@example.org>",
	} {
		k, err := Generate(uid, Ed25519, keyTime)
		if err != nil {
			t.Errorf("Generate(%q): %v", uid, err)
			continue
		}
		if k.UserID() != uid {
			t.Errorf("UserID() = %q, want %q", k.UserID(), uid)
		}
	}
	for _, uid := range []string{"", "Name", "<test@example.org>", "Name <not an address>", "Name <>", "Na<me <a@example.org>", "Name (x <a@example.org>"} {
		if _, err := Generate(uid, Ed25519, keyTime); err == nil {
			t.Errorf("Generate(%q) succeeded, want an error", uid)
		}
	}
	if _, err := Generate("Name <a@example.org>", "dsa", keyTime); err == nil {
		t.Error("Generate with an unknown algorithm succeeded")
	}
}

// TestGeneratedKeyPackets checks the packets of a generated public key: a
// version 4 primary key of the legacy algorithms gpg 2.2 knows, no subkey,
// SHA-512 self-signatures.
func TestGeneratedKeyPackets(t *testing.T) {
	wantAlgo := map[Algorithm]packet.PublicKeyAlgorithm{Ed25519: packet.PubKeyAlgoEdDSA, RSA4096: packet.PubKeyAlgoRSA}
	for _, algo := range algorithms {
		t.Run(string(algo), func(t *testing.T) {
			k := testKey(t, algo)
			if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(k.Fingerprint()) {
				t.Errorf("Fingerprint() = %q, want 40 upper-case hex digits", k.Fingerprint())
			}
			packets := packet.NewReader(bytes.NewReader(publicKey(t, k, false)))
			var keys, sigs int
			for {
				p, err := packets.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				switch p := p.(type) {
				case *packet.PublicKey:
					keys++
					if p.IsSubkey {
						t.Errorf("key has a subkey (algorithm %d)", p.PubKeyAlgo)
					}
					if p.Version != 4 || p.PubKeyAlgo != wantAlgo[algo] {
						t.Errorf("primary key: version %d, algorithm %d; want version 4, algorithm %d", p.Version, p.PubKeyAlgo, wantAlgo[algo])
					}
					if algo == RSA4096 {
						if bits, _ := p.BitLength(); bits != 4096 {
							t.Errorf("RSA key has %d bits, want 4096", bits)
						}
					}
					if !p.CreationTime.Equal(keyTime) {
						t.Errorf("key created %v, want %v", p.CreationTime, keyTime)
					}
				case *packet.Signature:
					sigs++
					if p.Hash != crypto.SHA512 {
						t.Errorf("self-signature uses %v, want SHA-512", p.Hash)
					}
					if len(p.Notations) != 0 {
						t.Errorf("self-signature has notations %v, want none", p.Notations)
					}
				}
			}
			if keys != 1 || sigs != 1 {
				t.Errorf("got %d keys and %d signatures, want 1 and 1", keys, sigs)
			}
		})
	}
}

func TestSecretKeyRoundTrip(t *testing.T) {
	for _, algo := range algorithms {
		t.Run(string(algo), func(t *testing.T) {
			k := testKey(t, algo)
			secret := secretKey(t, k)
			if !bytes.HasPrefix(secret, []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n")) || !bytes.HasSuffix(secret, []byte("-----END PGP PRIVATE KEY BLOCK-----\n")) {
				t.Errorf("WriteSecret wrote no armored private key block:\n%s", secret)
			}
			k2, err := ParseKey(secret, nil)
			if err != nil {
				t.Fatal(err)
			}
			if k2.Fingerprint() != k.Fingerprint() || k2.UserID() != k.UserID() {
				t.Errorf("parsed key %s %q, want %s %q", k2.Fingerprint(), k2.UserID(), k.Fingerprint(), k.UserID())
			}
			// The parsed key signs, and the original's keyring verifies.
			if _, err := k.Keyring().VerifyDetached(strings.NewReader(release), detachSign(t, k2, release, true)); err != nil {
				t.Error(err)
			}
			if !bytes.Equal(secretKey(t, k2), secret) {
				t.Error("WriteSecret of the parsed key differs from the original")
			}
		})
	}
}

// protect returns k's secret key, armored and protected with passphrase.
func protect(t *testing.T, k *Key, passphrase string) []byte {
	t.Helper()
	copy, err := ParseKey(secretKey(t, k), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := copy.entity.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, "PGP PRIVATE KEY BLOCK", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := copy.entity.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestParseKeyPassphrase(t *testing.T) {
	k := testKey(t, Ed25519)
	protected := protect(t, k, "correct horse")
	for _, pass := range []string{"", "wrong"} {
		_, err := ParseKey(protected, []byte(pass))
		if !errors.Is(err, ErrPassphrase) {
			t.Errorf("ParseKey with passphrase %q: got %v, want ErrPassphrase", pass, err)
		}
		if err != nil && !strings.Contains(err.Error(), k.Fingerprint()) {
			t.Errorf("error %q does not name the key", err)
		}
	}
	k2, err := ParseKey(protected, []byte("correct horse"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Keyring().VerifyDetached(strings.NewReader(release), detachSign(t, k2, release, false)); err != nil {
		t.Error(err)
	}
}

// TestParseGpgKey reads the passphrase-protected key made by GnuPG, whose
// primary key only certifies and whose subkey signs.
func TestParseGpgKey(t *testing.T) {
	secret := readFixture(t, "gpg-secret.asc")
	if _, err := ParseKey(secret, nil); !errors.Is(err, ErrPassphrase) {
		t.Errorf("ParseKey without passphrase: got %v, want ErrPassphrase", err)
	}
	k, err := ParseKey(secret, []byte(gpgPassphrase))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Fixture Key (made by GnuPG 2.2) <fixture@example.org>"; k.UserID() != want {
		t.Errorf("UserID() = %q, want %q", k.UserID(), want)
	}
	kr, err := ReadKeyring(readFixture(t, "gpg-public.asc"))
	if err != nil {
		t.Fatal(err)
	}
	var sig bytes.Buffer
	if err := k.DetachSign(&sig, strings.NewReader(release), true, k.entity.Subkeys[0].PublicKey.CreationTime); err != nil {
		t.Fatal(err)
	}
	fpr, err := kr.VerifyDetached(strings.NewReader(release), sig.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if fpr != k.Fingerprint() {
		t.Errorf("verified fingerprint %s, want the primary key's %s", fpr, k.Fingerprint())
	}
}

func TestParseKeyRefusesPublicKeys(t *testing.T) {
	k := testKey(t, Ed25519)
	for name, data := range map[string][]byte{
		"armored": publicKey(t, k, true),
		"binary":  publicKey(t, k, false),
		"gpg":     readFixture(t, "gpg-public.asc"),
	} {
		if _, err := ParseKey(data, nil); !errors.Is(err, ErrNotSecretKey) {
			t.Errorf("%s public key: got %v, want ErrNotSecretKey", name, err)
		}
	}
}

func TestParseKeyGarbage(t *testing.T) {
	k := testKey(t, Ed25519)
	two := append(secretKey(t, k), secretKey(t, otherKey(t))...)
	twoBinary := append(publicKey(t, k, false), publicKey(t, otherKey(t), false)...)
	for name, tc := range map[string]struct {
		data []byte
		want string
	}{
		"empty":          {nil, "no usable OpenPGP key"},
		"text":           {[]byte("hello, world\n"), "armor"},
		"binary garbage": {[]byte{0x99, 0x01, 0x02, 0x03}, "no usable OpenPGP key"},
		"signature":      {detachSign(t, k, release, true), `got a "PGP SIGNATURE" block`},
		"truncated":      {secretKey(t, k)[:200], "armor"},
		"two keys":       {twoBinary, "2 keys given"},
		"two blocks":     {two, ""}, // the first block is read; it holds a key
	} {
		_, err := ParseKey(tc.data, nil)
		if tc.want == "" {
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "signing: ") {
			t.Errorf("%s: got error %v, want one starting with \"signing: \" that says %q", name, err, tc.want)
		}
		if errors.Is(err, ErrNotSecretKey) || errors.Is(err, ErrPassphrase) {
			t.Errorf("%s: got %v, which blames the key or the passphrase", name, err)
		}
	}
}

func TestLoadKey(t *testing.T) {
	k := testKey(t, Ed25519)
	dir := t.TempDir()
	plain := filepath.Join(dir, "key.asc")
	writeFile(t, plain, secretKey(t, k))
	protectedFile := filepath.Join(dir, "protected.asc")
	protected := protect(t, k, "s3cret")
	writeFile(t, protectedFile, protected)
	env := func(vars map[string]string) func(string) (string, bool) {
		return func(name string) (string, bool) { v, ok := vars[name]; return v, ok }
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}

	for name, tc := range map[string]struct {
		file    string
		env     map[string]string
		wantErr error  // nil: success
		wantMsg string // part of the error message
	}{
		"file":                  {file: plain},
		"file over env":         {file: plain, env: map[string]string{EnvKey: "junk"}},
		"env":                   {env: map[string]string{EnvKey: string(secretKey(t, k))}},
		"protected file":        {file: protectedFile, env: map[string]string{EnvPassphrase: "s3cret"}},
		"protected env":         {env: map[string]string{EnvKey: string(protected), EnvPassphrase: "s3cret"}},
		"no key":                {wantErr: ErrNoKey},
		"missing file":          {file: filepath.Join(dir, "nope.asc"), wantErr: ErrUnusableKey, wantMsg: "nope.asc"},
		"fifo file":             {file: fifo, wantErr: ErrUnusableKey, wantMsg: "not a regular file"},
		"empty env":             {env: map[string]string{EnvKey: ""}, wantErr: ErrUnusableKey, wantMsg: "set but empty"},
		"blank env":             {env: map[string]string{EnvKey: " \n"}, wantErr: ErrUnusableKey, wantMsg: "set but empty"},
		"junk env":              {env: map[string]string{EnvKey: "-----BEGIN PGP junk"}, wantErr: ErrUnusableKey, wantMsg: EnvKey},
		"wrong passphrase file": {file: protectedFile, env: map[string]string{EnvPassphrase: "wrong"}, wantErr: ErrPassphrase, wantMsg: protectedFile},
		"no passphrase env":     {env: map[string]string{EnvKey: string(protected)}, wantErr: ErrPassphrase, wantMsg: EnvKey},
		"env holds a path":      {env: map[string]string{EnvKey: plain}, wantErr: ErrUnusableKey, wantMsg: "--key FILE"},
	} {
		got, err := LoadKey(tc.file, env(tc.env))
		switch {
		case tc.wantErr == nil && tc.wantMsg == "":
			if err != nil {
				t.Errorf("%s: %v", name, err)
			} else if got.Fingerprint() != k.Fingerprint() {
				t.Errorf("%s: loaded key %s, want %s", name, got.Fingerprint(), k.Fingerprint())
			}
		case err == nil:
			t.Errorf("%s: succeeded, want an error", name)
		case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
			t.Errorf("%s: got %v, want %v", name, err, tc.wantErr)
		case !strings.Contains(err.Error(), tc.wantMsg):
			t.Errorf("%s: error %q does not mention %q", name, err, tc.wantMsg)
		}
	}
}

// TestLoadKeyFromOSEnv makes sure os.LookupEnv fits LoadKey.
func TestLoadKeyFromOSEnv(t *testing.T) {
	t.Setenv(EnvKey, string(secretKey(t, testKey(t, Ed25519))))
	t.Setenv(EnvPassphrase, "")
	if _, err := LoadKey("", os.LookupEnv); err != nil {
		t.Fatal(err)
	}
}

// TestWeakRSAKeyRefused makes a 1024-bit RSA key, which go-crypto accepts,
// and checks that neither Generate's check nor LoadKey lets it sign.
func TestWeakRSAKeyRefused(t *testing.T) {
	config := signConfig(keyTime)
	config.Algorithm = packet.PubKeyAlgoRSA
	config.RSABits = 1024
	e, err := openpgp.NewEntity("Weak", "", "weak@example.org", config)
	if err != nil {
		t.Fatal(err)
	}
	weak := secretKey(t, &Key{entity: e})
	if _, err := ParseKey(weak, nil); !errors.Is(err, ErrWeakKey) || !strings.Contains(err.Error(), "1024 bits") {
		t.Errorf("ParseKey of a 1024-bit RSA key: %v, want %v naming the size", err, ErrWeakKey)
	}
	file := filepath.Join(t.TempDir(), "weak.asc")
	writeFile(t, file, weak)
	_, err = LoadKey(file, func(string) (string, bool) { return "", false })
	if !errors.Is(err, ErrWeakKey) || !errors.Is(err, ErrUnusableKey) || !strings.Contains(err.Error(), file) {
		t.Errorf("LoadKey of a 1024-bit RSA key: %v", err)
	}
	_, err = LoadKey("", func(k string) (string, bool) { return string(weak), k == EnvKey })
	if !errors.Is(err, ErrWeakKey) {
		t.Errorf("LoadKey of a 1024-bit RSA key in %s: %v", EnvKey, err)
	}
	if err := checkStrength(e.PrimaryKey); !errors.Is(err, ErrWeakKey) {
		t.Errorf("checkStrength: %v", err)
	}
	if err := checkStrength(testKey(t, RSA4096).entity.PrimaryKey); err != nil {
		t.Errorf("checkStrength of a 4096-bit key: %v", err)
	}
}

func TestWriteSecretFile(t *testing.T) {
	k := testKey(t, Ed25519)
	file := filepath.Join(t.TempDir(), "key.asc")
	if err := k.WriteSecretFile(file); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v", err, fi.Mode())
	}
	before, _ := os.ReadFile(file)
	if err := otherKey(t).WriteSecretFile(file); !errors.Is(err, ErrKeyExists) {
		t.Errorf("overwriting: %v, want %v", err, ErrKeyExists)
	}
	if after, _ := os.ReadFile(file); !bytes.Equal(before, after) {
		t.Error("the existing key file changed")
	}
}

func TestNotBefore(t *testing.T) {
	k := testKey(t, Ed25519)
	if got := k.NotBefore(); !got.Equal(keyTime) {
		t.Errorf("NotBefore %v, want the creation time %v", got, keyTime)
	}
}
