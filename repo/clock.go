package repo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrClock is wrapped by the errors of a command that refuses to publish
// because this machine's clock contradicts the repository: a suite's Date
// far ahead of it, or a Valid-Until that has passed already.
var ErrClock = errors.New("the clock is wrong")

// maxClockLag is how far a suite's Date may be ahead of this machine's
// clock. apt refuses a Release dated more than 10 s in the future
// (Acquire::Max-FutureTime), so a Date further ahead than that was made by
// a clock that is wrong now or was wrong then.
const maxClockLag = 10 * time.Second

// WithSleep replaces the wait for the clock to pass a suite's Date (see
// nextDate), for tests with a fake clock. sleep must return ctx.Err()
// when ctx is done first.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(r *Repo) { r.sleep = sleep }
}

func (r *Repo) wait(ctx context.Context, d time.Duration) error {
	if r.sleep != nil {
		return r.sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// nextDate returns the Date of a suite's next Release: the clock, to the
// second. It never precedes prev, the suite's current Date (apt ignores an
// older Date as a stale cache), and with strict (a stage, whose every
// promotion must reach devices) it is later than prev. When the clock has
// not reached that yet, nextDate waits, rather than date the Release
// ahead of the clock: apt refuses a Date more than 10 s in the future, and
// Dates that run ahead add up (thirty promotions within three seconds
// would be 29 s ahead). A clock more than maxClockLag behind prev is
// wrong, and nextDate refuses to wait for it.
func (r *Repo) nextDate(ctx context.Context, suite string, prev time.Time, strict bool) (time.Time, error) {
	if prev.IsZero() {
		return r.now().UTC().Truncate(time.Second), nil
	}
	want := prev
	if strict {
		want = prev.Add(time.Second)
	}
	for range 5 {
		now := r.now().UTC()
		if err := checkClock(suite, prev, now); err != nil {
			return time.Time{}, err
		}
		if d := now.Truncate(time.Second); !d.Before(want) {
			return d, nil
		}
		if err := r.wait(ctx, want.Sub(now)); err != nil {
			return time.Time{}, fmt.Errorf("suite %s: waiting for the clock to pass its Date %s: %w", suite, prev.Format(time.RFC3339), err)
		}
	}
	return time.Time{}, fmt.Errorf("%w: suite %s: the clock (%s) does not advance past the suite's Date %s",
		ErrClock, suite, r.now().UTC().Format(time.RFC3339), prev.UTC().Format(time.RFC3339))
}

// checkClock refuses a clock more than maxClockLag behind date, the Date of
// the named suite.
func checkClock(suite string, date, now time.Time) error {
	if lag := date.Sub(now); lag > maxClockLag {
		return fmt.Errorf("%w: suite %s is dated %s, %s ahead of this machine's clock (%s); apt refuses a Release dated more than %s in the future, and a suite's Date must not go backwards: set the clock right (NTP) and run again",
			ErrClock, suite, date.UTC().Format(time.RFC3339), lag.Round(time.Second), now.UTC().Format(time.RFC3339), maxClockLag)
	}
	return nil
}

// checkValidUntil refuses a Release whose Valid-Until has passed already:
// it is compared with the clock, the system's real time, and the suite's
// previous Date (prev), whichever is latest, so that a runner whose clock is
// behind cannot publish a Release that every device refuses at once.
func checkValidUntil(suite string, rel *Release, prev, now time.Time) error {
	if rel.ValidUntil.IsZero() {
		return nil
	}
	latest, what := now, "this machine's clock says"
	for _, t := range []struct {
		at   time.Time
		what string
	}{{time.Now(), "the system clock says"}, {prev, "the suite's previous Release is dated"}, {rel.Date, "the new Release is dated"}} {
		if t.at.After(latest) {
			latest, what = t.at, t.what
		}
	}
	if rel.ValidUntil.After(latest) {
		return nil
	}
	return fmt.Errorf("%w: suite %s: Valid-Until %s (Date %s + %s) has passed already: %s %s; the runner's clock is behind or the validity is too short",
		ErrClock, suite, rel.ValidUntil.UTC().Format(time.RFC3339), rel.Date.UTC().Format(time.RFC3339),
		rel.ValidUntil.Sub(rel.Date), what, latest.UTC().Format(time.RFC3339))
}

// precheckDates refuses, before anything is written, what commit would
// refuse about a suite's dates: a clock far behind the suite's Date, or a
// Valid-Until that has passed already. validFor is as PublishOptions has
// it: 0 keeps the suite's setting, a negative value drops Valid-Until.
func (r *Repo) precheckDates(s *suite, validFor time.Duration) error {
	now := r.now().UTC()
	var prev time.Time
	if s.exists {
		prev = s.release.Date
		if err := checkClock(s.name, prev, now); err != nil {
			return err
		}
	}
	switch {
	case validFor == 0:
		validFor = time.Duration(s.state.ValidFor)
	case validFor < 0:
		return nil
	}
	if validFor == 0 {
		return nil
	}
	date := now.Truncate(time.Second)
	if prev.After(date) {
		date = prev // commit waits for the clock to reach prev
	}
	return checkValidUntil(s.name, &Release{Date: date, ValidUntil: date.Add(validFor)}, prev, now)
}
