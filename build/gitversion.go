package build

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/debflow/debflow/internal/debian"
)

// GitInfo describes the commit a package is built from.
type GitInfo struct {
	Version string    // Debian version derived from git (see DescribeGit)
	Commit  string    // full commit id (40 hex digits, 64 in a SHA-256 repository)
	Short   string    // abbreviated commit id used in Version: always the first 12 hex digits of Commit
	Tag     string    // the release tag the version is based on, "" if none
	Count   int       // first-parent commits since Tag (or since the root, inclusive, when there is no tag)
	Time    time.Time // committer time of the commit, in UTC (used as the default SOURCE_DATE_EPOCH)
	Dirty   bool      // the work tree has uncommitted changes to tracked files; Version ends in DirtySuffix
}

// DirtySuffix ends the version of a build from a work tree with
// uncommitted changes to tracked files, so that such a package never
// passes for the commit's own build. It sorts above the clean build of the
// same commit and below the next commit's ("1.2.0+git5.H" <
// "1.2.0+git5.H+dirty" < "1.2.0+git6.H'"; "1.2.0" < "1.2.0+dirty" <
// "1.2.0+git1.H'").
const DirtySuffix = "+dirty"

// ErrNotGitRepository is returned, wrapped with the directory, when the
// directory given to DescribeGit is not inside a git work tree.
var ErrNotGitRepository = errors.New("build: not inside a git work tree")

// ErrNoCommits is returned, wrapped with the directory, when HEAD of the
// repository has no commit yet (a fresh "git init", or an unborn branch).
var ErrNoCommits = errors.New("build: git repository has no commits yet")

// gitShortLen is the number of hex digits of the commit id put in versions.
//
// It is fixed rather than left to "git rev-parse --short": git's default
// abbreviation grows with the number of objects in the repository and
// follows core.abbrev, so two machines (a full clone and a shallow CI clone,
// or two users with different configs) would derive different versions for
// the same commit. The hash only tells apart commits that have the same tag
// and the same first-parent count (builds of different branches), for which
// 48 bits are plenty.
const gitShortLen = 12

// gitReleaseTag matches release tag names: an optional "v", at least two
// dot-separated numbers, and an optional pre-release suffix after '-' made
// of dot-separated alphanumeric identifiers ("v1.2.0", "1.2", "v2.0.0-rc1",
// "3.0.0-beta.2"). Single numbers ("v2") are not taken as releases, so that
// build-number or date-like tags do not hijack the version.
var gitReleaseTag = regexp.MustCompile(`^v?([0-9]+(?:\.[0-9]+)+)(?:-([0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*))?$`)

// gitDebianUpstream matches what DescribeGit may return: a Debian upstream
// version without epoch and without revision (so no ':' and no '-').
var gitDebianUpstream = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~]*$`)

// gitCommitID matches a full SHA-1 or SHA-256 object id.
var gitCommitID = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// DescribeGit derives the version of HEAD of the git repository containing dir.
//
// Only tags whose name looks like a release count ("v1.2.0" or "1.2.0",
// optionally with a pre-release suffix: "v1.2.0-rc1" becomes "1.2.0~rc1" so
// that it sorts below "1.2.0"); lightweight and annotated tags both count,
// other tags are ignored. The nearest release tag is searched along the
// first-parent history of HEAD only, so tags on merged side branches do not
// count. When several release tags point at the nearest tagged commit, the
// highest in dpkg order wins. With N the number of first-parent commits from
// the tag to HEAD (git rev-list --first-parent --count TAG..HEAD) and H the
// first 12 hex digits of the commit id, the version is:
//
//	HEAD is tagged v1.2.0:          1.2.0
//	N=5 commits after v1.2.0:       1.2.0+git5.0123456789ab
//	N=3 commits after v2.0.0-rc1:   2.0.0~rc1+git3.0123456789ab
//	no release tag, N=42 from root: 0~git42.0123456789ab
//
// "1.2.0+gitN.H" sorts above 1.2.0 and below the next release (1.2.1~,
// 1.3.0, 2.0.0~rc1), and, since N grows by one with every first-parent
// commit, strictly above every earlier commit of the branch even when
// commit times tie. A pre-release "2.0.0~rc1+gitN.H" stays below 2.0.0.
//
// When tracked files have uncommitted changes (git status, untracked files
// left out), Dirty is set and the version ends in DirtySuffix ("+dirty"):
// such a build never takes the clean commit's version, and sorts just above
// it.
//
// Without any release tag, N counts the first-parent commits from the root
// to HEAD inclusive, and the version "0~gitN.H" sorts below every release
// (0~ is below 0, 0.0.1, 0.1 and 1.0), so the first tagged release upgrades
// every untagged build.
//
// The versions never contain '-' or ':', so dpkg cannot mistake part of them
// for a Debian revision or an epoch; the packaging may append a revision.
//
// git runs as "git -C dir" with LC_ALL=C, without replace refs (which are
// local to a clone and would rewrite history differently on each machine),
// and with the variables that point git at another repository (GIT_DIR,
// GIT_WORK_TREE...) removed, so the result depends only on the repository.
// In a shallow clone the tag must be within the fetched history; when no
// release tag is found there the count from the root is unknown and
// DescribeGit fails rather than return a version that might go backwards.
//
// Errors: a directory outside any work tree (or inside .git, or a bare
// repository) gives an error wrapping ErrNotGitRepository; a repository
// without commits gives ErrNoCommits; a missing git executable gives an error
// wrapping exec.ErrNotFound; a missing directory one wrapping fs.ErrNotExist.
func DescribeGit(ctx context.Context, dir string) (GitInfo, error) {
	if dir == "" {
		dir = "."
	}
	fail := func(err error) (GitInfo, error) {
		if errors.Is(err, ErrNotGitRepository) || errors.Is(err, ErrNoCommits) {
			return GitInfo{}, err // already names dir
		}
		return GitInfo{}, fmt.Errorf("build: describe git version of %s: %w", dir, err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return fail(err)
	} else if !fi.IsDir() {
		return fail(fmt.Errorf("%w: %s is not a directory", ErrNotGitRepository, dir))
	}

	inside, err := gitOutput(ctx, dir, "rev-parse", "--is-inside-work-tree")
	if err != nil {
		return fail(err)
	}
	if inside != "true" {
		return fail(fmt.Errorf("%w: %s (inside a .git directory or a bare repository)", ErrNotGitRepository, dir))
	}

	commit, err := gitOutput(ctx, dir, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
	if err != nil {
		// --verify --quiet exits with status 1 and prints nothing when
		// HEAD does not resolve to a commit: an unborn branch.
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) && exitErr.ExitCode() == 1 && commit == "" {
			return fail(fmt.Errorf("%w: %s", ErrNoCommits, dir))
		}
		return fail(err)
	}
	if !gitCommitID.MatchString(commit) {
		return fail(fmt.Errorf("unexpected output of git rev-parse HEAD: %q", commit))
	}
	// From here on, the commit id is used instead of HEAD so that a HEAD
	// moving while we run cannot mix two commits in one GitInfo.
	info := GitInfo{Commit: commit, Short: commit[:gitShortLen]}

	ct, err := gitOutput(ctx, dir, "log", "-1", "--no-show-signature", "--format=%ct", commit)
	if err != nil {
		return fail(err)
	}
	sec, err := strconv.ParseInt(ct, 10, 64)
	if err != nil {
		return fail(fmt.Errorf("parse committer time %q of %s: %w", ct, commit, err))
	}
	info.Time = time.Unix(sec, 0).UTC()

	releases, err := gitReleaseTags(ctx, dir)
	if err != nil {
		return fail(err)
	}
	n, tagged, err := gitFirstParentDistance(ctx, dir, commit, releases)
	if err != nil {
		return fail(err)
	}
	info.Count = n

	if tagged == "" {
		shallow, err := gitOutput(ctx, dir, "rev-parse", "--is-shallow-repository")
		if err != nil {
			return fail(err)
		}
		if shallow == "true" {
			return fail(errors.New("shallow clone without a release tag in its history: " +
				"the commit count from the root is unknown; fetch the full history and the tags " +
				"(git fetch --unshallow --tags, or fetch-depth: 0 in CI)"))
		}
		info.Version = fmt.Sprintf("0~git%d.%s", n, info.Short)
	} else {
		tag := gitBestTag(releases[tagged])
		info.Tag = tag.name
		info.Version = tag.version
		if n > 0 {
			info.Version = fmt.Sprintf("%s+git%d.%s", tag.version, n, info.Short)
		}
	}
	// Tracked files only: build outputs and other untracked files in the
	// work tree (dist/, a local key) do not make the commit's sources differ.
	status, err := gitOutput(ctx, dir, "--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return fail(err)
	}
	if status != "" {
		info.Dirty = true
		info.Version += DirtySuffix
	}
	if !gitDebianUpstream.MatchString(info.Version) {
		return fail(fmt.Errorf("derived version %q is not a valid Debian upstream version", info.Version))
	}
	return info, nil
}

// gitTag is a release tag and the Debian version it stands for.
type gitTag struct {
	name    string // tag name without refs/tags/
	version string // Debian version, such as 1.2.0 or 1.2.0~rc1
}

// gitTagVersion converts a release tag name into a Debian version: the "v"
// is dropped and the '-' before a pre-release suffix becomes '~'. It
// reports false for tags that are not release tags.
func gitTagVersion(name string) (string, bool) {
	m := gitReleaseTag.FindStringSubmatch(name)
	if m == nil {
		return "", false
	}
	if m[2] == "" {
		return m[1], true
	}
	return m[1] + "~" + m[2], true
}

// gitReleaseTags lists the release tags of the repository in dir, keyed by
// the commit they point at (annotated tags are peeled).
func gitReleaseTags(ctx context.Context, dir string) (map[string][]gitTag, error) {
	// show-ref -d prints "ID refs/tags/NAME" for every tag and, for
	// annotated tags, "COMMIT refs/tags/NAME^{}" with the fully peeled
	// object. It exits with status 1 and no output when there is no tag.
	out, err := gitOutput(ctx, dir, "show-ref", "--tags", "-d")
	if err != nil {
		var exitErr *exec.ExitError
		if !(errors.As(err, &exitErr) && exitErr.ExitCode() == 1 && out == "") {
			return nil, err
		}
	}
	target := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		id, ref, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		name, ok := strings.CutPrefix(ref, "refs/tags/")
		if !ok {
			continue
		}
		if peeled, ok := strings.CutSuffix(name, "^{}"); ok {
			target[peeled] = id
		} else if _, seen := target[name]; !seen {
			target[name] = id
		}
	}
	byCommit := map[string][]gitTag{}
	for name, id := range target {
		if v, ok := gitTagVersion(name); ok {
			byCommit[id] = append(byCommit[id], gitTag{name: name, version: v})
		}
	}
	return byCommit, nil
}

// gitBestTag picks, among release tags of the same commit, the one with the
// highest version in dpkg order; equal versions ("v1.0" and "1.0") are
// decided by name so that the choice does not depend on map order.
func gitBestTag(tags []gitTag) gitTag {
	sort.Slice(tags, func(i, j int) bool {
		if c := debian.CompareVersions(tags[i].version, tags[j].version); c != 0 {
			return c > 0
		}
		return tags[i].name < tags[j].name
	})
	return tags[0]
}

// gitFirstParentDistance walks the first-parent history of commit and
// returns the number of commits before the first one that carries a release
// tag, and that tagged commit. When no commit is tagged, it returns the
// number of commits from the root to commit inclusive and "".
//
// For a tag on the first-parent chain, the number of commits before it is
// exactly git rev-list --first-parent --count TAG..commit: none of those
// commits can be an ancestor of the tag.
func gitFirstParentDistance(ctx context.Context, dir, commit string, tagged map[string][]gitTag) (int, string, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"rev-list", "--first-parent", commit}
	cmd := gitCommand(ctx, dir, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, "", gitError(ctx, dir, args, err, nil)
	}
	if err := cmd.Start(); err != nil {
		return 0, "", gitError(ctx, dir, args, err, nil)
	}
	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		id := sc.Text()
		if _, ok := tagged[id]; ok {
			// Found: the rest of the history is not needed.
			cancel()
			_ = cmd.Wait()
			return n, id, nil
		}
		n++
	}
	scanErr := sc.Err()
	if err := cmd.Wait(); err != nil {
		return 0, "", gitError(ctx, dir, args, err, stderr.Bytes())
	}
	if scanErr != nil {
		return 0, "", gitError(ctx, dir, args, scanErr, nil)
	}
	return n, "", nil
}

// gitOutput runs git in dir and returns its standard output without the
// trailing newline. On failure the error names the command and carries
// git's standard error; the output read so far is returned too.
func gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	cmd := gitCommand(ctx, dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	out := strings.TrimRight(stdout.String(), "\r\n")
	if err != nil {
		return out, gitError(ctx, dir, args, err, stderr.Bytes())
	}
	return out, nil
}

// gitError wraps the failure of a git command with the command line and
// git's message, and recognizes a cancelled context, a missing git and a
// directory dir outside any repository.
func gitError(ctx context.Context, dir string, args []string, err error, stderr []byte) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		// The process was killed because the context ended: report why.
		return fmt.Errorf("git %s: %w (%v)", strings.Join(args, " "), ctxErr, err)
	}
	if errors.Is(err, exec.ErrNotFound) {
		return fmt.Errorf("git is not installed or not in PATH: %w", err)
	}
	msg := strings.TrimSpace(string(stderr))
	if strings.Contains(msg, "not a git repository") {
		return fmt.Errorf("%w: %s (%s)", ErrNotGitRepository, dir, msg)
	}
	if msg != "" {
		return fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, msg)
	}
	return fmt.Errorf("git %s: %w", strings.Join(args, " "), err)
}

// gitCommand prepares "git -C dir args..." with a C locale, without replace
// refs, and without the environment variables that would make git use
// another repository than the one containing dir.
func gitCommand(ctx context.Context, dir string, args ...string) *exec.Cmd {
	full := append([]string{"-C", dir, "--no-replace-objects"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	env := make([]string, 0, len(os.Environ())+1)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "LANG", k == "LANGUAGE", strings.HasPrefix(k, "LC_"):
		case k == "GIT_DIR", k == "GIT_WORK_TREE", k == "GIT_COMMON_DIR",
			k == "GIT_INDEX_FILE", k == "GIT_PREFIX", k == "GIT_NAMESPACE",
			k == "GIT_OBJECT_DIRECTORY", k == "GIT_ALTERNATE_OBJECT_DIRECTORIES",
			k == "GIT_REPLACE_REF_BASE", k == "GIT_SHALLOW_FILE":
		default:
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "LC_ALL=C")
	return cmd
}
