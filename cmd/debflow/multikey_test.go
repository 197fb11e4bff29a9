package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/signing"
)

// genKey makes a key with debflow key generate and returns the secret
// key file and its binary public keyring.
func genKey(t *testing.T, dir, name string, now time.Time, extra ...string) (secret, keyring string, key *signing.Key) {
	t.Helper()
	secret = filepath.Join(dir, name+".asc")
	code, _, errOut := runAt(t, now, append([]string{"key", "generate", "--uid", name + " <" + name + "@example.org>", "--out", secret}, extra...)...)
	if code != 0 {
		t.Fatalf("key generate: %d %s", code, errOut)
	}
	k, err := signing.LoadKey(secret, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	var pub bytes.Buffer
	k.WritePublic(&pub, false)
	keyring = filepath.Join(dir, name+".gpg")
	os.WriteFile(keyring, pub.Bytes(), 0o644)
	return secret, keyring, k
}

// TestSeveralSigners: --key A --key B signs with both (each alone
// verifies with gpgv); every key must be one of the repository's; an
// expired key is refused with exit 4; key generate --expires sets the
// expiry; sources with two keyrings embeds both.
func TestSeveralSigners(t *testing.T) {
	testkit.Need(t, "gpgv")
	dir := t.TempDir()
	now := time.Now()
	oldKey, oldRing, _ := genKey(t, dir, "old", now.Add(-time.Hour))
	newKey, newRing, nk := genKey(t, dir, "new", now.Add(-time.Hour), "--expires", "17520h")
	if want := now.Add(-time.Hour).Truncate(time.Second).Add(17520 * time.Hour); !nk.Expires().Equal(want) {
		t.Errorf("key generate --expires: expires %v, want %v", nk.Expires(), want)
	}
	root := filepath.Join(dir, "repo")
	deb := testkit.WriteDeb(t, dir, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"})
	if code, _, errOut := stageRun(t, "--repo", root, "publish", "--key", oldKey, deb); code != 0 {
		t.Fatalf("publish: %s", errOut)
	}
	before := testkit.TreeHash(t, root)
	deb2 := testkit.WriteDeb(t, dir, testkit.Deb{Name: "hello", Version: "1.1", Arch: "amd64"})
	code, _, errOut := stageRun(t, "--repo", root, "publish", "--key", oldKey, "--key", newKey, deb2)
	if code != 4 || !strings.Contains(errOut, nk.Fingerprint()) || testkit.TreeHash(t, root) != before {
		t.Fatalf("publish with a key not yet added: %d %s", code, errOut)
	}
	if code, _, errOut := stageRun(t, "--repo", root, "key", "add", newRing); code != 0 {
		t.Fatalf("key add: %s", errOut)
	}
	if code, _, errOut := stageRun(t, "--repo", root, "publish", "--key", oldKey, "--key", newKey, deb2); code != 0 {
		t.Fatalf("publish with both keys: %s", errOut)
	}
	for _, ring := range []string{oldRing, newRing} {
		for _, args := range [][]string{{"InRelease"}, {"Release.gpg", "Release"}} {
			cmd := exec.Command("gpgv", append([]string{"--status-fd", "1", "--keyring", ring}, args...)...)
			cmd.Dir = filepath.Join(root, "dists", "development")
			out, _ := cmd.CombinedOutput()
			if strings.Count(string(out), "VALIDSIG") != 1 || strings.Count(string(out), "NEWSIG") != 2 {
				t.Errorf("gpgv --keyring %s %v: want two signatures, one valid:\n%s", filepath.Base(ring), args, out)
			}
		}
	}

	for _, ring := range []string{oldRing, newRing} {
		if code, out, errOut := stageRun(t, "--repo", root, "verify", "--keyring", ring); code != 0 {
			t.Errorf("verify --keyring %s of a two-signer repository: %d %s %s", filepath.Base(ring), code, out, errOut)
		}
	}

	// sources with both keyrings: Signed-By embeds both keys.
	code, out, errOut := stageRun(t, "--repo", root, "sources", "--url", "http://apt.example.org/fleet", "--stage", "development", "--keyring", oldRing, "--keyring", newRing)
	if code != 0 {
		t.Fatalf("sources: %s", errOut)
	}
	block := out[strings.Index(out, "-----BEGIN PGP PUBLIC KEY BLOCK-----"):]
	block = strings.ReplaceAll(block, "\n .\n", "\n\n")
	block = strings.ReplaceAll(block, "\n ", "\n")
	kr, err := signing.ReadKeyring([]byte(block))
	if err != nil || len(kr.Fingerprints()) != 2 {
		t.Errorf("Signed-By of sources with two keyrings: %v %v\n%s", kr, err, out)
	}

	// An expired key is refused (exit 4) and the tree stays as it was.
	expired, err := signing.GenerateExpiring("gone <gone@example.org>", signing.Ed25519, now.Add(-48*time.Hour), 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	expiredFile := filepath.Join(dir, "expired.asc")
	expired.WriteSecretFile(expiredFile)
	before = testkit.TreeHash(t, root)
	if code, _, errOut := stageRun(t, "--repo", root, "refresh", "--key", expiredFile); code != 4 || !strings.Contains(errOut, "expired") || testkit.TreeHash(t, root) != before {
		t.Errorf("refresh with an expired key: %d %s", code, errOut)
	}
	var cfg struct {
		SigningKeys []string `json:"signing_keys"`
	}
	data, _ := os.ReadFile(filepath.Join(root, ".debflow", "config.json"))
	if err := json.Unmarshal(data, &cfg); err != nil || len(cfg.SigningKeys) != 2 {
		t.Errorf("signing_keys %v %v", cfg.SigningKeys, err)
	}
}
