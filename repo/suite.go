package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/debflow/debflow/internal/compress"
)

// byHashGrace is how long a by-hash file stays after its index was
// replaced, for clients that fetched the previous InRelease just before.
const byHashGrace = time.Hour

// suite is a suite loaded for a change: its recorded state, its Release,
// and the indexes read so far.
type suite struct {
	name    string
	state   SuiteState
	exists  bool
	release *Release
	indexes map[string]*Index // "main/binary-amd64" -> index, read on demand
	changed map[string]bool
	// version is the record's version as read, on a ConditionalStorage
	// ("" when there was none): the commit replaces only that version.
	version string
	// lookOnly says the command only looks the suite's packages up (the
	// source of a pick): its indexes are read without the Packages.xz
	// blocks that only a change reuses.
	lookOnly bool
}

func indexDir(component, arch string) string { return component + "/binary-" + arch }

func suiteDir(name string) string { return "dists/" + name + "/" }

// loadSuite reads a suite's state; a missing suite loads as an empty one.
// When the published Release does not match the state (a publisher
// crashed after its commit point) the publication is completed first.
func (r *Repo) loadSuite(ctx context.Context, cfg Config, name string) (*suite, error) {
	s, err := r.loadSuiteReadOnly(ctx, cfg, name)
	if errors.Is(err, ErrNoSuite) {
		// No record: a new suite, unless the tree serves one under that
		// name, whose record was lost. Starting it afresh would drop
		// every package devices see.
		for _, f := range []string{"InRelease", "Release"} {
			if _, serr := r.st.Stat(ctx, suiteDir(name)+f); serr == nil {
				return nil, fmt.Errorf("suite %s: %w: %s is served but %s is missing; %s",
					name, ErrNeedsRepair, suiteDir(name)+f, suiteStateName(name), repairHint)
			} else if !errors.Is(serr, fs.ErrNotExist) {
				return nil, serr
			}
		}
		return &suite{
			name:    name,
			state:   SuiteState{Suite: name, Kind: KindRolling},
			indexes: map[string]*Index{},
			changed: map[string]bool{},
			release: &Release{
				Origin: cfg.Origin, Label: cfg.Label, Suite: name, Codename: cfg.Codename,
				Architectures: append([]string(nil), cfg.Architectures...),
				Files:         map[string]Hashes{},
			},
		}, nil
	}
	if err != nil {
		return nil, err
	}
	if s.state.Kind != KindDropped {
		if err := r.checkReleaseInfo(cfg, s); err != nil {
			return nil, err
		}
		if err := r.repair(ctx, s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// checkReleaseInfo refuses to change a suite's Origin, Label or Codename
// unless the command was told to (WithReleaseInfoChange): apt stops
// updating such a suite until an administrator accepts the change.
func (r *Repo) checkReleaseInfo(cfg Config, s *suite) error {
	if r.releaseInfoChange {
		return nil
	}
	for _, f := range []struct{ name, was, now string }{
		{"Origin", s.release.Origin, cfg.Origin}, {"Label", s.release.Label, cfg.Label}, {"Codename", s.release.Codename, cfg.Codename},
	} {
		if f.was != f.now {
			return fmt.Errorf("%w: suite %s: the configuration changes %s from %q to %q; devices stop updating it until "+
				"their administrators run apt-get update --allow-releaseinfo-change; if that is meant, give --allow-releaseinfo-change",
				ErrConflict, s.name, f.name, f.was, f.now)
		}
	}
	return nil
}

// repair completes an interrupted publication: if InRelease does not carry
// the recorded Release, the named files are rewritten from their by-hash
// copies and the Release files signed again.
func (r *Repo) repair(ctx context.Context, s *suite) error {
	in, err := readAll(ctx, r.st, suiteDir(s.name)+"InRelease")
	if err == nil && bytes.Contains(in, s.state.Release) {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprintf(r.log, "suite %s: completing an interrupted publication (generation %d)\n", s.name, s.state.Generation)
	for _, name := range slices.Sorted(maps.Keys(s.release.Files)) {
		h := s.release.Files[name]
		if h.SHA256 == "" || !stored(s.release, name) {
			continue
		}
		if err := r.storeNamed(ctx, s.name, indexFile{name: name, hash: h}); err != nil {
			return fmt.Errorf("suite %s: repairing %s: %w", s.name, name, err)
		}
	}
	return r.writeRelease(ctx, s.name, s.state.Release)
}

// index returns the index of a component and architecture, reading it
// the first time (see readIndex).
func (r *Repo) index(ctx context.Context, s *suite, component, arch string) (*Index, error) {
	dir := indexDir(component, arch)
	if idx, ok := s.indexes[dir]; ok {
		return idx, nil
	}
	if _, ok := s.release.Files[dir+"/Packages"]; !ok {
		idx := NewIndex()
		s.indexes[dir] = idx
		return idx, nil
	}
	idx, err := r.readIndex(ctx, s.name, s.release, dir, !s.lookOnly)
	if err != nil {
		return nil, fmt.Errorf("suite %s: index %s: %w", s.name, dir, err)
	}
	s.indexes[dir] = idx
	return idx, nil
}

// readIndex reads the index of dir ("main/binary-amd64") as a Release
// lists it, from its by-hash copies, each checked against the Release. A
// pieced Packages.gz is read as far as its headers (see pieces.go);
// anything else is read whole. Without blocks, a pieced index is read
// without its Packages.xz, whose blocks only a change reuses (an index
// read to count or look up, never rendered).
func (r *Repo) readIndex(ctx context.Context, suite string, rel *Release, dir string, blocks bool) (*Index, error) {
	name := dir + "/Packages"
	gz, err := r.readListed(ctx, suite, rel, name+".gz")
	if err != nil {
		return nil, err
	}
	if gz != nil {
		var xz []byte
		if blocks {
			if xz, err = r.readListed(ctx, suite, rel, name+".xz"); err != nil {
				return nil, err
			}
		}
		idx, err := loadPieces(gz, xz)
		if err == nil {
			n := 0
			for _, p := range idx.pieces {
				n += p.plainLen
			}
			if int64(n) != rel.Files[name].Size {
				return nil, fmt.Errorf("%s holds %d bytes of index, Release lists %d for %s", name+".gz", n, rel.Files[name].Size, name)
			}
			for _, p := range idx.pieces {
				idx.plainStored = idx.plainStored || p.legacy
			}
			return idx, nil
		}
		if !errors.Is(err, errNoPieces) {
			return nil, err
		}
	}
	text, err := r.indexText(ctx, suite, rel, name)
	if err != nil {
		return nil, err
	}
	idx, err := ParseIndex(text)
	if err != nil {
		return nil, err
	}
	idx.plainStored = true
	return idx, nil
}

// indexText returns the plain text of an index file as a Release lists
// it: its by-hash copy when it is stored, else a compressed form
// decompressed, either checked against the Release's hash of the text.
func (r *Repo) indexText(ctx context.Context, suite string, rel *Release, name string) ([]byte, error) {
	want, ok := rel.Files[name]
	if !ok {
		return nil, fmt.Errorf("Release lists no %s", name)
	}
	if stored(rel, name) {
		return r.readListed(ctx, suite, rel, name)
	}
	for _, f := range []compress.Format{compress.Gzip, compress.Xz} {
		data, err := r.readListed(ctx, suite, rel, name+f.Ext())
		if err != nil {
			return nil, err
		}
		if data == nil {
			continue // not listed
		}
		zr, err := compress.NewReader(bytes.NewReader(data), f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name+f.Ext(), err)
		}
		text, err := io.ReadAll(compress.LimitReader(zr, want.Size+1))
		zr.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name+f.Ext(), err)
		}
		if got := hashSHA256(text); got != (Hashes{Size: want.Size, SHA256: want.SHA256}) {
			return nil, fmt.Errorf("%s does not decompress to the %s that Release lists", name+f.Ext(), name)
		}
		return text, nil
	}
	return nil, fmt.Errorf("Release lists %s but no compressed form of it", name)
}

// readListed reads a file a Release lists from its by-hash copy and checks
// it against the Release; it returns nil when the Release does not list it.
func (r *Repo) readListed(ctx context.Context, suite string, rel *Release, name string) ([]byte, error) {
	h, ok := rel.Files[name]
	if !ok {
		return nil, nil
	}
	data, err := readSized(ctx, r.st, byHashName(suite, name, "SHA256", h.SHA256), h.Size)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if sum := sha256.Sum256(data); int64(len(data)) != h.Size || hex.EncodeToString(sum[:]) != h.SHA256 {
		return nil, fmt.Errorf("%s does not match its Release hash", name)
	}
	return data, nil
}

// stored says whether a file a Release lists is stored. A plain Packages
// next to a Packages.gz is not, as in Debian's archive: apt fetches a
// compressed form and checks what it decompresses against the plain
// file's hash, and debflow reads the index from its pieced Packages.gz.
func stored(rel *Release, name string) bool {
	if path.Base(name) != "Packages" {
		return true
	}
	_, gz := rel.Files[name+".gz"]
	return !gz
}

// byHashName is where apt fetches an index by its hash.
func byHashName(suite, file, algo, sum string) string {
	return suiteDir(suite) + path.Dir(file) + "/by-hash/" + algo + "/" + sum
}

// indexFile is one index file, ready to be written: rendered (data), or
// the same content as an object that exists already (src, a by-hash file of
// another suite), which is then copied without being read.
type indexFile struct {
	name string // relative to dists/SUITE/
	// parts is the content, in the parts to write one after the other
	// (a pieced index: its members or blocks, not a copy of them); nil when
	// it is not in memory.
	parts [][]byte
	src   string
	hash  Hashes
	// unstored: listed in Release, not stored (see stored). dropNamed:
	// an older debflow stored it, and its named copy goes.
	unstored, dropNamed bool
}

// content returns a reader of the file's content in memory.
func (f indexFile) content() io.Reader {
	if len(f.parts) == 1 {
		return bytes.NewReader(f.parts[0]) // a storage may take a *bytes.Reader as it is
	}
	rs := make([]io.Reader, len(f.parts))
	for i, p := range f.parts {
		rs[i] = bytes.NewReader(p)
	}
	return io.MultiReader(rs...)
}

// listedFile is a file a Release lists, to be copied into another suite
// from its by-hash object.
func listedFile(suite string, rel *Release, name string) indexFile {
	h := rel.Files[name]
	return indexFile{name: name, hash: h, src: byHashName(suite, name, "SHA256", h.SHA256), unstored: !stored(rel, name)}
}

// storeByHash writes an index file's by-hash objects: the SHA256 one, and
// the SHA512 one (apt fetches by the strongest hash a Release lists) as a
// copy of it.
func (r *Repo) storeByHash(ctx context.Context, suite string, f indexFile) error {
	if f.unstored {
		return nil
	}
	h256 := byHashName(suite, f.name, "SHA256", f.hash.SHA256)
	var err error
	if f.src != "" {
		err = r.st.Copy(ctx, f.src, h256)
	} else {
		err = r.st.Put(ctx, h256, f.content())
	}
	if err != nil || f.hash.SHA512 == "" {
		return err
	}
	return r.st.Copy(ctx, h256, byHashName(suite, f.name, "SHA512", f.hash.SHA512))
}

// storeNamed writes an index file under its name. It is written as a file
// of its own, not shared with the by-hash object (Copy may hard-link): a
// named file is what people and tools overwrite by hand, in place, and the
// by-hash objects are debflow's record, which that must not reach.
func (r *Repo) storeNamed(ctx context.Context, suite string, f indexFile) error {
	if f.unstored {
		if f.dropNamed {
			return r.st.Delete(ctx, suiteDir(suite)+f.name)
		}
		return nil
	}
	if f.parts != nil {
		return r.st.Put(ctx, suiteDir(suite)+f.name, f.content())
	}
	rc, err := r.st.Get(ctx, byHashName(suite, f.name, "SHA256", f.hash.SHA256))
	if err != nil {
		return err
	}
	defer rc.Close()
	return r.st.Put(ctx, suiteDir(suite)+f.name, rc)
}

// renderIndexes compresses and hashes the changed indexes. gz and xz are
// written in pieces, and only the changed pieces are compressed again
// (pieces.go); another format is compressed whole. Files list SHA-256 only.
func renderIndexes(s *suite, compressions []string) ([]indexFile, error) {
	var formats []compress.Format
	for _, c := range compressions {
		f, err := compress.ParseFormat(c)
		if err != nil {
			return nil, err
		}
		if f != compress.None && !slices.Contains(formats, f) {
			formats = append(formats, f)
		}
	}
	var out []indexFile
	for _, dir := range slices.Sorted(maps.Keys(s.changed)) {
		idx := s.indexes[dir]
		ri, err := idx.render(formats)
		if err != nil {
			return nil, fmt.Errorf("suite %s: index %s: %w", s.name, dir, err)
		}
		// The whole plain text is needed only where something is not
		// pieced: the plain file itself (no gz), or another format.
		_, pieced := ri.files[compress.Gzip]
		var plain []byte
		if !pieced || slices.ContainsFunc(formats, func(f compress.Format) bool { _, ok := ri.files[f]; return !ok }) {
			if plain, err = ri.plain(); err != nil {
				return nil, fmt.Errorf("suite %s: index %s: %w", s.name, dir, err)
			}
		}
		pf := indexFile{name: dir + "/Packages", hash: ri.plainSum}
		if pieced {
			pf.unstored, pf.dropNamed = true, idx.plainStored
		} else {
			pf.parts = [][]byte{plain}
		}
		out = append(out, pf)
		for _, f := range formats {
			if parts, ok := ri.files[f]; ok {
				out = append(out, indexFile{name: dir + "/Packages" + f.Ext(), parts: parts})
				continue
			}
			var buf bytes.Buffer
			w, err := compress.NewWriter(&buf, f)
			if err != nil {
				return nil, err
			}
			if _, err := w.Write(plain); err != nil {
				return nil, err
			}
			if err := w.Close(); err != nil {
				return nil, err
			}
			out = append(out, indexFile{name: dir + "/Packages" + f.Ext(), parts: [][]byte{buf.Bytes()}})
		}
	}
	err := parallel(len(out), func(i int) error {
		if out[i].hash.SHA256 == "" {
			out[i].hash = hashParts(out[i].parts)
		}
		return nil
	})
	return out, err
}

// commit records a new state for the suite and publishes it: by-hash files
// first, then the state (the commit point), then the named indexes, and the
// Release files last. Files listed in the old Release but not the new are
// retired rather than deleted.
//
// edit, when not nil, adjusts the new Release before it is written (a
// stage takes its snapshot's description and names the snapshot).
func (r *Repo) commit(ctx context.Context, cfg Config, s *suite, files []indexFile, validFor time.Duration, edit func(old, rel *Release)) error {
	old := s.release
	var prev time.Time
	if s.exists {
		prev = old.Date
	}
	now, err := r.nextDate(ctx, s.name, prev, s.state.Kind == KindStage)
	if err != nil {
		return err
	}
	rel := *old
	rel.Origin, rel.Label, rel.Codename, rel.Suite = cfg.Origin, cfg.Label, cfg.Codename, s.name
	rel.Files = map[string]Hashes{}
	for name, h := range old.Files {
		rel.Files[name] = h
	}
	// Drop the old forms of each rewritten index (a compression may have
	// been dropped from the list), then add the new ones.
	for dir := range s.changed {
		for name := range rel.Files {
			if strings.HasPrefix(name, dir+"/Packages") {
				delete(rel.Files, name)
			}
		}
	}
	for _, f := range files {
		rel.Files[f.name] = f.hash
	}
	rel.Date = now // never before the old Date: nextDate waits for the clock
	rel.ValidUntil = time.Time{}
	if validFor > 0 {
		rel.ValidUntil = rel.Date.Add(validFor)
	}
	rel.Architectures = suiteArchitectures(cfg, &rel)
	rel.Components = suiteComponents(&rel)
	if edit != nil {
		edit(old, &rel)
	}
	if err := checkValidUntil(s.name, &rel, prev, r.now()); err != nil {
		return err
	}

	for _, f := range files {
		if err := r.storeByHash(ctx, s.name, f); err != nil {
			return err
		}
	}

	// The pool files (written by the caller) and the by-hash files must be
	// on disk before the record that names them.
	if err := r.st.Sync(ctx); err != nil {
		return err
	}
	state := s.state
	state.Suite = s.name
	state.Generation++
	state.ValidFor = Duration(validFor)
	state.Updated = now
	state.Release = rel.Bytes()
	current := map[string]bool{}
	for name, h := range rel.Files {
		current[byHashName(s.name, name, "SHA256", h.SHA256)] = true
		if h.SHA512 != "" {
			current[byHashName(s.name, name, "SHA512", h.SHA512)] = true
		}
	}
	var expired []string
	state.Retired = nil
	for _, f := range s.state.Retired {
		switch {
		case current[f.Name]:
		case now.Sub(f.Since) > byHashGrace:
			expired = append(expired, f.Name)
		default:
			state.Retired = append(state.Retired, f)
		}
	}
	dropNamed := map[string]bool{}
	for _, f := range files {
		dropNamed[f.name] = f.dropNamed
	}
	for name, h := range old.Files {
		if nh, ok := rel.Files[name]; ok && nh.SHA256 == h.SHA256 || !stored(old, name) && !dropNamed[name] {
			continue
		}
		for _, n := range []string{byHashName(s.name, name, "SHA256", h.SHA256), byHashName(s.name, name, "SHA512", h.SHA512)} {
			if !current[n] && !strings.HasSuffix(n, "/") {
				state.Retired = append(state.Retired, RetiredFile{Name: n, Since: now})
			}
		}
	}
	if err := r.writeRecord(ctx, s, &state); err != nil {
		return fmt.Errorf("suite %s: recording the new state: %w", s.name, err)
	}
	// No Sync here: if the record were lost to a power cut while the
	// Release files below survived, the next command would find InRelease
	// out of line with the older record and restore that state, whole.
	s.state, s.release, s.exists = state, &rel, true
	if cur, err := r.recordCurrent(ctx, s); err != nil || !cur {
		if err == nil {
			fmt.Fprintf(r.log, "suite %s: a newer publication committed meanwhile; its files are served\n", s.name)
		}
		return err
	}

	for _, f := range files {
		if err := r.storeNamed(ctx, s.name, f); err != nil {
			return err
		}
	}
	for name := range old.Files {
		if _, ok := rel.Files[name]; !ok {
			if err := r.st.Delete(ctx, suiteDir(s.name)+name); err != nil {
				return err
			}
		}
	}
	if err := r.writeReleaseIfCurrent(ctx, cfg, s); err != nil {
		return err
	}
	for _, name := range expired {
		if err := r.st.Delete(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// writeRelease writes Release, the detached Release.gpg and, last, the
// clearsigned InRelease that apt reads first.
func (r *Repo) writeRelease(ctx context.Context, suite string, release []byte) error {
	if r.signer == nil {
		return ErrNoSigner
	}
	now := r.now()
	var detached, clear bytes.Buffer
	if err := r.signer.DetachSign(&detached, bytes.NewReader(release), true, now); err != nil {
		return fmt.Errorf("signing Release of %s: %w", suite, err)
	}
	if err := r.signer.ClearSign(&clear, release, now); err != nil {
		return fmt.Errorf("signing InRelease of %s: %w", suite, err)
	}
	dir := suiteDir(suite)
	for _, f := range []struct {
		name string
		data []byte
	}{{"Release", release}, {"Release.gpg", detached.Bytes()}, {"InRelease", clear.Bytes()}} {
		if err := r.st.Put(ctx, dir+f.name, bytes.NewReader(f.data)); err != nil {
			return err
		}
	}
	return r.st.Sync(ctx)
}

// writeRecord writes a suite's record, the commit point. On a
// ConditionalStorage it is a compare-and-swap: it replaces only the version
// loadSuite read (or creates it, for a new suite), and otherwise fails with
// ErrPreconditionFailed, on which Repo.lock redoes the whole command.
func (r *Repo) writeRecord(ctx context.Context, s *suite, state *SuiteState) error {
	cs, ok := r.st.(ConditionalStorage)
	if !ok {
		return writeJSON(ctx, r.st, suiteStateName(s.name), state)
	}
	data, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return err
	}
	v, err := cs.PutIfVersion(ctx, suiteStateName(s.name), bytes.NewReader(append(data, '\n')), s.version)
	if err != nil {
		return err
	}
	s.version = v
	return nil
}

// recordCurrent reports whether the suite's record is still the one this
// command wrote (always, on a storage that is not a ConditionalStorage:
// its lock is the guard).
func (r *Repo) recordCurrent(ctx context.Context, s *suite) (bool, error) {
	cs, ok := r.st.(ConditionalStorage)
	if !ok {
		return true, nil
	}
	_, v, err := cs.GetVersion(ctx, suiteStateName(s.name))
	return v == s.version, err
}

// writeReleaseIfCurrent writes the Release files of the state this command
// committed, and makes sure that the served InRelease never goes back to an
// older generation: on a ConditionalStorage, if a newer record was
// committed while this command wrote its Release files (the commit checked
// it before the named indexes), the newer one is written again, last.
func (r *Repo) writeReleaseIfCurrent(ctx context.Context, cfg Config, s *suite) error {
	if err := r.writeRelease(ctx, s.name, s.state.Release); err != nil {
		return err
	}
	if _, ok := r.st.(ConditionalStorage); !ok {
		return nil
	}
	for range 5 {
		if cur, err := r.recordCurrent(ctx, s); err != nil || cur {
			return err
		}
		newer, err := r.loadSuiteReadOnly(ctx, cfg, s.name)
		if err != nil {
			return err
		}
		if newer.state.Kind != KindDropped {
			if err := r.repair(ctx, newer); err != nil {
				return err
			}
		}
		s.version = newer.version
	}
	return nil
}

// suiteArchitectures lists the configured architectures and every one an
// index exists for, sorted.
func suiteArchitectures(cfg Config, rel *Release) []string {
	set := map[string]bool{}
	for _, a := range cfg.Architectures {
		set[a] = true
	}
	for name := range rel.Files {
		if _, arch, ok := splitIndexName(name); ok {
			set[arch] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

func suiteComponents(rel *Release) []string {
	set := map[string]bool{}
	for _, c := range rel.Components {
		set[c] = true
	}
	for name := range rel.Files {
		if comp, _, ok := splitIndexName(name); ok {
			set[comp] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// splitIndexName splits "main/binary-amd64/Packages.gz".
func splitIndexName(name string) (component, arch string, ok bool) {
	parts := strings.Split(name, "/")
	if len(parts) != 3 || !strings.HasPrefix(parts[1], "binary-") {
		return "", "", false
	}
	return parts[0], strings.TrimPrefix(parts[1], "binary-"), true
}
