package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/snapshot"
)

// SnapshotField is the Release field by which a stage names the snapshot
// it serves.
const SnapshotField = "Snapshot"

const stagesDir = metaDir + "stages/"

// historyName is where debflow before 0.x kept a stage's history, written
// before the commit point. The history now lives in the stage's record
// (SuiteState.History); the file is read only for stages whose record has
// none, and removed by the next promotion of the stage.
func historyName(stage string) string { return stagesDir + stage + ".history.json" }

// PromoteOptions control a promotion.
type PromoteOptions struct {
	Force       bool
	By          string        // who promotes; default from the CI environment, or $USER@host
	ValidFor    time.Duration // Valid-Until for the stage; 0 keeps its setting
	LockTimeout time.Duration
}

// PromoteResult says what a promotion did.
type PromoteResult struct {
	Stage    string `json:"stage"`
	Snapshot string `json:"snapshot"`
	Previous string `json:"previous,omitempty"`
	NoOp     bool   `json:"noop,omitempty"`
	Rollback bool   `json:"rollback,omitempty"` // Snapshot is older than Previous
	Forced   bool   `json:"forced,omitempty"`
	// ForcedGate is what --force overrode of the stage's gate.
	ForcedGate string `json:"forced_gate,omitempty"`
}

// Promote makes a stage serve a snapshot, unmodified: the stage's index
// files are the snapshot's, byte for byte, and its Release differs only in
// Suite, Date, Valid-Until and the Snapshot field. The rules (order,
// rollback, no-op) are snapshot.DecidePromotion's. A stage's Date is
// strictly later than its previous one, since apt ignores an older Date.
//
// Order and rollback are decided from what the stages committed: the
// promotion history is part of each stage's record, written at the
// commit point, so a promotion that failed before it leaves no trace. The
// stage and the stage before it are loaded as every changing command
// loads a suite: a promotion of theirs that was interrupted after its
// commit point is completed first.
func (r *Repo) Promote(ctx context.Context, snap, stage string, opts PromoteOptions) (*PromoteResult, error) {
	if r.signer == nil {
		return nil, ErrNoSigner
	}
	var res *PromoteResult
	err := r.locked(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		cfg, _, err := LoadConfig(ctx, r.st)
		if err != nil {
			return err
		}
		if err := snapshot.ValidStages(cfg.Stages); err != nil {
			return fmt.Errorf("%s: %w", configName, err)
		}
		src, err := r.loadExisting(ctx, cfg, snap)
		if err != nil {
			return err
		}
		if src.state.Kind != KindSnapshot {
			return fmt.Errorf("%w: %s is a %s suite, not a snapshot", ErrNoSuite, snap, src.state.Kind)
		}
		st, err := r.loadSuite(ctx, cfg, stage)
		if err != nil {
			return err
		}
		history := map[string][]snapshot.Promotion{}
		if history[stage], err = r.stageHistory(ctx, st); err != nil {
			return err
		}
		if i := slices.Index(cfg.Stages, stage); i > 1 {
			prev, err := r.loadSuite(ctx, cfg, cfg.Stages[i-1])
			if err != nil {
				return err
			}
			if history[prev.name], err = r.stageHistory(ctx, prev); err != nil {
				return err
			}
		}
		order, err := r.snapshotOrder(ctx, snap, st.state.Serves)
		if err != nil {
			return err
		}
		req := snapshot.PromotionRequest{
			Stages: cfg.Stages, To: stage, Snapshot: snap, Serving: st.state.Serves,
			History: history, Compare: order, Force: opts.Force, Now: r.now(),
		}
		if g, ok := cfg.Gates[stage]; ok {
			req.Gate = g.gate()
			if i := slices.Index(cfg.Stages, stage); i > 1 {
				if req.Verdict, err = r.verdict(ctx, cfg.Stages[i-1], snap); err != nil {
					return err
				}
			}
		}
		d, err := snapshot.DecidePromotion(req)
		if err != nil {
			return err
		}
		if st.exists && st.state.Kind != KindStage {
			return fmt.Errorf("%w: %s is a %s suite, not a stage", ErrConflict, stage, st.state.Kind)
		}
		res = &PromoteResult{Stage: stage, Snapshot: snap, Previous: st.state.Serves, NoOp: d.NoOp, Rollback: d.Rollback, Forced: d.Forced, ForcedGate: d.ForcedGate}
		if d.NoOp {
			return nil
		}
		// The snapshot's Date says what time it was at least: a clock far
		// behind it would date the stage, and its Valid-Until, in the past.
		if err := checkClock(src.name, src.release.Date, r.now()); err != nil {
			return err
		}

		// Every index of the stage is replaced by the snapshot's.
		var files []indexFile
		for name := range st.release.Files {
			st.changed[name[:strings.LastIndexByte(name, '/')]] = true
		}
		for _, name := range slices.Sorted(maps.Keys(src.release.Files)) {
			files = append(files, listedFile(src.name, src.release, name))
			st.changed[name[:strings.LastIndexByte(name, '/')]] = true
		}
		validFor := time.Duration(st.state.ValidFor)
		if opts.ValidFor != 0 {
			validFor = max(opts.ValidFor, 0)
		}
		st.state.Kind = KindStage
		edit := func(old, rel *Release) {
			rel.Description = src.release.Description
			rel.Architectures = src.release.Architectures
			rel.Components = src.release.Components
			rel.Extra = []debian.Field{{Name: SnapshotField, Value: snap}}
		}
		by := opts.By
		if by == "" {
			by = promoter()
		}
		// The history entry is part of the record that commit writes: it
		// counts exactly when the promotion does.
		entry := snapshot.Promotion{Snapshot: snap, Previous: res.Previous, Rollback: d.Rollback, Forced: d.Forced, ForcedGate: d.ForcedGate, When: r.now().UTC().Format(time.RFC3339), By: by}
		st.state.Serves = snap
		st.state.History = append(slices.Clip(history[stage]), entry)
		if err := r.commit(ctx, cfg, st, files, validFor, edit); err != nil {
			return err
		}
		// The record holds the history now; a file an older debflow wrote
		// is superseded.
		if err := r.st.Delete(ctx, historyName(stage)); err != nil {
			fmt.Fprintf(r.log, "warning: removing the old history file of %s: %v\n", stage, err)
		}
		return nil
	})
	return res, err
}

// stageHistory returns a stage's committed promotions, oldest first. A
// record written by an older debflow has none: its history file is read
// then, without the entries after the last promotion to the snapshot the
// record serves (that debflow wrote the file before its commit point, so
// those entries are promotions that did not happen).
func (r *Repo) stageHistory(ctx context.Context, s *suite) ([]snapshot.Promotion, error) {
	if !s.exists || s.state.Kind != KindStage {
		return nil, nil
	}
	if len(s.state.History) > 0 {
		return s.state.History, nil
	}
	var h []snapshot.Promotion
	if _, err := readJSON(ctx, r.st, historyName(s.name), &h); err != nil {
		return nil, err
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Snapshot == s.state.Serves {
			return h[:i+1], nil
		}
	}
	return nil, nil
}

// snapshotOrder returns the order of snapshots that rollbacks are judged
// by: creation time, as recorded, then name (snapshot.CompareNames). The
// creation times of the named snapshots are read.
func (r *Repo) snapshotOrder(ctx context.Context, names ...string) (func(a, b string) int, error) {
	created := map[string]time.Time{}
	for _, n := range names {
		if n == "" {
			continue
		}
		var st SuiteState
		if _, err := readJSON(ctx, r.st, suiteStateName(n), &st); err != nil {
			return nil, err
		}
		if st.Snapshot != nil {
			created[n] = st.Snapshot.Created
		}
	}
	return func(a, b string) int {
		if ta, tb := created[a], created[b]; !ta.IsZero() && !tb.IsZero() {
			if c := ta.Compare(tb); c != 0 {
				return c
			}
		}
		return snapshot.CompareNames(a, b)
	}, nil
}

// servedStage is a stage as devices see it.
type servedStage struct {
	serves  string               // the snapshot the served InRelease names
	date    time.Time            // the served Release's Date; zero if none is served
	history []snapshot.Promotion // the promotions devices saw, oldest first
	pending string               // a committed promotion not yet published
}

// served reads what a stage serves. Normally that is its record. When the
// served InRelease does not carry the recorded Release, a publication was
// interrupted after its commit point; the next command that changes the
// suite completes it (loadSuite), but until then devices get the old
// Release: served reports that one, and the recorded promotion to another
// snapshot as pending. It writes nothing, so that read-only commands work
// without a key and on a read-only tree.
func (r *Repo) served(ctx context.Context, s *suite) (servedStage, error) {
	h, err := r.stageHistory(ctx, s)
	if err != nil {
		return servedStage{}, err
	}
	v := servedStage{serves: s.state.Serves, date: s.release.Date, history: h}
	in, err := readAll(ctx, r.st, suiteDir(s.name)+"InRelease")
	if err == nil && bytes.Contains(in, s.state.Release) {
		return v, nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return servedStage{}, err
	}
	v.serves, v.date = "", time.Time{}
	if err == nil {
		if rel, err := ParseRelease(clearsignedText(in)); err == nil {
			v.serves, v.date = rel.fieldValue(SnapshotField), rel.Date
		}
	}
	if v.serves != s.state.Serves {
		v.pending = s.state.Serves
		if n := len(h); n > 0 && h[n-1].Snapshot == s.state.Serves {
			v.history = h[:n-1]
		}
	}
	return v, nil
}

// clearsignedText returns the text of a clearsigned document, without
// checking the signature: enough to report what a file says, never to
// trust it.
func clearsignedText(doc []byte) []byte {
	_, rest, ok := bytes.Cut(doc, []byte("\n\n")) // the armor headers end at a blank line
	if !ok {
		return nil
	}
	text, _, ok := bytes.Cut(rest, []byte("\n-----BEGIN PGP SIGNATURE-----"))
	if !ok {
		return nil
	}
	lines := bytes.SplitAfter(append(text, '\n'), []byte("\n"))
	for i, l := range lines {
		lines[i] = bytes.TrimPrefix(l, []byte("- ")) // dash-escaping
	}
	return bytes.Join(lines, nil)
}

// History returns one stage's promotions that devices saw, oldest first
// (see Status for an interrupted promotion).
func (r *Repo) History(ctx context.Context, stage string) ([]snapshot.Promotion, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(cfg.Stages, stage) {
		return nil, fmt.Errorf("%w %q (stages: %s)", snapshot.ErrUnknownStage, stage, strings.Join(cfg.Stages, ", "))
	}
	out := []snapshot.Promotion{}
	s, err := r.loadSuiteReadOnly(ctx, cfg, stage)
	if errors.Is(err, ErrNoSuite) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	v, err := r.served(ctx, s)
	if err != nil {
		return nil, err
	}
	return append(out, v.history...), nil
}

// StageStatus is one stage in Status.
type StageStatus struct {
	Stage    string `json:"stage"`
	Serves   string `json:"serves,omitempty"` // the snapshot devices get; "" for the rolling stage or an empty one
	Since    string `json:"since,omitempty"`  // when it was promoted (RFC 3339)
	Rolling  bool   `json:"rolling,omitempty"`
	Packages int    `json:"packages,omitempty"`
	Date     string `json:"date,omitempty"` // the served Release's Date
	// Pending names the snapshot of a promotion that was committed but
	// interrupted before devices could see it. The next command that
	// changes the stage (promoting to it or to the stage after it,
	// refresh) completes it.
	Pending string `json:"pending,omitempty"`
	// Gate is what the stage requires of the stage before it.
	Gate *StageGate `json:"gate,omitempty"`
	// Verdict is the stage's verdict for the snapshot it serves.
	Verdict *snapshot.Verdict `json:"verdict,omitempty"`
	// SoakElapsed is how long the stage has served its snapshot;
	// SoakRequired is how long the next stage's gate wants it to.
	SoakElapsed  Duration `json:"soak_elapsed,omitempty"`
	SoakRequired Duration `json:"soak_required,omitempty"`
	// VerdictRequired: the next stage's gate wants a passing verdict.
	VerdictRequired bool `json:"verdict_required,omitempty"`
}

// Status lists every stage with what it serves and since when: what
// devices get, from the served InRelease (see served). It writes nothing.
func (r *Repo) Status(ctx context.Context) ([]StageStatus, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	out := []StageStatus{}
	for i, name := range cfg.Stages {
		ss := StageStatus{Stage: name, Rolling: i == 0}
		s, err := r.loadSuiteReadOnly(ctx, cfg, name)
		switch {
		case errors.Is(err, ErrNoSuite):
		case err != nil:
			return nil, err
		case s.state.Kind != KindDropped && len(s.state.Release) > 0:
			v, err := r.served(ctx, s)
			if err != nil {
				return nil, err
			}
			ss.Serves, ss.Pending = v.serves, v.pending
			if !v.date.IsZero() {
				ss.Date = v.date.UTC().Format(time.RFC3339)
			}
			if h := v.history; len(h) > 0 && v.serves != "" && h[len(h)-1].Snapshot == v.serves {
				ss.Since = h[len(h)-1].When
			}
			if v.serves != "" && i > 0 {
				ss.SoakElapsed = Duration(snapshot.Soaked(v.history, v.serves, r.now()).Truncate(time.Second))
				if ss.Verdict, err = r.verdict(ctx, name, v.serves); err != nil {
					return nil, err
				}
			}
		}
		if g, ok := cfg.Gates[name]; ok {
			ss.Gate = &g
		}
		if i+1 < len(cfg.Stages) {
			if g, ok := cfg.Gates[cfg.Stages[i+1]]; ok {
				ss.SoakRequired, ss.VerdictRequired = g.Soak, g.RequireVerdict
			}
		}
		out = append(out, ss)
	}
	return out, nil
}

// promoter describes who promotes: the CI job when there is one, else
// $USER@host.
func promoter() string { return Promoter(os.Getenv) }

// Promoter describes who acts, from a CI environment: GitHub Actions,
// Gitea and Forgejo Actions, GitLab CI, Jenkins, another CI, or else
// $USER@host.
func Promoter(getenv func(string) string) string {
	switch {
	case getenv("FORGEJO_ACTIONS") == "true", getenv("GITEA_ACTIONS") == "true":
		forge := "Gitea Actions"
		if getenv("FORGEJO_ACTIONS") == "true" {
			forge = "Forgejo Actions"
		}
		return fmt.Sprintf("%s via %s %s/%s/actions/runs/%s", getenv("GITHUB_ACTOR"), forge, strings.TrimSuffix(getenv("GITHUB_SERVER_URL"), "/"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_NUMBER"))
	case getenv("GITHUB_ACTIONS") == "true":
		return fmt.Sprintf("%s via GitHub Actions %s/actions/runs/%s", getenv("GITHUB_ACTOR"), getenv("GITHUB_REPOSITORY"), getenv("GITHUB_RUN_ID"))
	case getenv("GITLAB_CI") == "true":
		return fmt.Sprintf("%s via GitLab CI %s", getenv("GITLAB_USER_LOGIN"), getenv("CI_JOB_URL"))
	case getenv("JENKINS_URL") != "":
		who := getenv("BUILD_USER_ID") // the build-user-vars plugin
		if who == "" {
			who = "someone"
		}
		return fmt.Sprintf("%s via Jenkins %s", who, getenv("BUILD_URL"))
	case getenv("CI") != "":
		return "CI"
	}
	user := getenv("USER")
	if user == "" {
		user = getenv("LOGNAME")
	}
	if user == "" {
		user = "unknown"
	}
	if host, err := os.Hostname(); err == nil && host != "" {
		return user + "@" + host
	}
	return user
}

// checkStage proves that a stage serves its snapshot unmodified: the same
// index files with the same hashes, and a Release that differs only in
// Suite, Date, Valid-Until and the Snapshot field.
func checkStage(stage, snap *suite) []string {
	var problems []string
	a, b := stage.release, snap.release
	if got := a.fieldValue(SnapshotField); got != snap.name {
		problems = append(problems, fmt.Sprintf("Release names snapshot %q, the record says %q", got, snap.name))
	}
	for _, f := range []struct{ name, x, y string }{
		{"Origin", a.Origin, b.Origin}, {"Label", a.Label, b.Label}, {"Codename", a.Codename, b.Codename},
		{"Description", a.Description, b.Description},
		{"Architectures", strings.Join(a.Architectures, " "), strings.Join(b.Architectures, " ")},
		{"Components", strings.Join(a.Components, " "), strings.Join(b.Components, " ")},
	} {
		if f.x != f.y {
			problems = append(problems, fmt.Sprintf("Release field %s is %q, the snapshot's is %q", f.name, f.x, f.y))
		}
	}
	for name, h := range b.Files {
		if a.Files[name] != h {
			problems = append(problems, fmt.Sprintf("%s differs from snapshot %s's", name, snap.name))
		}
	}
	for name := range a.Files {
		if _, ok := b.Files[name]; !ok {
			problems = append(problems, fmt.Sprintf("%s is not in snapshot %s", name, snap.name))
		}
	}
	return problems
}

func (r *Release) fieldValue(name string) string {
	for _, f := range r.Extra {
		if strings.EqualFold(f.Name, name) {
			return f.Value
		}
	}
	return ""
}

// Preferences renders an apt preferences entry that pins a stage above
// 1000, so that a device follows a rollback down to an older version
// (apt never downgrades on its own).
func Preferences(cfg Config, stage string) string {
	return fmt.Sprintf("Explanation: follow the %s stage of %s, down as well as up\nPackage: *\nPin: release o=%s,l=%s,a=%s\nPin-Priority: 1001\n",
		stage, cfg.Origin, cfg.Origin, cfg.Label, stage)
}
