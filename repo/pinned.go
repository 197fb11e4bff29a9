package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
)

// pinnedName lists every pool file some snapshot holds, one per line, so
// that development's retention can tell in one read whether a pool file it
// drops is still needed. It is a cache of what the snapshot records say,
// never the authority: it carries the names of the snapshot records it was
// made from and a checksum, and a list that is missing, damaged or older
// than the records is rebuilt from them before anything trusts it.
// Snapshots are immutable, so the list only grows until a snapshot is
// dropped; drop rebuilds it.
const pinnedName = metaDir + "pinned"

const (
	pinnedMagic     = "# debflow pinned pool files, v1 (a cache of the snapshot records)"
	pinnedSnapshots = "# snapshots:"
	pinnedSum       = "# sha256:"
)

// snapshotRecords lists the names of the snapshot records, dropped ones
// included: snapshot names start with a digit, stage and suite names do
// not (snapshot.ValidName).
func (r *Repo) snapshotRecords(ctx context.Context) ([]string, error) {
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	return snapshotNames(names), nil
}

// snapshotNames keeps the snapshot records among suiteNames' names.
func snapshotNames(names []string) []string {
	return slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == "" || n[0] < '0' || n[0] > '9' })
}

// pinned returns the pinned pool files. A list that checks out but does
// not cover every snapshot record (a snapshot made since: snapshot create
// does not read its indexes) learns the new snapshots' pool files; one
// that does not check out is rebuilt from all the records.
func (r *Repo) pinned(ctx context.Context) (map[string]bool, error) {
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	return r.pinnedAmong(ctx, names)
}

// pinnedAmong is pinned for a caller that has just listed the records
// (suiteNames), which saves listing them again.
func (r *Repo) pinnedAmong(ctx context.Context, names []string) (map[string]bool, error) {
	records := snapshotNames(names)
	data, err := readAll(ctx, r.st, pinnedName)
	if errors.Is(err, fs.ErrNotExist) && len(records) == 0 {
		return map[string]bool{}, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	why := "it is missing"
	if err == nil {
		covers, set, perr := parsePinned(data)
		if perr == nil {
			var missing []string
			for _, n := range records {
				if !covers[n] {
					missing = append(missing, n)
				}
			}
			if len(missing) == 0 {
				return set, nil
			}
			if err := r.addPinned(ctx, set, missing); err != nil {
				return nil, err
			}
			if !holdsLock(ctx) {
				return set, nil
			}
			return set, r.writePinned(ctx, records, set)
		}
		why = perr.Error()
	}
	fmt.Fprintf(r.log, "rebuilding %s from the snapshot records: %s\n", pinnedName, why)
	return r.rebuildPinned(ctx, records)
}

// addPinned adds the pool files of the named snapshots to set (records of
// dropped snapshots add nothing).
func (r *Repo) addPinned(ctx context.Context, set map[string]bool, names []string) error {
	cfg, _, err := r.loadConfig(ctx)
	if err != nil {
		return err
	}
	for _, name := range names {
		s, err := r.loadSuiteReadOnly(ctx, cfg, name)
		if err != nil {
			return err
		}
		if s.state.Kind != KindSnapshot {
			continue
		}
		c, err := r.contents(ctx, s)
		if err != nil {
			return err
		}
		for _, st := range c.stanza {
			set[st.Filename] = true
		}
	}
	return nil
}

// parsePinned reads a pinned list and checks its checksum.
func parsePinned(data []byte) (covers, files map[string]bool, err error) {
	head, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok || string(head) != pinnedMagic {
		return nil, nil, errors.New("its first line is not the expected header")
	}
	snaps, body, _ := bytes.Cut(body, []byte("\n"))
	sum, body, _ := bytes.Cut(body, []byte("\n"))
	names, ok1 := strings.CutPrefix(string(snaps), pinnedSnapshots)
	want, ok2 := strings.CutPrefix(string(sum), pinnedSum+" ")
	if !ok1 || !ok2 || want != pinnedChecksum(snaps, body) {
		return nil, nil, errors.New("its checksum does not match (truncated or edited)")
	}
	covers, files = map[string]bool{}, map[string]bool{}
	for _, n := range strings.Fields(names) {
		covers[n] = true
	}
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" {
			files[line] = true
		}
	}
	return covers, files, nil
}

func pinnedChecksum(snaps, body []byte) string {
	h := sha256.New()
	h.Write(snaps)
	h.Write([]byte("\n"))
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// repin rebuilds the pinned list from the snapshot records, and returns it.
func (r *Repo) repin(ctx context.Context) (map[string]bool, error) {
	records, err := r.snapshotRecords(ctx)
	if err != nil {
		return nil, err
	}
	return r.rebuildPinned(ctx, records)
}

// rebuildPinned makes the pinned list of the snapshot records anew.
func (r *Repo) rebuildPinned(ctx context.Context, records []string) (map[string]bool, error) {
	set := map[string]bool{}
	if err := r.addPinned(ctx, set, records); err != nil {
		return nil, err
	}
	if !holdsLock(ctx) {
		return set, nil
	}
	return set, r.writePinned(ctx, records, set)
}

func (r *Repo) writePinned(ctx context.Context, records []string, set map[string]bool) error {
	var body bytes.Buffer
	for _, n := range slices.Sorted(maps.Keys(set)) {
		body.WriteString(n)
		body.WriteByte('\n')
	}
	slices.Sort(records)
	snaps := []byte(strings.TrimSpace(pinnedSnapshots + " " + strings.Join(slices.Compact(records), " ")))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n%s\n%s %s\n", pinnedMagic, snaps, pinnedSum, pinnedChecksum(snaps, body.Bytes()))
	b.Write(body.Bytes())
	return r.st.Put(ctx, pinnedName, &b)
}
