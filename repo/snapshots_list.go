package repo

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/debflow/debflow/snapshot"
)

// SnapshotEntry is one snapshot in a listing.
type SnapshotEntry struct {
	Name     string       `json:"name"`
	Info     SnapshotInfo `json:"info"`
	ServedBy []string     `json:"served_by,omitempty"` // stages serving it
}

// Snapshots lists the snapshots, oldest first, with the stages serving
// each. It reads only debflow's records, not the indexes.
func (r *Repo) Snapshots(ctx context.Context) ([]SnapshotEntry, error) {
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	var out []SnapshotEntry
	serving := map[string][]string{}
	for _, name := range names {
		var st SuiteState
		if _, err := readJSON(ctx, r.st, suiteStateName(name), &st); err != nil {
			return nil, err
		}
		switch st.Kind {
		case KindSnapshot:
			e := SnapshotEntry{Name: name}
			if st.Snapshot != nil {
				e.Info = *st.Snapshot
			}
			out = append(out, e)
		case KindStage:
			serving[st.Serves] = append(serving[st.Serves], name)
		}
	}
	for i := range out {
		out[i].ServedBy = serving[out[i].Name]
	}
	sortEntries(out)
	return out, nil
}

func sortEntries(es []SnapshotEntry) {
	sort.SliceStable(es, func(i, j int) bool {
		if !es[i].Info.Created.Equal(es[j].Info.Created) {
			return es[i].Info.Created.Before(es[j].Info.Created)
		}
		return es[i].Name < es[j].Name
	})
}

// Snapshot returns one snapshot's entry.
func (r *Repo) Snapshot(ctx context.Context, name string) (*SnapshotEntry, error) {
	all, err := r.Snapshots(ctx)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Name == name {
			return &all[i], nil
		}
	}
	return nil, fmt.Errorf("%w: no snapshot %s", ErrNoSuite, name)
}

// DropSnapshot removes a snapshot's suite. A snapshot a stage serves is
// refused. The name stays reserved; the pool files it alone held are left
// for gc.
func (r *Repo) DropSnapshot(ctx context.Context, name string, timeout time.Duration) error {
	return r.locked(ctx, lockTimeout(timeout), func(ctx context.Context) error {
		if done, err := r.interruptedDrop(ctx, name); err != nil || done {
			return err
		}
		e, err := r.Snapshot(ctx, name)
		if err != nil {
			return err
		}
		if len(e.ServedBy) > 0 {
			return fmt.Errorf("%w: snapshot %s is served by %v; promote another snapshot there first", ErrConflict, name, e.ServedBy)
		}
		tomb := SuiteState{Suite: name, Kind: KindDropped, Updated: r.now().UTC(), Snapshot: &e.Info}
		if err := writeJSON(ctx, r.st, suiteStateName(name), &tomb); err != nil {
			return err
		}
		return r.removeDropped(ctx, name)
	})
}

// Contents returns the packages of a suite, stage or snapshot.
func (r *Repo) Contents(ctx context.Context, name string) ([]snapshot.Package, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	if _, err := r.st.Stat(ctx, suiteStateName(name)); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrNoSuite, name)
	}
	s, err := r.loadSuiteReadOnly(ctx, cfg, name)
	if err != nil {
		return nil, err
	}
	if s.state.Kind == KindDropped {
		return nil, fmt.Errorf("%w: %s was dropped", ErrNoSuite, name)
	}
	c, err := r.contents(ctx, s)
	if err != nil {
		return nil, err
	}
	return c.list(), nil
}

// Diff compares two suites, stages or snapshots.
func (r *Repo) Diff(ctx context.Context, a, b string) ([]snapshot.Change, error) {
	pa, err := r.Contents(ctx, a)
	if err != nil {
		return nil, err
	}
	pb, err := r.Contents(ctx, b)
	if err != nil {
		return nil, err
	}
	return snapshot.Diff(pa, pb), nil
}
