package snapshot

import (
	"errors"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/debian"
)

var day = time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC)

func TestNextName(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	tests := []struct {
		name     string
		existing []string
		now      time.Time
		want     string
	}{
		{"first ever", nil, day, "2026-11-24"},
		{"first of the day", []string{"2026-11-23", "2026-11-23.02"}, day, "2026-11-24"},
		{"second", []string{"2026-11-24"}, day, "2026-11-24.02"},
		{"third", []string{"2026-11-24", "2026-11-24.02"}, day, "2026-11-24.03"},
		{"order of existing does not matter", []string{"2026-11-24.03", "2026-11-24", "2026-11-24.02"}, day, "2026-11-24.04"},
		{"tenth", []string{"2026-11-24", "2026-11-24.09"}, day, "2026-11-24.10"},
		{"a deleted one is not reused", []string{"2026-11-24.05"}, day, "2026-11-24.06"},
		{"bare date deleted", []string{"2026-11-24.02"}, day, "2026-11-24.03"},
		{"custom names are ignored", []string{"2026-11-24-hotfix", "2026-11-24.rc1", "2026-11-24.2", "2026-11-24.5.x", "canary"}, day, "2026-11-24"},
		{"not-ours suffix next to ours", []string{"2026-11-24", "2026-11-24.7", "2026-11-24.007"}, day, "2026-11-24.02"},
		{"99th to 100th", []string{"2026-11-24.99"}, day, "2026-11-24.99.100"},
		{"after 100", []string{"2026-11-24.99.100"}, day, "2026-11-24.99.101"},
		{"999th to 1000th", []string{"2026-11-24.99.999"}, day, "2026-11-24.99.999.1000"},
		{"the day is UTC", []string{"2026-11-24"}, time.Date(2026, 11, 25, 0, 30, 0, 0, berlin), "2026-11-24.02"},
		{"new year", []string{"2026-12-31.04"}, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), "2027-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := NextName(tt.existing, tt.now); got != tt.want {
				t.Errorf("NextName(%q) = %q, want %q", tt.existing, got, tt.want)
			}
		})
	}
}

// sequence makes n snapshots on the given day, after what existing holds.
func sequence(existing []string, now time.Time, n int) []string {
	names := slices.Clone(existing)
	for range n {
		names = append(names, NextName(names, now))
	}
	return names
}

func TestNextNameSequence(t *testing.T) {
	names := sequence(nil, day, 12)
	want := []string{"2026-11-24", "2026-11-24.02", "2026-11-24.03", "2026-11-24.04", "2026-11-24.05", "2026-11-24.06",
		"2026-11-24.07", "2026-11-24.08", "2026-11-24.09", "2026-11-24.10", "2026-11-24.11", "2026-11-24.12"}
	if !slices.Equal(names, want) {
		t.Errorf("12 snapshots in a day:\n got %q\nwant %q", names, want)
	}
}

// TestNextNameSortsByCreation checks that names in creation order are
// already sorted, byte-wise (sort.Strings, ls) and in dpkg order, and are
// valid snapshot names, over several days and many snapshots a day.
func TestNextNameSortsByCreation(t *testing.T) {
	for _, perDay := range []int{1, 2, 9, 10, 11, 20, 99, 100, 101, 1001} {
		var names []string
		for d := range 3 {
			names = sequence(names, day.AddDate(0, 0, d*37), perDay) // across month ends
		}
		sorted := slices.Clone(names)
		sort.Strings(sorted)
		if !slices.Equal(sorted, names) {
			t.Errorf("%d a day: sort.Strings changes the creation order:\n got %q\nwant %q", perDay, sorted, names)
		}
		for i, n := range names {
			if err := ValidName(n); err != nil {
				t.Errorf("%d a day: %v", perDay, err)
			}
			if err := debian.ValidVersion(n); err != nil {
				t.Errorf("%d a day: %v", perDay, err)
			}
			if i > 0 && debian.CompareVersions(names[i-1], n) >= 0 {
				t.Errorf("%d a day: dpkg order: %q is not below %q", perDay, names[i-1], n)
			}
		}
		if len(slices.Compact(slices.Clone(names))) != len(names) {
			t.Errorf("%d a day: duplicate names", perDay)
		}
	}
}

func TestSequenceSuffixLength(t *testing.T) {
	// The largest sequence NextName recognises still makes a valid name.
	name := "2026-11-24" + sequenceSuffix(maxSequence+1)
	if err := ValidName(name); err != nil {
		t.Errorf("%v", err)
	}
	if n, ok := daySequence("2026-11-24"+sequenceSuffix(maxSequence), "2026-11-24"); !ok || n != maxSequence {
		t.Errorf("daySequence(maxSequence) = %d, %v", n, ok)
	}
}

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"2026-11-24", true},
		{"2026-11-24.02", true},
		{"2026-11-24.99.100", true},
		{"2026-11-24-hotfix", true},
		{"1.2.0+fleet_7", true},
		{"0", true},
		{strings.Repeat("1", MaxNameLen), true},
		{strings.Repeat("1", MaxNameLen+1), false},
		{"", false},
		{"canary", false},      // starts with a letter: a stage name
		{"production", false},  // idem
		{"development", false}, // idem: the rolling suite
		{"hotfix-2026", false},
		{"-2026", false},
		{".2026", false},
		{"_2026", false},
		{"2026-", false},
		{"2026.", false},
		{"2026..11", false},
		{"2026/11", false},
		{"2026/../x", false},
		{"2026-11-24\n", false},
		{"2026\t11", false},
		{"2026\x0011", false},
		{"2026\x7f", false},
		{"2026 11", false},
		{"2026-Nov", false},
		{"2026-11-24:1", false},
		{"2026~rc1", false},
		{"2026-ü", false},
	}
	for _, tt := range tests {
		err := ValidName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("ValidName(%q) = %v, not ErrBadName", tt.name, err)
		}
	}
}

func TestValidStageName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"canary", true},
		{"production", true},
		{"development", true}, // same namespace as the rolling suite: the caller checks existing suites
		{"prod-eu-2", true},
		{"a", true},
		{strings.Repeat("a", MaxStageNameLen), true},
		{strings.Repeat("a", MaxStageNameLen+1), false},
		{"", false},
		{"2026-11-24", false}, // starts with a digit: a snapshot name
		{"1canary", false},
		{"Canary", false},
		{"canary.eu", false},
		{"canary_eu", false},
		{"canary+1", false},
		{"canary-", false},
		{"-canary", false},
		{"can/ary", false},
		{"..", false},
		{"can..ary", false},
		{"canary\n", false},
		{"can\x01ary", false},
		{"can ary", false},
	}
	for _, tt := range tests {
		err := ValidStageName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("ValidStageName(%q) = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrBadName) {
			t.Errorf("ValidStageName(%q) = %v, not ErrBadName", tt.name, err)
		}
	}
}

// TestNamesNeverCollide checks the point of the two rules: no name is both
// a valid snapshot name and a valid stage name.
func TestNamesNeverCollide(t *testing.T) {
	candidates := []string{"canary", "2026-11-24", "a", "1", "a1", "1a", "production", "0canary", "x-1"}
	for c := byte(0); c < 128; c++ {
		candidates = append(candidates, string(c), string(c)+"a", string(c)+"1")
	}
	for _, n := range candidates {
		if ValidName(n) == nil && ValidStageName(n) == nil {
			t.Errorf("%q is both a snapshot and a stage name", n)
		}
	}
}
