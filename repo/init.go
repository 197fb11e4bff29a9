package repo

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// InitOptions are the settings `debflow init` gives; empty ones keep the
// current (or default) value.
type InitOptions struct {
	Origin, Label, Codename string
	Architectures           []string
	Stages                  []string
	IndexCompression        []string
	LockTimeout             time.Duration
}

// apply sets the given values on cfg.
func (o InitOptions) apply(cfg *Config) {
	for _, f := range []struct {
		dst *string
		v   string
	}{{&cfg.Origin, o.Origin}, {&cfg.Label, o.Label}, {&cfg.Codename, o.Codename}} {
		if f.v != "" {
			*f.dst = f.v
		}
	}
	for _, f := range []struct {
		dst *[]string
		v   []string
	}{{&cfg.Architectures, o.Architectures}, {&cfg.Stages, o.Stages}, {&cfg.IndexCompression, o.IndexCompression}} {
		if len(f.v) > 0 {
			*f.dst = append([]string(nil), f.v...)
		}
	}
}

// Init creates a repository in a new or empty directory with the given
// settings, or changes the settings of an existing one. Every value is
// checked before anything is written. Changing the Origin, Label or
// Codename of a repository that has suites is refused unless the Repo was
// made WithReleaseInfoChange; the suites then take the new values at their
// next publication (`debflow refresh` re-signs them all).
func (r *Repo) Init(ctx context.Context, opts InitOptions) (*Config, error) {
	_, found, err := LoadConfig(ctx, r.st)
	if !found && errors.Is(err, ErrNoRepo) && !errors.Is(err, ErrNeedsRepair) {
		cfg := NewConfig()
		opts.apply(&cfg)
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		err := r.lockedCreate(ctx, lockTimeout(opts.LockTimeout), &cfg, func(ctx context.Context) error { return nil })
		if err != nil {
			return nil, err
		}
		cfg, _, err = LoadConfig(ctx, r.st)
		return &cfg, err
	}
	if err != nil {
		return nil, err
	}
	var out Config
	err = r.locked(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		old := cfg
		opts.apply(&cfg)
		if err := cfg.Validate(); err != nil {
			return err
		}
		names, err := r.suiteNames(ctx)
		if err != nil {
			return err
		}
		if len(names) > 0 && !r.releaseInfoChange && (old.Origin != cfg.Origin || old.Label != cfg.Label || old.Codename != cfg.Codename) {
			return fmt.Errorf("%w: changing Origin, Label or Codename of a repository with suites makes devices stop updating "+
				"until their administrators run apt-get update --allow-releaseinfo-change; if that is meant, give --allow-releaseinfo-change", ErrConflict)
		}
		out = cfg
		return r.writeConfig(ctx, &cfg)
	})
	return &out, err
}
