package repo

import (
	"context"
	"fmt"
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

func historyName(stage string) string { return stagesDir + stage + ".history.json" }

// PromoteOptions control a promotion.
type PromoteOptions struct {
	Force       bool
	By          string        // who promotes; default from the CI environment
	ValidFor    time.Duration // Valid-Until for the stage; 0 keeps its setting
	LockTimeout time.Duration
}

// PromoteResult says what a promotion did.
type PromoteResult struct {
	Stage    string `json:"stage"`
	Snapshot string `json:"snapshot"`
	Previous string `json:"previous,omitempty"`
	NoOp     bool   `json:"noop,omitempty"`
	Rollback bool   `json:"rollback,omitempty"`
	Forced   bool   `json:"forced,omitempty"`
}

// Promote makes a stage serve a snapshot, unmodified: the stage's index
// files are the snapshot's, byte for byte, and its Release differs only in
// Suite, Date, Valid-Until and the Snapshot field. The rules (order,
// rollback, no-op) are snapshot.DecidePromotion's. A rollback gets a Date
// later than the stage's previous one, since apt ignores an older Date.
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
		history, err := r.histories(ctx, cfg.Stages)
		if err != nil {
			return err
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
		d, err := snapshot.DecidePromotion(cfg.Stages, stage, snap, st.state.Serves, history, opts.Force)
		if err != nil {
			return err
		}
		if st.exists && st.state.Kind != KindStage {
			return fmt.Errorf("%w: %s is a %s suite, not a stage", ErrConflict, stage, st.state.Kind)
		}
		res = &PromoteResult{Stage: stage, Snapshot: snap, Previous: st.state.Serves, NoOp: d.NoOp, Rollback: d.Rollback, Forced: d.Forced}
		if d.NoOp {
			return nil
		}

		// Every index of the stage is replaced by the snapshot's.
		var files []indexFile
		for name := range st.release.Files {
			st.changed[name[:strings.LastIndexByte(name, '/')]] = true
		}
		for _, name := range slices.Sorted(maps.Keys(src.release.Files)) {
			h := src.release.Files[name]
			files = append(files, indexFile{name: name, hash: h, src: byHashName(src.name, name, "SHA256", h.SHA256)})
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
			if st.exists && !rel.Date.After(old.Date) {
				rel.Date = old.Date.Add(time.Second) // strictly later, or apt keeps the old Release
				if validFor > 0 {
					rel.ValidUntil = rel.Date.Add(validFor)
				}
			}
		}
		// The history entry goes first: it must never miss a promotion
		// that devices saw. A crash before the commit leaves an entry for a
		// promotion that did not happen, which verify reports.
		by := opts.By
		if by == "" {
			by = promoter()
		}
		entry := snapshot.Promotion{Snapshot: snap, Previous: res.Previous, Forced: d.Forced, When: r.now().UTC().Format(time.RFC3339), By: by}
		if err := writeJSON(ctx, r.st, historyName(stage), append(history[stage], entry)); err != nil {
			return err
		}
		st.state.Serves = snap
		return r.commit(ctx, cfg, st, files, validFor, edit)
	})
	return res, err
}

// histories reads every stage's history.
func (r *Repo) histories(ctx context.Context, stages []string) (map[string][]snapshot.Promotion, error) {
	out := map[string][]snapshot.Promotion{}
	for _, s := range stages {
		var h []snapshot.Promotion
		if _, err := readJSON(ctx, r.st, historyName(s), &h); err != nil {
			return nil, err
		}
		out[s] = h
	}
	return out, nil
}

// History returns one stage's promotions, oldest first.
func (r *Repo) History(ctx context.Context, stage string) ([]snapshot.Promotion, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(cfg.Stages, stage) {
		return nil, fmt.Errorf("%w %q (stages: %s)", snapshot.ErrUnknownStage, stage, strings.Join(cfg.Stages, ", "))
	}
	h, err := r.histories(ctx, []string{stage})
	return h[stage], err
}

// StageStatus is one stage in Status.
type StageStatus struct {
	Stage    string `json:"stage"`
	Serves   string `json:"serves,omitempty"` // the snapshot; "" for the rolling stage or an empty one
	Since    string `json:"since,omitempty"`  // when it was promoted (RFC 3339)
	Rolling  bool   `json:"rolling,omitempty"`
	Packages int    `json:"packages,omitempty"`
	Date     string `json:"date,omitempty"` // the Release's Date
}

// Status lists every stage with what it serves and since when.
func (r *Repo) Status(ctx context.Context) ([]StageStatus, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	history, err := r.histories(ctx, cfg.Stages)
	if err != nil {
		return nil, err
	}
	var out []StageStatus
	for i, name := range cfg.Stages {
		ss := StageStatus{Stage: name, Rolling: i == 0}
		var st SuiteState
		found, err := readJSON(ctx, r.st, suiteStateName(name), &st)
		if err != nil {
			return nil, err
		}
		if found && len(st.Release) > 0 {
			if rel, err := ParseRelease(st.Release); err == nil {
				ss.Date = rel.Date.UTC().Format(time.RFC3339)
			}
			ss.Serves = st.Serves
			if h := history[name]; len(h) > 0 && h[len(h)-1].Snapshot == st.Serves {
				ss.Since = h[len(h)-1].When
			}
		}
		out = append(out, ss)
	}
	return out, nil
}

// promoter describes who promotes, from the CI environment when present.
func promoter() string {
	switch {
	case os.Getenv("GITHUB_ACTIONS") == "true":
		return fmt.Sprintf("%s via GitHub Actions %s/actions/runs/%s", os.Getenv("GITHUB_ACTOR"), os.Getenv("GITHUB_REPOSITORY"), os.Getenv("GITHUB_RUN_ID"))
	case os.Getenv("GITLAB_CI") == "true":
		return fmt.Sprintf("%s via GitLab CI %s", os.Getenv("GITLAB_USER_LOGIN"), os.Getenv("CI_JOB_URL"))
	case os.Getenv("CI") != "":
		return "CI"
	}
	if u := os.Getenv("USER"); u != "" {
		return u
	}
	return "unknown"
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
