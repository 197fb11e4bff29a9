package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/aptly-dev/aptly/query"

	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/signing"
)

// KindMirror is the kind of a suite that mirrors an upstream repository.
const KindMirror = "mirror"

const mirrorsDir = metaDir + "mirrors/"

func mirrorDefName(name string) string { return mirrorsDir + name + ".json" }

// ErrNoMirror: no mirror of that name is defined.
var ErrNoMirror = errors.New("no such mirror")

// Mirror is the definition of a filtered mirror of an upstream apt
// repository, recorded in the tree (.debflow/mirrors/NAME.json). The
// mirror is served as the suite dists/NAME/, signed with the repository's
// key and carrying its Origin, Label and Codename.
type Mirror struct {
	Name          string   `json:"name"`
	URL           string   `json:"url"`   // the upstream repository root (http://, https://, file://)
	Suite         string   `json:"suite"` // upstream's dists/SUITE
	Components    []string `json:"components"`
	Architectures []string `json:"architectures"`
	// Filter selects packages in aptly's query syntax ("" takes all).
	Filter string `json:"filter,omitempty"`
	// WithDeps adds what the selected packages need (Depends,
	// Pre-Depends) from upstream, unless DepsFrom already provides it.
	WithDeps bool `json:"with_deps,omitempty"`
	// DepsFrom names the suites and mirrors a combined snapshot will put
	// next to this mirror: their packages satisfy dependencies too.
	DepsFrom []string `json:"deps_from,omitempty"`
	// Keyring holds the armored public keys upstream must be signed with.
	Keyring string `json:"keyring,omitempty"`
	// IgnoreSignatures mirrors without checking upstream's signature
	// (hashes are still checked). Every update warns about it.
	IgnoreSignatures bool      `json:"ignore_signatures,omitempty"`
	Created          time.Time `json:"created"`
}

// MirrorState is what a mirror suite's record keeps about its upstream.
type MirrorState struct {
	// Upstream is the SHA256 of the signed upstream Release it was made
	// from: an unchanged upstream costs one request.
	Upstream string `json:"upstream"`
	// Definition is the SHA256 of the definition it was made with.
	Definition   string    `json:"definition"`
	UpstreamDate time.Time `json:"upstream_date"`
	Packages     int       `json:"packages"`
	Unresolved   []string  `json:"unresolved,omitempty"`
	// IgnoredSignatures: upstream's signature was not checked.
	IgnoredSignatures bool `json:"ignored_signatures,omitempty"`
}

// Check validates a definition against the repository's configuration
// and fills in the defaults.
func (m *Mirror) Check(cfg Config) error {
	if err := ValidSuiteName(m.Name); err != nil {
		return err
	}
	if m.Name[0] >= '0' && m.Name[0] <= '9' {
		return fmt.Errorf("%w %q: a mirror name starts with a letter (names starting with a digit are snapshots')", ErrBadSuiteName, m.Name)
	}
	if slices.Contains(cfg.Stages, m.Name) {
		return fmt.Errorf("%w: %s is a stage of this repository", ErrConflict, m.Name)
	}
	u, err := url.Parse(m.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file") || (u.Scheme != "file" && u.Host == "") {
		return fmt.Errorf("%w: --url %q: want http://HOST/PATH, https://… or file:///PATH", ErrInput, m.URL)
	}
	if err := ValidSuiteName(m.Suite); err != nil {
		return fmt.Errorf("%w: --suite: %w", ErrInput, err)
	}
	if len(m.Components) == 0 {
		m.Components = []string{"main"}
	}
	for _, c := range m.Components {
		if err := ValidComponent(c); err != nil {
			return err
		}
	}
	if len(m.Architectures) == 0 {
		m.Architectures = append([]string(nil), cfg.Architectures...)
	}
	for _, a := range m.Architectures {
		if err := debian.ValidArchitecture(a); err != nil || a == "all" {
			return fmt.Errorf("%w: --arch %q: not a Debian architecture such as amd64", ErrInput, a)
		}
	}
	slices.Sort(m.Architectures)
	m.Architectures = slices.Compact(m.Architectures)
	if m.Filter != "" {
		if _, err := query.Parse(m.Filter); err != nil {
			return fmt.Errorf("%w: --filter %q: %w", ErrInput, m.Filter, err)
		}
	}
	for _, d := range m.DepsFrom {
		if err := ValidSuiteName(d); err != nil {
			return fmt.Errorf("%w: --deps-from: %w", ErrInput, err)
		}
	}
	if m.Keyring == "" && !m.IgnoreSignatures {
		return fmt.Errorf("%w: a mirror needs --keyring (upstream's public key), or --ignore-signatures", ErrInput)
	}
	if m.Keyring != "" {
		if _, err := signing.ReadKeyring([]byte(m.Keyring)); err != nil {
			return fmt.Errorf("%w: --keyring: %w", ErrInput, err)
		}
	}
	return nil
}

// ArmorKeyring returns the keys of an apt keyring file (armored or binary)
// as armored text, for a mirror definition.
func ArmorKeyring(data []byte) (string, error) {
	if _, err := signing.ReadKeyring(data); err != nil {
		return "", fmt.Errorf("%w: keyring: %w", ErrInput, err)
	}
	if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
		return string(data), nil
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, "PGP PUBLIC KEY BLOCK", nil)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	b.WriteByte('\n')
	return b.String(), nil
}

func (m *Mirror) hash() string {
	c := *m
	c.Created = time.Time{}
	data, _ := json.Marshal(&c)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// CreateMirror records a mirror definition. Nothing is fetched: `mirror
// update` does that.
func (r *Repo) CreateMirror(ctx context.Context, m Mirror, lockTimeout time.Duration) (*Mirror, error) {
	err := r.locked(ctx, lockTimeout, func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		if err := m.Check(cfg); err != nil {
			return err
		}
		if _, err := r.st.Stat(ctx, mirrorDefName(m.Name)); err == nil {
			return fmt.Errorf("%w: a mirror named %s exists", ErrConflict, m.Name)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		names, err := r.suiteNames(ctx)
		if err != nil {
			return err
		}
		if slices.Contains(names, m.Name) {
			return fmt.Errorf("%w: a suite named %s exists or existed", ErrConflict, m.Name)
		}
		served, err := servedSuites(ctx, r.st)
		if err != nil {
			return err
		}
		if slices.Contains(served, m.Name) {
			return fmt.Errorf("%w: the tree serves a suite %s", ErrConflict, m.Name)
		}
		m.Created = r.now().UTC().Truncate(time.Second)
		return writeJSON(ctx, r.st, mirrorDefName(m.Name), &m)
	})
	if err != nil {
		return nil, err
	}
	return &m, nil
}

// LoadMirror reads a mirror definition.
func (r *Repo) LoadMirror(ctx context.Context, name string) (*Mirror, error) {
	if err := ValidSuiteName(name); err != nil {
		return nil, err
	}
	var m Mirror
	found, err := readJSON(ctx, r.st, mirrorDefName(name), &m)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, fmt.Errorf("%w: %s (mirror create defines one)", ErrNoMirror, name)
	}
	return &m, nil
}

// MirrorEntry is one mirror in a listing.
type MirrorEntry struct {
	Mirror
	Keyring    string       `json:"-"`
	Generation int64        `json:"generation"`
	Updated    time.Time    `json:"updated,omitzero"`
	State      *MirrorState `json:"state,omitempty"`
}

// Mirrors lists the defined mirrors and the state of their suites.
func (r *Repo) Mirrors(ctx context.Context) ([]MirrorEntry, error) {
	objs, err := r.st.List(ctx, mirrorsDir)
	if err != nil {
		return nil, err
	}
	out := []MirrorEntry{}
	for _, o := range objs {
		name, ok := strings.CutSuffix(strings.TrimPrefix(o.Name, mirrorsDir), ".json")
		if !ok {
			continue
		}
		m, err := r.LoadMirror(ctx, name)
		if err != nil {
			return nil, err
		}
		e := MirrorEntry{Mirror: *m}
		var st SuiteState
		if found, err := readJSON(ctx, r.st, suiteStateName(name), &st); err != nil {
			return nil, err
		} else if found {
			e.Generation, e.Updated, e.State = st.Generation, st.Updated, st.Mirror
		}
		out = append(out, e)
	}
	return out, nil
}

// DropMirror unpublishes a mirror suite and removes its record and its
// definition. Snapshots taken from it keep their packages (they pin
// them); gc frees the pool files nothing else lists.
func (r *Repo) DropMirror(ctx context.Context, name string, lockTimeout time.Duration) error {
	return r.locked(ctx, lockTimeout, func(ctx context.Context) error {
		if _, err := r.LoadMirror(ctx, name); err != nil {
			return err
		}
		var st SuiteState
		found, err := readJSON(ctx, r.st, suiteStateName(name), &st)
		if err != nil {
			return err
		}
		if found && st.Kind != KindMirror {
			return fmt.Errorf("%w: %s is a %s suite, not a mirror", ErrConflict, name, st.Kind)
		}
		// InRelease first: from then on apt sees no suite, not a broken one.
		for _, n := range []string{"InRelease", "Release.gpg", "Release"} {
			if err := r.st.Delete(ctx, suiteDir(name)+n); err != nil {
				return err
			}
		}
		objs, err := r.st.List(ctx, suiteDir(name))
		if err != nil {
			return err
		}
		served, err := servedSuites(ctx, r.st)
		if err != nil {
			return err
		}
		for _, o := range objs {
			if nestedSuite(name, o.Name, served) {
				continue
			}
			if err := r.st.Delete(ctx, o.Name); err != nil {
				return err
			}
		}
		if err := r.st.Delete(ctx, suiteStateName(name)); err != nil {
			return err
		}
		return r.st.Delete(ctx, mirrorDefName(name))
	})
}
