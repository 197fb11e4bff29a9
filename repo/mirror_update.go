package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	aptlydeb "github.com/aptly-dev/aptly/deb"
	"github.com/aptly-dev/aptly/query"

	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/signing"
	"github.com/debflow/debflow/snapshot"
)

// MirrorUpdateOptions control UpdateMirror.
type MirrorUpdateOptions struct {
	LockTimeout time.Duration
	// Timeout bounds each upstream request: connecting, the response
	// headers, and any stall in the body (default DefaultMirrorTimeout).
	Timeout time.Duration
	// Parallel is the number of concurrent downloads (default 4).
	Parallel int
	// ValidFor sets the suite's Valid-Until = Date + ValidFor; 0 keeps
	// the suite's setting (a new mirror takes development's), negative
	// removes it.
	ValidFor time.Duration
	// Client replaces the HTTP client (tests).
	Client *http.Client
}

// MirrorResult says what an update did.
type MirrorResult struct {
	Mirror     string `json:"mirror"`
	Unchanged  bool   `json:"unchanged"` // upstream's Release was the one mirrored already
	Generation int64  `json:"generation"`
	Packages   int    `json:"packages"`
	Downloaded int    `json:"downloaded"`
	Bytes      int64  `json:"bytes"`
	// Requests counts the requests made to the upstream.
	Requests   int64    `json:"requests"`
	Unresolved []string `json:"unresolved"`
	Warnings   []string `json:"warnings"`
}

// upstreamPkg is one package of the upstream selection.
type upstreamPkg struct {
	stanza    *Stanza // upstream's, Filename upstream's
	component string
	pool      string // where it goes in our pool
}

// UpdateMirror brings the mirror suite dists/NAME/ up to date with its
// upstream. The upstream Release must verify with the recorded keyring and
// every index and package must match its listed size and SHA256; a failure
// leaves the served mirror suite unchanged, and the message names the
// file. Only pool files not already stored are downloaded (in parallel,
// each request bounded by opts.Timeout); checked files stay in the pool,
// so an interrupted update resumes where it stopped. The network work runs
// before the repository lock is taken; the suite is committed under it in
// the same order as a publish.
func (r *Repo) UpdateMirror(ctx context.Context, name string, opts MirrorUpdateOptions) (*MirrorResult, error) {
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	m, err := r.LoadMirror(ctx, name)
	if err != nil {
		return nil, err
	}
	if err := m.Check(cfg); err != nil {
		return nil, fmt.Errorf("mirror %s: %w", name, err)
	}
	f, err := newFetcher(m.URL, opts.Client, opts.Timeout)
	if err != nil {
		return nil, err
	}
	res := &MirrorResult{Mirror: name, Unresolved: []string{}, Warnings: []string{}}
	defer func() { res.Requests = f.requests.Load() }()
	if m.IgnoreSignatures {
		w := fmt.Sprintf("mirror %s: --ignore-signatures: upstream's signature is NOT checked (only hashes are); anyone who can alter %s can put packages on the fleet", name, m.URL)
		res.Warnings = append(res.Warnings, w)
	}

	var prev SuiteState
	if _, err := readJSON(ctx, r.st, suiteStateName(name), &prev); err != nil {
		return nil, err
	}
	if prev.Kind != "" && prev.Kind != KindMirror {
		return nil, fmt.Errorf("%w: %s is a %s suite, not a mirror", ErrConflict, name, prev.Kind)
	}

	rel, relSum, err := r.fetchUpstreamRelease(ctx, f, m)
	if err != nil {
		return res, err
	}
	if prev.Mirror != nil && prev.Mirror.Upstream == relSum && prev.Mirror.Definition == m.hash() {
		res.Unchanged, res.Generation, res.Packages, res.Requests = true, prev.Generation, prev.Mirror.Packages, f.requests.Load()
		res.Unresolved = append(res.Unresolved, prev.Mirror.Unresolved...)
		return res, nil
	}
	if !rel.ValidUntil.IsZero() && rel.ValidUntil.Before(r.now()) {
		return res, fmt.Errorf("%w: %s: upstream's Release expired at %s (Valid-Until)", ErrUpstreamVerify, upstreamRelName(m, "Release"), rel.ValidUntil.UTC().Format(time.RFC3339))
	}
	if prev.Mirror != nil && rel.Date.Before(prev.Mirror.UpstreamDate) {
		return res, fmt.Errorf("%w: %s: upstream's Release is dated %s, older than the %s already mirrored (a replayed or rolled-back upstream)",
			ErrUpstreamVerify, upstreamRelName(m, "Release"), rel.Date.UTC().Format(time.RFC3339), prev.Mirror.UpstreamDate.UTC().Format(time.RFC3339))
	}

	all, err := r.fetchUpstreamIndexes(ctx, f, m, rel)
	if err != nil {
		return res, err
	}
	selected, unresolved, err := r.selectMirrored(ctx, cfg, m, all)
	if err != nil {
		return res, err
	}
	res.Unresolved = append(res.Unresolved, unresolved...)

	// Rewrite each stanza's Filename to our pool, and decide what to fetch.
	var old *suite
	if prev.Kind == KindMirror {
		if old, err = r.loadSuiteReadOnly(ctx, cfg, name); err != nil {
			return res, err
		}
	}
	var fetch []*upstreamPkg
	stanzas := map[Key]*Stanza{}
	for _, k := range slices.SortedFunc(maps.Keys(selected), func(a, b Key) int { return strings.Compare(a.String(), b.String()) }) {
		u := selected[k]
		u.pool = PoolPath(u.component, k.Package, k.Version, k.Architecture)
		st, err := parseStanza(setField(u.stanza.Text, "Filename", u.pool))
		if err != nil {
			return res, fmt.Errorf("%w: %s: %w", ErrUpstream, k, err)
		}
		stanzas[k] = st
		need, err := r.needsFetch(ctx, cfg, old, u)
		if err != nil {
			return res, err
		}
		if need {
			fetch = append(fetch, u)
		}
	}
	n, size, err := r.download(ctx, f, m, fetch, opts.Parallel)
	res.Downloaded, res.Bytes = n, size
	if err != nil {
		return res, err
	}

	err = r.locked(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		// A gc between the download and the lock may have removed files
		// that no suite listed yet: fetch those again.
		var again []*upstreamPkg
		for _, u := range selected {
			oi, err := r.st.Stat(ctx, u.pool)
			if errors.Is(err, fs.ErrNotExist) || err == nil && oi.Size != u.stanza.Size {
				again = append(again, u)
			} else if err != nil {
				return err
			}
		}
		if _, _, err := r.download(ctx, f, m, again, opts.Parallel); err != nil {
			return err
		}
		s, err := r.loadSuite(ctx, cfg, name)
		if err != nil {
			return err
		}
		if s.exists && s.state.Kind != KindMirror {
			return fmt.Errorf("%w: %s is a %s suite, not a mirror", ErrConflict, name, s.state.Kind)
		}
		validFor, err := r.mirrorValidFor(ctx, cfg, s, opts.ValidFor)
		if err != nil {
			return err
		}
		for _, comp := range m.Components {
			for _, arch := range m.Architectures {
				idx := NewIndex()
				for k, st := range stanzas {
					if selected[k].component == comp && (k.Architecture == arch || k.Architecture == "all") {
						idx.Put(st)
					}
				}
				// A mirror's index is always written whole, sorted: the
				// Release's hash of the plain text says whether it changed.
				dir := indexDir(comp, arch)
				cur, listed := s.release.Files[dir+"/Packages"]
				if sum := hashSHA256(idx.Bytes()); !listed || sum.SHA256 != cur.SHA256 || sum.Size != cur.Size {
					s.indexes[dir] = idx
					s.changed[dir] = true
				}
			}
		}
		files, err := renderIndexes(s, cfg.IndexCompression)
		if err != nil {
			return err
		}
		if err := r.precheckDates(s, validFor); err != nil {
			return err
		}
		s.state.Kind = KindMirror
		s.state.Mirror = &MirrorState{Upstream: relSum, Definition: m.hash(), UpstreamDate: rel.Date,
			Packages: len(stanzas), Unresolved: unresolved, IgnoredSignatures: m.IgnoreSignatures}
		archs := m.Architectures
		desc := "mirror of " + m.URL + " " + m.Suite
		if err := r.commit(ctx, cfg, s, files, validFor, func(_, rel *Release) {
			rel.Architectures = archs
			rel.Description = desc
		}); err != nil {
			return err
		}
		res.Generation = s.state.Generation
		res.Packages = len(stanzas)
		return nil
	})
	return res, err
}

// mirrorValidFor is the validity a mirror's Release gets: the one asked
// for, else the suite's own, else (a new mirror) development's, so that the
// mirror keeps the repository's Valid-Until rather than upstream's.
func (r *Repo) mirrorValidFor(ctx context.Context, cfg Config, s *suite, asked time.Duration) (time.Duration, error) {
	switch {
	case asked > 0:
		return asked, nil
	case asked < 0:
		return 0, nil
	case s.exists:
		return time.Duration(s.state.ValidFor), nil
	}
	var dev SuiteState
	if _, err := readJSON(ctx, r.st, suiteStateName(cfg.Stages[0]), &dev); err != nil {
		return 0, err
	}
	return time.Duration(dev.ValidFor), nil
}

func upstreamRelName(m *Mirror, file string) string {
	return strings.TrimRight(m.URL, "/") + "/dists/" + m.Suite + "/" + file
}

// fetchUpstreamRelease gets and verifies upstream's InRelease, or Release
// and Release.gpg when there is no InRelease. It returns the Release and
// the SHA256 of what was fetched.
func (r *Repo) fetchUpstreamRelease(ctx context.Context, f *fetcher, m *Mirror) (*Release, string, error) {
	var kr *signing.Keyring
	if m.Keyring != "" {
		var err error
		if kr, err = signing.ReadKeyring([]byte(m.Keyring)); err != nil {
			return nil, "", fmt.Errorf("mirror %s: recorded keyring: %w", m.Name, err)
		}
	}
	dir := "dists/" + m.Suite + "/"
	h := sha256.New()
	var text []byte
	in, err := f.get(ctx, dir+"InRelease")
	switch {
	case err == nil:
		h.Write(in)
		if m.IgnoreSignatures {
			if text = clearsignedText(in); text == nil {
				return nil, "", fmt.Errorf("%w: %s: not a clearsigned document", ErrUpstreamVerify, upstreamRelName(m, "InRelease"))
			}
		} else if text, _, err = kr.VerifyClearsigned(in); err != nil {
			return nil, "", fmt.Errorf("%w: %s: %w", ErrUpstreamVerify, upstreamRelName(m, "InRelease"), err)
		}
	case errors.Is(err, fs.ErrNotExist):
		if text, err = f.get(ctx, dir+"Release"); err != nil {
			return nil, "", err
		}
		h.Write(text)
		if !m.IgnoreSignatures {
			sig, err := f.get(ctx, dir+"Release.gpg")
			if err != nil {
				return nil, "", err
			}
			h.Write(sig)
			if _, err := kr.VerifyDetached(bytes.NewReader(text), sig); err != nil {
				return nil, "", fmt.Errorf("%w: %s: %w", ErrUpstreamVerify, upstreamRelName(m, "Release.gpg"), err)
			}
		}
	default:
		return nil, "", err
	}
	rel, err := ParseRelease(text)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %s: %w", ErrUpstreamVerify, upstreamRelName(m, "Release"), err)
	}
	return rel, hex.EncodeToString(h.Sum(nil)), nil
}

// fetchUpstreamIndexes fetches the Packages index of each component and
// architecture (xz, else gz, else plain, as the Release lists them), checks
// it against the Release, and returns every package, once.
func (r *Repo) fetchUpstreamIndexes(ctx context.Context, f *fetcher, m *Mirror, rel *Release) (map[Key]*upstreamPkg, error) {
	all := map[Key]*upstreamPkg{}
	for _, comp := range m.Components {
		for _, arch := range m.Architectures {
			base := comp + "/binary-" + arch + "/Packages"
			var name string
			var format compress.Format
			for _, c := range []struct {
				ext string
				f   compress.Format
			}{{".xz", compress.Xz}, {".gz", compress.Gzip}, {"", compress.None}} {
				if _, ok := rel.Files[base+c.ext]; ok {
					name, format = base+c.ext, c.f
					break
				}
			}
			if name == "" {
				return nil, fmt.Errorf("%w: %s lists no %s (is %s/%s mirrored upstream?)", ErrUpstream, upstreamRelName(m, "Release"), base, comp, arch)
			}
			want := rel.Files[name]
			if want.SHA256 == "" {
				return nil, fmt.Errorf("%w: %s lists no SHA256 for %s", ErrUpstreamVerify, upstreamRelName(m, "Release"), name)
			}
			where := upstreamRelName(m, name)
			data, err := f.get(ctx, "dists/"+m.Suite+"/"+name)
			if err != nil {
				return nil, err
			}
			if sum := sha256.Sum256(data); int64(len(data)) != want.Size || hex.EncodeToString(sum[:]) != want.SHA256 {
				return nil, fmt.Errorf("%w: %s: size %d SHA256 %x, the Release lists size %d SHA256 %s", ErrUpstreamVerify, where, len(data), sum, want.Size, want.SHA256)
			}
			zr, err := compress.NewReader(bytes.NewReader(data), format)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrUpstream, where, err)
			}
			plain, err := io.ReadAll(compress.LimitReader(zr, maxMetaSize))
			zr.Close()
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrUpstream, where, err)
			}
			idx, err := ParseIndex(plain)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrUpstream, where, err)
			}
			for k, st := range idx.stanzaMap() {
				if st.Size <= 0 {
					return nil, fmt.Errorf("%w: %s: %s lists no Size", ErrUpstream, where, k)
				}
				if o := all[k]; o != nil {
					if o.stanza.SHA256 != st.SHA256 {
						return nil, fmt.Errorf("%w: %s: %s is listed with two different SHA256 sums upstream", ErrUpstream, where, k)
					}
					continue
				}
				all[k] = &upstreamPkg{stanza: st, component: comp}
			}
		}
	}
	return all, nil
}

// selectMirrored applies the filter and, with WithDeps, the dependency
// closure over the upstream packages, the packages of the DepsFrom suites
// satisfying dependencies too.
func (r *Repo) selectMirrored(ctx context.Context, cfg Config, m *Mirror, all map[Key]*upstreamPkg) (map[Key]*upstreamPkg, []string, error) {
	if m.Filter == "" && !m.WithDeps {
		return all, nil, nil
	}
	selected := map[Key]*upstreamPkg{}
	if m.Filter == "" {
		maps.Copy(selected, all)
	} else {
		q, err := query.Parse(m.Filter)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: mirror %s: filter %q: %w", ErrInput, m.Name, m.Filter, err)
		}
		for k, u := range all {
			st, err := aptlydeb.NewControlFileReader(bytes.NewReader(u.stanza.Text), false, false).ReadStanza()
			if err != nil || st == nil {
				return nil, nil, fmt.Errorf("%w: %s: %w", ErrUpstream, k, err)
			}
			if q.Matches(aptlydeb.NewPackageFromControlFile(st)) {
				selected[k] = u
			}
		}
	}
	if !m.WithDeps {
		return selected, nil, nil
	}
	var others []snapshot.Package
	for _, d := range m.DepsFrom {
		if d == m.Name {
			continue
		}
		s, err := r.loadExisting(ctx, cfg, d)
		if err != nil {
			return nil, nil, fmt.Errorf("mirror %s: --deps-from: %w", m.Name, err)
		}
		c, err := r.contents(ctx, s)
		if err != nil {
			return nil, nil, err
		}
		others = append(others, c.list()...)
	}
	pkg := relationFields
	var roots, cands []snapshot.Package
	for _, u := range selected {
		roots = append(roots, pkg(u.stanza))
	}
	for _, u := range all {
		cands = append(cands, pkg(u.stanza))
	}
	c := snapshot.Closure(roots, cands, others, m.Architectures)
	for _, p := range c.Add {
		k := Key{p.Name, p.Version, p.Arch}
		selected[k] = all[k]
	}
	return selected, c.Unresolved, nil
}

// needsFetch decides whether a package must be downloaded: not when the
// mirror already lists it with the same SHA256 and the pool holds a file
// of its size, nor when the pool holds exactly its bytes (published
// elsewhere, or left by an interrupted update). A different file at its
// pool path is a conflict.
func (r *Repo) needsFetch(ctx context.Context, cfg Config, old *suite, u *upstreamPkg) (bool, error) {
	oi, err := r.st.Stat(ctx, u.pool)
	if errors.Is(err, fs.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	if old != nil && oi.Size == u.stanza.Size {
		k := u.stanza.Key()
		for _, arch := range old.release.Architectures {
			if _, ok := old.release.Files[indexDir(u.component, arch)+"/Packages"]; !ok {
				continue
			}
			idx, err := r.index(ctx, old, u.component, arch)
			if err != nil {
				return false, err
			}
			if st := idx.Get(k); st != nil && st.SHA256 == u.stanza.SHA256 {
				return false, nil
			}
		}
	}
	rc, err := r.st.Get(ctx, u.pool)
	if err != nil {
		return false, err
	}
	h := sha256.New()
	_, err = io.Copy(h, rc)
	rc.Close()
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", u.pool, err)
	}
	if hex.EncodeToString(h.Sum(nil)) == u.stanza.SHA256 {
		return false, nil
	}
	return false, fmt.Errorf("%w: the pool already holds a different %s than upstream's %s (another package under the same name, version and architecture)",
		ErrConflict, u.pool, u.stanza.Key())
}

// download fetches packages into the pool, parallel workers at a time.
// Each is checked against its upstream size and SHA256 while it streams
// into the storage's Put, which stores nothing when the check fails.
func (r *Repo) download(ctx context.Context, f *fetcher, m *Mirror, pkgs []*upstreamPkg, parallel int) (int, int64, error) {
	if len(pkgs) == 0 {
		return 0, 0, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu    sync.Mutex
		n     int
		bytes int64
		first error
		wg    sync.WaitGroup
		next  = make(chan *upstreamPkg)
	)
	for range min(parallel, len(pkgs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range next {
				err := r.fetchPackage(ctx, f, m, u)
				mu.Lock()
				if err != nil && first == nil {
					first = err
					cancel()
				} else if err == nil {
					n++
					bytes += u.stanza.Size
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, u := range pkgs {
		select {
		case next <- u:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if n > 0 {
		fmt.Fprintf(r.log, "mirror %s: downloaded %d packages (%d bytes)\n", m.Name, n, bytes)
	}
	return n, bytes, first
}

func (r *Repo) fetchPackage(ctx context.Context, f *fetcher, m *Mirror, u *upstreamPkg) error {
	where := strings.TrimRight(m.URL, "/") + "/" + u.stanza.Filename
	if strings.Contains(u.stanza.Filename, "..") || strings.HasPrefix(u.stanza.Filename, "/") {
		return fmt.Errorf("%w: %s: unsafe Filename %q", ErrUpstream, u.stanza.Key(), u.stanza.Filename)
	}
	rc, err := f.open(ctx, u.stanza.Filename)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := r.st.Put(ctx, u.pool, newVerifiedDownload(rc, where, u.stanza.Size, u.stanza.SHA256)); err != nil {
		return fmt.Errorf("%s: %w", u.stanza.Key(), err)
	}
	return nil
}

// setField replaces the value of a single-line field in a stanza.
func setField(text []byte, name, value string) []byte {
	var out bytes.Buffer
	out.Grow(len(text) + len(value))
	prefix := name + ":"
	for _, line := range bytes.SplitAfter(text, []byte("\n")) {
		if len(line) > len(prefix) && strings.EqualFold(string(line[:len(prefix)]), prefix) {
			out.WriteString(name + ": " + value + "\n")
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}
