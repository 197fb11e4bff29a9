package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/build"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debfile"
	"github.com/debflow/debflow/signing"
)

type buildOptions struct {
	spec        string
	out         string
	version     string
	arch        []string
	compression string
	unsigned    bool
	requireSig  bool
	commitField bool
}

func newBuildCmd(g *globalOptions, e env) *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build --spec FILE --out DIR [--key FILE] [--version V] [--arch A] [--compression xz|zstd[:LEVEL]|gzip[:LEVEL]|none]",
		Short: "Build a reproducible, signed .deb from an nfpm-style spec",
		Long: `Build writes a .deb from a spec (nfpm's YAML: an existing nfpm.yaml builds
into the package nfpm v2.45.2 would make, but for the differences README.md
lists) and prints its path, one line per file. --out is created when missing.

The version comes from --version, else the spec's version, else git: on a
release tag (v1.2.0 or 1.2.0) it is 1.2.0; N first-parent commits later it is
1.2.0+gitN.<hash>, which sorts above the tag and below 1.2.1~. Without any
release tag it is 0~gitN.<hash>, below every release. A work tree with
uncommitted changes to tracked files adds "+dirty" (1.2.0+gitN.<hash>+dirty),
which sorts just above the clean build of the same commit and below the next
commit's: such a build never takes the commit's own version. Untracked files
(dist/, a local key) do not count. Whatever its source, the spec's epoch,
prerelease (after "~"), version_metadata (after "+") and release (the Debian
revision) are added as nfpm adds them: epoch 2, version 1.2 and release 1
give 2:1.2.0-1.

The output is reproducible: every time stamp is the spec's mtime, else
SOURCE_DATE_EPOCH, else the commit's time, and nothing depends on the
machine, the builder's umask or file mtimes. File modes are the sources'
less the spec's umask (default 0022), as in nfpm. With a key (--key, or $DEBFLOW_KEY) the package carries a debsigs
origin signature (_gpgorigin); --unsigned builds without one even then. The
signature is dated SOURCE_DATE_EPOCH (or the commit's time), or the key's
creation if that is later, so the signed package is reproducible too. A
DEBFLOW_KEY that is set but empty is an error (exit 4), not an unsigned
build; --require-signature refuses to build without a key (exit 4).

Every package is checked as publish checks it before it gets its name: a
spec that would make a package publish refuses (control characters in paths
or fields, fields only the repository writes such as Filename or SHA256) is
refused (exit 3), and nothing is left in --out.

--arch may be given several times (or comma-separated) to build one package
per architecture; it wins over the spec's arch and deb.arch, and ${ARCH} in
the spec's src and dst paths expands to each.

Compression: xz is the default, as for dpkg-deb. zstd is the fastest but
needs dpkg >= 1.21.18 (Debian 12, Ubuntu 21.10) on the devices; gzip suits
very old ones; none writes plain tar members. A level may follow a colon,
as in nfpm's deb.compression: gzip:1 to gzip:9 (default 7), zstd:1 to
zstd:22 or zstd:fastest, default, better, best (default 3, as for zstd and
dpkg-deb; the encoder has four speeds: levels 1-2, 3-5, 6-9 and 10-22 each
give the same bytes). zstd:fastest compresses about twice as fast as the
default (a 200 MB build takes a fifth less time), in packages about 15%
larger. xz has one setting.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBuild(cmd, g, o, e)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.spec, "spec", "", "the build spec (nfpm YAML) (required)")
	f.StringVar(&o.out, "out", ".", "directory to write the .deb into")
	f.StringVar(&o.version, "version", "", "package version (default: the spec's, else from git)")
	f.StringSliceVar(&o.arch, "arch", nil, "target architecture(s), overriding the spec's arch")
	f.StringVar(&o.compression, "compression", "", "xz, zstd (dpkg >= 1.21.18), gzip or none, optionally with a level: zstd:fastest, gzip:9 (default: the spec's deb.compression, else xz)")
	f.BoolVar(&o.unsigned, "unsigned", false, "do not sign, even when a key is available")
	f.BoolVar(&o.commitField, "commit-field", false, "record the full git commit in the control field Vcs-Git-Commit (lintian warns: unknown-field)")
	f.BoolVar(&o.requireSig, "require-signature", false, "refuse to build unless the package is signed (exit 4 without a key)")
	cmd.MarkFlagRequired("spec")
	return cmd
}

// buildSigner returns the key to sign with, or nil for an unsigned build:
// with --unsigned, or when no key is offered at all (neither --key nor
// DEBFLOW_KEY is set). A key that is offered but unusable, a DEBFLOW_KEY
// that is set but empty among them, is an error, and so is an unsigned
// build under --require-signature. All of this is decided before any work.
func buildSigner(g *globalOptions, o buildOptions, e env) (signing.Signer, error) {
	if o.unsigned {
		if o.requireSig {
			return nil, fmt.Errorf("--require-signature: refusing --unsigned: %w", signing.ErrNoKey)
		}
		return nil, nil
	}
	key, err := loadKey(g, e)
	switch {
	case err == nil:
		return key, nil
	case errors.Is(err, signing.ErrNoKey) && o.requireSig:
		return nil, fmt.Errorf("--require-signature: refusing to build unsigned packages: %w", err)
	case errors.Is(err, signing.ErrNoKey):
		// No key offered: an unsigned build, said once on stderr.
		if !g.quiet {
			fmt.Fprintln(e.stderr, "debflow: no key given (--key or $DEBFLOW_KEY): building unsigned")
		}
		return nil, nil
	}
	return nil, err
}

// inspectBuilt is the inspection publish applies to every package; build
// runs it on what it made before the file gets its name. It skips the
// digests, which build does not need.
func inspectBuilt(r io.Reader) error {
	return debfile.Check(r, debfile.Limits{})
}

func runBuild(cmd *cobra.Command, g *globalOptions, o buildOptions, e env) error {
	signer, err := buildSigner(g, o, e)
	if err != nil {
		return err
	}
	spec, err := build.LoadSpec(o.spec)
	if err != nil {
		return err
	}
	var comp compress.Format
	var level int
	if o.compression != "" {
		if comp, level, err = compress.ParseMethod(o.compression); err != nil {
			return usageError{err}
		}
	}
	arches := o.arch
	if len(arches) == 0 {
		arches = []string{""}
	}
	var results []build.Result
	for _, arch := range arches {
		// build writes the package into a temporary file in --out; its
		// growth is the progress.
		m := startMeter(g, e, strings.TrimSpace("building "+arch), tempFileSize(o.out, ".debflow-build-"))
		res, err := build.Build(cmd.Context(), spec, build.Options{
			OutDir:      o.out,
			Arch:        arch,
			Version:     o.version,
			Compression: comp,
			Level:       level,
			Signer:      signer,
			Getenv:      e.getenv,
			Check:       inspectBuilt,
			CommitField: o.commitField,
		})
		m.Stop()
		if err != nil {
			return err
		}
		results = append(results, res)
		if res.Dirty && !g.quiet {
			fmt.Fprintf(e.stderr, "debflow: the work tree has uncommitted changes: version %s says so\n", res.Version)
		}
		if !g.json {
			fmt.Fprintln(e.stdout, res.Path)
		}
	}
	if g.json {
		return printJSON(e, results)
	}
	return nil
}
