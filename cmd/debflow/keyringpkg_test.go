package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/apttest"
	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/signing"
)

// device is a root directory that dpkg installs into, and the apt world
// that reads only what dpkg installed there.
type device struct {
	t    *testing.T
	root string
}

func newDevice(t *testing.T) *device {
	root := t.TempDir()
	for _, d := range []string{"var/lib/dpkg/updates", "var/lib/dpkg/info"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
	return &device{t: t, root: root}
}

func (d *device) install(deb string) {
	d.t.Helper()
	out, err := exec.Command("dpkg", "--root", d.root, "--force-script-chrootless", "--force-not-root", "--log=/dev/null", "-i", deb).CombinedOutput()
	if err != nil {
		d.t.Fatalf("dpkg -i %s: %v\n%s", deb, err, out)
	}
}

// apt is an isolated apt that uses only the sources dpkg installed on the
// device. Signed-By names an absolute path on the device; it is resolved
// inside the device's root, as a chroot would.
func (d *device) apt() *apttest.Apt {
	d.t.Helper()
	a := apttest.New(d.t, "amd64")
	entries, _ := filepath.Glob(filepath.Join(d.root, "etc/apt/sources.list.d/*.sources"))
	if len(entries) == 0 {
		d.t.Fatal("the device has no apt source")
	}
	for _, e := range entries {
		data, _ := os.ReadFile(e)
		src := strings.ReplaceAll(string(data), "Signed-By: /", "Signed-By: "+d.root+"/")
		a.AddSource(strings.TrimSuffix(filepath.Base(e), ".sources"), src)
	}
	return a
}

func (d *device) trusted(name string) []string {
	d.t.Helper()
	data, err := os.ReadFile(filepath.Join(d.root, "usr/share/keyrings", name+".gpg"))
	if err != nil {
		d.t.Fatal(err)
	}
	kr, err := signing.ReadKeyring(data)
	if err != nil {
		d.t.Fatal(err)
	}
	return kr.Fingerprints()
}

func keyringPackage(t *testing.T, root, url, out, version string, keyrings ...string) string {
	t.Helper()
	args := []string{"--repo", root, "--json", "keyring-package", "--stage", "production", "--url", url, "--out", out, "--name", "fleet-keyring", "--version", version, "--preferences"}
	for _, k := range keyrings {
		args = append(args, "--keyring", k)
	}
	code, stdout, errOut := stageRun(t, args...)
	if code != 0 {
		t.Fatalf("keyring-package: %d %s", code, errOut)
	}
	var res keyringPackageResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatal(err)
	}
	return res.File
}

// TestKeyringPackage: the package's contents and control files as
// dpkg-deb shows them.
func TestKeyringPackage(t *testing.T) {
	testkit.Need(t, "dpkg-deb")
	f := newCheckFleet(t, true)
	out := t.TempDir()
	deb := keyringPackage(t, f.root, "http://apt.example.org/fleet", out, "1", f.keyring)
	list, err := exec.Command("dpkg-deb", "-c", deb).CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-deb -c: %v\n%s", err, list)
	}
	for _, want := range []string{"./usr/share/keyrings/fleet-keyring.gpg", "./etc/apt/sources.list.d/fleet-keyring.sources", "./etc/apt/preferences.d/fleet-keyring.pref"} {
		if !strings.Contains(string(list), want) {
			t.Errorf("dpkg-deb -c lacks %s:\n%s", want, list)
		}
	}
	ctrl := t.TempDir()
	if out, err := exec.Command("dpkg-deb", "-e", deb, ctrl).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -e: %v\n%s", err, out)
	}
	conf, _ := os.ReadFile(filepath.Join(ctrl, "conffiles"))
	if string(conf) != "/etc/apt/preferences.d/fleet-keyring.pref\n/etc/apt/sources.list.d/fleet-keyring.sources\n" {
		t.Errorf("conffiles %q", conf)
	}
	control, _ := os.ReadFile(filepath.Join(ctrl, "control"))
	for _, want := range []string{"Package: fleet-keyring\n", "Version: 1\n", "Architecture: all\n"} {
		if !strings.Contains(string(control), want) {
			t.Errorf("control lacks %q:\n%s", want, control)
		}
	}
	// Bad input: a stage the repository does not have, a keyring that is
	// no key.
	if code, _, errOut := stageRun(t, "--repo", f.root, "keyring-package", "--stage", "staging", "--url", "http://x", "--keyring", f.keyring, "--out", out); code != 2 || !strings.Contains(errOut, "staging") {
		t.Errorf("unknown stage: %d %s", code, errOut)
	}
	if code, _, errOut := stageRun(t, "--repo", f.root, "keyring-package", "--stage", "production", "--url", "http://x", "--keyring", deb, "--out", out); code != 3 {
		t.Errorf("a .deb as keyring: %d %s", code, errOut)
	}
}

// TestKeyRotationThroughApt is the rotation of the README: a device that
// installed the keyring package of the old key follows production; the new
// key is added and both sign; the keyring package of the new key is
// published and promoted, and the device takes it through apt; the old key
// is retired. From then on the device trusts only the new key, and a
// device that missed the keyring package no longer updates.
func TestKeyRotationThroughApt(t *testing.T) {
	testkit.Need(t, "dpkg", "dpkg-deb", "gpgv")
	dir := t.TempDir()
	now := time.Now()
	oldKey, oldRing, _ := genKey(t, dir, "old", now.Add(-time.Hour))
	newKey, newRing, nk := genKey(t, dir, "new", now.Add(-time.Hour))
	root := filepath.Join(dir, "repo")
	url := apttest.Serve(t, root)
	debs := t.TempDir()
	release := func(keys []string, files ...string) {
		t.Helper()
		args := []string{"--repo", root, "publish"}
		for _, k := range keys {
			args = append(args, "--key", k)
		}
		if code, _, errOut := stageRun(t, append(args, files...)...); code != 0 {
			t.Fatalf("publish: %s", errOut)
		}
		sargs := []string{"--repo", root, "--json", "snapshot", "create"}
		for _, k := range keys {
			sargs = append(sargs, "--key", k)
		}
		code, out, errOut := stageRun(t, sargs...)
		if code != 0 {
			t.Fatalf("snapshot create: %s", errOut)
		}
		var snap struct{ Name string }
		json.Unmarshal([]byte(out), &snap)
		for _, stage := range []string{"canary", "production"} {
			args := []string{"--repo", root, "promote", snap.Name, "--to", stage, "--valid-for", "168h"}
			for _, k := range keys {
				args = append(args, "--key", k)
			}
			if code, _, errOut := stageRun(t, args...); code != 0 {
				t.Fatalf("promote: %s", errOut)
			}
		}
		time.Sleep(1100 * time.Millisecond) // apt's one-second If-Modified-Since
	}
	release([]string{oldKey}, testkit.WriteDeb(t, debs, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"}))

	// The device as it was set up: the keyring package of the old key.
	dev, missed := newDevice(t), newDevice(t)
	v1 := keyringPackage(t, root, url, t.TempDir(), "1", oldRing)
	dev.install(v1)
	missed.install(v1)
	a := dev.apt()
	a.Update()
	if got := a.Candidate("hello"); got != "1.0" {
		t.Fatalf("before the rotation: hello %s", got)
	}

	// 1. Add the new key: both sign; the device still updates.
	if code, _, errOut := stageRun(t, "--repo", root, "key", "add", newRing); code != 0 {
		t.Fatal(errOut)
	}
	// 2. Publish the keyring package of the new key.
	v2 := keyringPackage(t, root, url, t.TempDir(), "2", newRing)
	release([]string{oldKey, newKey}, v2, testkit.WriteDeb(t, debs, testkit.Deb{Name: "hello", Version: "1.1", Arch: "amd64"}))
	a = dev.apt()
	a.Update()
	if got := a.Candidate("fleet-keyring"); got != "2" {
		t.Fatalf("the device does not see keyring package 2: %s", got)
	}
	// 3. The device takes it through apt.
	dev.install(a.Download("fleet-keyring"))
	if got := dev.trusted("fleet-keyring"); len(got) != 1 || got[0] != nk.Fingerprint() {
		t.Fatalf("the device trusts %v, want only the new key", got)
	}
	// 4. Retire the old key; only the new one signs now.
	if code, _, errOut := stageRun(t, "--repo", root, "key", "retire", oldRing); code != 0 {
		t.Fatal(errOut)
	}
	if code, _, errOut := stageRun(t, "--repo", root, "refresh", "--key", oldKey); code != 4 {
		t.Errorf("refresh with the retired key: %d %s", code, errOut)
	}
	release([]string{newKey}, testkit.WriteDeb(t, debs, testkit.Deb{Name: "hello", Version: "1.2", Arch: "amd64"}))
	a = dev.apt()
	a.Update()
	if got := a.Candidate("hello"); got != "1.2" {
		t.Errorf("after the rotation: hello %s", got)
	}
	out, err := missed.apt().Try("apt-get", "update")
	if err == nil || !strings.Contains(out, "NO_PUBKEY "+nk.Fingerprint()[24:]) {
		t.Errorf("a device with only the old key still updates:\n%s", out)
	}
}
