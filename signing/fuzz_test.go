package signing

import (
	"io"
	"strings"
	"testing"
	"time"
)

// keySeeds are valid keys in every form the parsers take, plus near misses.
func keySeeds(f *testing.F) {
	k := testKey(f, Ed25519)
	for _, seed := range [][]byte{
		secretKey(f, k),
		publicKey(f, k, true),
		publicKey(f, k, false),
		readFixture(f, "gpg-secret.asc"),
		readFixture(f, "gpg-public.asc"),
		secretKey(f, k)[:100],
		[]byte("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n-----END PGP PUBLIC KEY BLOCK-----\n"),
		{},
	} {
		f.Add(seed)
	}
}

func FuzzParseKey(f *testing.F) {
	keySeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := ParseKey(data, []byte(gpgPassphrase))
		if err != nil {
			return
		}
		// Whatever parses must not make the rest panic. (Errors are fine:
		// a fuzzed key may be expired or made in the future.)
		_ = k.DetachSign(io.Discard, strings.NewReader(release), false, time.Now())
		_ = k.WriteSecret(io.Discard)
		_ = k.WritePublic(io.Discard, false)
	})
}

func FuzzReadKeyring(f *testing.F) {
	keySeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		kr, err := ReadKeyring(data)
		if err != nil {
			return
		}
		_ = kr.Fingerprints()
		_, _ = kr.VerifyDetached(strings.NewReader(release), data)
	})
}

// FuzzVerifyClearsigned feeds InRelease-like documents to the verifier,
// which must refuse them without panicking.
func FuzzVerifyClearsigned(f *testing.F) {
	k := testKey(f, Ed25519)
	f.Add(clearSign(f, k, release))
	f.Add(readFixture(f, "InRelease"))
	f.Add([]byte("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA1\n\n- x\n-----BEGIN PGP SIGNATURE-----\n\n-----END PGP SIGNATURE-----\n"))
	kr := k.Keyring()
	f.Fuzz(func(t *testing.T, doc []byte) {
		_, _, _ = kr.VerifyClearsigned(doc)
	})
}
