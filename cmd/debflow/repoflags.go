package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage"
	"github.com/debflow/debflow/signing"
)

// openStorage opens the repository named by --repo (or $DEBFLOW_REPO).
func openStorage(g *globalOptions) (repo.Storage, error) {
	if g.repo == "" {
		return nil, usagef("no repository: give --repo DIR or set DEBFLOW_REPO")
	}
	return openSpec("--repo", g.repo)
}

// openSpec opens a directory or an s3://BUCKET[/PREFIX] URL.
func openSpec(flag, spec string) (repo.Storage, error) {
	if storage.IsURL(spec) && !strings.HasPrefix(spec, "s3://") {
		return nil, usagef("%s %s: give a directory or s3://BUCKET[/PREFIX]", flag, spec)
	}
	st, err := storage.Open(context.Background(), spec)
	if err != nil {
		return nil, usagef("%s %s: %v", flag, spec, err)
	}
	if c, ok := st.(statser); ok {
		statsMu.Lock()
		opened = append(opened, c)
		statsMu.Unlock()
	}
	return st, nil
}

// statser is a storage that counts its requests (S3).
type statser interface {
	String() string
	Stats() (requests, bytesSent int64)
}

var (
	statsMu sync.Mutex
	opened  []statser
)

// printStorageStats prints, when DEBFLOW_S3_STATS=1, the requests each
// object storage the command opened made and the bytes it sent (make bench
// counts them); with DEBFLOW_S3_STATS=2, each request too (method, path,
// status).
func printStorageStats(e env) {
	statsMu.Lock()
	defer statsMu.Unlock()
	if v := e.getenv("DEBFLOW_S3_STATS"); v == "1" || v == "2" {
		for _, c := range opened {
			if l, ok := c.(interface{ RequestLog() []string }); ok && v == "2" {
				for _, line := range l.RequestLog() {
					fmt.Fprintf(e.stderr, "debflow: %s: %s\n", c, line)
				}
			}
			n, b := c.Stats()
			fmt.Fprintf(e.stderr, "debflow: %s: %d requests, %d bytes sent\n", c, n, b)
		}
	}
	opened = nil
}

// progress is where long-running work reports: stderr unless --quiet.
func progress(g *globalOptions, e env) io.Writer {
	if g.quiet {
		return io.Discard
	}
	return e.stderr
}

// openRepo opens the repository with the signing key when the command
// signs.
func openRepo(g *globalOptions, e env, sign bool, extra ...repo.Option) (*repo.Repo, error) {
	st, err := openStorage(g)
	if err != nil {
		return nil, err
	}
	return openRepoOn(st, g, e, sign, extra...)
}

// openRepoOn is openRepo on a storage already opened (a dry run's overlay).
func openRepoOn(st repo.Storage, g *globalOptions, e env, sign bool, extra ...repo.Option) (*repo.Repo, error) {
	opts := append([]repo.Option{repo.WithLog(progress(g, e)), repo.WithClock(e.now)}, extra...)
	if sign {
		keys, err := loadKeys(g, e)
		if err != nil {
			return nil, err
		}
		opts = append(opts, repo.WithSigner(signing.NewSigner(keys)))
	}
	return repo.New(st, opts...), nil
}

// loadKeyring returns the keyring to verify with: --keyring FILE, else the
// public part of the signing key.
func loadKeyring(g *globalOptions, e env, keyringFile string) (*signing.Keyring, error) {
	if keyringFile != "" {
		data, err := os.ReadFile(keyringFile)
		if err != nil {
			return nil, usagef("--keyring: %v", err)
		}
		kr, err := signing.ReadKeyring(data)
		if err != nil {
			return nil, fmt.Errorf("--keyring %s: %w", keyringFile, err)
		}
		return kr, nil
	}
	keys, err := loadKeys(g, e)
	if err != nil {
		return nil, fmt.Errorf("%w (or give --keyring PUB)", err)
	}
	return signing.Signers(keys).Keyring(), nil
}

// armoredPublicKey returns the armored public keys of every --keyring
// file (one block holding them all, as Signed-By embeds it), or of every
// --key.
func armoredPublicKey(g *globalOptions, e env, keyringFiles ...string) ([]byte, error) {
	if len(keyringFiles) == 0 || len(keyringFiles) == 1 && keyringFiles[0] == "" {
		keys, err := loadKeys(g, e)
		if err != nil {
			return nil, fmt.Errorf("%w (or give --keyring PUB)", err)
		}
		return signing.Signers(keys).Keyring().Armored()
	}
	var all []byte
	for _, f := range keyringFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, usagef("--keyring: %v", err)
		}
		if _, err := signing.ReadKeyring(data); err != nil {
			return nil, fmt.Errorf("--keyring %s: %w", f, err)
		}
		if len(keyringFiles) == 1 && strings.Contains(string(data), "-----BEGIN PGP PUBLIC KEY BLOCK-----") {
			return data, nil
		}
		all = append(all, dearmor(data)...)
	}
	kr, err := signing.ReadKeyring(all)
	if err != nil {
		return nil, err
	}
	return kr.Armored()
}

// dearmor returns the binary form of an armored or binary keyring.
func dearmor(data []byte) []byte {
	kr, err := signing.ReadKeyring(data)
	if err != nil {
		return nil
	}
	b, err := kr.Binary()
	if err != nil {
		return nil
	}
	return b
}

func printJSON(e env, v any) error {
	return writeJSON(e.stdout, v)
}

// terminalProgress returns a progress callback that redraws one line on a
// terminal, with the rate, or nil (quiet) when stderr is not one, in CI,
// with --quiet or --json (see showProgress).
func terminalProgress(g *globalOptions, e env, what string) func(done, total int) {
	if !showProgress(g, e) {
		return nil
	}
	start := time.Now()
	return func(done, total int) {
		if total < 20 {
			return
		}
		if done%50 == 0 || done == total {
			rate := float64(done) / max(time.Since(start).Seconds(), 0.001)
			fmt.Fprintf(e.stderr, "\r%s: %d/%d (%.0f/s)", what, done, total, rate)
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		}
	}
}
