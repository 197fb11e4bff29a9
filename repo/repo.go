package repo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/debflow/debflow/signing"
)

// Sentinel errors of the publisher; the command layer maps them to exit
// codes.
var (
	// ErrConflict: the change contradicts the repository, such as a
	// different file under a name, version and architecture already
	// published.
	ErrConflict = errors.New("conflicts with the repository")
	// ErrNoSuite: a named suite does not exist.
	ErrNoSuite = errors.New("no such suite")
	// ErrNoSigner: the command must sign and has no key.
	ErrNoSigner = errors.New("a signing key is needed")
)

// Repo is an apt repository in a Storage. It holds no state of its own:
// every method reads what it needs from the tree.
type Repo struct {
	st     Storage
	signer signing.Signer
	now    func() time.Time
	sleep  func(ctx context.Context, d time.Duration) error // nil: a real, cancellable wait (see WithSleep)
	log    io.Writer
	holder string
	// releaseInfoChange lets a command publish a Release whose Origin,
	// Label or Codename differ from the suite's current one.
	releaseInfoChange bool
}

// Option configures a Repo.
type Option func(*Repo)

// WithSigner sets the key that signs Release files.
func WithSigner(s signing.Signer) Option { return func(r *Repo) { r.signer = s } }

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(r *Repo) { r.now = now } }

// WithReleaseInfoChange lets commands re-publish suites whose Origin,
// Label or Codename the configuration changed. Devices then stop updating
// them until their administrators accept the change
// (apt-get update --allow-releaseinfo-change), so it is never the default.
func WithReleaseInfoChange() Option { return func(r *Repo) { r.releaseInfoChange = true } }

// WithLog sets where progress and waiting messages go (default: nowhere).
func WithLog(w io.Writer) Option { return func(r *Repo) { r.log = w } }

// WithHolder describes this process to other publishers waiting for the
// lock (default: host and pid, plus the CI job when known).
func WithHolder(h string) Option { return func(r *Repo) { r.holder = h } }

// New returns a Repo on st.
func New(st Storage, opts ...Option) *Repo {
	r := &Repo{st: st, now: time.Now, log: io.Discard}
	for _, o := range opts {
		o(r)
	}
	if r.holder == "" {
		r.holder = defaultHolder()
	}
	return r
}

// Storage returns the storage the repository lives in.
func (r *Repo) Storage() Storage { return r.st }

func defaultHolder() string {
	host, _ := os.Hostname()
	h := fmt.Sprintf("%s pid %d", host, os.Getpid())
	if job := os.Getenv("GITHUB_RUN_ID"); job != "" {
		h += fmt.Sprintf(" (GitHub %s run %s)", os.Getenv("GITHUB_REPOSITORY"), job)
	} else if job := os.Getenv("CI_JOB_URL"); job != "" {
		h += " (" + job + ")"
	}
	return h
}

// locked runs fn while holding the repository lock, waiting at most
// timeout for it and saying so when it has to wait. A tree that holds no
// repository is refused before the lock is taken, so that a mistyped
// --repo gets nothing written into it.
func (r *Repo) locked(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	if _, _, err := LoadConfig(ctx, r.st); err != nil {
		return err
	}
	return r.lock(ctx, timeout, fn)
}

// lockedCreate is locked for the commands that may create a repository:
// the tree must hold one or be empty. In an empty tree, the configuration
// (newCfg, or NewConfig when nil) is written first, under the lock, so that
// a concurrent first publisher finds a repository, not a tree with files it
// does not know; it is removed again when fn fails.
func (r *Repo) lockedCreate(ctx context.Context, timeout time.Duration, newCfg *Config, fn func(ctx context.Context) error) error {
	if _, _, err := createConfig(ctx, r.st); err != nil {
		return err
	}
	return r.lock(ctx, timeout, func(ctx context.Context) error {
		cfg, isNew, err := createConfig(ctx, r.st)
		if err != nil || !isNew {
			if err == nil && newCfg != nil {
				return fmt.Errorf("%w: it is a debflow repository already", ErrNotEmpty)
			}
			if err != nil {
				return err
			}
			return fn(ctx)
		}
		if newCfg != nil {
			cfg = *newCfg
		}
		if r.signer != nil && len(cfg.SigningKeys) == 0 {
			cfg.SigningKeys = signerFingerprints(r.signer)
		}
		if err := cfg.Validate(); err != nil {
			return err
		}
		if err := writeJSON(ctx, r.st, configName, &cfg); err != nil {
			return err
		}
		if err := fn(ctx); err != nil {
			if derr := r.st.Delete(context.WithoutCancel(ctx), configName); derr != nil {
				err = errors.Join(err, derr)
			}
			return err
		}
		return nil
	})
}

// lockHeld marks the context of a command that holds the lock: only such a
// command writes derived files (the pinned list), so that a dry run, which
// takes no lock, writes nothing.
type lockHeld struct{}

func holdsLock(ctx context.Context) bool { return ctx.Value(lockHeld{}) != nil }

// lock takes the lock and runs fn.
func (r *Repo) lock(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := r.now()
	unlock, err := r.st.Lock(lctx, r.holder, func(holder string, since time.Time) {
		when := "" // unknown for a holder that does not describe itself (flock(1) by hand)
		if !since.IsZero() {
			when = " since " + since.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(r.log, "waiting for the repository lock, held by %s%s (giving up after %s)\n", holder, when, timeout)
	})
	if err != nil {
		return err
	}
	if waited := r.now().Sub(start); waited > time.Second {
		fmt.Fprintf(r.log, "got the repository lock after %s\n", waited.Round(time.Millisecond))
	}
	ctx = context.WithValue(ctx, lockHeld{}, true)
	err = r.checkSigner(ctx)
	// On a ConditionalStorage the lock is a lease and the commit point a
	// compare-and-swap: a publisher that lost the race (its lease expired
	// while it was stuck) redoes its work on the newer state.
	for attempt := 1; err == nil; attempt++ {
		err = fn(ctx)
		if !errors.Is(err, ErrPreconditionFailed) || attempt == commitAttempts {
			break
		}
		fmt.Fprintf(r.log, "another publisher committed first (%v); redoing the change on the new state\n", err)
		err = nil
	}
	if uerr := unlock(); uerr != nil && err == nil {
		err = fmt.Errorf("releasing the repository lock: %w", uerr)
	}
	return err
}

// commitAttempts is how often a locked command is run when another
// publisher commits first.
const commitAttempts = 5

// DefaultLockTimeout is how long a publisher waits for another by default.
const DefaultLockTimeout = 5 * time.Minute
