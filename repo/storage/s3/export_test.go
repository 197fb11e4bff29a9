package s3

import (
	"bytes"
	"context"
	"github.com/debflow/debflow/repo"
	"time"
)

// WriteDeadLease writes a lease as a publisher that was killed right after
// taking it leaves it.
func WriteDeadLease(ctx context.Context, s *Store, holder string, ttl time.Duration) error {
	l := lease{Holder: holder, Since: time.Now().UTC(), TTL: repo.Duration(ttl), Token: randomToken()}
	_, err := s.put(ctx, lockName, bytes.NewReader(l.bytes()), nil, nil)
	return err
}
