package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"strings"
	"time"

	"github.com/debflow/debflow/snapshot"
)

// Where debflow keeps its own records, inside the repository tree.
const (
	metaDir    = ".debflow/"
	configName = metaDir + "config.json"
	suitesDir  = metaDir + "suites/"
)

// Config holds the settings that stay the same for every suite of a
// repository. Origin, Label and Codename must never change once devices
// follow the repository: apt stops updating a suite whose Origin, Label or
// Codename changes until an administrator accepts it.
type Config struct {
	Origin   string `json:"origin"`
	Label    string `json:"label"`
	Codename string `json:"codename"`
	// Architectures every suite lists, even before a package of that
	// architecture arrives, so that Architecture: all packages reach them.
	Architectures []string `json:"architectures"`
	// IndexCompression lists the compressed forms written next to each
	// plain Packages file ("gz", "xz").
	IndexCompression []string `json:"index_compression"`
	// Stages is the ordered path of the fleet: the first is the rolling
	// suite publish feeds, every later one is fed by promote.
	Stages []string `json:"stages"`
}

// DefaultConfig is what the first publish into an empty tree writes.
func DefaultConfig() Config {
	return Config{
		Origin:           "debflow",
		Label:            "debflow",
		Codename:         "fleet",
		Architectures:    []string{"amd64", "arm64", "armhf"},
		IndexCompression: []string{"gz", "xz"},
		Stages:           append([]string(nil), snapshot.DefaultStages...),
	}
}

// SuiteState is debflow's record of a suite: what its Release must be and
// what it needs to change it incrementally. Writing it is the commit point
// of a publish: the named index files and the Release are then brought in
// line with it, by this publish or, after a crash, by the next command.
type SuiteState struct {
	Suite      string    `json:"suite"`
	Kind       string    `json:"kind"` // "rolling" (fed by publish)
	Generation int64     `json:"generation"`
	ValidFor   Duration  `json:"valid_for,omitempty"`
	Updated    time.Time `json:"updated"`
	// Release is the unsigned Release file this state publishes.
	Release []byte `json:"release"`
	// Retired lists by-hash files that no longer belong to the Release and
	// are removed once they are older than the grace period, so that a
	// client that fetched the previous InRelease can still get them.
	Retired []RetiredFile `json:"retired,omitempty"`
	// Snapshot says where a snapshot came from.
	Snapshot *SnapshotInfo `json:"snapshot,omitempty"`
	// Serves names the snapshot a stage serves.
	Serves string `json:"serves,omitempty"`
	// History lists a stage's promotions, oldest first, the last one
	// being to Serves. It is written with the record, so the order rule
	// counts only promotions that were committed.
	History []snapshot.Promotion `json:"history,omitempty"`
}

// RetiredFile is a by-hash file waiting to be removed.
type RetiredFile struct {
	Name  string    `json:"name"`
	Since time.Time `json:"since"`
}

// Suite kinds.
const KindRolling = "rolling"

// Duration is a time.Duration that reads and writes as "72h0m0s" in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads a duration written as text.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// suiteNameRE: lower-case words separated by single '.', '-', '_' or '/'
// (apt allows "bookworm/updates"-style suites).
var suiteNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.+_-]*(/[a-z0-9][a-z0-9.+_-]*)*$`)

// ErrBadSuiteName is wrapped by errors about unsafe suite names.
var ErrBadSuiteName = errors.New("invalid suite name")

// ValidSuiteName refuses names that could escape dists/ or confuse apt.
func ValidSuiteName(name string) error {
	if !suiteNameRE.MatchString(name) || strings.Contains(name, "..") || len(name) > 100 {
		return fmt.Errorf("%w %q: use lower-case letters, digits and . + _ - (and / between words)", ErrBadSuiteName, name)
	}
	return nil
}

// ErrBadComponent is wrapped by errors about unsafe component names.
var ErrBadComponent = errors.New("invalid component name")

var componentRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.+_-]*$`)

// ValidComponent checks a component name such as main or contrib.
func ValidComponent(name string) error {
	if !componentRE.MatchString(name) || len(name) > 64 {
		return fmt.Errorf("%w %q", ErrBadComponent, name)
	}
	return nil
}

func suiteStateName(suite string) string { return suitesDir + suite + ".json" }

// readJSON reads a JSON object; found is false when it does not exist.
func readJSON(ctx context.Context, st Storage, name string, v any) (found bool, err error) {
	data, err := readAll(ctx, st, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	return true, nil
}

func writeJSON(ctx context.Context, st Storage, name string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return st.Put(ctx, name, bytes.NewReader(append(data, '\n')))
}

func readAll(ctx context.Context, st Storage, name string) ([]byte, error) {
	rc, err := st.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}

// LoadConfig reads the repository's configuration, or the default one
// when the tree holds none yet.
func LoadConfig(ctx context.Context, st Storage) (Config, bool, error) {
	cfg := DefaultConfig()
	found, err := readJSON(ctx, st, configName, &cfg)
	return cfg, found, err
}
