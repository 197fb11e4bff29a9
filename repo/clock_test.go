package repo_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/testkit"
	"github.com/debflow/debflow/repo"
)

// fakeClock is a clock that moves only when told to, or when a Repo waits
// on it.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept time.Duration
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.slept += d
	return nil
}

// repoWith is a Repo on f's tree with other options.
func (f *fixture) repoWith(opts ...repo.Option) *repo.Repo {
	st, err := repo.NewFS(f.root)
	if err != nil {
		f.t.Fatal(err)
	}
	return repo.New(st, append([]repo.Option{repo.WithSigner(testkit.Key(f.t))}, opts...)...)
}

func (f *fixture) releaseOf(suite string) *repo.Release {
	f.t.Helper()
	data, err := os.ReadFile(filepath.Join(f.root, "dists", suite, "Release"))
	if err != nil {
		f.t.Fatal(err)
	}
	rel, err := repo.ParseRelease(data)
	if err != nil {
		f.t.Fatal(err)
	}
	return rel
}

// TestStageDateNeverAhead: thirty promotions within three seconds give
// strictly increasing Dates, none of them ahead of the clock: each waits
// out its second instead.
func TestStageDateNeverAhead(t *testing.T) {
	f := newFixture(t)
	clock := &fakeClock{t: time.Now().UTC().Truncate(time.Second).Add(300 * time.Millisecond)}
	r := f.repoWith(repo.WithClock(clock.now), repo.WithSleep(clock.sleep))
	ctx := context.Background()
	var snaps []string
	for _, v := range []string{"1.0", "2.0"} {
		pkgs, err := repo.Inspect([]string{f.deb("hello", v, "amd64")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Publish(ctx, pkgs, repo.PublishOptions{}); err != nil {
			t.Fatal(err)
		}
		res, err := r.CreateSnapshot(ctx, repo.SnapshotOptions{})
		if err != nil {
			t.Fatal(err)
		}
		snaps = append(snaps, res.Name)
	}
	var last time.Time
	for i := range 30 {
		clock.advance(100 * time.Millisecond)
		if _, err := r.Promote(ctx, snaps[i%2], "canary", repo.PromoteOptions{By: "test", ValidFor: time.Hour}); err != nil {
			t.Fatalf("promotion %d: %v", i, err)
		}
		rel := f.releaseOf("canary")
		if rel.Date.After(clock.now()) {
			t.Fatalf("promotion %d: Date %s is ahead of the clock %s", i, rel.Date, clock.now())
		}
		if !rel.Date.After(last) {
			t.Fatalf("promotion %d: Date %s is not after the previous %s", i, rel.Date, last)
		}
		if want := rel.Date.Add(time.Hour); !rel.ValidUntil.Equal(want) {
			t.Errorf("promotion %d: Valid-Until %s, want %s", i, rel.ValidUntil, want)
		}
		last = rel.Date
	}
	if clock.slept == 0 {
		t.Error("no promotion waited for the clock")
	}
}

// TestStageDateRealClock: back-to-back promotions with the real clock
// never date a Release ahead of it.
func TestStageDateRealClock(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	a := f.snapshot("")
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "2.0", "amd64"))
	b := f.snapshot("")
	var last time.Time
	for i, s := range []string{a, b, a} {
		f.promote(s, "canary", false)
		rel := f.releaseOf("canary")
		if now := time.Now(); rel.Date.After(now) {
			t.Errorf("promotion %d: Date %s is ahead of the clock %s", i, rel.Date, now)
		}
		if !rel.Date.After(last) {
			t.Errorf("promotion %d: Date %s is not after %s", i, rel.Date, last)
		}
		last = rel.Date
	}
}

// TestClockBehind: a runner whose clock is far behind a suite's Date is
// refused, with the tree unchanged; one a few seconds behind waits, and the
// Date never goes backwards.
func TestClockBehind(t *testing.T) {
	f := newFixture(t)
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	f.promote(snap, "canary", false)
	devDate := f.releaseOf("development").Date
	before := testkit.TreeHash(t, f.root)

	behind := f.repoWith(repo.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	pkgs, err := repo.Inspect([]string{f.deb("hello", "1.1", "amd64")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = behind.Publish(context.Background(), pkgs, repo.PublishOptions{})
	if !errors.Is(err, repo.ErrClock) || !strings.Contains(err.Error(), "ahead of this machine's clock") {
		t.Errorf("publish with the clock an hour behind: %v", err)
	}
	if _, err := behind.Promote(context.Background(), snap, "production", repo.PromoteOptions{}); !errors.Is(err, repo.ErrClock) {
		t.Errorf("promote with the clock an hour behind: %v", err)
	}
	if _, err := behind.Refresh(context.Background(), 0, time.Minute); !errors.Is(err, repo.ErrClock) {
		t.Errorf("refresh with the clock an hour behind: %v", err)
	}
	if after := testkit.TreeHash(t, f.root); after != before {
		t.Error("a refused command changed the tree")
	}

	// Five seconds behind: wait, then publish with the suite's Date (a
	// rolling suite may keep its Date) or a later one (a stage must move).
	clock := &fakeClock{t: devDate.Add(-5 * time.Second)}
	slow := f.repoWith(repo.WithClock(clock.now), repo.WithSleep(clock.sleep))
	if _, err := slow.Publish(context.Background(), pkgs, repo.PublishOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := f.releaseOf("development").Date; got.Before(devDate) || got.After(clock.now()) {
		t.Errorf("development Date %s, want from %s to the clock %s", got, devDate, clock.now())
	}
	if clock.slept < 4*time.Second {
		t.Errorf("waited %s for the clock, want about 5 s", clock.slept)
	}
}

// TestValidUntilPassed: --valid-for on a runner whose clock is behind
// would publish a Valid-Until that has passed; that is refused, saying
// why.
func TestValidUntilPassed(t *testing.T) {
	f := newFixture(t)
	twoDaysBehind := func() time.Time { return time.Now().Add(-48 * time.Hour) }
	behind := f.repoWith(repo.WithClock(twoDaysBehind))
	pkgs, err := repo.Inspect([]string{f.deb("hello", "1.0", "amd64")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = behind.Publish(context.Background(), pkgs, repo.PublishOptions{ValidFor: 24 * time.Hour})
	if !errors.Is(err, repo.ErrClock) || !strings.Contains(err.Error(), "Valid-Until") || !strings.Contains(err.Error(), "has passed") {
		t.Errorf("publish --valid-for 24h two days behind: %v", err)
	}
	for _, dir := range []string{"dists", "pool", ".debflow/config.json"} {
		if _, err := os.Stat(filepath.Join(f.root, dir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused first publish wrote %s: %v", dir, err)
		}
	}

	// A promotion's Valid-Until, on a runner behind the snapshot's Date.
	f.mustPublish(repo.PublishOptions{}, f.deb("hello", "1.0", "amd64"))
	snap := f.snapshot("")
	if _, err := behind.Promote(context.Background(), snap, "canary", repo.PromoteOptions{ValidFor: 24 * time.Hour}); !errors.Is(err, repo.ErrClock) {
		t.Errorf("promote --valid-for 24h two days behind: %v", err)
	}
	if _, err := os.Stat(filepath.Join(f.root, "dists", "canary")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused promotion wrote the stage: %v", err)
	}
	// With the clock right, it works.
	if _, err := f.repo.Promote(context.Background(), snap, "canary", repo.PromoteOptions{ValidFor: 24 * time.Hour}); err != nil {
		t.Error(err)
	}
}
