package repo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Errors about an upstream repository.
var (
	// ErrUpstream: the upstream could not be reached or answered with an
	// error (the message names the URL).
	ErrUpstream = errors.New("upstream repository")
	// ErrUpstreamVerify: an upstream file does not verify: a bad or missing
	// signature, or a size or hash that is not the listed one.
	ErrUpstreamVerify = errors.New("upstream file does not verify")
)

// DefaultMirrorTimeout bounds each upstream request: connecting, waiting
// for the response headers, and any stall while reading the body.
const DefaultMirrorTimeout = 30 * time.Second

// maxMetaSize bounds Release files and package indexes read into memory.
const maxMetaSize = 512 << 20

// fetcher gets files from an upstream repository over http(s) or from a
// local directory (file://), counting the requests.
type fetcher struct {
	base     string // URL of the repository root, without a trailing '/'
	dir      string // for file://: the local directory
	client   *http.Client
	timeout  time.Duration
	requests atomic.Int64
}

func newFetcher(raw string, client *http.Client, timeout time.Duration) (*fetcher, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: mirror URL %q: %w", ErrInput, raw, err)
	}
	if timeout <= 0 {
		timeout = DefaultMirrorTimeout
	}
	f := &fetcher{base: strings.TrimRight(raw, "/"), timeout: timeout}
	switch u.Scheme {
	case "file":
		f.dir = filepath.FromSlash(u.Path)
	case "http", "https":
		if client == nil {
			d := &net.Dialer{Timeout: timeout}
			client = &http.Client{Transport: &http.Transport{
				Proxy: http.ProxyFromEnvironment, DialContext: d.DialContext,
				TLSHandshakeTimeout: timeout, ResponseHeaderTimeout: timeout,
				MaxIdleConnsPerHost: 16,
			}}
		}
		f.client = client
	default:
		return nil, fmt.Errorf("%w: mirror URL %q: want http://, https:// or file://", ErrInput, raw)
	}
	return f, nil
}

// open starts fetching rel (relative to the repository root). A missing
// file gives an error wrapping fs.ErrNotExist. The body is read under a
// stall timer: a read that waits longer than the timeout fails.
func (f *fetcher) open(ctx context.Context, rel string) (io.ReadCloser, error) {
	f.requests.Add(1)
	where := f.base + "/" + rel
	if f.dir != "" {
		fh, err := os.Open(filepath.Join(f.dir, filepath.FromSlash(rel)))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %s: %w", ErrUpstream, where, fs.ErrNotExist)
			}
			return nil, fmt.Errorf("%w: %s: %w", ErrUpstream, where, err)
		}
		return fh, nil
	}
	rctx, cancel := context.WithCancel(ctx)
	timer := time.AfterFunc(f.timeout, cancel) // covers connect and headers too
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, where, nil)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%w: %s: %w", ErrUpstream, where, err)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		timedOut := !timer.Stop() && ctx.Err() == nil
		cancel()
		// The transport's own header timeout, the same length, may
		// fire first.
		var ne net.Error
		if timedOut || errors.As(err, &ne) && ne.Timeout() && ctx.Err() == nil {
			return nil, fmt.Errorf("%w: %s: no answer within %s", ErrUpstream, where, f.timeout)
		}
		return nil, fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		timer.Stop()
		cancel()
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			return nil, fmt.Errorf("%w: %s: %s: %w", ErrUpstream, where, resp.Status, fs.ErrNotExist)
		}
		return nil, fmt.Errorf("%w: %s: %s", ErrUpstream, where, resp.Status)
	}
	timer.Reset(f.timeout)
	return &stallReader{rc: resp.Body, timer: timer, cancel: cancel, timeout: f.timeout, where: where, ctx: ctx, rctx: rctx}, nil
}

// stallReader fails a body read that stalls for longer than timeout.
type stallReader struct {
	rc        io.ReadCloser
	timer     *time.Timer
	cancel    context.CancelFunc
	timeout   time.Duration
	where     string
	ctx, rctx context.Context
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.rc.Read(p)
	if n > 0 {
		s.timer.Reset(s.timeout)
	}
	if err != nil && err != io.EOF {
		if s.ctx.Err() == nil && s.rctx.Err() != nil {
			return n, fmt.Errorf("%w: %s: stalled for %s", ErrUpstream, s.where, s.timeout)
		}
		return n, fmt.Errorf("%w: %s: %w", ErrUpstream, s.where, err)
	}
	return n, err
}

func (s *stallReader) Close() error {
	s.timer.Stop()
	s.cancel()
	return s.rc.Close()
}

// get reads a whole (small) file.
func (f *fetcher) get(ctx context.Context, rel string) ([]byte, error) {
	rc, err := f.open(ctx, rel)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMetaSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxMetaSize {
		return nil, fmt.Errorf("%w: %s/%s: larger than %d bytes", ErrUpstream, f.base, rel, maxMetaSize)
	}
	return data, nil
}

// verifiedDownload passes a download through and fails, instead of ending,
// when its size or SHA256 is not the listed one, so that a storage's Put
// never stores an unchecked file.
type verifiedDownload struct {
	r      io.Reader
	where  string
	size   int64
	sha256 string
	n      int64
	h      hashWriter
}

type hashWriter interface {
	io.Writer
	Sum([]byte) []byte
}

func newVerifiedDownload(r io.Reader, where string, size int64, sum string) *verifiedDownload {
	return &verifiedDownload{r: r, where: where, size: size, sha256: sum, h: sha256.New()}
}

func (c *verifiedDownload) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	c.h.Write(p[:n])
	if c.n > c.size {
		return 0, fmt.Errorf("%w: %s: larger than the %d bytes its index lists", ErrUpstreamVerify, c.where, c.size)
	}
	if err == io.EOF {
		if c.n != c.size {
			return n, fmt.Errorf("%w: %s: %d bytes, its index lists %d", ErrUpstreamVerify, c.where, c.n, c.size)
		}
		if got := hex.EncodeToString(c.h.Sum(nil)); got != c.sha256 {
			return n, fmt.Errorf("%w: %s: SHA256 %s, its index lists %s", ErrUpstreamVerify, c.where, got, c.sha256)
		}
	}
	return n, err
}
