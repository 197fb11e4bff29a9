package repo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/debflow/debflow/signing"
)

// CheckState is a monitoring status, ordered by severity except for
// Unknown, which the monitoring-plugin convention puts last (exit 3).
type CheckState int

// The monitoring-plugin states; their values are the plugin's exit codes.
const (
	CheckOK CheckState = iota
	CheckWarning
	CheckCritical
	CheckUnknown
)

func (s CheckState) String() string {
	switch s {
	case CheckOK:
		return "OK"
	case CheckWarning:
		return "WARNING"
	case CheckCritical:
		return "CRITICAL"
	}
	return "UNKNOWN"
}

// MarshalJSON writes the state as its name.
func (s CheckState) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// worse reports whether s is worse than t: Critical > Warning > OK, and
// Unknown counts worse than Warning but not than Critical (as Icinga
// orders them).
func (s CheckState) worse(t CheckState) bool {
	rank := map[CheckState]int{CheckOK: 0, CheckWarning: 1, CheckUnknown: 2, CheckCritical: 3}
	return rank[s] > rank[t]
}

// CheckFinding is the outcome of one check on one subject (a suite, a
// stage, a key).
type CheckFinding struct {
	Check   string     `json:"check"` // signature, valid_until, key_expiry, indexes, expect, soak, verdict, repository
	Subject string     `json:"subject,omitempty"`
	Status  CheckState `json:"status"`
	Message string     `json:"message"`
}

// Metric is one performance value, as monitoring-plugin perfdata
// ('label'=value[UOM];warn;crit;min;max).
type Metric struct {
	Label string  `json:"label"`
	Value float64 `json:"value"`
	UOM   string  `json:"uom,omitempty"` // "s" or ""
	Warn  string  `json:"warn,omitempty"`
	Crit  string  `json:"crit,omitempty"`
	Min   string  `json:"min,omitempty"`
	Max   string  `json:"max,omitempty"`
}

// CheckReport is what Check found.
type CheckReport struct {
	Status   CheckState     `json:"status"`
	Summary  string         `json:"summary"`
	Checks   []CheckFinding `json:"checks"`
	Problems []CheckFinding `json:"problems"` // the checks that are not OK, worst first
	Metrics  []Metric       `json:"metrics"`
}

// CheckOptions say what Check compares against.
type CheckOptions struct {
	Keyring *signing.Keyring
	// Warn and Crit: the least time left before a suite's Valid-Until.
	Warn, Crit time.Duration
	// KeyWarn and KeyCrit: the least time left before a signing key
	// expires.
	KeyWarn, KeyCrit time.Duration
	// Expect maps stages to the snapshot the IaC repository declares.
	Expect map[string]string
	// MaxSoak: how long a snapshot may stay in an intermediate stage
	// (canary) without reaching the next one; 0 does not check.
	MaxSoak time.Duration
}

// Check is the cheap health check a monitoring system runs every few
// minutes. It never hashes the pool (Verify does): for every served suite
// it checks InRelease's signature with the keyring and that every index
// file InRelease lists is there, by name and by hash, with the listed size
// and hashes; for the suites devices follow (the stages) the time left
// before Valid-Until, and that none lacks a Valid-Until when others have
// one; the time left before each signing key expires; what each stage
// serves against what the IaC repository declares; a snapshot stuck in an
// intermediate stage; and a snapshot that has soaked long enough for the
// next stage's gate but has no verdict yet. It writes nothing and takes no
// lock. A repository it cannot read is UNKNOWN.
func (r *Repo) Check(ctx context.Context, opts CheckOptions) *CheckReport {
	c := &checker{r: r, opts: opts, now: r.now()}
	if err := c.run(ctx); err != nil {
		c.add("repository", "", CheckUnknown, "%v", err)
	}
	return c.report()
}

type checker struct {
	r       *Repo
	opts    CheckOptions
	now     time.Time
	checks  []CheckFinding
	metrics []Metric
}

func (c *checker) add(check, subject string, st CheckState, format string, args ...any) {
	c.checks = append(c.checks, CheckFinding{Check: check, Subject: subject, Status: st, Message: fmt.Sprintf(format, args...)})
}

func (c *checker) metric(label string, v float64, uom, warn, crit, min string) {
	c.metrics = append(c.metrics, Metric{Label: label, Value: v, UOM: uom, Warn: warn, Crit: crit, Min: min})
}

// below renders a perfdata threshold that alerts below d ("N:").
func below(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + ":"
}

func (c *checker) run(ctx context.Context) error {
	cfg, _, err := LoadConfig(ctx, c.r.st)
	if err != nil {
		return err
	}
	if c.opts.Keyring == nil {
		return fmt.Errorf("no keyring to verify with (give --keyring PUB or --key)")
	}
	served, err := servedSuites(ctx, c.r.st)
	if err != nil {
		return err
	}
	rels := map[string]*Release{}
	for _, name := range served {
		rel, err := c.suite(ctx, name)
		if err != nil {
			return err
		}
		if rel != nil {
			rels[name] = rel
		}
	}
	c.validUntil(cfg, rels)
	c.keys(cfg)
	return c.stages(ctx, cfg, rels)
}

// suite checks one served suite's signature and index files, and returns
// its Release (nil when it cannot be trusted).
func (c *checker) suite(ctx context.Context, name string) (*Release, error) {
	dir := suiteDir(name)
	in, err := optional(readAll(ctx, c.r.st, dir+"InRelease"))
	if err != nil {
		return nil, err
	}
	if in == nil {
		c.add("signature", name, CheckCritical, "%sInRelease is missing: apt finds no signed Release", dir)
		return nil, nil
	}
	text, _, err := c.opts.Keyring.VerifyClearsigned(in)
	if err != nil {
		c.add("signature", name, CheckCritical, "%sInRelease does not verify with the keyring: %v", dir, err)
		return nil, nil
	}
	rel, err := ParseRelease(text)
	if err != nil {
		c.add("signature", name, CheckCritical, "%sInRelease: %v", dir, err)
		return nil, nil
	}
	c.add("signature", name, CheckOK, "InRelease verifies")
	var bad []string
	for _, file := range slices.Sorted(maps.Keys(rel.Files)) {
		want := rel.Files[file]
		if !stored(rel, file) {
			continue // checked through its compressed forms
		}
		for _, obj := range []struct{ name, sum string }{
			{dir + file, "named"},
			{byHashName(name, file, "SHA256", want.SHA256), want.SHA256},
			{byHashName(name, file, "SHA512", want.SHA512), want.SHA512},
		} {
			if obj.sum == "" {
				continue
			}
			data, err := optional(readAll(ctx, c.r.st, obj.name))
			switch {
			case err != nil:
				return nil, err
			case data == nil:
				bad = append(bad, obj.name+" is missing")
			case !sameHashes(HashBytes(data), want):
				bad = append(bad, fmt.Sprintf("%s does not match InRelease (size %d, want %d)", obj.name, len(data), want.Size))
			}
		}
	}
	if len(bad) > 0 {
		more := ""
		if len(bad) > 3 {
			more = fmt.Sprintf(" and %d more", len(bad)-3)
			bad = bad[:3]
		}
		c.add("indexes", name, CheckCritical, "%s%s: apt gets Hash Sum mismatch", strings.Join(bad, "; "), more)
	} else {
		c.add("indexes", name, CheckOK, "%d index files match InRelease", len(rel.Files))
	}
	return rel, nil
}

// validUntil checks the margin before each suite's Valid-Until.
func (c *checker) validUntil(cfg Config, rels map[string]*Release) {
	someStageHas := false
	for _, s := range cfg.Stages {
		if rel := rels[s]; rel != nil && !rel.ValidUntil.IsZero() {
			someStageHas = true
		}
	}
	for _, name := range slices.Sorted(maps.Keys(rels)) {
		rel := rels[name]
		if rel.ValidUntil.IsZero() {
			if someStageHas && slices.Contains(cfg.Stages, name) {
				c.add("valid_until", name, CheckWarning, "no Valid-Until, while other stages have one (publish or promote with --valid-for)")
			}
			continue
		}
		left := rel.ValidUntil.Sub(c.now)
		c.metric("valid_until_"+name, float64(int64(left/time.Second)), "s", below(c.opts.Warn), below(c.opts.Crit), "")
		until := rel.ValidUntil.UTC().Format(time.RFC3339)
		switch {
		case left <= 0:
			c.add("valid_until", name, CheckCritical, "Valid-Until %s has passed: apt refuses the suite (run debflow refresh)", until)
		case c.opts.Crit > 0 && left < c.opts.Crit:
			c.add("valid_until", name, CheckCritical, "Valid-Until %s is in %s (critical below %s; run debflow refresh)", until, roundDuration(left), c.opts.Crit)
		case c.opts.Warn > 0 && left < c.opts.Warn:
			c.add("valid_until", name, CheckWarning, "Valid-Until %s is in %s (warning below %s; run debflow refresh)", until, roundDuration(left), c.opts.Warn)
		default:
			c.add("valid_until", name, CheckOK, "valid until %s", until)
		}
	}
}

// keys checks the expiry of the keyring's keys that sign the repository
// (every key when the configuration names none).
func (c *checker) keys(cfg Config) {
	for _, k := range c.opts.Keyring.Keys() {
		if len(cfg.SigningKeys) > 0 && !slices.Contains(cfg.SigningKeys, k.Fingerprint) {
			continue
		}
		if k.Revoked {
			c.add("key_expiry", k.Fingerprint, CheckCritical, "key %s is revoked", k.Fingerprint)
			continue
		}
		if k.Expires.IsZero() {
			c.add("key_expiry", k.Fingerprint, CheckOK, "key %s does not expire", k.Fingerprint)
			continue
		}
		left := k.Expires.Sub(c.now)
		c.metric("key_expiry_"+k.Fingerprint[len(k.Fingerprint)-16:], float64(int64(left/time.Second)), "s", below(c.opts.KeyWarn), below(c.opts.KeyCrit), "")
		until := k.Expires.UTC().Format(time.RFC3339)
		switch {
		case left <= 0:
			c.add("key_expiry", k.Fingerprint, CheckCritical, "key %s expired at %s: devices refuse its signatures", k.Fingerprint, until)
		case c.opts.KeyCrit > 0 && left < c.opts.KeyCrit:
			c.add("key_expiry", k.Fingerprint, CheckCritical, "key %s expires in %s (%s); add its successor (see Key rotation)", k.Fingerprint, roundDuration(left), until)
		case c.opts.KeyWarn > 0 && left < c.opts.KeyWarn:
			c.add("key_expiry", k.Fingerprint, CheckWarning, "key %s expires in %s (%s); add its successor (see Key rotation)", k.Fingerprint, roundDuration(left), until)
		default:
			c.add("key_expiry", k.Fingerprint, CheckOK, "key %s expires %s", k.Fingerprint, until)
		}
	}
}

// stages checks what each stage serves: against Expect, the age of what
// an intermediate stage serves, and the package count.
func (c *checker) stages(ctx context.Context, cfg Config, rels map[string]*Release) error {
	status, err := c.r.Status(ctx)
	if err != nil {
		return err
	}
	for stage := range c.opts.Expect {
		if !slices.Contains(cfg.Stages, stage) {
			c.add("expect", stage, CheckUnknown, "--expect names stage %s, which the repository does not have (stages: %s)", stage, strings.Join(cfg.Stages, ", "))
		}
	}
	for i, s := range status {
		if rel := rels[s.Stage]; rel != nil {
			c.metric("packages_"+s.Stage, float64(c.packageCount(ctx, s.Stage, rel)), "", "", "", "0")
		}
		if want, ok := c.opts.Expect[s.Stage]; ok {
			if s.Serves == want {
				c.add("expect", s.Stage, CheckOK, "serves %s, as declared", want)
			} else {
				c.add("expect", s.Stage, CheckCritical, "serves %s, the IaC repository declares %s (drift)", orNone(s.Serves), want)
			}
		}
		if s.Rolling || s.Serves == "" || s.Since == "" {
			continue
		}
		since, err := time.Parse(time.RFC3339, s.Since)
		if err != nil {
			continue
		}
		age := c.now.Sub(since)
		last := i == len(status)-1
		warn := ""
		if !last && c.opts.MaxSoak > 0 {
			warn = strconv.FormatInt(int64(c.opts.MaxSoak/time.Second), 10)
		}
		c.metric("stage_age_"+s.Stage, float64(int64(age/time.Second)), "s", warn, "", "0")
		if last {
			continue
		}
		next := status[i+1]
		if c.opts.MaxSoak > 0 && next.Serves != s.Serves {
			if age > c.opts.MaxSoak {
				c.add("soak", s.Stage, CheckWarning, "%s has served %s for %s, longer than --max-soak %s, and %s has not taken it: a release is stuck",
					s.Stage, s.Serves, roundDuration(age), c.opts.MaxSoak, next.Stage)
			} else {
				c.add("soak", s.Stage, CheckOK, "%s has served %s for %s", s.Stage, s.Serves, roundDuration(age))
			}
		}
		if s.VerdictRequired && next.Serves != s.Serves && s.Verdict == nil && time.Duration(s.SoakElapsed) >= time.Duration(s.SoakRequired) {
			c.add("verdict", s.Stage, CheckWarning, "%s has soaked %s in %s (%s required by %s) but has no verdict: record one with debflow verdict %s --stage %s (--pass|--fail)",
				s.Serves, roundDuration(time.Duration(s.SoakElapsed)), s.Stage, time.Duration(s.SoakRequired), next.Stage, s.Serves, s.Stage)
		}
	}
	return nil
}

// packageCount counts the packages of a suite (an Architecture: all
// package counts once), or -1 when its indexes cannot be read.
func (c *checker) packageCount(ctx context.Context, suite string, rel *Release) int {
	n, err := c.r.packageCount(ctx, suite, rel)
	if err != nil {
		return -1
	}
	return n
}

func (c *checker) report() *CheckReport {
	rep := &CheckReport{Status: CheckOK, Checks: c.checks, Problems: []CheckFinding{}, Metrics: c.metrics}
	if rep.Checks == nil {
		rep.Checks = []CheckFinding{}
	}
	if rep.Metrics == nil {
		rep.Metrics = []Metric{}
	}
	for _, f := range c.checks {
		if f.Status != CheckOK {
			rep.Problems = append(rep.Problems, f)
		}
		if f.Status.worse(rep.Status) {
			rep.Status = f.Status
		}
	}
	// Unknown is the outcome only when nothing is Critical.
	slices.SortStableFunc(rep.Problems, func(a, b CheckFinding) int {
		switch {
		case a.Status.worse(b.Status):
			return -1
		case b.Status.worse(a.Status):
			return 1
		}
		return 0
	})
	switch len(rep.Problems) {
	case 0:
		suites := 0
		for _, f := range c.checks {
			if f.Check == "signature" {
				suites++
			}
		}
		rep.Summary = fmt.Sprintf("%d suites signed and complete", suites)
	case 1:
		rep.Summary = rep.Problems[0].line()
	default:
		rep.Summary = fmt.Sprintf("%d problems, first: %s", len(rep.Problems), rep.Problems[0].line())
	}
	return rep
}

func (f CheckFinding) line() string {
	if f.Subject != "" && !strings.Contains(f.Message, f.Subject) {
		return f.Subject + ": " + f.Message
	}
	return f.Message
}

// Plugin renders the report in the monitoring-plugin format: the first
// line "DEBFLOW STATUS - summary | perfdata", then one line per problem.
// Numbers are written as the C locale writes them.
func (rep *CheckReport) Plugin() string {
	var b strings.Builder
	fmt.Fprintf(&b, "DEBFLOW %s - %s", rep.Status, strings.ReplaceAll(rep.Summary, "|", "/"))
	if len(rep.Metrics) > 0 {
		b.WriteString(" |")
		for _, m := range rep.Metrics {
			fmt.Fprintf(&b, " '%s'=%s%s;%s;%s;%s;%s", strings.ReplaceAll(m.Label, "'", ""), strconv.FormatFloat(m.Value, 'f', -1, 64), m.UOM, m.Warn, m.Crit, m.Min, m.Max)
		}
	}
	b.WriteString("\n")
	for _, p := range rep.Problems {
		fmt.Fprintf(&b, "%s: %s\n", p.Status, strings.ReplaceAll(p.line(), "|", "/"))
	}
	return b.String()
}

func roundDuration(d time.Duration) time.Duration {
	if d > time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

func orNone(s string) string {
	if s == "" {
		return "nothing"
	}
	return s
}
