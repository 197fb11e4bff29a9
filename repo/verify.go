package repo

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

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

// Verify checks every suite as a client would, and more: the signatures of
// InRelease and Release.gpg against keyring, that InRelease carries the
// Release debflow recorded, every index file (named and by-hash) against
// the Release hashes, and every pool file an index lists against its size
// and hashes. It reads the whole repository and changes nothing.
func (r *Repo) Verify(ctx context.Context, keyring *signing.Keyring) (*VerifyReport, error) {
	cfg, _, err := LoadConfig(ctx, r.st)
	if err != nil {
		return nil, err
	}
	names, err := r.suiteNames(ctx)
	if err != nil {
		return nil, err
	}
	rep := &VerifyReport{Suites: names}
	pool := map[string]*Stanza{}
	for _, name := range names {
		s, err := r.loadSuiteReadOnly(ctx, cfg, name)
		if err != nil {
			return nil, err
		}
		if s.state.Kind == KindDropped {
			continue
		}
		problem := func(path, format string, args ...any) {
			rep.Problems = append(rep.Problems, Problem{Suite: name, Path: path, What: fmt.Sprintf(format, args...)})
		}
		dir := suiteDir(name)
		release, err := readAll(ctx, r.st, dir+"Release")
		if err != nil {
			problem(dir+"Release", "%v", err)
			continue
		}
		if !bytes.Equal(release, s.state.Release) {
			problem(dir+"Release", "differs from the Release debflow recorded (an interrupted publish? the next publish or refresh completes it)")
		}
		if sig, err := readAll(ctx, r.st, dir+"Release.gpg"); err != nil {
			problem(dir+"Release.gpg", "%v", err)
		} else if _, err := keyring.VerifyDetached(bytes.NewReader(release), sig); err != nil {
			problem(dir+"Release.gpg", "%v", err)
		}
		in, err := readAll(ctx, r.st, dir+"InRelease")
		if err != nil {
			problem(dir+"InRelease", "%v", err)
		} else if text, _, err := keyring.VerifyClearsigned(in); err != nil {
			problem(dir+"InRelease", "%v", err)
		} else if !bytes.Equal(text, release) {
			problem(dir+"InRelease", "signed text differs from Release")
		}

		if s.state.Kind == KindStage {
			if h, err := r.stageHistory(ctx, s); err != nil || len(h) == 0 || h[len(h)-1].Snapshot != s.state.Serves {
				problem(suiteStateName(name), "the last promotion recorded is not %s, which the stage serves", s.state.Serves)
			}
			snap, err := r.loadSuiteReadOnly(ctx, cfg, s.state.Serves)
			if err != nil {
				problem(dir+"Release", "serves snapshot %s: %v", s.state.Serves, err)
			} else {
				for _, p := range checkStage(s, snap) {
					problem(dir+"Release", "%s", p)
				}
			}
		}
		for _, file := range slices.Sorted(maps.Keys(s.release.Files)) {
			want := s.release.Files[file]
			rep.Indexes++
			for _, obj := range []string{dir + file, byHashName(name, file, "SHA256", want.SHA256), byHashName(name, file, "SHA512", want.SHA512)} {
				data, err := readAll(ctx, r.st, obj)
				if err != nil {
					problem(obj, "%v", err)
					continue
				}
				if got := HashBytes(data); got != want {
					problem(obj, "does not match the hashes in Release (size %d, want %d)", got.Size, want.Size)
				}
			}
			comp, arch, ok := splitIndexName(file)
			if !ok || !strings.HasSuffix(file, "/Packages") {
				continue
			}
			idx, err := r.index(ctx, s, comp, arch)
			if err != nil {
				problem(dir+file, "%v", err)
				continue
			}
			for _, st := range idx.byKey {
				pool[st.Filename] = st
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(pool)) {
		st := pool[name]
		rep.PoolFiles++
		if what := r.checkPoolFile(ctx, st); what != "" {
			rep.Problems = append(rep.Problems, Problem{Path: name, What: what})
		}
	}
	return rep, nil
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
