package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/build"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debian"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/signing"
)

type keyringPkgOptions struct {
	stage       string
	url         string
	keyrings    []string
	out         string
	name        string
	version     string
	maintainer  string
	keyringDir  string
	preferences bool
}

// KeyringPackage is what keyring-package wrote.
type keyringPackageResult struct {
	File     string   `json:"file"`
	Package  string   `json:"package"`
	Version  string   `json:"version"`
	Keyring  string   `json:"keyring"`
	Sources  string   `json:"sources"`
	Pin      string   `json:"preferences,omitempty"`
	Keys     []string `json:"keys"`
	Conffile []string `json:"conffiles"`
}

func newKeyringPackageCmd(g *globalOptions, e env) *cobra.Command {
	var o keyringPkgOptions
	cmd := &cobra.Command{
		Use:   "keyring-package --repo DIR --stage STAGE --url URL --keyring PUB... --out DIR [--name NAME]",
		Short: "Build a .deb that ships the repository's keyring and a stage's apt source",
		Long: `Keyring-package builds, with debflow's own package builder, a .deb that
ships the binary keyring of every --keyring at /usr/share/keyrings/NAME.gpg
(or --keyring-dir), the stage's deb822 source at
/etc/apt/sources.list.d/NAME.sources with Signed-By naming that keyring (a
conffile), and with --preferences the stage's pin at
/etc/apt/preferences.d/NAME.pref (a conffile). It writes only the .deb, into
--out; the repository is read for its stages, Origin and Label, and is not
changed. Publish the package and promote it into every stage: devices then
take a new signing key through apt itself, as Debian ships
debian-archive-keyring (see "Key rotation without visiting a device" in the
README).

NAME defaults to LABEL-STAGE-keyring; it is the package name and the name
of its files. --version defaults to the time, so that each new package
upgrades the last.`,
		Example: `  debflow keyring-package --repo /srv/apt --stage production --url https://apt.example.org/fleet --keyring old.gpg --keyring new.gpg --out dist/
  debflow keyring-package --repo /srv/apt --stage canary --url https://apt.example.org/fleet --keyring new.gpg --out dist/ --name fleet-canary-keyring --preferences`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			res, err := runKeyringPackage(cmd.Context(), g, o, e)
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, res)
			}
			fmt.Fprintf(e.stdout, "%s\n", res.File)
			fmt.Fprintf(progress(g, e), "%s %s: keys %s; %s, %s\n", res.Package, res.Version, strings.Join(res.Keys, ", "), res.Keyring, res.Sources)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stage, "stage", "", "the stage the source follows (required)")
	f.StringVar(&o.url, "url", "", "where devices reach the repository root (required)")
	f.StringArrayVar(&o.keyrings, "keyring", nil, "public key or keyring to ship, armored or binary; repeatable (required)")
	f.StringVar(&o.out, "out", "", "directory to write the .deb into (required)")
	f.StringVar(&o.name, "name", "", "package and file name (default LABEL-STAGE-keyring)")
	f.StringVar(&o.version, "version", "", "package version (default: the time, YYYYMMDD.HHMMSS)")
	f.StringVar(&o.maintainer, "maintainer", "", `Maintainer field (default "ORIGIN <root@localhost>")`)
	f.StringVar(&o.keyringDir, "keyring-dir", "/usr/share/keyrings", "where the keyring goes on the device (/usr/share/keyrings or /etc/apt/keyrings)")
	f.BoolVar(&o.preferences, "preferences", false, "also ship the stage's apt pin (priority 1001: devices follow rollbacks)")
	return cmd
}

func runKeyringPackage(ctx context.Context, g *globalOptions, o keyringPkgOptions, e env) (*keyringPackageResult, error) {
	switch {
	case o.stage == "":
		return nil, usagef("--stage STAGE is required")
	case o.url == "":
		return nil, usagef("--url URL is required")
	case len(o.keyrings) == 0:
		return nil, usagef("--keyring PUB is required (repeat it for several keys)")
	case o.out == "":
		return nil, usagef("--out DIR is required")
	case o.keyringDir != "/usr/share/keyrings" && o.keyringDir != "/etc/apt/keyrings":
		return nil, usagef("--keyring-dir %s: use /usr/share/keyrings or /etc/apt/keyrings", o.keyringDir)
	}
	st, err := openStorage(g)
	if err != nil {
		return nil, err
	}
	cfg, _, err := repo.LoadConfig(ctx, st)
	if err != nil {
		return nil, err
	}
	if i := slices.Index(cfg.Stages, o.stage); i < 0 {
		return nil, usagef("--stage %s: not a stage of this repository (%s)", o.stage, strings.Join(cfg.Stages, ", "))
	}
	name := o.name
	if name == "" {
		name = strings.ToLower(cfg.Label) + "-" + o.stage + "-keyring"
	}
	if err := debian.ValidPackageName(name); err != nil {
		return nil, usagef("--name %q: %v", name, err)
	}
	version := o.version
	if version == "" {
		version = e.now().UTC().Format("20060102.150405")
	}
	if err := debian.ValidVersion(version); err != nil {
		return nil, usagef("--version %q: %v", version, err)
	}
	maintainer := o.maintainer
	if maintainer == "" {
		maintainer = cfg.Origin + " <root@localhost>"
	}

	// Every key, in one binary keyring: the form apt reads from a .gpg.
	var all []byte
	for _, f := range o.keyrings {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, usagef("--keyring: %v", err)
		}
		kr, err := signing.ReadKeyring(data)
		if err != nil {
			return nil, fmt.Errorf("--keyring %s: %w", f, errBadValueWrap(err))
		}
		b, err := kr.Binary()
		if err != nil {
			return nil, err
		}
		all = append(all, b...)
	}
	kr, err := signing.ReadKeyring(all)
	if err != nil {
		return nil, err
	}
	keyring, err := kr.Binary()
	if err != nil {
		return nil, err
	}

	keyringPath := o.keyringDir + "/" + name + ".gpg"
	sources, err := repo.Deb822(repo.SourcesOptions{URL: o.url, Suite: o.stage, KeyringPath: keyringPath})
	if err != nil {
		return nil, usagef("%v", err)
	}
	res := &keyringPackageResult{Package: name, Version: version, Keyring: keyringPath,
		Sources: "/etc/apt/sources.list.d/" + name + ".sources", Keys: kr.Fingerprints(), Conffile: []string{}}
	files := map[string][]byte{res.Keyring: keyring, res.Sources: []byte(sources)}
	if o.preferences {
		res.Pin = "/etc/apt/preferences.d/" + name + ".pref"
		files[res.Pin] = []byte(repo.Preferences(cfg, o.stage))
	}

	tmp, err := os.MkdirTemp("", "debflow-keyring-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	pkg := &build.Package{Control: debian.Paragraph{
		{Name: "Package", Value: name},
		{Name: "Version", Value: version},
		{Name: "Architecture", Value: "all"},
		{Name: "Maintainer", Value: maintainer},
		{Name: "Multi-Arch", Value: "foreign"},
		{Name: "Section", Value: "misc"},
		{Name: "Priority", Value: "optional"},
		{Name: "Description", Value: fmt.Sprintf("apt keyring and source of the %s stage of %s\n The OpenPGP keys that sign the %s repository (%s), and the\n deb822 source that follows its %s stage with Signed-By naming them.", o.stage, cfg.Origin, cfg.Origin, strings.Join(res.Keys, ", "), o.stage)},
	}}
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range files {
			if !yield(p) {
				return
			}
		}
	}) {
		src := filepath.Join(tmp, filepath.Base(p))
		if err := os.WriteFile(src, files[p], 0o644); err != nil {
			return nil, err
		}
		conf := strings.HasPrefix(p, "/etc/")
		if conf {
			res.Conffile = append(res.Conffile, p)
		}
		pkg.Entries = append(pkg.Entries, build.Entry{Path: p, Kind: build.KindFile, Mode: 0o644, Owner: "root", Group: "root", Source: src, Conffile: conf})
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	res.File = filepath.Join(o.out, name+"_"+version+"_all.deb")
	tmpDeb := res.File + ".tmp"
	f, err := os.Create(tmpDeb)
	if err != nil {
		return nil, err
	}
	werr := build.WriteDebContext(ctx, f, pkg, build.DebOptions{Compression: compress.Gzip, ModTime: e.now().UTC().Truncate(1e9), TempDir: tmp})
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmpDeb)
		return nil, werr
	}
	if err := os.Rename(tmpDeb, res.File); err != nil {
		os.Remove(tmpDeb)
		return nil, err
	}
	return res, nil
}

// errBadValueWrap marks an unreadable --keyring as bad input.
func errBadValueWrap(err error) error { return fmt.Errorf("%w: %w", errBadValue, err) }
