package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/signing"
)

// minGo is the Go release go.mod asks for (TestDoctorGoVersionMatchesGoMod
// keeps them together).
const minGo = "1.26.8"

// doctorCheck is one thing doctor looked at.
type doctorCheck struct {
	Check  string `json:"check"`
	Status string `json:"status"` // ok, problem, or note (does not fail)
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctorTool is a program debflow's tests or commands run, and the Debian
// package that has it.
type doctorTool struct {
	name, pkg, why string
	optional       bool // the tests skip without it
}

var doctorTools = []doctorTool{
	{"dpkg-deb", "dpkg", "the tests check every built package with it", false},
	{"dpkg", "dpkg", "the tests install packages with it", false},
	{"gpgv", "gpgv", "the tests verify every signature with it, as apt does", false},
	{"gpg", "gpg", "the tests cross-check keys with it", false},
	{"apt-get", "apt", "the tests run a real apt against the repository", false},
	{"debsig-verify", "debsig-verify", "the origin-signature tests", true},
	{"reprepro", "reprepro", "the interoperability tests", true},
	{"lintian", "lintian", "the package-quality tests", true},
	{"man", "man-db", "debflow man's test renders every page", true},
}

func newDoctorCmd(g *globalOptions, e env) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor [--repo DIR] [--key FILE]",
		Short: "Check what a first-time user gets wrong, and say what to do",
		Long: `Doctor checks the Go toolchain (to build and test debflow), the tools the
tests and the real-client checks need on PATH (and the Debian package that
has each), the apt on this machine against what the source formats of
'debflow sources' need on devices, and, given --repo, the repository: that
it is one, its signing keys, and whether the key given by --key,
$DEBFLOW_KEY or $DEBFLOW_KEY_FILE is one of them and when it expires.

Each problem comes with what to do. The exit status is 0 when all is well,
1 otherwise.

Changes in the tree: none (it only reads).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			checks := runDoctor(cmd.Context(), g, e)
			problems := 0
			for _, c := range checks {
				if c.Status == "problem" {
					problems++
				}
			}
			if g.json {
				if err := printJSON(e, checks); err != nil {
					return err
				}
			} else {
				for _, c := range checks {
					fmt.Fprintf(e.stdout, "%-7s %s: %s\n", c.Status, c.Check, c.Detail)
					if c.Fix != "" {
						fmt.Fprintf(e.stdout, "        fix: %s\n", c.Fix)
					}
				}
			}
			if problems > 0 {
				return fmt.Errorf("%w: %d problem(s)", errDoctor, problems)
			}
			return nil
		},
	}
}

// errDoctor is doctor's failure: it found problems (exit 1).
var errDoctor = errors.New("doctor found problems")

// lookPathIn finds name in the directories of path (a $PATH value).
func lookPathIn(path, name string) (string, bool) {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, true
		}
	}
	return "", false
}

func runDoctor(ctx context.Context, g *globalOptions, e env) []doctorCheck {
	path := e.getenv("PATH")
	if path == "" {
		path = os.Getenv("PATH") // an env without one (tests): the process's
	}
	checks := []doctorCheck{goCheck(ctx, path)}
	for _, t := range doctorTools {
		c := doctorCheck{Check: t.name}
		if p, ok := lookPathIn(path, t.name); ok {
			c.Status, c.Detail = "ok", p
		} else {
			c.Status, c.Detail = "problem", "not on PATH: "+t.why
			if t.optional {
				c.Status, c.Detail = "note", "not on PATH: "+t.why+" (they are skipped)"
			}
			c.Fix = "apt-get install " + t.pkg
		}
		checks = append(checks, c)
	}
	checks = append(checks, aptCheck(ctx, path))
	if g.repo != "" {
		checks = append(checks, repoChecks(ctx, g, e)...)
	}
	return checks
}

var goVersionRE = regexp.MustCompile(`go(\d+(?:\.\d+)*)`)

func goCheck(ctx context.Context, path string) doctorCheck {
	c := doctorCheck{Check: "go", Status: "problem", Fix: "install Go " + minGo + " or later from https://go.dev/dl/ (or let the go command fetch it: GOTOOLCHAIN=auto)"}
	p, ok := lookPathIn(path, "go")
	if !ok {
		c.Detail = "not on PATH: building and testing debflow need it (running the binary does not)"
		return c
	}
	out, err := exec.CommandContext(ctx, p, "env", "GOVERSION").Output()
	m := goVersionRE.FindStringSubmatch(string(out))
	if err != nil || m == nil {
		c.Detail = fmt.Sprintf("%s: cannot tell its version (%v)", p, err)
		return c
	}
	if compareDotted(m[1], minGo) < 0 {
		c.Detail = fmt.Sprintf("go%s at %s; go.mod needs go%s", m[1], p, minGo)
		return c
	}
	return doctorCheck{Check: "go", Status: "ok", Detail: fmt.Sprintf("go%s at %s", m[1], p)}
}

var aptVersionRE = regexp.MustCompile(`^apt (\d+(?:\.\d+)*)`)

// aptCheck reports this machine's apt against what the source formats
// need: deb822 with Signed-By pointing at a keyring needs apt 1.1, with
// the key embedded 2.3.10 (sources --keyring).
func aptCheck(ctx context.Context, path string) doctorCheck {
	c := doctorCheck{Check: "apt sources format", Status: "note"}
	p, ok := lookPathIn(path, "apt-get")
	if !ok {
		c.Detail = "no apt-get here; on devices, 'sources --format deb822' needs apt >= 1.1, and an embedded key (sources --keyring) apt >= 2.3.10"
		return c
	}
	out, _ := exec.CommandContext(ctx, p, "--version").Output()
	m := aptVersionRE.FindStringSubmatch(string(out))
	if m == nil {
		c.Detail = "cannot tell apt's version"
		return c
	}
	v := m[1]
	switch {
	case compareDotted(v, "2.3.10") >= 0:
		c.Status, c.Detail = "ok", "apt "+v+" reads every format 'debflow sources' writes, embedded keys included"
	case compareDotted(v, "1.1") >= 0:
		c.Detail = "apt " + v + " reads deb822 sources with --keyring-path, not an embedded key (apt >= 2.3.10)"
		c.Fix = "give 'debflow sources' --keyring-path instead of --keyring for such devices"
	default:
		c.Detail = "apt " + v + " predates deb822 sources (apt >= 1.1)"
		c.Fix = "use 'debflow sources --format list --keyring-path PATH' for such devices"
	}
	return c
}

// compareDotted compares dotted version numbers.
func compareDotted(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < max(len(as), len(bs)); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return 0
}

// keyExpiryWarning is how long before a key expires doctor calls it a
// problem: time to add the next key and let devices learn it.
const keyExpiryWarning = 30 * 24 * time.Hour

func repoChecks(ctx context.Context, g *globalOptions, e env) []doctorCheck {
	st, err := openStorage(g)
	if err != nil {
		return []doctorCheck{{Check: "repository", Status: "problem", Detail: err.Error(), Fix: "give --repo a directory or s3://BUCKET[/PREFIX]"}}
	}
	cfg, found, err := repo.LoadConfig(ctx, st)
	if !found || err != nil {
		detail := "no debflow repository at " + g.repo
		if err != nil {
			detail = err.Error()
		}
		return []doctorCheck{{Check: "repository", Status: "problem", Detail: detail, Fix: "check --repo; 'debflow init --repo DIR' or a first publish creates one; 'debflow repair' rebuilds lost records"}}
	}
	checks := []doctorCheck{{Check: "repository", Status: "ok", Detail: fmt.Sprintf("%s: stages %s", g.repo, strings.Join(cfg.Stages, " -> "))}}
	keys := doctorCheck{Check: "signing keys", Status: "ok", Detail: strings.Join(cfg.SigningKeys, ", ")}
	if len(cfg.SigningKeys) == 0 {
		keys.Status, keys.Detail, keys.Fix = "note", "none recorded yet", "the first command that signs records its key"
	}
	checks = append(checks, keys)
	key, err := loadKey(g, e)
	switch {
	case errors.Is(err, signing.ErrNoKey):
		checks = append(checks, doctorCheck{Check: "key", Status: "note", Detail: "no key given (--key, $DEBFLOW_KEY or $DEBFLOW_KEY_FILE): commands that sign will refuse"})
	case err != nil:
		checks = append(checks, doctorCheck{Check: "key", Status: "problem", Detail: err.Error(), Fix: "check the key file or CI variable and $DEBFLOW_KEY_PASSPHRASE"})
	default:
		c := doctorCheck{Check: "key", Status: "ok", Detail: key.Fingerprint() + " (" + key.UserID() + ")"}
		if len(cfg.SigningKeys) > 0 && !slices.Contains(cfg.SigningKeys, key.Fingerprint()) {
			c.Status, c.Fix = "problem", "sign with one of the repository's keys, or 'debflow key add' this one once devices trust it"
			c.Detail += " is not one of the repository's signing keys"
		}
		checks = append(checks, c)
		if until := key.Expires(); !until.IsZero() {
			exp := doctorCheck{Check: "key expiry", Status: "ok", Detail: "expires " + until.UTC().Format(time.RFC3339)}
			if left := until.Sub(e.now()); left < keyExpiryWarning {
				exp.Status = "problem"
				exp.Detail = fmt.Sprintf("expires %s (in %s): devices refuse what it signs after that", until.UTC().Format(time.RFC3339), left.Round(time.Hour))
				if left <= 0 {
					exp.Detail = "expired " + until.UTC().Format(time.RFC3339) + ": devices refuse what it signs"
				}
				exp.Fix = "generate the next key, 'debflow key add' it, ship it to devices, then 'debflow key retire' this one"
			}
			checks = append(checks, exp)
		} else {
			checks = append(checks, doctorCheck{Check: "key expiry", Status: "ok", Detail: "never expires"})
		}
	}
	return checks
}
