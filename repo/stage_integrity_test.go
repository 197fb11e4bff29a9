package repo_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

// failWrites is a Storage whose writes (Put, Copy, Delete) of the names
// fail selects fail with ENOSPC, as on a full disk or a blocked path.
type failWrites struct {
	repo.Storage
	fail func(name string) bool
}

func (s *failWrites) check(name string) error {
	if s.fail(name) {
		return fmt.Errorf("writing %s: %w", name, syscall.ENOSPC)
	}
	return nil
}

func (s *failWrites) Put(ctx context.Context, name string, r io.Reader) error {
	if err := s.check(name); err != nil {
		return err
	}
	return s.Storage.Put(ctx, name, r)
}

func (s *failWrites) Copy(ctx context.Context, src, dst string) error {
	if err := s.check(dst); err != nil {
		return err
	}
	return s.Storage.Copy(ctx, src, dst)
}

func (s *failWrites) Delete(ctx context.Context, name string) error {
	if err := s.check(name); err != nil {
		return err
	}
	return s.Storage.Delete(ctx, name)
}

// failing returns a Repo on f's tree whose writes of the names fail selects
// fail.
func (f *fixture) failing(fail func(name string) bool) *repo.Repo {
	st, err := repo.NewFS(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	return repo.New(&failWrites{Storage: st, fail: fail}, repo.WithSigner(testkit.Key(f.t)))
}

// servedSnapshot is the Snapshot field of a stage's served InRelease.
func (f *fixture) servedSnapshot(stage string) string {
	f.t.Helper()
	in, err := os.ReadFile(filepath.Join(f.root, "dists", stage, "InRelease"))
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		f.t.Fatal(err)
	}
	text, _, err := testkit.Key(f.t).Keyring().VerifyClearsigned(in)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, repo.SnapshotField+": "); ok {
			return v
		}
	}
	return ""
}

// TestFailedCanaryKeepsProductionClosed: a canary promotion that fails
// before its commit point (a full disk, a blocked path) leaves no trace
// the order rule counts, so production refuses that snapshot without
// --force.
func TestFailedCanaryKeepsProductionClosed(t *testing.T) {
	for name, fail := range map[string]func(string) bool{
		"the record":         func(n string) bool { return n == ".debflow/suites/canary.json" },
		"the by-hash files":  func(n string) bool { return strings.HasPrefix(n, "dists/canary/") },
		"every canary write": func(n string) bool { return strings.Contains(n, "canary") },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
			snap := f.snapshot("")
			ctx := context.Background()
			_, err := f.failing(fail).Promote(ctx, snap, "canary", repo.PromoteOptions{By: "test"})
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("canary promotion on a full disk: %v", err)
			}
			if _, err := f.repo.Promote(ctx, snap, "production", repo.PromoteOptions{By: "test"}); !errors.Is(err, snapshot.ErrOutOfOrder) {
				t.Fatalf("production took %s, which canary never committed: %v", snap, err)
			}
			if h, err := f.repo.History(ctx, "canary"); err != nil || len(h) != 0 {
				t.Errorf("canary history after a failed promotion: %+v, %v", h, err)
			}
			st, err := f.repo.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range st {
				if s.Serves != "" {
					t.Errorf("status claims %s serves %s", s.Stage, s.Serves)
				}
			}
			// The next promotion works, and then production may follow.
			f.promote(snap, "canary", false)
			if res := f.promote(snap, "production", false); res.Forced {
				t.Errorf("production needed --force after canary had it: %+v", res)
			}
			if rep := f.verify(); len(rep.Problems) > 0 {
				t.Errorf("verify: %v", rep.Problems)
			}
		})
	}
}

// TestInterruptedPromotionReadsAsServed: a promotion killed after its
// commit point (the record written, the Release files not) leaves devices
// on the old snapshot. status and history say what devices get, and the
// next command that touches the stage completes the promotion.
func TestInterruptedPromotionReadsAsServed(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	old := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "2.0", "amd64"))
	newer := f.snapshot("")
	f.promote(old, "canary", false)

	releaseFiles := func(n string) bool {
		return n == "dists/canary/Release" || n == "dists/canary/Release.gpg" || n == "dists/canary/InRelease"
	}
	if _, err := f.failing(releaseFiles).Promote(ctx, newer, "canary", repo.PromoteOptions{By: "test"}); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("promotion with unwritable Release files: %v", err)
	}
	if got := f.servedSnapshot("canary"); got != old {
		t.Fatalf("devices get %q, want %s still", got, old)
	}
	st, err := f.repo.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Stage == "canary" && (s.Serves != old || s.Pending != newer) {
			t.Errorf("status says canary serves %q (pending %q) while devices get %s", s.Serves, s.Pending, old)
		}
	}
	h, err := f.repo.History(ctx, "canary")
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 1 || h[0].Snapshot != old {
		t.Errorf("history claims a promotion devices never saw: %+v", h)
	}

	// The next command that touches canary (here: promoting to the stage
	// after it, which reads canary's record) completes the promotion, and
	// production may then take the snapshot canary committed.
	f.promote(newer, "production", false)
	if got := f.servedSnapshot("canary"); got != newer {
		t.Errorf("after the next promotion, canary still serves %q, want %s", got, newer)
	}
	h, _ = f.repo.History(ctx, "canary")
	if len(h) != 2 || h[1].Snapshot != newer {
		t.Errorf("history after completion: %+v", h)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}

// TestRollbackIsOlder: a rollback is a promotion to a snapshot older than
// the one served, whether or not the stage served it before; a promotion
// back to a newer snapshot is a promotion.
func TestRollbackIsOlder(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	a := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "2.0", "amd64"))
	b := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "3.0", "amd64"))
	c := f.snapshot("")

	for i, step := range []struct {
		snap     string
		rollback bool
	}{
		{b, false}, // first
		{a, true},  // older, never served here: a rollback still
		{b, false}, // newer, served before: not a rollback
		{c, false},
		{b, true}, // older, served before
	} {
		res := f.promote(step.snap, "canary", false)
		if res.Rollback != step.rollback {
			t.Errorf("step %d (%s -> %s): rollback %v, want %v", i, res.Previous, step.snap, res.Rollback, step.rollback)
		}
	}
	h, err := f.repo.History(ctx, "canary")
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for _, p := range h {
		got = append(got, p.Rollback)
	}
	if fmt.Sprint(got) != "[false true false false true]" {
		t.Errorf("history rollback marks %v", got)
	}
}

// TestHistoryNamesUserOutsideCI: outside CI, history records $USER@host.
func TestHistoryNamesUserOutsideCI(t *testing.T) {
	for _, v := range []string{"GITHUB_ACTIONS", "GITLAB_CI", "CI"} {
		t.Setenv(v, "")
	}
	t.Setenv("USER", "alice")
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	if _, err := f.repo.Promote(context.Background(), snap, "canary", repo.PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	h, _ := f.repo.History(context.Background(), "canary")
	if len(h) != 1 || h[0].By != "alice@"+host {
		t.Errorf("history %+v, want by alice@%s", h, host)
	}
	t.Setenv("GITHUB_ACTIONS", "true")
	t.Setenv("GITHUB_ACTOR", "bob")
	t.Setenv("GITHUB_REPOSITORY", "acme/fleet")
	t.Setenv("GITHUB_RUN_ID", "7")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "2.0", "amd64"))
	snap2 := f.snapshot("")
	if _, err := f.repo.Promote(context.Background(), snap2, "canary", repo.PromoteOptions{}); err != nil {
		t.Fatal(err)
	}
	h, _ = f.repo.History(context.Background(), "canary")
	if len(h) != 2 || !strings.HasPrefix(h[1].By, "bob via GitHub Actions acme/fleet") {
		t.Errorf("history %+v, want the CI description", h)
	}
}

// TestLegacyHistoryFile: a stage recorded by an older debflow keeps its
// history in a separate file, written before the commit point. It is
// read for such a stage, without the entries after the last promotion to
// what the record serves, and the next promotion moves it into the record.
func TestLegacyHistoryFile(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	old := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "2.0", "amd64"))
	newer := f.snapshot("")
	f.promote(old, "canary", false)

	// What an older debflow left after a canary promotion of newer that
	// failed at its commit point: a record without history, and a history
	// file that names the failed promotion.
	recName := filepath.Join(f.root, ".debflow/suites/canary.json")
	var rec map[string]any
	data, err := os.ReadFile(recName)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	delete(rec, "history")
	data, _ = json.Marshal(rec)
	os.WriteFile(recName, data, 0o644)
	legacy := []snapshot.Promotion{{Snapshot: old, When: "2026-01-01T00:00:00Z", By: "ci"}, {Snapshot: newer, Previous: old, When: "2026-01-02T00:00:00Z", By: "ci"}}
	data, _ = json.Marshal(legacy)
	histName := filepath.Join(f.root, ".debflow/stages/canary.history.json")
	os.MkdirAll(filepath.Dir(histName), 0o755)
	if err := os.WriteFile(histName, data, 0o644); err != nil {
		t.Fatal(err)
	}

	if h, err := f.repo.History(ctx, "canary"); err != nil || len(h) != 1 || h[0].Snapshot != old || h[0].By != "ci" {
		t.Errorf("legacy history %+v, %v; want the one committed promotion", h, err)
	}
	if _, err := f.repo.Promote(ctx, newer, "production", repo.PromoteOptions{}); !errors.Is(err, snapshot.ErrOutOfOrder) {
		t.Errorf("production took %s from a legacy history entry canary never committed: %v", newer, err)
	}
	f.promote(old, "production", false)
	f.promote(newer, "canary", false)
	if _, err := os.Stat(histName); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the legacy history file is still there: %v", err)
	}
	h, _ := f.repo.History(ctx, "canary")
	if len(h) != 2 || h[0].By != "ci" || h[1].Snapshot != newer {
		t.Errorf("history after the next promotion: %+v", h)
	}
	if rep := f.verify(); len(rep.Problems) > 0 {
		t.Errorf("verify: %v", rep.Problems)
	}
}
