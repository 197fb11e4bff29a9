package repo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CopyReport says what Copy did.
type CopyReport struct {
	Objects int   `json:"objects"`
	Bytes   int64 `json:"bytes"`
}

// copyWorkers bounds the parallel transfers of Copy.
const copyWorkers = 8

// Copy copies the repository in src, whole (pool, dists, and debflow's
// records under .debflow/: history and snapshots included), into dst,
// which must be empty: a migration from a directory to a bucket, or back.
// Both locks are held meanwhile (holder describes the caller; "" is
// host and pid), so that no publisher changes either. The
// copy is made in the publisher's order, so that dst serves a consistent
// repository even if the copy is interrupted: content-addressed objects
// (pool, by-hash) first, then the named indexes and the records, the
// Release files last. Afterwards every object's size is compared.
func Copy(ctx context.Context, src, dst Storage, holder string, timeout time.Duration, progress func(done, total int)) (CopyReport, error) {
	var rep CopyReport
	if holder == "" {
		holder = defaultHolder()
	}
	if _, _, err := LoadConfig(ctx, src); err != nil {
		return rep, fmt.Errorf("copy source: %w", err)
	}
	if empty, err := isEmpty(ctx, dst); err != nil {
		return rep, fmt.Errorf("copy destination: %w", err)
	} else if !empty {
		return rep, fmt.Errorf("copy destination: %w: give an empty directory or bucket prefix", ErrNotEmpty)
	}
	lctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	unlockSrc, err := src.Lock(lctx, holder+" (copying)", nil)
	if err != nil {
		return rep, fmt.Errorf("copy source: %w", err)
	}
	defer unlockSrc()
	unlockDst, err := dst.Lock(lctx, holder+" (copying)", nil)
	if err != nil {
		return rep, fmt.Errorf("copy destination: %w", err)
	}
	defer unlockDst()

	objs, err := src.List(ctx, "")
	if err != nil {
		return rep, err
	}
	var first, middle, last []ObjectInfo
	for _, o := range objs {
		base := o.Name[strings.LastIndexByte(o.Name, '/')+1:]
		switch {
		case strings.HasPrefix(o.Name, "dists/") && (base == "InRelease" || base == "Release" || base == "Release.gpg"):
			last = append(last, o)
		case strings.HasPrefix(o.Name, "pool/") || strings.Contains(o.Name, "/by-hash/"):
			first = append(first, o)
		default:
			middle = append(middle, o)
		}
	}
	var done atomic.Int64
	total := len(objs)
	for _, batch := range [][]ObjectInfo{first, middle, last} {
		if err := copyBatch(ctx, src, dst, batch, func() {
			n := done.Add(1)
			if progress != nil {
				progress(int(n), total)
			}
		}); err != nil {
			return rep, err
		}
		rep.Objects += len(batch)
		for _, o := range batch {
			rep.Bytes += o.Size
		}
	}
	if err := dst.Sync(ctx); err != nil {
		return rep, err
	}
	for _, o := range objs {
		info, err := dst.Stat(ctx, o.Name)
		if err != nil {
			return rep, fmt.Errorf("checking the copy: %w", err)
		}
		if info.Size != o.Size {
			return rep, fmt.Errorf("checking the copy: %s has %d bytes, the source %d", o.Name, info.Size, o.Size)
		}
	}
	return rep, nil
}

func copyBatch(ctx context.Context, src, dst Storage, objs []ObjectInfo, tick func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  atomic.Int64
	)
	for range min(copyWorkers, len(objs)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(objs) {
					return
				}
				if err := copyObject(ctx, src, dst, objs[i].Name); err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
					return
				}
				tick()
			}
		})
	}
	wg.Wait()
	return first
}

func copyObject(ctx context.Context, src, dst Storage, name string) error {
	rc, err := src.Get(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("copying %s: it disappeared from the source while the lock was held: %w", name, err)
	}
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := dst.Put(ctx, name, rc); err != nil {
		return fmt.Errorf("copying %s: %w", name, err)
	}
	return nil
}
