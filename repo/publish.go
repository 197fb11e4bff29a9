package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/debflow/debflow/internal/debfile"
	"github.com/debflow/debflow/internal/debian"
)

// PublishOptions say where packages go and how the suite is kept.
type PublishOptions struct {
	Suite     string // default "development"
	Component string // default "main"
	// Keep keeps the newest Keep versions of each package and architecture
	// in the suite; 0 keeps everything.
	Keep int
	// IndexCompression overrides the repository's list ("gz", "xz").
	IndexCompression []string
	// ValidFor writes Valid-Until = Date + ValidFor; 0 keeps the suite's
	// setting, a negative value removes it.
	ValidFor    time.Duration
	LockTimeout time.Duration
	// CreateSuite allows publishing into a suite that does not exist yet
	// (development and the first stage need no permission).
	CreateSuite bool
}

// PublishResult says what a publish did.
type PublishResult struct {
	Suite      string   `json:"suite"`
	Generation int64    `json:"generation"`
	Added      []string `json:"added"`               // NAME_VERSION_ARCH
	Unchanged  []string `json:"unchanged,omitempty"` // already published, identical
	Removed    []string `json:"removed,omitempty"`   // dropped by Keep
	PoolFreed  []string `json:"pool_freed,omitempty"`
}

// Publish adds packages to a rolling suite, all or nothing. Republishing
// an identical file is a no-op; a different file under a name, version and
// architecture the suite (or the pool) already has is refused with
// ErrConflict and nothing changes. Each package in pkgs keeps the index
// stanza made for it (see Package).
func (r *Repo) Publish(ctx context.Context, pkgs []Package, opts PublishOptions) (*PublishResult, error) {
	if opts.Suite == "" {
		opts.Suite = "development"
	}
	if opts.Component == "" {
		opts.Component = "main"
	}
	if opts.LockTimeout == 0 {
		opts.LockTimeout = DefaultLockTimeout
	}
	if err := ValidSuiteName(opts.Suite); err != nil {
		return nil, err
	}
	if err := ValidComponent(opts.Component); err != nil {
		return nil, err
	}
	if opts.Keep < 0 {
		return nil, fmt.Errorf("--keep %d: must be 0 (keep all) or more", opts.Keep)
	}
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	batch, err := dedupe(pkgs)
	if err != nil {
		return nil, err
	}
	var res *PublishResult
	err = r.lockedCreate(ctx, opts.LockTimeout, nil, func(ctx context.Context) error {
		res, err = r.publishLocked(ctx, batch, opts)
		return err
	})
	return res, err
}

// dedupe drops repeated identical files from a batch and refuses two
// different files for one name, version and architecture.
func dedupe(pkgs []Package) ([]*Package, error) {
	seen := make(map[Key]*Package, len(pkgs))
	out := make([]*Package, 0, len(pkgs))
	for i := range pkgs {
		p := &pkgs[i]
		k := Key{p.Info.Package, p.Info.Version, p.Info.Architecture}
		if q, dup := seen[k]; dup {
			if q.Info.SHA256 != p.Info.SHA256 {
				return nil, fmt.Errorf("%w: %s and %s are different files for %s", ErrConflict, q.Path, p.Path, k)
			}
			continue
		}
		seen[k] = p
		out = append(out, p)
	}
	return out, nil
}

func (r *Repo) publishLocked(ctx context.Context, pkgs []*Package, opts PublishOptions) (*PublishResult, error) {
	cfg, _, err := r.loadConfig(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Keep > 0 { // --keep may free pool files: the records must be whole
		names, err := r.suiteNames(ctx)
		if err != nil {
			return nil, err
		}
		if err := r.checkRecordsServed(ctx, names); err != nil {
			return nil, err
		}
	}
	if len(opts.IndexCompression) == 0 {
		opts.IndexCompression = cfg.IndexCompression
	}
	s, err := r.loadSuite(ctx, cfg, opts.Suite)
	if err != nil {
		return nil, err
	}
	if i := slices.Index(cfg.Stages, s.name); i > 0 {
		return nil, fmt.Errorf("%w: %s is a stage, fed by promote; publish into %s", ErrConflict, s.name, cfg.Stages[0])
	}
	if s.state.Kind != KindRolling {
		return nil, fmt.Errorf("%w: %s is a %s suite; publish feeds rolling suites only", ErrConflict, s.name, s.state.Kind)
	}
	if err := r.checkNewSuite(ctx, cfg, s, opts.CreateSuite); err != nil {
		return nil, err
	}
	res := &PublishResult{Suite: s.name}

	// Which architecture indexes each package goes into.
	arches := map[string]bool{}
	for _, a := range suiteArchitectures(cfg, s.release) {
		arches[a] = true
	}
	for _, p := range pkgs {
		if a := p.Info.Architecture; a != "all" {
			arches[a] = true
		}
	}
	targets := func(arch string) []string {
		if arch != "all" {
			return []string{arch}
		}
		return slices.Sorted(maps.Keys(arches))
	}

	// A new architecture index starts with the suite's Architecture: all
	// packages, which belong in every index.
	if err := r.seedNewArchitectures(ctx, s, opts.Component, arches); err != nil {
		return nil, err
	}

	// Decide, before writing anything, what is new: the batch's names are
	// looked up in each index at once.
	if len(pkgs) > 1 {
		names := make([]string, len(pkgs))
		for i, p := range pkgs {
			names[i] = p.Info.Package
		}
		for arch := range arches {
			if _, ok := s.release.Files[indexDir(opts.Component, arch)+"/Packages"]; !ok {
				continue
			}
			idx, err := r.index(ctx, s, opts.Component, arch)
			if err != nil {
				return nil, err
			}
			idx.parseNames(names)
		}
	}
	var news []*Package
	for _, p := range pkgs {
		info := p.Info
		k := Key{info.Package, info.Version, info.Architecture}
		var existing *Stanza
		for _, arch := range targets(info.Architecture) {
			idx, err := r.index(ctx, s, opts.Component, arch)
			if err != nil {
				return nil, err
			}
			if st := idx.Get(k); st != nil {
				existing = st
				break
			}
		}
		if existing == nil {
			// The conflict rule holds across components: one content per
			// name, version and architecture in a suite.
			if existing, err = r.inOtherComponent(ctx, s, opts.Component, k, targets); err != nil {
				return nil, err
			}
			if existing != nil && existing.SHA256 != info.SHA256 {
				return nil, fmt.Errorf("%w: %s: %s is already published in %s with other contents, in another component (%s); publish it under a new version",
					ErrConflict, p.Path, k, s.name, existing.Filename)
			}
		}
		if existing != nil && existing.SHA256 != info.SHA256 {
			same, err := r.sameButSignature(ctx, existing.Filename, p)
			if err != nil {
				return nil, err
			}
			if same {
				res.Unchanged = append(res.Unchanged, k.String())
				continue
			}
		}
		if existing != nil {
			if existing.SHA256 != info.SHA256 {
				return nil, fmt.Errorf("%w: %s: %s is already published in %s with other contents (sha256 %s, this file %s); publish it under a new version",
					ErrConflict, p.Path, k, s.name, existing.SHA256, info.SHA256)
			}
			res.Unchanged = append(res.Unchanged, k.String())
			continue
		}
		news = append(news, p)
	}
	// The new packages' pool paths must be free (a look-up each, on every
	// core), and their stanzas are made.
	adds := make([]*Stanza, len(news))
	errs := make([]error, len(news))
	parallel(len(news), func(i int) error {
		p := news[i]
		pool := PoolPath(opts.Component, p.Info.Package, p.Info.Version, p.Info.Architecture)
		if err := r.checkPoolFree(ctx, pool, p.Info); err != nil {
			errs[i] = fmt.Errorf("%s: %w", p.Path, err)
		} else if adds[i], err = p.stanza(pool); err != nil {
			errs[i] = fmt.Errorf("%s: %w", p.Path, err)
		}
		return nil
	})
	for _, err := range errs { // the first in the batch's order
		if err != nil {
			return nil, err
		}
	}
	var touched map[Key]bool // package+arch pairs whose retention must be applied
	if opts.Keep > 0 {
		touched = map[Key]bool{}
		for _, st := range adds {
			touched[Key{Package: st.Package, Architecture: st.Architecture}] = true
		}
	}

	// New architectures and a first publish need their (maybe empty)
	// indexes even when nothing else changes.
	for arch := range arches {
		dir := indexDir(opts.Component, arch)
		if _, ok := s.release.Files[dir+"/Packages"]; !ok {
			if _, err := r.index(ctx, s, opts.Component, arch); err != nil {
				return nil, err
			}
			s.changed[dir] = true
		}
	}
	if len(adds) == 0 && len(s.changed) == 0 && s.exists && opts.ValidFor == 0 {
		res.Generation = s.state.Generation
		return res, nil // nothing to do: every file was there already
	}

	// A wrong clock is refused before anything is written.
	if err := r.precheckDates(s, opts.ValidFor); err != nil {
		return nil, err
	}
	// Immutable objects first: the pool files.
	if err := parallel(len(adds), func(i int) error { return r.storePackage(ctx, adds[i].Filename, news[i]) }); err != nil {
		return nil, err
	}
	// Every target index has been searched for these packages (Get,
	// above) and holds none of them, so they go in without another search
	// (put, not Put), and the names that search remembered are forgotten.
	for _, st := range adds {
		for _, arch := range targets(st.Architecture) {
			idx, _ := r.index(ctx, s, opts.Component, arch)
			idx.put(st)
			s.changed[indexDir(opts.Component, arch)] = true
		}
	}
	for _, idx := range s.indexes {
		idx.looked = nil
	}

	dropped := r.applyKeep(s, opts.Component, touched, opts.Keep, targets)
	for _, st := range dropped {
		res.Removed = append(res.Removed, st.Key().String())
	}

	files, err := renderIndexes(s, opts.IndexCompression)
	if err != nil {
		return nil, err
	}
	validFor := time.Duration(s.state.ValidFor)
	switch {
	case opts.ValidFor > 0:
		validFor = opts.ValidFor
	case opts.ValidFor < 0:
		validFor = 0
	}
	if err := r.commit(ctx, cfg, s, files, validFor, nil); err != nil {
		return nil, err
	}
	res.Generation = s.state.Generation
	// The indexes are published: their pieces go before the result's
	// names are made, which are not held through the render either.
	s.indexes, files = nil, nil
	res.Added = make([]string, len(adds))
	for i, st := range adds {
		res.Added[i] = st.Key().String()
	}

	freed, err := r.freePool(ctx, s.name, dropped)
	if err != nil {
		return res, fmt.Errorf("published, but cleaning the pool failed: %w", err)
	}
	res.PoolFreed = freed
	return res, nil
}

// inOtherComponent finds k in the suite's components other than comp.
func (r *Repo) inOtherComponent(ctx context.Context, s *suite, comp string, k Key, targets func(string) []string) (*Stanza, error) {
	for _, c := range suiteComponents(s.release) {
		if c == comp {
			continue
		}
		for _, arch := range targets(k.Architecture) {
			if _, ok := s.release.Files[indexDir(c, arch)+"/Packages"]; !ok {
				continue
			}
			idx, err := r.index(ctx, s, c, arch)
			if err != nil {
				return nil, err
			}
			if st := idx.Get(k); st != nil {
				return st, nil
			}
		}
	}
	return nil, nil
}

// seedNewArchitectures copies the Architecture: all packages of the
// component into indexes of architectures the suite does not have yet.
func (r *Repo) seedNewArchitectures(ctx context.Context, s *suite, component string, arches map[string]bool) error {
	var existing string
	var missing []string
	for _, arch := range slices.Sorted(maps.Keys(arches)) {
		if _, ok := s.release.Files[indexDir(component, arch)+"/Packages"]; ok {
			existing = arch
		} else {
			missing = append(missing, arch)
		}
	}
	if existing == "" || len(missing) == 0 {
		return nil
	}
	from, err := r.index(ctx, s, component, existing)
	if err != nil {
		return err
	}
	for _, arch := range missing {
		idx, err := r.index(ctx, s, component, arch)
		if err != nil {
			return err
		}
		for _, st := range from.Stanzas() {
			if st.Architecture == "all" {
				idx.Put(st)
			}
		}
		s.changed[indexDir(component, arch)] = true
	}
	return nil
}

// applyKeep drops all but the newest keep versions of each touched
// package and architecture, and returns the dropped stanzas. Only the
// packages this publish touched are looked at, so the cost follows the
// change.
func (r *Repo) applyKeep(s *suite, component string, touched map[Key]bool, keep int, targets func(string) []string) []*Stanza {
	if keep == 0 {
		return nil
	}
	var dropped []*Stanza
	for pk := range touched {
		arches := targets(pk.Architecture)
		idx := s.indexes[indexDir(component, arches[0])]
		var versions []*Stanza
		for _, st := range idx.byName(pk.Package) {
			if st.Architecture == pk.Architecture {
				versions = append(versions, st)
			}
		}
		if len(versions) <= keep {
			continue
		}
		sort.Slice(versions, func(i, j int) bool { return debian.CompareVersions(versions[i].Version, versions[j].Version) > 0 })
		for _, st := range versions[keep:] {
			for _, arch := range arches {
				s.indexes[indexDir(component, arch)].Delete(st.Key())
				s.changed[indexDir(component, arch)] = true
			}
			dropped = append(dropped, st)
		}
	}
	sort.Slice(dropped, func(i, j int) bool { return lessStanza(dropped[i], dropped[j]) })
	return dropped
}

// checkPoolFree makes sure the pool path is free, or holds this very
// file (left by an interrupted publish, or published to another suite).
// This is the only place an already-stored package is read again, and only
// when its name, version and architecture come back.
func (r *Repo) checkPoolFree(ctx context.Context, pool string, info *debfile.Info) error {
	oi, err := r.st.Stat(ctx, pool)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if oi.Size == info.Size {
		rc, err := r.st.Get(ctx, pool)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("reading %s: %w", pool, err)
		}
		if hex.EncodeToString(h.Sum(nil)) == info.SHA256 {
			return nil
		}
	}
	return fmt.Errorf("%w: the pool already holds a different %s; publish it under a new version", ErrConflict, pool)
}

// putStatter is implemented by storages that can store an object and say
// what they then hold in one request (S3: the server checks the body's
// checksum before it stores it), where Put and Stat would be two.
type putStatter interface {
	PutStat(ctx context.Context, name string, r io.Reader) (ObjectInfo, error)
}

// storePackage stores a package's checked bytes in the pool, and makes
// sure the stored object has the size the index will list.
func (r *Repo) storePackage(ctx context.Context, name string, p *Package) error {
	rc, err := p.content()
	if err != nil {
		return err
	}
	defer rc.Close()
	var oi ObjectInfo
	if ps, ok := r.st.(putStatter); ok {
		oi, err = ps.PutStat(ctx, name, rc)
	} else if err = r.st.Put(ctx, name, rc); err == nil {
		oi, err = r.st.Stat(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("storing %s: %w", p.Path, err)
	}
	if oi.Size != p.Info.Size {
		return fmt.Errorf("storing %s: the storage holds %d bytes at %s, %d were written", p.Path, oi.Size, name, p.Info.Size)
	}
	// The stored bytes are the checked ones: a regular file need not be
	// held open any longer (a batch holds thousands until its commit); a
	// later read opens it again and checks its hash.
	if !p.private {
		return p.Close()
	}
	return nil
}

// PoolPath is where a package lives in the pool, shared by all suites:
// pool/COMPONENT/PREFIX/NAME/NAME_VERSION_ARCH.deb, where PREFIX is the
// first letter, or four for lib* packages, as in Debian. The epoch is left
// out of the file name, as dpkg-name does.
func PoolPath(component, name, version, arch string) string {
	prefix := name[:1]
	if strings.HasPrefix(name, "lib") && len(name) > 3 {
		prefix = name[:4]
	}
	if i := strings.IndexByte(version, ':'); i >= 0 {
		version = version[i+1:]
	}
	return fmt.Sprintf("pool/%s/%s/%s/%s_%s_%s.deb", component, prefix, name, name, version, arch)
}

// parallel runs fn(0..n-1) on up to GOMAXPROCS goroutines and returns the
// first error.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), n)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     int
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				if next >= n || firstErr != nil {
					mu.Unlock()
					return
				}
				i := next
				next++
				mu.Unlock()
				if err := fn(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}
