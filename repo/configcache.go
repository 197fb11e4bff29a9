package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
)

// What a locked command has read once and need not read again: under the
// lock nobody else writes the configuration, so every step of the command
// (checkSigner, lockedCreate, publish, the pool cleaning) gets the copy
// read first, and the command's own writes replace that copy; and the check
// that every served suite has a record, once passed, holds for the rest of
// the command (its own changes keep records and served suites in step). On
// object storage each read is a request (issue 15). Outside the lock,
// loadConfig reads the tree each time, as LoadConfig does.

// heldState lives while a Repo holds the lock: Repo.lock puts one in the
// context it runs the command with (a new one for each attempt), so that
// what one command read never reaches another, even on a shared Repo.
type heldState struct {
	config []byte // the configuration as stored; nil: not read yet (or forgotten)
	// servedChecked: checkRecordsServed passed in this command.
	servedChecked bool
}

type heldKey struct{}

// withHeld returns ctx with a new heldState, for a command run under the
// lock.
func withHeld(ctx context.Context) context.Context {
	return context.WithValue(ctx, heldKey{}, &heldState{})
}

// heldIn returns the heldState of the locked command ctx belongs to, or
// nil outside the lock.
func heldIn(ctx context.Context) *heldState {
	h, _ := ctx.Value(heldKey{}).(*heldState)
	return h
}

// loadConfig is LoadConfig, from the lock's copy when there is one. The
// copy is parsed again at each call, so a caller that edits its Config
// never changes what the next one gets.
func (r *Repo) loadConfig(ctx context.Context) (cfg Config, found bool, err error) {
	c := heldIn(ctx)
	if c == nil {
		return LoadConfig(ctx, r.st)
	}
	if c.config == nil {
		// A missing or unreadable configuration is not kept: the next
		// call reads again.
		data, err := readAll(ctx, r.st, configName)
		if errors.Is(err, fs.ErrNotExist) {
			return DefaultConfig(), false, noRepo(ctx, r.st)
		}
		if err != nil {
			return DefaultConfig(), false, err
		}
		c.config = data
	}
	cfg, err = ParseConfig(c.config)
	if err != nil {
		return cfg, true, fmt.Errorf("%s: %w", configName, err)
	}
	return cfg, true, nil
}

// writeConfig stores the configuration and makes it the lock's copy.
func (r *Repo) writeConfig(ctx context.Context, cfg *Config) error {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	c := heldIn(ctx)
	if c != nil {
		c.config = nil // forgotten until the write is known to have succeeded
	}
	if err := r.st.Put(ctx, configName, bytes.NewReader(data)); err != nil {
		return err
	}
	if c != nil {
		c.config = data
	}
	return nil
}

// deleteConfig removes the configuration (a repository whose creation
// failed) and forgets the lock's copy.
func (r *Repo) deleteConfig(ctx context.Context) error {
	if c := heldIn(ctx); c != nil {
		c.config = nil
	}
	return r.st.Delete(ctx, configName)
}

// createConfigLocked is createConfig through the lock's copy.
func (r *Repo) createConfigLocked(ctx context.Context) (cfg Config, isNew bool, err error) {
	cfg, found, err := r.loadConfig(ctx)
	return newConfigIfEmpty(ctx, r.st, cfg, found, err)
}
