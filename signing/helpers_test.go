package signing

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Keys are made an hour in the past and sign half an hour later, so that
// neither gpgv nor go-crypto sees a key or signature from the future.
var (
	keyTime = time.Now().Add(-time.Hour).Truncate(time.Second)
	sigTime = keyTime.Add(30 * time.Minute)
)

// release is a message shaped like a Release file, with a line that needs
// dash-escaping.
const release = "Origin: debflow\nSuite: stable\nDate: Tue, 24 Nov 2026 12:00:00 UTC\n- not a field, but must survive dash-escaping\nSHA256:\n 0123 42 main/binary-amd64/Packages\n"

var algorithms = []Algorithm{Ed25519, RSA4096}

var testKeys struct {
	once sync.Once
	keys map[Algorithm]*Key
	err  error
}

// testKey returns a key of algo, generated once per test binary: RSA
// generation is slow.
func testKey(t testing.TB, algo Algorithm) *Key {
	t.Helper()
	testKeys.once.Do(func() {
		testKeys.keys = map[Algorithm]*Key{}
		for _, a := range algorithms {
			k, err := Generate("Debflow Test "+string(a)+" <test@example.org>", a, keyTime)
			if err != nil {
				testKeys.err = err
				return
			}
			testKeys.keys[a] = k
		}
	})
	if testKeys.err != nil {
		t.Fatal(testKeys.err)
	}
	return testKeys.keys[algo]
}

// otherKey returns an Ed25519 key that is not one of testKey's.
func otherKey(t testing.TB) *Key {
	t.Helper()
	k, err := Generate("Someone Else <else@example.org>", Ed25519, keyTime)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// gpgPassphrase protects testdata/gpg-secret.asc.
const gpgPassphrase = "fixture-passphrase"

func clearSign(t testing.TB, s Signer, msg string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.ClearSign(&buf, []byte(msg), sigTime); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func detachSign(t testing.TB, s Signer, msg string, armored bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := s.DetachSign(&buf, strings.NewReader(msg), armored, sigTime); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func publicKey(t testing.TB, k *Key, armored bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := k.WritePublic(&buf, armored); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func secretKey(t testing.TB, k *Key) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := k.WriteSecret(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// needTool skips the test when a real OpenPGP tool is missing. CI installs
// them: apt-get install gpgv gpg gpg-agent.
func needTool(t *testing.T, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s is not installed (apt-get install %s); skipping the check against the real tool", name, name)
	}
}

// run runs a command in dir and returns its combined output; it fails the
// test if the command fails.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, err := runErr(dir, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func runErr(dir, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
