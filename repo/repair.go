package repo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/debflow/debflow/signing"
	"github.com/debflow/debflow/snapshot"
)

// RepairOptions control Repair.
type RepairOptions struct {
	// Keyring verifies the served Release files; only what it verifies is
	// taken as the truth.
	Keyring *signing.Keyring
	// Stages is the fleet's path, when the configuration must be rebuilt
	// and the stages are not the default ones.
	Stages      []string
	LockTimeout time.Duration
}

// RepairResult says what Repair rebuilt.
type RepairResult struct {
	Config  bool     `json:"config"`  // config.json was rebuilt
	Records []string `json:"records"` // suites whose records were rebuilt
}

// Repair rebuilds debflow's records under .debflow/ from the served tree,
// which is the truth devices see: every served suite whose Release and
// Release.gpg verify with the keyring, and whose InRelease carries that
// Release, gets back a record (rolling; a snapshot when its name is a
// snapshot name; a stage when its Release names the snapshot it serves).
// A missing config.json is rebuilt from their Origin, Label, Codename and
// architectures. The pinned list is rebuilt last. Nothing is deleted and
// no served file changes; a served suite that does not verify is refused
// and nothing is written. Stage histories cannot be recovered: the next
// promotion of a repaired stage may need --force.
func (r *Repo) Repair(ctx context.Context, opts RepairOptions) (*RepairResult, error) {
	if opts.Keyring == nil {
		return nil, fmt.Errorf("%w: repair verifies the served files with the repository's public key", ErrNoSigner)
	}
	res := &RepairResult{Records: []string{}}
	// The usual pre-lock check refuses exactly the trees that need this.
	err := r.lock(ctx, lockTimeout(opts.LockTimeout), func(ctx context.Context) error {
		served, err := servedSuites(ctx, r.st)
		if err != nil {
			return err
		}
		if len(served) == 0 {
			return fmt.Errorf("%w: the tree serves no suite; there is nothing to repair from", ErrNoRepo)
		}
		recorded, err := r.suiteNames(ctx)
		if err != nil {
			return err
		}
		type servedSuite struct {
			name string
			rel  *Release
			raw  []byte
			fp   string
		}
		var missing []servedSuite
		for _, name := range served {
			if slices.Contains(recorded, name) {
				continue
			}
			raw, rel, fp, err := r.servedRelease(ctx, name, opts.Keyring)
			if err != nil {
				return fmt.Errorf("suite %s: %w", name, err)
			}
			missing = append(missing, servedSuite{name, rel, raw, fp})
		}

		cfg, found, err := LoadConfig(ctx, r.st)
		if !found {
			if !errors.Is(err, ErrNoRepo) {
				return err
			}
			all := missing
			for _, name := range recorded {
				if raw, rel, fp, err := r.servedRelease(ctx, name, opts.Keyring); err == nil {
					all = append(all, servedSuite{name, rel, raw, fp})
				}
			}
			if len(all) == 0 {
				return fmt.Errorf("%w: no served suite verifies", ErrNeedsRepair)
			}
			if cfg, err = configFromReleases(opts, func(yield func(*Release, string) bool) {
				for _, f := range all {
					if !yield(f.rel, f.fp) {
						return
					}
				}
			}); err != nil {
				return err
			}
			if err := r.writeConfig(ctx, &cfg); err != nil {
				return err
			}
			res.Config = true
		} else if err != nil {
			return err
		}

		for _, f := range missing {
			state := SuiteState{Suite: f.name, Kind: KindRolling, Generation: 1, Updated: f.rel.Date, Release: f.raw}
			if !f.rel.ValidUntil.IsZero() {
				state.ValidFor = Duration(f.rel.ValidUntil.Sub(f.rel.Date))
			}
			switch serves := f.rel.fieldValue(SnapshotField); {
			case serves != "":
				// The history is lost but for the one promotion the signed
				// Release proves: that the stage serves the snapshot.
				state.Kind, state.Serves = KindStage, serves
				state.History = []snapshot.Promotion{{Snapshot: serves, When: f.rel.Date.UTC().Format(time.RFC3339),
					By: "debflow repair (from the served, signed Release)"}}
			case snapshot.ValidName(f.name) == nil:
				state.Kind = KindSnapshot
				state.Snapshot = &SnapshotInfo{Created: f.rel.Date, Source: "unknown (rebuilt by debflow repair)"}
			}
			if err := r.restoreByHash(ctx, f.name, f.rel); err != nil {
				return fmt.Errorf("suite %s: %w", f.name, err)
			}
			if err := writeJSON(ctx, r.st, suiteStateName(f.name), &state); err != nil {
				return err
			}
			res.Records = append(res.Records, f.name)
		}
		if len(missing) > 0 || res.Config {
			if _, err := r.repin(ctx); err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// servedRelease reads a served suite's Release, checks Release.gpg with
// the keyring, and checks that InRelease carries the same Release.
func (r *Repo) servedRelease(ctx context.Context, suite string, kr *signing.Keyring) (raw []byte, rel *Release, fingerprint string, err error) {
	dir := suiteDir(suite)
	raw, err = readAll(ctx, r.st, dir+"Release")
	if err != nil {
		return nil, nil, "", err
	}
	sig, err := readAll(ctx, r.st, dir+"Release.gpg")
	if err != nil {
		return nil, nil, "", err
	}
	if fingerprint, err = kr.VerifyDetached(bytes.NewReader(raw), sig); err != nil {
		return nil, nil, "", fmt.Errorf("signature of Release: %w", err)
	}
	in, err := readAll(ctx, r.st, dir+"InRelease")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, "", err
	}
	if !bytes.Contains(in, raw) {
		return nil, nil, "", fmt.Errorf("%w: InRelease does not carry the served Release (a publication was interrupted); restore .debflow/ from a backup instead", ErrNeedsRepair)
	}
	if rel, err = ParseRelease(raw); err != nil {
		return nil, nil, "", err
	}
	return raw, rel, fingerprint, nil
}

// restoreByHash makes sure every index a Release lists exists by hash (the
// copy debflow reads), from the named file when needed, checking its hash.
func (r *Repo) restoreByHash(ctx context.Context, suite string, rel *Release) error {
	for _, name := range slices.Sorted(maps.Keys(rel.Files)) {
		h := rel.Files[name]
		if !stored(rel, name) {
			continue
		}
		if _, err := r.st.Stat(ctx, byHashName(suite, name, "SHA256", h.SHA256)); err == nil {
			continue
		}
		data, err := readAll(ctx, r.st, suiteDir(suite)+name)
		if err != nil {
			return err
		}
		if got := HashBytes(data); got.SHA256 != h.SHA256 {
			return fmt.Errorf("%w: %s does not match its Release hash", ErrNeedsRepair, name)
		}
		if err := r.storeByHash(ctx, suite, indexFile{name: name, parts: [][]byte{data}, hash: h}); err != nil {
			return err
		}
	}
	return nil
}

// configFromReleases rebuilds a configuration from served Releases, which
// must agree on Origin, Label and Codename.
func configFromReleases(opts RepairOptions, releases func(yield func(*Release, string) bool)) (Config, error) {
	cfg := DefaultConfig()
	cfg.Origin, cfg.Architectures, cfg.IndexCompression, cfg.SigningKeys = "", nil, nil, nil
	arches, comps := map[string]bool{}, map[string]bool{}
	var err error
	releases(func(rel *Release, fp string) bool {
		if cfg.Origin == "" {
			cfg.Origin, cfg.Label, cfg.Codename = rel.Origin, rel.Label, rel.Codename
		} else if rel.Origin != cfg.Origin || rel.Label != cfg.Label || rel.Codename != cfg.Codename {
			err = fmt.Errorf("%w: served suites disagree on Origin/Label/Codename (%s/%s/%s and %s/%s/%s)",
				ErrNeedsRepair, cfg.Origin, cfg.Label, cfg.Codename, rel.Origin, rel.Label, rel.Codename)
			return false
		}
		for _, a := range rel.Architectures {
			arches[a] = true
		}
		for name := range rel.Files {
			switch {
			case strings.HasSuffix(name, "/Packages.gz"):
				comps["gz"] = true
			case strings.HasSuffix(name, "/Packages.xz"):
				comps["xz"] = true
			}
		}
		if !slices.Contains(cfg.SigningKeys, fp) {
			cfg.SigningKeys = append(cfg.SigningKeys, fp)
		}
		return true
	})
	if err != nil {
		return cfg, err
	}
	delete(arches, "all")
	cfg.Architectures = slices.Sorted(maps.Keys(arches))
	cfg.IndexCompression = slices.Sorted(maps.Keys(comps))
	if len(opts.Stages) > 0 {
		cfg.Stages = opts.Stages
	}
	return cfg, cfg.Validate()
}
