package repo

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/debflow/debflow/internal/debian"
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
	// SigningKeys are the fingerprints (upper-case hex) of the keys that
	// may sign this repository's Release files. The first signing command
	// records its key; another key is refused until `debflow key add`
	// names it, so that a wrong CI secret never re-signs the repository.
	SigningKeys []string `json:"signing_keys,omitempty"`
	// Gates maps a stage to what it requires of a snapshot in the stage
	// before it (`debflow stage set`): see StageGate.
	Gates map[string]StageGate `json:"gates,omitempty"`
}

// DefaultConfig is the configuration of a new repository, with the Origin
// "debflow": NewConfig gives each new repository an Origin of its own.
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
	// Mirror records what a mirror suite was made from (KindMirror).
	Mirror *MirrorState `json:"mirror,omitempty"`
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

// readJSONVersion is readJSON that also gives the object's version on a
// ConditionalStorage ("" on others, and when the object is missing).
func readJSONVersion(ctx context.Context, st Storage, name string, v any, version *string) (found bool, err error) {
	cs, ok := st.(ConditionalStorage)
	if !ok {
		return readJSON(ctx, st, name, v)
	}
	data, ver, err := cs.GetVersion(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("reading %s: %w", name, err)
	}
	*version = ver
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

// readSized reads an object whose size is known, in one allocation; an
// object of another size is an error.
func readSized(ctx context.Context, st Storage, name string, size int64) ([]byte, error) {
	rc, err := st.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data := make([]byte, size)
	if _, err := io.ReadFull(rc, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading %s: shorter than %d bytes", name, size)
		}
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if n, _ := rc.Read(make([]byte, 1)); n > 0 {
		return nil, fmt.Errorf("reading %s: longer than %d bytes", name, size)
	}
	return data, nil
}

// LoadConfig reads and checks the repository's configuration. A tree
// without one is no debflow repository: the error wraps ErrNoRepo (and
// ErrNeedsRepair when the tree serves suites all the same), found is false
// and cfg is DefaultConfig.
func LoadConfig(ctx context.Context, st Storage) (cfg Config, found bool, err error) {
	data, err := readAll(ctx, st, configName)
	if errors.Is(err, fs.ErrNotExist) {
		return DefaultConfig(), false, noRepo(ctx, st)
	}
	if err != nil {
		return DefaultConfig(), false, err
	}
	cfg, err = ParseConfig(data)
	if err != nil {
		return cfg, true, fmt.Errorf("%s: %w", configName, err)
	}
	return cfg, true, nil
}

// ParseConfig reads a configuration strictly: unknown keys and values apt
// or dpkg would not accept are errors wrapping ErrBadConfig.
func ParseConfig(data []byte) (Config, error) {
	var cfg Config
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return cfg, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	if dec.More() {
		return cfg, fmt.Errorf("%w: more than one JSON value", ErrBadConfig)
	}
	return cfg, cfg.Validate()
}

// Sentinel errors about the repository as a whole.
var (
	// ErrNoRepo: the tree holds no debflow repository (a mistyped --repo).
	ErrNoRepo = errors.New("no debflow repository")
	// ErrNotEmpty: a command would create a repository in a directory
	// that already holds other files.
	ErrNotEmpty = errors.New("not empty and not a debflow repository")
	// ErrBadConfig: .debflow/config.json holds a value that is not allowed.
	ErrBadConfig = errors.New("invalid repository configuration")
	// ErrNeedsRepair: debflow's records under .debflow/ do not match the
	// signed tree that devices are served; nothing that deletes, drops or
	// re-signs may run until `debflow repair` has rebuilt them.
	ErrNeedsRepair = errors.New("debflow's records do not match the served tree")
)

// repairHint says how to recover from ErrNeedsRepair.
const repairHint = "run `debflow repair --repo … --key …` to rebuild them from the served, signed files"

// noRepo explains why a tree has no configuration.
func noRepo(ctx context.Context, st Storage) error {
	served, err := servedSuites(ctx, st)
	if err != nil {
		return err
	}
	if len(served) > 0 {
		return fmt.Errorf("%w: %s is missing, but the tree serves %s: %w; %s",
			ErrNoRepo, configName, strings.Join(served, ", "), ErrNeedsRepair, repairHint)
	}
	return fmt.Errorf("%w here (no %s)", ErrNoRepo, configName)
}

// servedSuites lists the suites the tree serves to apt: every
// dists/…/InRelease or Release, whatever debflow's records say.
func servedSuites(ctx context.Context, st Storage) ([]string, error) {
	objs, err := st.List(ctx, "dists/")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, o := range objs {
		name := strings.TrimPrefix(o.Name, "dists/")
		for _, f := range []string{"/InRelease", "/Release"} {
			s, ok := strings.CutSuffix(name, f)
			// dists/S/COMP/binary-ARCH/Release (and source/Release) describe
			// one index of suite S, not a suite.
			last := s[strings.LastIndexByte(s, '/')+1:]
			if ok && !strings.HasPrefix(last, "binary-") && last != "source" && !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// NewConfig is the configuration of a new repository: the defaults, with
// an Origin of its own, so that two debflow repositories on one device
// never share an apt pin.
func NewConfig() Config {
	cfg := DefaultConfig()
	var b [4]byte
	rand.Read(b[:])
	cfg.Origin = "debflow-" + hex.EncodeToString(b[:])
	return cfg
}

// createConfig returns the configuration of the repository in st, or a new
// one (not yet written) when st is a new or empty directory. A tree that
// holds anything else is refused: a wrong --repo must never turn a source
// tree into a repository.
func createConfig(ctx context.Context, st Storage) (cfg Config, isNew bool, err error) {
	cfg, found, err := LoadConfig(ctx, st)
	if found || !errors.Is(err, ErrNoRepo) || errors.Is(err, ErrNeedsRepair) {
		return cfg, false, err
	}
	empty, err := isEmpty(ctx, st)
	if err != nil {
		return cfg, false, err
	}
	if !empty {
		return cfg, false, fmt.Errorf("%w: it holds files but no %s; give a new or empty directory", ErrNotEmpty, configName)
	}
	return NewConfig(), true, nil
}

// emptier is implemented by storages that can tell cheaply whether they
// hold anything at all.
type emptier interface {
	Empty(ctx context.Context) (bool, error)
}

func isEmpty(ctx context.Context, st Storage) (bool, error) {
	if e, ok := st.(emptier); ok {
		return e.Empty(ctx)
	}
	objs, err := st.List(ctx, "")
	return len(objs) == 0, err
}

// Validate checks every value against what apt and dpkg accept.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrBadConfig, fmt.Sprintf(format, args...))
	}
	for _, f := range []struct{ name, value string }{{"origin", c.Origin}, {"label", c.Label}} {
		if err := validReleaseWord(f.value); err != nil {
			return bad("%s %q: %v", f.name, f.value, err)
		}
	}
	if err := ValidSuiteName(c.Codename); err != nil || strings.Contains(c.Codename, "/") {
		return bad("codename %q: use lower-case letters, digits and . + _ -", c.Codename)
	}
	if len(c.Architectures) == 0 {
		return bad("architectures: at least one is needed")
	}
	for i, a := range c.Architectures {
		if err := debian.ValidArchitecture(a); err != nil || a == "all" {
			return bad("architectures: %q is not a Debian architecture such as amd64 or arm64", a)
		}
		if slices.Contains(c.Architectures[:i], a) {
			return bad("architectures: %q is listed twice", a)
		}
	}
	for i, z := range c.IndexCompression {
		if z != "gz" && z != "xz" {
			return bad("index_compression: %q is not gz or xz", z)
		}
		if slices.Contains(c.IndexCompression[:i], z) {
			return bad("index_compression: %q is listed twice", z)
		}
	}
	if err := snapshot.ValidStages(c.Stages); err != nil {
		return bad("stages: %v", err)
	}
	for _, s := range c.Stages {
		if err := ValidSuiteName(s); err != nil {
			return bad("stages: %v", err)
		}
	}
	for _, fp := range c.SigningKeys {
		if len(fp) != 40 && len(fp) != 64 || strings.Trim(fp, "0123456789ABCDEF") != "" {
			return bad("signing_keys: %q is not a fingerprint (40 or 64 upper-case hex digits)", fp)
		}
	}
	if err := validateGates(c); err != nil {
		return bad("%v", err)
	}
	return nil
}

// validReleaseWord checks an Origin or Label: printable, on one line,
// without the ',' that separates apt pin terms, without surrounding space.
func validReleaseWord(v string) error {
	switch {
	case v == "":
		return errors.New("empty")
	case len(v) > 100:
		return errors.New("longer than 100 characters")
	case strings.TrimSpace(v) != v:
		return errors.New("starts or ends with white space")
	case strings.ContainsAny(v, `,\"`):
		return errors.New("',', '\\' and '\"' are not allowed (apt pins and sources use them)")
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return errors.New("control characters are not allowed")
		}
	}
	return nil
}
