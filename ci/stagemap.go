package ci

import (
	"fmt"
	"sort"
	"strings"

	"github.com/debflow/debflow/snapshot"
)

// StageMap maps IaC branches to the stages they declare. A branch that is
// not in the map declares the stage of its own name.
type StageMap map[string]string

// ParseStageMap parses BRANCH=STAGE entries; each entry may itself be a
// comma-separated list. Stage names must be valid, and a branch may be
// mapped once.
func ParseStageMap(entries []string) (StageMap, error) {
	m := StageMap{}
	for _, entry := range entries {
		for _, kv := range strings.Split(entry, ",") {
			kv = strings.TrimSpace(kv)
			if kv == "" {
				continue
			}
			branch, stage, ok := strings.Cut(kv, "=")
			branch, stage = strings.TrimSpace(branch), strings.TrimSpace(stage)
			if !ok || branch == "" || stage == "" {
				return nil, fmt.Errorf("%w: %q is not BRANCH=STAGE", ErrStageMap, kv)
			}
			if err := snapshot.ValidStageName(stage); err != nil {
				return nil, fmt.Errorf("%w: %s: %w", ErrStageMap, kv, err)
			}
			if prev, dup := m[branch]; dup {
				return nil, fmt.Errorf("%w: branch %s is mapped twice (to %s and %s)", ErrStageMap, branch, prev, stage)
			}
			m[branch] = stage
		}
	}
	return m, nil
}

// Stage returns the stage a branch declares.
func (m StageMap) Stage(branch string) string {
	if s, ok := m[branch]; ok {
		return s
	}
	return branch
}

// String renders the map as ParseStageMap reads it, sorted by branch.
func (m StageMap) String() string {
	var parts []string
	for b, s := range m {
		parts = append(parts, b+"="+s)
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}
