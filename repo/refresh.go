package repo

import (
	"context"
	"fmt"
	"time"
)

// RefreshResult lists the suites re-signed.
type RefreshResult struct {
	Suites []string `json:"suites"`
}

// Refresh re-signs the Release files of every suite with a new Date and
// Valid-Until, without touching an index: for fleets whose Release files
// carry Valid-Until and must be renewed before it passes. validFor
// replaces each suite's own setting when positive.
func (r *Repo) Refresh(ctx context.Context, validFor, lockTimeout time.Duration) (*RefreshResult, error) {
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	res := &RefreshResult{}
	err := r.locked(ctx, lockTimeout, func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		names, err := r.suiteNames(ctx)
		if err != nil {
			return err
		}
		for _, name := range names {
			s, err := r.loadSuite(ctx, cfg, name)
			if err != nil {
				return err
			}
			if s.state.Kind == KindDropped {
				continue
			}
			vf := time.Duration(s.state.ValidFor)
			if validFor > 0 {
				vf = validFor
			}
			if err := r.commit(ctx, cfg, s, nil, vf, nil); err != nil {
				return fmt.Errorf("refreshing %s: %w", name, err)
			}
			res.Suites = append(res.Suites, name)
		}
		return nil
	})
	return res, err
}
