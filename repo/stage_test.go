package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

func (f *fixture) promote(snap, stage string, force bool) *repo.PromoteResult {
	f.t.Helper()
	res, err := f.repo.Promote(context.Background(), snap, stage, repo.PromoteOptions{Force: force, By: "test"})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// TestPromoteUnmodified: a stage's indexes are its snapshot's, byte for
// byte, and its Release differs only in Suite, Date, Valid-Until and
// Snapshot.
func TestPromoteUnmodified(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"), f.deb("docs", "1.0", "all"))
	snap := f.snapshot("")
	f.promote(snap, "canary", false)
	f.promote(snap, "production", false)
	for _, stage := range []string{"canary", "production"} {
		dir := filepath.Join(f.root, "dists", stage)
		err := filepath.Walk(filepath.Join(f.root, "dists", snap), func(p string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() || strings.Contains(p, "Release") {
				return err
			}
			rel, _ := filepath.Rel(filepath.Join(f.root, "dists", snap), p)
			a, _ := os.ReadFile(p)
			b, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil || string(a) != string(b) {
				t.Errorf("%s/%s differs from the snapshot's (%v)", stage, rel, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sr, _ := os.ReadFile(filepath.Join(f.root, "dists", snap, "Release"))
		pr, _ := os.ReadFile(filepath.Join(dir, "Release"))
		var diff []string
		sl, pl := strings.Split(string(sr), "\n"), strings.Split(string(pr), "\n")
		seen := map[string]bool{}
		for _, l := range sl {
			seen[l] = true
		}
		for _, l := range pl {
			if !seen[l] {
				diff = append(diff, strings.SplitN(l, ":", 2)[0])
			}
		}
		got := strings.Join(diff, ",")
		if got != "Suite,Snapshot" && got != "Suite,Date,Snapshot" {
			t.Errorf("%s Release differs from the snapshot's in %q, want Suite, Snapshot and perhaps Date", stage, got)
		}
		a := f.apt(stage)
		a.Update()
		if got := a.Candidate("hello"); got != "1.0" {
			t.Errorf("%s offers hello %s", stage, got)
		}
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
	// A no-op.
	if res := f.promote(snap, "canary", false); !res.NoOp {
		t.Errorf("re-promotion: %+v", res)
	}
}

func TestPromoteOrder(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	ctx := context.Background()
	if _, err := f.repo.Promote(ctx, snap, "production", repo.PromoteOptions{}); !errors.Is(err, snapshot.ErrOutOfOrder) {
		t.Errorf("production before canary: %v", err)
	}
	if _, err := f.repo.Promote(ctx, snap, "development", repo.PromoteOptions{}); !errors.Is(err, snapshot.ErrOutOfOrder) {
		t.Errorf("into development: %v", err)
	}
	if _, err := f.repo.Promote(ctx, "2000-01-01", "canary", repo.PromoteOptions{}); !errors.Is(err, repo.ErrNoSuite) {
		t.Errorf("unknown snapshot: %v", err)
	}
	if _, err := f.repo.Promote(ctx, snap, "staging", repo.PromoteOptions{}); !errors.Is(err, snapshot.ErrUnknownStage) {
		t.Errorf("unknown stage: %v", err)
	}
	if _, err := f.publish(repo.PublishOptions{Suite: "canary"}, f.deb("x1", "1.0", "amd64")); !errors.Is(err, repo.ErrConflict) {
		t.Errorf("publish into a stage: %v", err)
	}
	res := f.promote(snap, "production", true)
	if !res.Forced {
		t.Errorf("forced promotion not marked: %+v", res)
	}
	h, _ := f.repo.History(ctx, "production")
	if len(h) != 1 || !h[0].Forced || h[0].By != "test" {
		t.Errorf("history %+v", h)
	}
	if err := f.repo.DropSnapshot(ctx, snap, time.Minute); !errors.Is(err, repo.ErrConflict) {
		t.Errorf("dropping a served snapshot: %v", err)
	}
}

// TestRollbackOnDevice: a device with the newer version installed gets the
// older one as candidate after a rollback, with the preferences pin.
func TestRollbackOnDevice(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	old := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "2.0", "amd64"))
	newer := f.snapshot("")
	f.promote(old, "canary", false)
	time.Sleep(1100 * time.Millisecond)
	f.promote(newer, "canary", false)

	a := f.apt("canary")
	cfg, _, _ := repo.LoadConfig(context.Background(), f.repo.Storage())
	a.AddPreferences("debflow.pref", repo.Preferences(cfg, "canary"))
	a.Update()
	a.Installed("hello", "2.0", "amd64")
	if got := a.Candidate("hello"); got != "2.0" {
		t.Fatalf("before the rollback, candidate %s", got)
	}

	relBefore, _ := os.ReadFile(filepath.Join(f.root, "dists/canary/Release"))
	res := f.promote(old, "canary", false) // at once: the Date must still move forward
	if !res.Rollback {
		t.Errorf("not marked as a rollback: %+v", res)
	}
	relAfter, _ := os.ReadFile(filepath.Join(f.root, "dists/canary/Release"))
	b, _ := repo.ParseRelease(relBefore)
	c, _ := repo.ParseRelease(relAfter)
	if !c.Date.After(b.Date) {
		t.Errorf("rollback Date %s is not after %s", c.Date, b.Date)
	}
	time.Sleep(1100 * time.Millisecond)
	a.Update()
	if got := a.Candidate("hello"); got != "1.0" {
		t.Errorf("after the rollback, with the pin, candidate %s, want 1.0", got)
	}
	out := a.Run("apt-get", "-s", "install", "hello")
	if !strings.Contains(out, "hello [2.0] (1.0") && !strings.Contains(out, "Inst hello [2.0] (1.0") {
		t.Errorf("apt-get -s install does not downgrade:\n%s", out)
	}
}

func TestVerifyCatchesEditedStage(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	f.promote(snap, "canary", false)
	idx := filepath.Join(f.root, "dists/canary/main/binary-amd64/Packages.gz")
	data, _ := os.ReadFile(idx)
	os.WriteFile(idx, append(data, []byte("\nPackage: evil\nVersion: 6.6.6\nArchitecture: amd64\n")...), 0o644)
	rep := f.verify()
	found := false
	for _, p := range rep.Problems {
		if p.Suite == "canary" && strings.Contains(p.String(), "main/binary-amd64/Packages") {
			found = true
		}
	}
	if !found {
		t.Errorf("verify missed the edited stage index: %v", rep.Problems)
	}
}

func TestPromoterFromCIEnvironments(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"GITHUB_ACTIONS": "true", "GITHUB_ACTOR": "alice", "GITHUB_REPOSITORY": "o/iac", "GITHUB_RUN_ID": "42"}, "alice via GitHub Actions o/iac/actions/runs/42"},
		{map[string]string{"GITHUB_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_ACTOR": "bob", "GITHUB_SERVER_URL": "https://gitea.example/", "GITHUB_REPOSITORY": "o/iac", "GITHUB_RUN_NUMBER": "3"}, "bob via Gitea Actions https://gitea.example/o/iac/actions/runs/3"},
		{map[string]string{"GITHUB_ACTIONS": "true", "FORGEJO_ACTIONS": "true", "GITEA_ACTIONS": "true", "GITHUB_ACTOR": "eve", "GITHUB_SERVER_URL": "https://codeberg.org", "GITHUB_REPOSITORY": "o/iac", "GITHUB_RUN_NUMBER": "8"}, "eve via Forgejo Actions https://codeberg.org/o/iac/actions/runs/8"},
		{map[string]string{"GITLAB_CI": "true", "GITLAB_USER_LOGIN": "carol", "CI_JOB_URL": "https://gitlab.example/o/iac/-/jobs/7"}, "carol via GitLab CI https://gitlab.example/o/iac/-/jobs/7"},
		{map[string]string{"JENKINS_URL": "https://ci/", "BUILD_URL": "https://ci/job/iac/12/", "BUILD_USER_ID": "dave"}, "dave via Jenkins https://ci/job/iac/12/"},
		{map[string]string{"JENKINS_URL": "https://ci/", "BUILD_URL": "https://ci/job/iac/12/"}, "someone via Jenkins https://ci/job/iac/12/"},
		{map[string]string{"CI": "1"}, "CI"},
	} {
		if got := repo.Promoter(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("Promoter(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
	host, _ := os.Hostname()
	if got := repo.Promoter(func(k string) string { return map[string]string{"USER": "fred"}[k] }); got != "fred@"+host {
		t.Errorf("outside CI: %q", got)
	}
}
