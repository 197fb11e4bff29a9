package repo

import (
	"bytes"
	"context"
	"crypto/md5"
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

	"github.com/debflow/debflow/signing"
)

// Problem is one thing verify found wrong.
type Problem struct {
	Suite string `json:"suite,omitempty"`
	Path  string `json:"path"`
	What  string `json:"what"`
}

func (p Problem) String() string {
	if p.Suite != "" {
		return fmt.Sprintf("%s: %s: %s", p.Suite, p.Path, p.What)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.What)
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Suites    []string  `json:"suites"`
	Indexes   int       `json:"indexes"`
	PoolFiles int       `json:"pool_files"`
	Problems  []Problem `json:"problems"`
}

// How Verify retries a suite whose publication moved while it was being
// read: at most verifyAttempts readings, waiting verifyBackoff (doubling,
// at most a second) before each one that follows a reading in which the
// suite looked half-published but nothing moved yet.
var (
	verifyAttempts = 8
	verifyBackoff  = 50 * time.Millisecond
)

// maxFutureDate is how far ahead of the clock apt accepts a Release Date
// (Acquire::Max-FutureTime).
const maxFutureDate = 10 * time.Second

// Verify checks every suite apt could be pointed at, as a client would,
// and more. The suites are every dists/**/InRelease (or Release) in the
// tree and every suite debflow records; a suite served without a record,
// or recorded without being served, is a problem. For each suite it reads
// InRelease once, checks its signature, its Date and Valid-Until, that it
// carries the Release debflow recorded and that Release and Release.gpg
// agree with it; then every index file it lists, by hash (the immutable
// by-hash objects) and by name, and every pool file a Packages index lists,
// against its size and hashes. A missing .debflow/config.json next to
// served suites, a tree that holds no repository at all, and temporary
// files that killed writers left (older than gc's grace period) are
// problems too.
//
// Verify takes no lock and changes nothing, so it can run while publishes
// happen: a suite whose InRelease or record changes while it is being
// read, or that is between a publisher's commit point and its new
// InRelease, is read again (a few times, with a short wait), and only
// what persists is reported.
func (r *Repo) Verify(ctx context.Context, keyring *signing.Keyring) (*VerifyReport, error) {
	rep := &VerifyReport{Suites: []string{}, Problems: []Problem{}}
	v := &verifier{r: r, keyring: keyring, now: r.now(), poolOK: map[string]bool{}, pool: map[string]bool{}}

	meta, err := r.st.List(ctx, metaDir)
	if err != nil {
		return nil, err
	}
	dists, err := r.st.List(ctx, "dists/")
	if err != nil {
		return nil, err
	}
	if len(meta) == 0 && len(dists) == 0 {
		// ErrNoRepo is what the other commands say; verify reports it
		// as a problem (exit 6), as a monitoring job expects.
		rep.Problems = append(rep.Problems, Problem{Path: ".", What: "no debflow repository here: neither .debflow/ nor dists/ exists (a mistyped --repo?)"})
		return rep, nil
	}
	recorded, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	served, err := servedSuites(ctx, r.st)
	if err != nil {
		return nil, err
	}

	cfg, found, err := LoadConfig(ctx, r.st)
	switch {
	case !found && (len(served) > 0 || len(recorded) > 0):
		rep.Problems = append(rep.Problems, Problem{Path: configName, What: "missing, next to served suites: debflow no longer knows the repository's Origin, Label, Codename and stages (`debflow repair` rebuilds it from the served tree)"})
	case err != nil:
		rep.Problems = append(rep.Problems, Problem{Path: configName, What: err.Error()})
	default:
		v.cfg = &cfg
	}

	// Temporary files of killed writers (FS's ".tmp-*"), which List
	// hides; those younger than gc's grace period may be a running
	// publish's. Finding them walks the whole tree, so the walk runs
	// while the suites are checked.
	type temporaries struct {
		objs []ObjectInfo
		err  error
	}
	temps := make(chan temporaries, 1)
	tempCtx, stopTemps := context.WithCancel(ctx)
	defer stopTemps()
	if tc, ok := r.st.(tempCleaner); ok {
		go func() {
			objs, err := tc.Temporaries(tempCtx, byHashGrace)
			temps <- temporaries{objs, err}
		}()
	} else {
		temps <- temporaries{}
	}

	names := map[string]bool{}
	for _, n := range recorded {
		names[n] = true
	}
	for _, n := range served {
		names[n] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		c, err := v.suite(ctx, name)
		if err != nil {
			return nil, err
		}
		if c.skip {
			continue
		}
		rep.Suites = append(rep.Suites, name)
		rep.Indexes += c.indexes
		rep.Problems = append(rep.Problems, c.problems...)
		for _, f := range c.pool {
			v.pool[f] = true
		}
	}
	rep.PoolFiles = len(v.pool)

	left := <-temps
	if left.err != nil {
		return nil, left.err
	}
	for _, o := range left.objs {
		rep.Problems = append(rep.Problems, Problem{Path: o.Name, What: fmt.Sprintf(
			"temporary file of an interrupted write (%d bytes, untouched since %s): no index lists it; debflow gc removes it",
			o.Size, o.ModTime.UTC().Format(time.RFC3339))})
	}
	return rep, nil
}

// verifier is one run of Verify.
type verifier struct {
	r       *Repo
	keyring *signing.Keyring
	now     time.Time
	cfg     *Config         // nil when config.json is missing or bad
	poolOK  map[string]bool // pool files checked and found good (by name and hashes)
	pool    map[string]bool // every pool file listed
}

// suiteCheck is one reading of a suite.
type suiteCheck struct {
	skip      bool // a dropped snapshot that nothing serves
	problems  []Problem
	indexes   int
	pool      []string
	inRelease []byte // InRelease as read (nil: none)
	record    []byte // the record as read (nil: none)
	// unsettled: the record and InRelease disagree, as they do between a
	// publisher's commit point and its new InRelease.
	unsettled bool
}

// suite checks one suite, reading it again while its publication moves.
func (v *verifier) suite(ctx context.Context, name string) (suiteCheck, error) {
	wait := verifyBackoff
	for attempt := 1; ; attempt++ {
		c, err := v.read(ctx, name)
		if err != nil || len(c.problems) == 0 || attempt >= verifyAttempts {
			return c, err
		}
		in, err := optional(readAll(ctx, v.r.st, suiteDir(name)+"InRelease"))
		if err != nil {
			return c, err
		}
		rec, err := optional(readAll(ctx, v.r.st, suiteStateName(name)))
		if err != nil {
			return c, err
		}
		moved := !bytes.Equal(in, c.inRelease) || !bytes.Equal(rec, c.record)
		if !moved && !c.unsettled {
			return c, nil // read twice, the same: the problems are real
		}
		if !moved {
			select {
			case <-ctx.Done():
				return c, ctx.Err()
			case <-time.After(wait):
			}
			wait = min(2*wait, time.Second)
		}
	}
}

// optional turns a missing object into nil data and no error.
func optional(data []byte, err error) ([]byte, error) {
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data, err
}

// read checks one suite once: everything it reads follows from the one
// InRelease it reads first, except the named files, Release, Release.gpg
// and the record, which a concurrent publisher may have moved on (suite
// then reads again).
func (v *verifier) read(ctx context.Context, name string) (suiteCheck, error) {
	var c suiteCheck
	r := v.r
	dir := suiteDir(name)
	problem := func(p, format string, args ...any) {
		c.problems = append(c.problems, Problem{Suite: name, Path: p, What: fmt.Sprintf(format, args...)})
	}
	if err := ValidSuiteName(name); err != nil {
		problem(dir, "%v", err)
	}

	var state SuiteState
	var err error
	if c.record, err = optional(readAll(ctx, r.st, suiteStateName(name))); err != nil {
		return c, err
	}
	if c.record != nil {
		if err := json.Unmarshal(c.record, &state); err != nil {
			problem(suiteStateName(name), "unreadable record: %v", err)
		}
	}
	if c.inRelease, err = optional(readAll(ctx, r.st, dir+"InRelease")); err != nil {
		return c, err
	}

	if c.inRelease == nil {
		release, err := optional(readAll(ctx, r.st, dir+"Release"))
		if err != nil {
			return c, err
		}
		dropped := c.record != nil && state.Kind == KindDropped
		switch {
		case release == nil && (c.record == nil || dropped):
			c.skip = true // nothing served; a dropped snapshot's name stays reserved
		case dropped:
			c.unsettled = true // a drop in progress, or killed
			problem(dir+"Release", "served suite %s is recorded as a dropped snapshot", name)
		case release != nil && c.record == nil:
			problem(dir+"InRelease", "missing, next to a Release: apt reads InRelease first")
			problem(dir+"Release", "served suite %s has no record in %s", name, suitesDir)
		default:
			c.unsettled = true // a new suite between its record and its InRelease?
			problem(dir+"InRelease", "missing: the suite is recorded in %s but apt finds no InRelease", suitesDir)
		}
		return c, nil
	}

	switch {
	case c.record == nil:
		problem(dir+"InRelease", "served suite %s has no record in %s (the tree was copied without .debflow/?)", name, suitesDir)
	case state.Kind == KindDropped:
		c.unsettled = true // a drop in progress, or killed
		problem(dir+"InRelease", "served suite %s is recorded as a dropped snapshot", name)
	}
	text, _, err := v.keyring.VerifyClearsigned(c.inRelease)
	if err != nil {
		problem(dir+"InRelease", "%v", err)
		return c, nil
	}
	rel, err := ParseRelease(text)
	if err != nil {
		problem(dir+"InRelease", "%v", err)
		return c, nil
	}
	if !rel.ValidUntil.IsZero() && !v.now.Before(rel.ValidUntil) {
		problem(dir+"InRelease", "Valid-Until %s has passed: apt refuses this suite (debflow refresh re-signs it)", rel.ValidUntil.UTC().Format(releaseDate))
	}
	if rel.Date.After(v.now.Add(maxFutureDate)) {
		problem(dir+"InRelease", "Date %s is in the future: apt refuses this suite until then", rel.Date.UTC().Format(releaseDate))
	}
	if v.cfg != nil {
		for _, f := range []struct{ name, got, want string }{
			{"Origin", rel.Origin, v.cfg.Origin}, {"Label", rel.Label, v.cfg.Label}, {"Codename", rel.Codename, v.cfg.Codename},
		} {
			if f.got != f.want {
				problem(dir+"InRelease", "%s is %q, %s says %q: the next change would make devices refuse the suite", f.name, f.got, configName, f.want)
			}
		}
	}

	switch {
	case c.record == nil, state.Kind == KindDropped:
		// reported above
	case !bytes.Equal(text, state.Release):
		c.unsettled = true
		problem(dir+"InRelease", "does not carry the Release debflow recorded (generation %d): a publish was interrupted or is running; the next publish or refresh completes it", state.Generation)
	}

	release, err := readAll(ctx, r.st, dir+"Release")
	switch {
	case err != nil:
		problem(dir+"Release", "%v", err)
	case !bytes.Equal(release, text):
		problem(dir+"Release", "differs from the signed text of InRelease")
	default:
		if sig, err := readAll(ctx, r.st, dir+"Release.gpg"); err != nil {
			problem(dir+"Release.gpg", "%v", err)
		} else if _, err := v.keyring.VerifyDetached(bytes.NewReader(release), sig); err != nil {
			problem(dir+"Release.gpg", "%v", err)
		}
	}

	if c.record != nil && state.Kind == KindStage {
		v.stage(ctx, name, state, rel, problem)
	}

	for _, file := range slices.Sorted(maps.Keys(rel.Files)) {
		want := rel.Files[file]
		c.indexes++
		var content []byte // the index as its hashes say it is
		if !stored(rel, file) {
			// Not stored: its compressed form must decompress to it.
			text, err := r.indexText(ctx, name, rel, file)
			if err != nil {
				problem(dir+file, "%v", err)
				continue
			}
			content = text
		}
		for _, obj := range []struct{ name, sum string }{
			{byHashName(name, file, "SHA256", want.SHA256), want.SHA256},
			{byHashName(name, file, "SHA512", want.SHA512), want.SHA512},
			{dir + file, "named"},
		} {
			if obj.sum == "" || !stored(rel, file) {
				continue
			}
			data, err := readAll(ctx, r.st, obj.name)
			if err != nil {
				problem(obj.name, "%v", err)
				continue
			}
			if got := HashBytes(data); !sameHashes(got, want) {
				problem(obj.name, "does not match the hashes in Release (size %d, want %d)", got.Size, want.Size)
				continue
			}
			if content == nil {
				content = data
			}
		}
		if content == nil || path.Base(file) != "Packages" {
			continue
		}
		if _, _, ok := splitIndexName(file); !ok {
			continue
		}
		idx, err := ParseIndex(content)
		if err != nil {
			problem(dir+file, "%v", err)
			continue
		}
		stanzas := idx.Stanzas()
		found, err := v.checkPool(ctx, stanzas)
		if err != nil {
			return c, err
		}
		for i, st := range stanzas {
			c.pool = append(c.pool, st.Filename)
			if found[i] != "" {
				problem(st.Filename, "%s (listed in %s)", found[i], dir+file)
			}
		}
	}
	return c, nil
}

// sameHashes compares the sums a Release lists (some may be missing) with
// those computed.
func sameHashes(got, want Hashes) bool {
	return got.Size == want.Size &&
		(want.MD5 == "" || got.MD5 == want.MD5) && (want.SHA1 == "" || got.SHA1 == want.SHA1) &&
		(want.SHA256 == "" || got.SHA256 == want.SHA256) && (want.SHA512 == "" || got.SHA512 == want.SHA512)
}

// stage checks that a stage serves its recorded snapshot unmodified and
// that its history ends with that promotion.
func (v *verifier) stage(ctx context.Context, name string, state SuiteState, rel *Release, problem func(string, string, ...any)) {
	if h, err := v.r.stageHistory(ctx, &suite{name: name, state: state, exists: true}); err != nil || len(h) == 0 || h[len(h)-1].Snapshot != state.Serves {
		problem(suiteStateName(name), "the last promotion recorded is not %s, which the stage serves", state.Serves)
	}
	var snapState SuiteState
	found, err := readJSON(ctx, v.r.st, suiteStateName(state.Serves), &snapState)
	if err == nil && !found {
		err = fmt.Errorf("%w: %s", ErrNoSuite, state.Serves)
	}
	var snapRel *Release
	if err == nil {
		snapRel, err = ParseRelease(snapState.Release)
	}
	if err != nil {
		problem(suiteDir(name)+"InRelease", "serves snapshot %s: %v", state.Serves, err)
		return
	}
	for _, p := range checkStage(&suite{name: name, release: rel}, &suite{name: state.Serves, release: snapRel}) {
		problem(suiteDir(name)+"InRelease", "%s", p)
	}
}

// checkPool checks the pool files of an index's stanzas against their
// entries, on up to GOMAXPROCS goroutines (reading and hashing every .deb
// is most of what verify does at 10,000 packages), and returns what is
// wrong with each, in the stanzas' order ("" when nothing is). A file
// already found good (v.poolOK: the same name, size and hashes, listed by
// another index or suite) is not read again, nor is a file listed twice
// read twice; v.poolOK is read and written only here, outside the
// goroutines. Each goroutine streams one file at a time, so memory does
// not grow with the pool. The error is the context's, when it ends.
func (v *verifier) checkPool(ctx context.Context, stanzas []*Stanza) ([]string, error) {
	keys := make([]string, len(stanzas))
	var todo []int // the first stanza of each key not yet found good
	seen := map[string]bool{}
	for i, st := range stanzas {
		keys[i] = st.Filename + "\x00" + st.SHA256 + "\x00" + stanzaField(st.Text, "MD5sum") + fmt.Sprint("\x00", st.Size)
		if !v.poolOK[keys[i]] && !seen[keys[i]] {
			seen[keys[i]] = true
			todo = append(todo, i)
		}
	}
	whats := make([]string, len(todo))
	err := parallel(len(todo), func(j int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		whats[j] = v.r.checkPoolFile(ctx, stanzas[todo[j]])
		return nil
	})
	if err != nil {
		return nil, err
	}
	bad := map[string]string{}
	for j, i := range todo {
		if whats[j] == "" {
			v.poolOK[keys[i]] = true
		} else {
			bad[keys[i]] = whats[j]
		}
	}
	found := make([]string, len(stanzas))
	for i := range stanzas {
		found[i] = bad[keys[i]]
	}
	return found, nil
}

// checkPoolFile compares a pool file with its index entry.
func (r *Repo) checkPoolFile(ctx context.Context, st *Stanza) string {
	rc, err := r.st.Get(ctx, st.Filename)
	if err != nil {
		return err.Error()
	}
	defer rc.Close()
	h256, h5 := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(h256, h5), rc)
	if err != nil {
		return err.Error()
	}
	if n != st.Size {
		return fmt.Sprintf("size %d, the index says %d", n, st.Size)
	}
	if got := hex.EncodeToString(h256.Sum(nil)); got != st.SHA256 {
		return fmt.Sprintf("sha256 %s, the index says %s", got, st.SHA256)
	}
	if want := stanzaField(st.Text, "MD5sum"); want != "" && hex.EncodeToString(h5.Sum(nil)) != want {
		return "md5sum differs from the index"
	}
	return ""
}

func stanzaField(text []byte, name string) string {
	for _, line := range strings.Split(string(text), "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return v
		}
	}
	return ""
}
