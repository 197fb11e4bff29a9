package repo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/debflow/debflow/signing"
)

// ErrWrongKey: the command would sign with a key the repository does not
// list in its configuration.
var ErrWrongKey = errors.New("not one of the repository's signing keys")

// checkSigner runs under the lock before a signing command writes
// anything. The first signing command records its keys' fingerprints; a
// key (any of several) the configuration does not list is refused, so that a wrong CI secret
// never re-signs the repository (devices would refuse every update).
func (r *Repo) checkSigner(ctx context.Context) error {
	if r.signer == nil {
		return nil
	}
	cfg, found, err := r.loadConfig(ctx)
	if !found {
		return nil // a repository being created records its key (lockedCreate)
	}
	if err != nil {
		return err
	}
	fps := signerFingerprints(r.signer)
	var unknown []string
	for _, fp := range fps {
		if !slices.Contains(cfg.SigningKeys, fp) {
			unknown = append(unknown, fp)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	if len(cfg.SigningKeys) > 0 {
		return fmt.Errorf("key %s: %w (%s); if devices trust it, run `debflow key add` first",
			strings.Join(unknown, ", "), ErrWrongKey, strings.Join(cfg.SigningKeys, ", "))
	}
	cfg.SigningKeys = fps
	if err := r.writeConfig(ctx, &cfg); err != nil {
		return fmt.Errorf("recording the signing key: %w", err)
	}
	fmt.Fprintf(r.log, "recorded %s as this repository's signing key\n", strings.Join(fps, ", "))
	return nil
}

// signerFingerprints lists the keys a signer signs with: every key of a
// signing.Signers, else its one key.
func signerFingerprints(s signing.Signer) []string {
	if m, ok := s.(interface{ Fingerprints() []string }); ok {
		return m.Fingerprints()
	}
	return []string{s.Fingerprint()}
}

// KeyChange says what AddKey or RetireKey did.
type KeyChange struct {
	Keys    []string `json:"signing_keys"`
	Changed bool     `json:"changed"`
}

// AddKey lets another key sign the repository, by fingerprint. It is the
// explicit step of a key rotation: devices must trust the new key (a
// keyring package) before it signs anything they read.
func (r *Repo) AddKey(ctx context.Context, fingerprint string, lockTimeout time.Duration) (*KeyChange, error) {
	return r.editKeys(ctx, lockTimeout, func(keys []string) ([]string, error) {
		if slices.Contains(keys, fingerprint) {
			return keys, nil
		}
		return append(keys, fingerprint), nil
	})
}

// RetireKey stops a key from signing the repository. The last key cannot
// be retired.
func (r *Repo) RetireKey(ctx context.Context, fingerprint string, lockTimeout time.Duration) (*KeyChange, error) {
	return r.editKeys(ctx, lockTimeout, func(keys []string) ([]string, error) {
		i := slices.Index(keys, fingerprint)
		switch {
		case i < 0:
			return nil, fmt.Errorf("%w: %s is not a signing key of this repository (%s)", ErrConflict, fingerprint, strings.Join(keys, ", "))
		case len(keys) == 1:
			return nil, fmt.Errorf("%w: %s is the only signing key; add its successor first", ErrConflict, fingerprint)
		}
		return slices.Delete(slices.Clone(keys), i, i+1), nil
	})
}

func (r *Repo) editKeys(ctx context.Context, timeout time.Duration, edit func([]string) ([]string, error)) (*KeyChange, error) {
	var res *KeyChange
	err := r.locked(ctx, lockTimeout(timeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		keys, err := edit(cfg.SigningKeys)
		if err != nil {
			return err
		}
		res = &KeyChange{Keys: keys, Changed: !slices.Equal(keys, cfg.SigningKeys)}
		if !res.Changed {
			return nil
		}
		cfg.SigningKeys = keys
		if err := cfg.Validate(); err != nil {
			return err
		}
		return r.writeConfig(ctx, &cfg)
	})
	return res, err
}
