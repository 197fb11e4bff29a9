package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/debflow/debflow/internal/testkit"
)

// treeFiles maps every file under dir but the lock file to its content.
func treeFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".debflow/lock" {
			return nil
		}
		data, err := os.ReadFile(p)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

// treeDiff names the files added, replaced and deleted from before to after.
func treeDiff(before, after map[string][]byte) (added, replaced, deleted []string) {
	for n, data := range after {
		old, ok := before[n]
		switch {
		case !ok:
			added = append(added, n)
		case !bytes.Equal(old, data):
			replaced = append(replaced, n)
		}
	}
	for n := range before {
		if _, ok := after[n]; !ok {
			deleted = append(deleted, n)
		}
	}
	slices.Sort(added)
	slices.Sort(replaced)
	slices.Sort(deleted)
	return
}

type planJSON struct {
	DryRun  bool            `json:"dry_run"`
	Result  json.RawMessage `json:"result"`
	Changes struct {
		Added    []struct{ Name string } `json:"added"`
		Replaced []struct{ Name string } `json:"replaced"`
		Deleted  []struct{ Name string } `json:"deleted"`
	} `json:"changes"`
}

func names(l []struct{ Name string }) []string {
	out := []string{}
	for _, c := range l {
		out = append(out, c.Name)
	}
	return out
}

func orEmpty(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// TestDryRunPlansWhatTheRealRunDoes: for each command with --dry-run, the
// dry run leaves the tree byte for byte as it was and creates no lock
// file; its plan (the command's result and the files that would be added,
// replaced and deleted) is what the real run then does.
func TestDryRunPlansWhatTheRealRunDoes(t *testing.T) {
	o := newOpsRepo(t)
	o.publish(nil, testkit.Deb{Name: "hello", Version: "1.0"}, testkit.Deb{Name: "docs", Version: "1.0", Arch: "all"})
	o.mustRun("snapshot", "create", "--quiet", "--key", o.key, "--name", "1-first")
	o.publish([]string{"--suite", "feature-x", "--create-suite"}, testkit.Deb{Name: "feature", Version: "1.0"})
	hello2 := testkit.WriteDeb(t, o.debs, testkit.Deb{Name: "hello", Version: "2.0"})
	hello3 := testkit.WriteDeb(t, o.debs, testkit.Deb{Name: "hello", Version: "3.0"})

	lock := filepath.Join(o.root, ".debflow", "lock")
	steps := [][]string{
		{"publish", "--key", o.key, hello2},
		{"snapshot", "create", "--key", o.key, "--name", "2-second"},
		{"promote", "--key", o.key, "1-first", "--to", "canary"},
		{"promote", "--key", o.key, "2-second", "--to", "canary"},
		{"publish", "--key", o.key, "--keep", "1", hello3},
		{"snapshot", "pick", "--key", o.key, "--name", "3-picked", "1-first", "hello=3.0"},
		{"snapshot", "drop", "3-picked"},
		{"snapshot", "drop", "1-first"}, // frees hello 1.0 for gc
		{"remove", "--key", o.key, "docs"},
		{"suite", "drop", "feature-x"},
		{"gc"},
	}
	for _, step := range steps {
		name := strings.Join(step[:min(2, len(step))], " ")
		if err := os.Remove(lock); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		if step[0] == "gc" { // a pool file left by an interrupted publish
			stray := filepath.Join(o.root, "pool", "main", "s", "stray", "stray_1_amd64.deb")
			if err := os.MkdirAll(filepath.Dir(stray), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(stray, []byte("stray"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		before := treeFiles(t, o.root)
		hash := testkit.TreeHash(t, o.root)
		out := o.mustRun(append(step, "--dry-run", "--json")...)
		if testkit.TreeHash(t, o.root) != hash {
			t.Fatalf("%s --dry-run changed the tree", name)
		}
		if _, err := os.Stat(lock); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s --dry-run left a lock file (%v)", name, err)
		}
		text := o.mustRun(append(step, "--dry-run")...)
		if !strings.Contains(text, "would ") {
			t.Errorf("%s --dry-run printed %q", name, text)
		}

		real := o.mustRun(append(step, "--json")...)
		after := treeFiles(t, o.root)
		added, replaced, deleted := treeDiff(before, after)

		switch step[0] {
		case "gc", "remove", "suite": // their dry runs print the real result's shape, marked dry_run
			var plan, got struct {
				Removed   []string `json:"removed"`
				PoolFreed []string `json:"pool_freed"`
			}
			if err := json.Unmarshal([]byte(out), &plan); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
			if err := json.Unmarshal([]byte(real), &got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(plan.Removed, got.Removed) || !slices.Equal(plan.PoolFreed, got.PoolFreed) {
				t.Errorf("%s: dry run planned %s\nreal run did %s", name, out, real)
			}
			if step[0] == "gc" && (len(plan.Removed) == 0 || !slices.Equal(plan.Removed, deleted)) {
				t.Errorf("gc: planned %v, deleted %v", plan.Removed, deleted)
			}
			continue
		}
		var plan planJSON
		if err := json.Unmarshal([]byte(out), &plan); err != nil || !plan.DryRun {
			t.Fatalf("%s --dry-run --json: %v\n%s", name, err, out)
		}
		var want, got any
		_ = json.Unmarshal(plan.Result, &want)
		if err := json.Unmarshal([]byte(real), &got); err != nil {
			t.Fatal(err)
		}
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		if !bytes.Equal(wj, gj) {
			t.Errorf("%s: dry run's result %s, real run's %s", name, wj, gj)
		}
		for _, c := range []struct {
			what       string
			plan, real []string
		}{
			{"added", names(plan.Changes.Added), orEmpty(added)},
			{"replaced", names(plan.Changes.Replaced), orEmpty(replaced)},
			{"deleted", names(plan.Changes.Deleted), orEmpty(deleted)},
		} {
			if !slices.Equal(c.plan, c.real) {
				t.Errorf("%s: dry run would have %s\n%v\nthe real run %s\n%v", name, c.what, c.plan, c.what, c.real)
			}
		}
		if len(added)+len(replaced)+len(deleted) == 0 {
			t.Errorf("%s changed nothing: the test proves nothing", name)
		}
	}
}
