package repo

import (
	"context"
	"time"
)

// Pinned reads the pinned list under the lock, as publish --keep and gc
// do: it learns the snapshots made since it was written.
func (r *Repo) Pinned(ctx context.Context) (map[string]bool, error) {
	var set map[string]bool
	err := r.locked(ctx, time.Minute, func(ctx context.Context) error {
		var err error
		set, err = r.pinned(ctx)
		return err
	})
	return set, err
}
