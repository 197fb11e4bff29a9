package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/signing"
)

// checkFleet is a repository whose development, canary and production
// were published at t0, signed by a key that expires at t0+40 days, with
// Valid-Until 7 days after their Date.
type checkFleet struct {
	root, keyring, secret string
	t0                    time.Time
	snap                  string
}

func newCheckFleet(t *testing.T, promoteProduction bool) *checkFleet {
	t.Helper()
	dir := t.TempDir()
	t0 := time.Now().Truncate(time.Second)
	key, err := signing.GenerateExpiring("fleet <fleet@example.org>", signing.Ed25519, t0.Add(-time.Hour), 40*24*time.Hour+time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f := &checkFleet{root: filepath.Join(dir, "repo"), keyring: filepath.Join(dir, "fleet.gpg"), secret: filepath.Join(dir, "fleet.asc"), t0: t0}
	var pub bytes.Buffer
	if err := key.WritePublic(&pub, false); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.keyring, pub.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := key.WriteSecretFile(f.secret); err != nil {
		t.Fatal(err)
	}
	st, err := repo.NewFS(f.root)
	if err != nil {
		t.Fatal(err)
	}
	r := repo.New(st, repo.WithSigner(key), repo.WithClock(func() time.Time { return t0 }))
	ctx := context.Background()
	pkgs, err := repo.Inspect([]string{testkit.WriteDeb(t, dir, testkit.Deb{Name: "hello", Version: "1.0", Arch: "amd64"}), testkit.WriteDeb(t, dir, testkit.Deb{Name: "docs", Version: "1.0", Arch: "all"})})
	if err != nil {
		t.Fatal(err)
	}
	week := 7 * 24 * time.Hour
	if _, err := r.Publish(ctx, pkgs, repo.PublishOptions{ValidFor: week}); err != nil {
		t.Fatal(err)
	}
	res, err := r.CreateSnapshot(ctx, repo.SnapshotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.snap = res.Name
	stages := []string{"canary"}
	if promoteProduction {
		stages = append(stages, "production")
	}
	for _, s := range stages {
		if _, err := r.Promote(ctx, f.snap, s, repo.PromoteOptions{ValidFor: week, By: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// pluginResult is the output of a monitoring plugin as Icinga reads it.
type pluginResult struct {
	code     int
	status   string
	summary  string
	perfdata map[string]string // label -> value[UOM];warn;crit;min;max
	lines    []string          // the lines after the first
}

var firstLineRE = regexp.MustCompile(`^DEBFLOW (OK|WARNING|CRITICAL|UNKNOWN) - ([^|]*?)(?: \| (.*))?$`)
var perfRE = regexp.MustCompile(`'([^']+)'=(-?[0-9]+(?:\.[0-9]+)?)([a-zA-Z%]*)(;[^; ]*;[^; ]*;[^; ]*;[^; ]*)`)

// runPlugin runs debflow check at the time now and parses its output.
func runPlugin(t *testing.T, now time.Time, args ...string) pluginResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Execute("test", append([]string{"check"}, args...), env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }, now: func() time.Time { return now }})
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	m := firstLineRE.FindStringSubmatch(lines[0])
	if m == nil {
		t.Fatalf("first line %q is not a monitoring-plugin status line (stderr %q)", lines[0], stderr.String())
	}
	res := pluginResult{code: code, status: m[1], summary: m[2], perfdata: map[string]string{}, lines: lines[1:]}
	if m[3] != "" {
		all := perfRE.FindAllStringSubmatch(m[3], -1)
		if got := len(strings.Fields(m[3])); got != len(all) {
			t.Fatalf("perfdata %q: %d items, %d well-formed", m[3], got, len(all))
		}
		for _, p := range all {
			res.perfdata[p[1]] = p[2] + p[3] + p[4]
		}
	}
	want := map[string]int{"OK": 0, "WARNING": 1, "CRITICAL": 2, "UNKNOWN": 3}[res.status]
	if code != want {
		t.Fatalf("status %s with exit %d, want %d", res.status, code, want)
	}
	return res
}

func (r pluginResult) has(t *testing.T, status, text string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %s, want %s (%s; %q)", r.status, status, r.summary, r.lines)
	}
	if text == "" {
		if len(r.lines) != 0 {
			t.Errorf("problem lines on %s: %q", status, r.lines)
		}
		return
	}
	for _, l := range r.lines {
		if strings.Contains(l, text) {
			return
		}
	}
	t.Errorf("no problem line mentions %q: %q", text, r.lines)
}

func TestCheckPaths(t *testing.T) {
	f := newCheckFleet(t, false)
	base := []string{"--repo", f.root, "--keyring", f.keyring}
	day := 24 * time.Hour

	// OK, with perfdata in the C locale.
	ok := runPlugin(t, f.t0.Add(time.Hour), base...)
	if ok.status != "OK" || len(ok.lines) != 0 {
		t.Fatalf("fresh repository: %s %q %q", ok.status, ok.summary, ok.lines)
	}
	if got, want := ok.perfdata["valid_until_canary"], strconv.Itoa(int((7*day-time.Hour)/time.Second))+"s;259200:;86400:;;"; got != want {
		t.Errorf("valid_until_canary perfdata %q, want %q", got, want)
	}
	if got := ok.perfdata["packages_canary"]; got != "2;;;0;" {
		t.Errorf("packages_canary perfdata %q, want 2 packages", got)
	}
	if got := ok.perfdata["stage_age_canary"]; !strings.HasPrefix(got, "3600s;") {
		t.Errorf("stage_age_canary perfdata %q", got)
	}
	if _, found := ok.perfdata["key_expiry_"+f.fingerprint(t)[24:]]; !found {
		t.Errorf("no key expiry perfdata: %v", ok.perfdata)
	}

	// Valid-Until within --warn, within --crit, passed.
	runPlugin(t, f.t0.Add(5*day), base...).has(t, "WARNING", "Valid-Until")
	runPlugin(t, f.t0.Add(6*day+12*time.Hour), base...).has(t, "CRITICAL", "Valid-Until")
	runPlugin(t, f.t0.Add(8*day), base...).has(t, "CRITICAL", "has passed")

	// The key expires: warning 30 days before, critical 7 days before
	// (Valid-Until thresholds off, so that only the key speaks).
	noVU := append([]string{"--warn", "0", "--crit", "0"}, base...)
	runPlugin(t, f.t0.Add(5*day), noVU...).has(t, "OK", "")
	// (5 days in, Valid-Until is still 2 days away; re-check with it off.)
	if r := runPlugin(t, f.t0.Add(6*day), append([]string{"--key-warn", "840h"}, noVU...)...); r.status != "WARNING" || !strings.Contains(strings.Join(r.lines, "\n"), "expires in") {
		t.Errorf("key expiring within --key-warn: %s %q", r.status, r.lines)
	}
	if r := runPlugin(t, f.t0.Add(6*day), append([]string{"--key-crit", "840h"}, noVU...)...); r.status != "CRITICAL" {
		t.Errorf("key expiring within --key-crit: %s %q", r.status, r.lines)
	}

	// Drift against --expect, and the same declared in git.
	runPlugin(t, f.t0.Add(time.Hour), append([]string{"--expect", "canary=" + f.snap}, base...)...).has(t, "OK", "")
	runPlugin(t, f.t0.Add(time.Hour), append([]string{"--expect", "canary=2026-01-01.1"}, base...)...).has(t, "CRITICAL", "drift")
	if _, err := exec.LookPath("git"); err == nil {
		iac := gitStageRepo(t, map[string]string{"canary": "2026-01-01.1", "main": ""})
		runPlugin(t, f.t0.Add(time.Hour), append([]string{"--expect-from-git", iac}, base...)...).has(t, "CRITICAL", "declares 2026-01-01.1")
		iac = gitStageRepo(t, map[string]string{"canary": f.snap})
		runPlugin(t, f.t0.Add(time.Hour), append([]string{"--expect-from-git", iac}, base...)...).has(t, "OK", "")
	}

	// A canary that production never took, soaked past --max-soak.
	runPlugin(t, f.t0.Add(2*day), append([]string{"--max-soak", "24h"}, base...)...).has(t, "WARNING", "stuck")
	runPlugin(t, f.t0.Add(12*time.Hour), append([]string{"--max-soak", "24h"}, base...)...).has(t, "OK", "")

	// --json: the same findings, with a status per check and the metrics.
	var stdout bytes.Buffer
	code := Execute("test", append([]string{"check", "--json", "--max-soak", "24h"}, base...), env{stdout: &stdout, stderr: &bytes.Buffer{}, getenv: func(string) string { return "" }, now: func() time.Time { return f.t0.Add(2 * day) }})
	var rep struct {
		Status   string
		Checks   []struct{ Check, Status, Message string }
		Problems []struct{ Check, Status string }
		Metrics  []struct {
			Label string
			Value float64
		}
	}
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || code != 1 || rep.Status != "WARNING" || len(rep.Problems) != 1 || rep.Problems[0].Check != "soak" || len(rep.Metrics) == 0 || len(rep.Checks) < 5 {
		t.Errorf("check --json: %d %v %+v", code, err, rep)
	}

	// An index that InRelease lists is missing, or differs.
	gz := filepath.Join(f.root, "dists", "canary", "main", "binary-amd64", "Packages.gz")
	data, _ := os.ReadFile(gz)
	os.Remove(gz)
	runPlugin(t, f.t0.Add(time.Hour), base...).has(t, "CRITICAL", "Packages.gz is missing")
	os.WriteFile(gz, append(data, 0), 0o644)
	runPlugin(t, f.t0.Add(time.Hour), base...).has(t, "CRITICAL", "does not match InRelease")
	os.WriteFile(gz, data, 0o644)

	// A keyring without the repository's key.
	_, other, _ := testkit.KeyFile(t, t.TempDir())
	runPlugin(t, f.t0.Add(time.Hour), "--repo", f.root, "--keyring", other).has(t, "CRITICAL", "does not verify")

	// No repository, no keyring: UNKNOWN.
	runPlugin(t, f.t0, "--repo", filepath.Join(t.TempDir(), "nothing"), "--keyring", f.keyring).has(t, "UNKNOWN", "no debflow repository")
	runPlugin(t, f.t0, "--repo", f.root, "--keyring", filepath.Join(t.TempDir(), "missing.gpg")).has(t, "UNKNOWN", "missing.gpg")
}

// TestCheckMissingValidUntil: a stage without Valid-Until, while another
// has one, is a WARNING.
func TestCheckMissingValidUntil(t *testing.T) {
	f := newCheckFleet(t, false)
	code, _, errOut := stageRun(t, "--repo", f.root, "promote", "--key", f.secret, f.snap, "--to", "production", "--valid-for", "-1s")
	if code != 0 {
		t.Fatalf("promote: %d %s", code, errOut)
	}
	runPlugin(t, time.Now().Add(time.Hour), "--repo", f.root, "--keyring", f.keyring).has(t, "WARNING", "production: no Valid-Until")
}

func (f *checkFleet) fingerprint(t *testing.T) string {
	data, err := os.ReadFile(f.keyring)
	if err != nil {
		t.Fatal(err)
	}
	kr, err := signing.ReadKeyring(data)
	if err != nil {
		t.Fatal(err)
	}
	return kr.Fingerprints()[0]
}

// gitStageRepo makes an IaC repository with one branch per entry, whose
// stage.yaml names the snapshot ("" for a branch without one).
func gitStageRepo(t *testing.T, branches map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.org"}, args...)...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "base")
	os.WriteFile(filepath.Join(dir, "README"), []byte("fleet\n"), 0o644)
	git("add", "README")
	git("commit", "-q", "-m", "base")
	for b, snap := range branches {
		git("checkout", "-q", "-b", b, "base")
		if snap != "" {
			os.WriteFile(filepath.Join(dir, "stage.yaml"), []byte("# the fleet's "+b+"\nsnapshot: "+snap+"\nwave: 1\n"), 0o644)
			git("add", "stage.yaml")
			git("commit", "-q", "-m", b)
		}
	}
	return dir
}
