package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

type sourcesOptions struct {
	url         string
	stage       string
	keyring     []string
	keyringPath string
	format      string
	components  []string
	snapshot    string
	preferences bool
	deb822Mod   bool
}

func newSourcesCmd(g *globalOptions, e env) *cobra.Command {
	var o sourcesOptions
	cmd := &cobra.Command{
		Use:   "sources --repo DIR --url URL (--stage STAGE | --snapshot NAME) (--key FILE | --keyring PUB | --keyring-path PATH)",
		Short: "Print the apt source entry a device of a stage needs",
		Long: `Sources prints a deb822 .sources entry for devices. Its Signed-By embeds
the armored public key (apt >= 2.3.10, Debian 12), or names a keyring on
the device with --keyring-path. --format list prints the one-line format
for old devices, which needs --keyring-path.

--format ansible prints Ansible tasks that configure a device for the
stage: a copy task writing the deb822 source (key embedded) to
/etc/apt/sources.list.d/debflow.sources and one writing the pin to
/etc/apt/preferences.d/debflow.pref. They run on Debian 12's ansible-core
2.14; --ansible-deb822-module writes the source with deb822_repository
instead (ansible-core 2.15 and later). --format json prints the same data
for other tools.

--preferences prints, instead, the apt preferences entry (for
/etc/apt/preferences.d/) that pins the stage at priority 1001: apt never
downgrades on its own, and with this pin a device follows a rollback of its
stage down to the older version. Its Origin and Label are the ones the
stage's Release carries.

The stage or snapshot must be one of --repo's suites (a stage of its
configuration, or a suite it serves), and the components must be ones the
suite has: a typo exits 3 rather than giving devices an entry that fails.
--url must be an absolute http, https or file URL. Every value is checked
before anything is printed: a control character or a line break, which
would let a value add fields of its own to the entry, exits 2.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out, err := runSources(cmd.Context(), g, e, o, cmd.Flags().Changed("stage"))
			if err != nil {
				return err
			}
			fmt.Fprint(e.stdout, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.url, "url", "", "where devices reach the repository root: an absolute http, https or file URL (required, except with --preferences)")
	f.StringVar(&o.stage, "stage", "development", "the suite the devices follow")
	f.StringArrayVar(&o.keyring, "keyring", nil, "public key to embed, repeatable: every key goes into Signed-By (default: the public part of every --key)")
	f.StringVar(&o.keyringPath, "keyring-path", "", "name this keyring (an absolute path on the device) instead of embedding the key")
	f.StringVar(&o.format, "format", "deb822", "deb822, list, ansible (tasks that write the source and the pin) or json (the same data)")
	f.BoolVar(&o.deb822Mod, "ansible-deb822-module", false, "with --format ansible: use ansible.builtin.deb822_repository (ansible-core >= 2.15) for the source")
	f.StringVar(&o.snapshot, "snapshot", "", "follow this snapshot instead of a stage")
	f.BoolVar(&o.preferences, "preferences", false, "print an apt preferences entry pinning the stage above 1000 (devices then follow rollbacks), with the stage's Origin and Label")
	// An array, split here: a slice flag reads its value as CSV and would
	// silently drop whatever follows a line break.
	f.StringArrayVar(&o.components, "component", []string{"main"}, "components, comma-separated or repeated")
	return withoutJSON(cmd, "it prints an apt sources or preferences file")
}

// runSources checks every value that goes into the entry, then renders it.
func runSources(ctx context.Context, g *globalOptions, e env, o sourcesOptions, stageGiven bool) (string, error) {
	if stageGiven && o.snapshot != "" {
		return "", usagef("give --stage or --snapshot, not both")
	}
	suite, flag := o.stage, "--stage"
	if o.snapshot != "" {
		suite, flag = o.snapshot, "--snapshot"
	}
	if err := checkControlFree(flag, suite); err != nil {
		return "", err
	}
	if err := repo.ValidSuiteName(suite); err != nil {
		return "", fmt.Errorf("%s: %w", flag, err)
	}
	if o.snapshot != "" {
		if err := snapshot.ValidName(suite); err != nil {
			return "", fmt.Errorf("%s: %w", flag, err)
		}
	}
	var comps []string
	for _, v := range o.components {
		if err := checkControlFree("--component", v); err != nil {
			return "", err
		}
		for _, c := range strings.Split(v, ",") {
			c = strings.TrimSpace(c)
			if err := repo.ValidComponent(c); err != nil {
				return "", fmt.Errorf("--component: %w", err)
			}
			if !slices.Contains(comps, c) {
				comps = append(comps, c)
			}
		}
	}
	o.components = comps
	var uri, keyringPath string
	var err error
	if !o.preferences {
		if !slices.Contains([]string{"deb822", "list", "ansible", "json"}, o.format) {
			return "", usagef("--format %q: want deb822, list, ansible or json", o.format)
		}
		if uri, err = checkSourceURL(o.url); err != nil {
			return "", err
		}
		if o.keyringPath != "" {
			if keyringPath, err = checkKeyringPath(o.keyringPath); err != nil {
				return "", err
			}
		}
	}

	// The suite must be one of the repository's, as it is served.
	st, err := openStorage(g)
	if err != nil {
		return "", err
	}
	rel, err := suiteOf(ctx, g, e, st, suite, flag, o.snapshot != "")
	if err != nil {
		return "", err
	}
	if rel != nil {
		for _, c := range o.components {
			if !slices.Contains(rel.Components, c) {
				return "", fmt.Errorf("--component %s: %w: %s has components %s", c, repo.ErrBadComponent, suite, strings.Join(rel.Components, " "))
			}
		}
	}

	if o.preferences {
		if o.format == "ansible" || o.format == "json" {
			return "", usagef("--format %s prints the pin too: leave out --preferences", o.format)
		}
		return preferences(ctx, st, suite, rel)
	}
	if o.deb822Mod && o.format != "ansible" {
		return "", usagef("--ansible-deb822-module goes with --format ansible")
	}
	so := repo.SourcesOptions{URL: uri, Suite: suite, Components: o.components, KeyringPath: keyringPath}
	switch o.format {
	case "deb822", "ansible", "json":
		if so.KeyringPath == "" {
			if so.ArmoredKey, err = armoredPublicKey(g, e, o.keyring...); err != nil {
				return "", err
			}
			if so.ArmoredKey, err = checkArmoredKey(so.ArmoredKey); err != nil {
				return "", err
			}
		}
		if o.format == "deb822" {
			return usageIfErr(repo.Deb822(so))
		}
		pin, err := preferences(ctx, st, suite, rel)
		if err != nil {
			return "", err
		}
		return deviceConfig(so, pin, o.format, o.deb822Mod)
	default:
		return usageIfErr(repo.OneLine(so))
	}
}

func usageIfErr(s string, err error) (string, error) {
	if err != nil {
		return "", usageError{err}
	}
	return s, nil
}

// suiteOf checks that suite is one of the repository's and returns its
// served Release, or nil for a stage of the configuration that serves
// nothing yet (devices set up ahead of the first promotion).
func suiteOf(ctx context.Context, g *globalOptions, e env, st repo.Storage, suite, flag string, isSnapshot bool) (*repo.Release, error) {
	cfg, _, err := repo.LoadConfig(ctx, st) // no repository: ErrNoRepo
	if err != nil {
		return nil, fmt.Errorf("--repo %s: %w", g.repo, err)
	}
	rel, err := servedRelease(ctx, st, suite)
	if err != nil {
		return nil, err
	}
	configured := !isSnapshot && slices.Contains(cfg.Stages, suite)
	switch {
	case rel != nil:
		return rel, nil
	case configured:
		fmt.Fprintf(e.stderr, "debflow: note: stage %s serves nothing yet; devices get no index until it is promoted\n", suite)
		return nil, nil
	case isSnapshot:
		return nil, fmt.Errorf("%s %s: %w: %s has no such snapshot", flag, suite, repo.ErrNoSuite, g.repo)
	default:
		return nil, fmt.Errorf("%s %s: %w: %s has no such suite (its stages: %s)", flag, suite, repo.ErrNoSuite, g.repo, strings.Join(cfg.Stages, ", "))
	}
}

// servedRelease reads the Release that dists/SUITE serves, or nil when
// apt would find no suite there (no InRelease).
func servedRelease(ctx context.Context, st repo.Storage, suite string) (*repo.Release, error) {
	dir := "dists/" + suite + "/"
	if _, err := st.Stat(ctx, dir+"InRelease"); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	rc, err := st.Get(ctx, dir+"Release")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("dists/%s/Release: %w", suite, err)
	}
	rel, err := repo.ParseRelease(data)
	if err != nil {
		return nil, fmt.Errorf("dists/%s/Release: %w", suite, err)
	}
	return rel, nil
}

// preferences renders the pin with the Origin and Label devices see: the
// served Release's, else (a stage that serves nothing yet) the
// configuration's, which its first promotion will carry.
func preferences(ctx context.Context, st repo.Storage, suite string, rel *repo.Release) (string, error) {
	cfg, _, err := repo.LoadConfig(ctx, st)
	if err != nil {
		return "", err
	}
	if rel != nil {
		cfg.Origin, cfg.Label = rel.Origin, rel.Label
	}
	for _, f := range []struct{ name, value string }{{"Origin", cfg.Origin}, {"Label", cfg.Label}} {
		if err := checkControlFree("the repository's "+f.name, f.value); err != nil {
			return "", err
		}
		// A pin is "o=ORIGIN,l=LABEL,a=SUITE": a comma would end the value.
		if f.value == "" || strings.ContainsRune(f.value, ',') {
			return "", fmt.Errorf("the repository's %s %q cannot be pinned: %w", f.name, f.value, errBadValue)
		}
	}
	return repo.Preferences(cfg, suite), nil
}

// errBadValue: a value the repository holds cannot be written into an apt
// file safely.
var errBadValue = errors.New("unusable value")

// checkControlFree refuses a value with control characters (a line break
// would start a field of its own in a deb822 or preferences file) or that
// is not UTF-8.
func checkControlFree(what, v string) error {
	if !utf8.ValidString(v) {
		return usagef("%s %q: not UTF-8", what, v)
	}
	for _, r := range v {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return usagef("%s %q: control characters are not allowed", what, v)
		}
	}
	return nil
}

// checkSourceURL parses --url and returns it as net/url writes it back: an
// absolute http, https or file URL with no query, fragment or control
// characters.
func checkSourceURL(raw string) (string, error) {
	if raw == "" {
		return "", usagef("--url URL is required: where devices reach the repository root")
	}
	if err := checkControlFree("--url", raw); err != nil {
		return "", err
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", usagef("--url %q: %v", raw, err)
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" || u.Opaque != "" {
			return "", usagef("--url %q: an http(s) URL needs a host: http://HOST/PATH", raw)
		}
	case "file":
		if u.Opaque != "" || !strings.HasPrefix(u.Path, "/") || (u.Host != "" && u.Host != "localhost") {
			return "", usagef("--url %q: a file URL needs an absolute path: file:///PATH", raw)
		}
	default:
		return "", usagef("--url %q: want an absolute http, https or file URL", raw)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return "", usagef("--url %q: a repository URL has no query or fragment", raw)
	}
	s := u.String()
	if strings.ContainsAny(s, " \t\"'[]") {
		return "", usagef("--url %q: characters that apt's sources formats cannot carry", raw)
	}
	return s, nil
}

// checkKeyringPath checks --keyring-path: an absolute, clean path on the
// device, with nothing that would end the value in either format.
func checkKeyringPath(p string) (string, error) {
	if err := checkControlFree("--keyring-path", p); err != nil {
		return "", err
	}
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p || p == "/" {
		return "", usagef("--keyring-path %q: want an absolute path such as /etc/apt/keyrings/fleet.gpg", p)
	}
	if strings.ContainsAny(p, " \t,[]=") {
		return "", usagef("--keyring-path %q: no spaces, commas, '=' or brackets", p)
	}
	return p, nil
}

// checkArmoredKey normalises line ends and refuses any other control
// character in the key that goes into Signed-By.
func checkArmoredKey(key []byte) ([]byte, error) {
	s := strings.ReplaceAll(string(key), "\r\n", "\n")
	for _, line := range strings.Split(s, "\n") {
		if err := checkControlFree("the public key's armor line", line); err != nil {
			return nil, err
		}
	}
	return []byte(s), nil
}
