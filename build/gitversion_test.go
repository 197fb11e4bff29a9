package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/debflow/debflow/internal/debian"
)

// gitTestPolicyVersion is Debian policy 5.6.12 for a version without epoch
// and without revision: the upstream part starts with a digit and holds
// only [A-Za-z0-9.+~] (a '-' would start a revision, a ':' end an epoch).
var gitTestPolicyVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)

// gitTestTools skips the test when git or dpkg is missing and makes git
// ignore the machine's and the user's configuration, for the test's own
// commands and for those DescribeGit runs.
func gitTestTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"git", "dpkg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found in PATH, skipping: %v", tool, err)
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", filepath.Join(home, "gitconfig"))
	for _, k := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_CONFIG_PARAMETERS", "GIT_CONFIG_COUNT"} {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	// Keep git from finding a repository above the temporary directories.
	t.Setenv("GIT_CEILING_DIRECTORIES", filepath.Dir(t.TempDir()))
}

// gitTestRepo scripts a git history with a fixed identity and fixed dates.
type gitTestRepo struct {
	t   *testing.T
	dir string
	n   int // commits made, used for file contents and messages
}

func newGitTestRepo(t *testing.T) *gitTestRepo {
	t.Helper()
	r := &gitTestRepo{t: t, dir: t.TempDir()}
	r.git(0, "init", "-q", "-b", "main")
	return r
}

// git runs git in the repository with dates set to the Unix time when.
func (r *gitTestRepo) git(when int64, args ...string) string {
	r.t.Helper()
	out, err := gitTestRun(r.dir, when, args...)
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func gitTestRun(dir string, when int64, args ...string) (string, error) {
	date := fmt.Sprintf("@%d +0000", when)
	cmd := exec.Command("git", append([]string{"-C", dir,
		"-c", "commit.gpgSign=false", "-c", "tag.gpgSign=false"}, args...)...)
	cmd.Env = append(os.Environ(),
		"LC_ALL=C",
		"GIT_AUTHOR_NAME=Deb Flow", "GIT_AUTHOR_EMAIL=debflow@example.org", "GIT_AUTHOR_DATE="+date,
		"GIT_COMMITTER_NAME=Deb Flow", "GIT_COMMITTER_EMAIL=debflow@example.org", "GIT_COMMITTER_DATE="+date,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// commit changes file.txt and commits it at time when; it returns the id.
func (r *gitTestRepo) commit(when int64) string {
	r.t.Helper()
	return r.commitFile(when, "file.txt")
}

// commitFile changes the file name and commits it at time when.
func (r *gitTestRepo) commitFile(when int64, name string) string {
	r.t.Helper()
	r.n++
	if err := os.WriteFile(filepath.Join(r.dir, name), []byte(strconv.Itoa(r.n)+"\n"), 0o644); err != nil {
		r.t.Fatal(err)
	}
	r.git(when, "add", name)
	r.git(when, "commit", "-q", "-m", "commit "+strconv.Itoa(r.n))
	return r.git(when, "rev-parse", "HEAD")
}

// gitTestDpkg runs dpkg --compare-versions a op b and fails the test when
// dpkg complains about the syntax of either version.
func gitTestDpkg(t *testing.T, a, op, b string) bool {
	t.Helper()
	cmd := exec.Command("dpkg", "--compare-versions", a, op, b)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if stderr.Len() > 0 {
		t.Errorf("dpkg --compare-versions %q %s %q: %s", a, op, b, strings.TrimSpace(stderr.String()))
	}
	if err == nil {
		return true
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) && exitErr.ExitCode() == 1 {
		return false
	}
	t.Fatalf("dpkg --compare-versions %q %s %q: %v", a, op, b, err)
	return false
}

// gitTestValid checks a version with the policy regexp and with dpkg.
func gitTestValid(t *testing.T, v string) {
	t.Helper()
	if !gitTestPolicyVersion.MatchString(v) {
		t.Errorf("version %q is not a Debian upstream version without revision", v)
	}
	if !gitTestDpkg(t, v, "eq", v) {
		t.Errorf("dpkg says %q != %q", v, v)
	}
}

func TestGitTagVersion(t *testing.T) {
	for _, tc := range []struct {
		tag, want string
		ok        bool
	}{
		{"v1.2.0", "1.2.0", true},
		{"1.2.0", "1.2.0", true},
		{"v1.2", "1.2", true},
		{"v10.20.30.40", "10.20.30.40", true},
		{"v1.2.0-rc1", "1.2.0~rc1", true},
		{"1.2.0-beta.2", "1.2.0~beta.2", true},
		{"v2.0.0-RC1", "2.0.0~RC1", true},
		{"v1", "", false},
		{"2024", "", false},
		{"V1.2.0", "", false},
		{"latest", "", false},
		{"release-1.2.0", "", false},
		{"v1.2.0-", "", false},
		{"v1.2.0-rc-1", "", false},
		{"v1.2.0+build5", "", false},
		{"v1.2.0-rc1+build5", "", false},
		{"v.1.2", "", false},
		{"1..2", "", false},
		{"1.2.", "", false},
		{"1.0.0.rc1", "", false},
		{"vv1.2", "", false},
	} {
		got, ok := gitTagVersion(tc.tag)
		if got != tc.want || ok != tc.ok {
			t.Errorf("gitTagVersion(%q) = %q, %v; want %q, %v", tc.tag, got, ok, tc.want, tc.ok)
		}
	}
}

// gitTestStep is the expectation for one commit of the scripted history.
type gitTestStep struct {
	what  string
	info  GitInfo
	when  int64  // committer time
	exact string // the exact version, or "" to match pattern
	re    string // pattern of the version when exact is ""
	tag   string // expected GitInfo.Tag
	below string // a version this one must sort below (the next release)
}

func TestDescribeGitHistory(t *testing.T) {
	gitTestTools(t)
	ctx := context.Background()
	r := newGitTestRepo(t)
	var steps []gitTestStep
	const h = `[0-9a-f]{12}`
	record := func(what string, when int64, exact, re, tag, below string) {
		t.Helper()
		info, err := DescribeGit(ctx, r.dir)
		if err != nil {
			t.Fatalf("%s: DescribeGit: %v", what, err)
		}
		t.Logf("%-40s %s", what, info.Version)
		steps = append(steps, gitTestStep{what, info, when, exact, re, tag, below})
	}

	t0 := int64(1700000000)
	r.commit(t0)
	record("first commit", t0, "", `^0~git1\.`+h+`$`, "", "0.0.1")
	r.commit(t0 + 60)
	record("second untagged commit", t0+60, "", `^0~git2\.`+h+`$`, "", "0.1")
	r.commit(t0 + 120)
	r.git(0, "tag", "v1.0.0") // lightweight
	record("lightweight tag v1.0.0", t0+120, "1.0.0", "", "v1.0.0", "1.0.1~")
	r.commit(t0 + 180)
	record("one commit after v1.0.0", t0+180, "", `^1\.0\.0\+git1\.`+h+`$`, "v1.0.0", "1.0.1~")

	// Twelve commits in the same second: only the count orders them, and
	// it goes from one digit to two (git9 < git10 numerically).
	same := t0 + 240
	for i := 2; i <= 13; i++ {
		r.commit(same)
		switch i {
		case 4:
			// Tags that are not releases must be ignored.
			for _, tag := range []string{"latest", "v2", "deploy-42", "v1.0.0-rc-1", "v1.2.3+meta", "1.0.0.rc1"} {
				r.git(0, "tag", tag)
			}
		case 7:
			r.git(same, "tag", "-a", "-m", "not a release", "nightly-2023")
		}
		record(fmt.Sprintf("commit %d after v1.0.0, same second", i), same,
			"", fmt.Sprintf(`^1\.0\.0\+git%d\.`+h+`$`, i), "v1.0.0", "1.0.1~")
	}

	t1 := t0 + 3600
	r.commit(t1)
	r.git(t1, "tag", "-a", "-m", "release 1.1.0", "1.1.0") // annotated, no "v"
	record("annotated tag 1.1.0", t1, "1.1.0", "", "1.1.0", "1.1.1~")
	r.commit(t1 + 60)
	record("one commit after 1.1.0", t1+60, "", `^1\.1\.0\+git1\.`+h+`$`, "1.1.0", "1.1.1~")

	// A side branch, with a release tag of its own, merged back.
	r.git(0, "branch", "side")
	r.commit(t1 + 120)
	record("main commit while side exists", t1+120, "", `^1\.1\.0\+git2\.`+h+`$`, "1.1.0", "1.1.1~")
	r.git(0, "checkout", "-q", "side")
	r.commitFile(t1+130, "side.txt")
	r.commitFile(t1+140, "side.txt")
	r.git(t1+140, "tag", "-a", "-m", "side release", "v9.9.9")
	side, err := DescribeGit(ctx, r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if side.Version != "9.9.9" || side.Tag != "v9.9.9" {
		t.Errorf("side branch tip: got %q (tag %q), want 9.9.9 (v9.9.9)", side.Version, side.Tag)
	}
	r.git(0, "checkout", "-q", "main")
	r.git(t1+150, "merge", "-q", "--no-ff", "-m", "merge side", "side")
	if parents := strings.Fields(r.git(0, "rev-list", "--parents", "-n1", "HEAD")); len(parents) != 3 {
		t.Fatalf("HEAD is not a merge commit: %v", parents)
	}
	record("merge of side (tag v9.9.9 off first-parent)", t1+150, "", `^1\.1\.0\+git3\.`+h+`$`, "1.1.0", "1.1.1~")
	r.commit(t1 + 160)
	record("commit after merge", t1+160, "", `^1\.1\.0\+git4\.`+h+`$`, "1.1.0", "1.1.1~")

	t2 := t0 + 7200
	r.commit(t2)
	r.git(0, "tag", "v2.0.0-rc1")
	record("pre-release tag v2.0.0-rc1", t2, "2.0.0~rc1", "", "v2.0.0-rc1", "2.0.0")
	r.commit(t2 + 60)
	record("one commit after v2.0.0-rc1", t2+60, "", `^2\.0\.0~rc1\+git1\.`+h+`$`, "v2.0.0-rc1", "2.0.0~rc2")
	r.commit(t2 + 120)
	record("two commits after v2.0.0-rc1", t2+120, "", `^2\.0\.0~rc1\+git2\.`+h+`$`, "v2.0.0-rc1", "2.0.0")

	// Several release tags on one commit: the highest in dpkg order wins.
	r.commit(t2 + 180)
	r.git(0, "tag", "1.9.9")
	r.git(0, "tag", "v2.0.0-rc2")
	r.git(t2+180, "tag", "-a", "-m", "release 2.0.0", "v2.0.0")
	r.git(0, "tag", "v2.0.0-beta")
	record("tags 1.9.9, v2.0.0-rc2, v2.0.0, v2.0.0-beta", t2+180, "2.0.0", "", "v2.0.0", "2.0.1~")
	r.commit(t2 + 240)
	record("one commit after v2.0.0", t2+240, "", `^2\.0\.0\+git1\.`+h+`$`, "v2.0.0", "2.0.1~")

	for i, s := range steps {
		v := s.info.Version
		gitTestValid(t, v)
		if s.exact != "" && v != s.exact {
			t.Errorf("%s: version %q, want exactly %q", s.what, v, s.exact)
		}
		if s.exact == "" && !regexp.MustCompile(s.re).MatchString(v) {
			t.Errorf("%s: version %q does not match %s", s.what, v, s.re)
		}
		if s.info.Tag != s.tag {
			t.Errorf("%s: tag %q, want %q", s.what, s.info.Tag, s.tag)
		}
		if !gitTestDpkg(t, v, "lt", s.below) {
			t.Errorf("%s: dpkg does not sort %q below the next release %q", s.what, v, s.below)
		}
		if i > 0 {
			prev := steps[i-1].info.Version
			if !gitTestDpkg(t, prev, "lt", v) {
				t.Errorf("%s: dpkg does not sort %q (%s) below %q", s.what, prev, steps[i-1].what, v)
			}
			if debian.CompareVersions(prev, v) >= 0 {
				t.Errorf("%s: debian.CompareVersions does not sort %q below %q", s.what, prev, v)
			}
		}

		// The other fields, checked against git itself.
		if s.info.Commit != r.git(0, "rev-parse", s.info.Commit+"^{commit}") || len(s.info.Commit) != 40 {
			t.Errorf("%s: commit %q is not a full commit id", s.what, s.info.Commit)
		}
		if s.info.Short != s.info.Commit[:12] {
			t.Errorf("%s: short %q, want %q", s.what, s.info.Short, s.info.Commit[:12])
		}
		if s.info.Count > 0 && !strings.HasSuffix(v, "."+s.info.Short) {
			t.Errorf("%s: version %q does not end with the short hash %q", s.what, v, s.info.Short)
		}
		rng := s.info.Commit
		if s.info.Tag != "" {
			rng = s.info.Tag + ".." + s.info.Commit
		}
		if want := r.git(0, "rev-list", "--first-parent", "--count", rng); strconv.Itoa(s.info.Count) != want {
			t.Errorf("%s: count %d, git rev-list --first-parent --count %s says %s", s.what, s.info.Count, rng, want)
		}
		if !s.info.Time.Equal(time.Unix(s.when, 0)) || s.info.Time.Location() != time.UTC {
			t.Errorf("%s: time %v, want %v UTC", s.what, s.info.Time, time.Unix(s.when, 0).UTC())
		}
	}

	// A subdirectory describes the same commit as the top of the work tree.
	sub := filepath.Join(r.dir, "sub", "dir")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := DescribeGit(ctx, sub)
	if err != nil {
		t.Fatal(err)
	}
	if last := steps[len(steps)-1].info; got != last {
		t.Errorf("DescribeGit(subdirectory) = %+v, want %+v", got, last)
	}
}

func TestDescribeGitIgnoresEnvironmentAndConfig(t *testing.T) {
	gitTestTools(t)
	r := newGitTestRepo(t)
	r.commit(1700000000)
	r.commit(1700000001)
	want, err := DescribeGit(context.Background(), r.dir)
	if err != nil {
		t.Fatal(err)
	}
	// A user config that changes abbreviations and log output, a foreign
	// locale and a GIT_DIR pointing elsewhere must not change the result.
	other := newGitTestRepo(t)
	other.commit(1600000000)
	cfg := "[core]\n\tabbrev = 4\n[log]\n\tshowSignature = true\n\tdate = iso\n"
	if err := os.WriteFile(os.Getenv("GIT_CONFIG_GLOBAL"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LANG", "de_DE.UTF-8")
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	t.Setenv("GIT_DIR", filepath.Join(other.dir, ".git"))
	got, err := DescribeGit(context.Background(), r.dir)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("with a hostile environment: %+v, want %+v", got, want)
	}
}

func TestDescribeGitErrors(t *testing.T) {
	gitTestTools(t)
	ctx := context.Background()

	t.Run("not a repository", func(t *testing.T) {
		dir := t.TempDir()
		_, err := DescribeGit(ctx, dir)
		if !errors.Is(err, ErrNotGitRepository) {
			t.Fatalf("got %v, want an error wrapping ErrNotGitRepository", err)
		}
		if !strings.Contains(err.Error(), dir) {
			t.Errorf("error %q does not name the directory %s", err, dir)
		}
	})

	t.Run("inside .git", func(t *testing.T) {
		r := newGitTestRepo(t)
		r.commit(1700000000)
		_, err := DescribeGit(ctx, filepath.Join(r.dir, ".git"))
		if !errors.Is(err, ErrNotGitRepository) {
			t.Fatalf("got %v, want an error wrapping ErrNotGitRepository", err)
		}
	})

	t.Run("a file", func(t *testing.T) {
		r := newGitTestRepo(t)
		r.commit(1700000000)
		_, err := DescribeGit(ctx, filepath.Join(r.dir, "file.txt"))
		if !errors.Is(err, ErrNotGitRepository) {
			t.Fatalf("got %v, want an error wrapping ErrNotGitRepository", err)
		}
	})

	t.Run("missing directory", func(t *testing.T) {
		_, err := DescribeGit(ctx, filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("got %v, want an error wrapping fs.ErrNotExist", err)
		}
	})

	t.Run("no commits", func(t *testing.T) {
		r := newGitTestRepo(t)
		_, err := DescribeGit(ctx, r.dir)
		if !errors.Is(err, ErrNoCommits) {
			t.Fatalf("got %v, want an error wrapping ErrNoCommits", err)
		}
		if !strings.Contains(err.Error(), r.dir) {
			t.Errorf("error %q does not name the directory %s", err, r.dir)
		}
	})

	t.Run("git missing", func(t *testing.T) {
		r := newGitTestRepo(t)
		r.commit(1700000000)
		t.Setenv("PATH", t.TempDir())
		_, err := DescribeGit(ctx, r.dir)
		if !errors.Is(err, exec.ErrNotFound) || !strings.Contains(err.Error(), "git is not installed") {
			t.Fatalf("got %v, want an error wrapping exec.ErrNotFound that says git is missing", err)
		}
	})

	t.Run("cancelled context", func(t *testing.T) {
		r := newGitTestRepo(t)
		r.commit(1700000000)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := DescribeGit(cctx, r.dir)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want an error wrapping context.Canceled", err)
		}
	})

	t.Run("shallow clone", func(t *testing.T) {
		r := newGitTestRepo(t)
		for i := int64(0); i < 3; i++ {
			r.commit(1700000000 + i)
		}
		// Without a tag in the fetched history the count is unknown.
		shallow := filepath.Join(t.TempDir(), "shallow")
		r.git(0, "clone", "-q", "--depth", "1", "file://"+r.dir, shallow)
		_, err := DescribeGit(ctx, shallow)
		if err == nil || !strings.Contains(err.Error(), "shallow") {
			t.Fatalf("got %v, want an error about the shallow clone", err)
		}
		// With the release tag in the fetched history it works.
		r.git(0, "tag", "v3.1.0", "HEAD~1")
		tagged := filepath.Join(t.TempDir(), "tagged")
		r.git(0, "clone", "-q", "--depth", "2", "file://"+r.dir, tagged)
		info, err := DescribeGit(ctx, tagged)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^3\.1\.0\+git1\.[0-9a-f]{12}$`).MatchString(info.Version) {
			t.Errorf("shallow clone with tag: version %q, want 3.1.0+git1.<hash>", info.Version)
		}
	})
}
