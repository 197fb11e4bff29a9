// Package s3 stores a repository in S3-compatible object storage: AWS S3,
// Cloudflare R2, MinIO, Ceph RGW, SeaweedFS, versitygw. It is the one place
// where debflow talks to such a server, and the SDK's types never leave it.
//
// Configuration comes from the AWS SDK's standard chain: AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION, AWS_PROFILE and the
// shared config files, and AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL for a
// server other than AWS, which is then addressed path-style
// (http://host/BUCKET/KEY).
//
// Objects are stored under the key PREFIX/NAME. Each Put is one PutObject
// (S3 replaces an object atomically) with a CRC32 checksum the server checks
// and a Cache-Control header chosen by the object's name (see CacheControl).
//
// Lock is a lease: the object .debflow/lock, created with If-None-Match: *,
// holds the holder's description and the lease's length (at most 60 s). The
// holder renews it (a conditional PUT, If-Match on its ETag) every third of
// that; a waiter that sees the same ETag for a whole lease length (on its
// own clock, so clock skew between machines does not matter) takes the lease
// over with If-Match. A publisher killed with SIGKILL therefore delays the
// next one by at most the lease length. The lease is an optimisation: the
// commit point is a compare-and-swap (GetVersion/PutIfVersion, see
// repo.ConditionalStorage), so two publishers that both believe they hold
// the lease still lose nothing.
//
// The first Lock of a Store checks that the server enforces conditional
// writes (a second If-None-Match: * PUT of the lease object it just created
// must fail with 412; a scratch object when the lease was taken over) and
// refuses a server that ignores them (Garage does), as the first
// conditional write outside a Lock does.
package s3

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	s3sdk "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/debflow/debflow/repo"
)

const (
	lockName    = ".debflow/lock"   // the lease object, reserved (the FS backend reserves the same name)
	probePrefix = ".debflow/probe-" // the probe's scratch objects, reserved
	maxLease    = 60 * time.Second
	defaultTTL  = 30 * time.Second
	lockPoll    = 250 * time.Millisecond
	memoryLimit = 8 << 20 // a Put body up to this size is held in memory, a larger one in a temporary file
)

// Cache-Control values.
const (
	CacheImmutable = "public, max-age=31536000, immutable"
	CacheMutable   = "no-cache"
	CachePrivate   = "no-store"
)

// CacheControl returns the Cache-Control header of an object: pool files
// and by-hash files never change under their name; Release files and the
// named indexes do, and a CDN must revalidate them (a cheap conditional
// GET); debflow's own records are not for caches at all.
func CacheControl(name string) string {
	switch {
	case strings.HasPrefix(name, ".debflow/"):
		return CachePrivate
	case strings.HasPrefix(name, "pool/"), strings.Contains(name, "/by-hash/"):
		return CacheImmutable
	}
	return CacheMutable
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".deb"):
		return "application/vnd.debian.binary-package"
	case strings.HasSuffix(name, ".json"):
		return "application/json"
	case strings.HasSuffix(name, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".xz"):
		return "application/x-xz"
	case strings.HasSuffix(name, ".gpg"):
		return "application/pgp-signature"
	case strings.Contains(name, "/by-hash/"):
		return "application/octet-stream"
	}
	return "text/plain; charset=utf-8"
}

// Store is a repository in a bucket, under an optional key prefix.
type Store struct {
	client *s3sdk.Client
	bucket string
	prefix string // "" or "some/prefix/"
	ttl    time.Duration

	probed   atomic.Bool
	requests atomic.Int64
	sent     atomic.Int64

	logRequests bool
	logMu       sync.Mutex
	log         []string // "METHOD /bucket/key?query STATUS", when logRequests
}

// Options tune a Store; the zero value is the default.
type Options struct {
	// LeaseTTL is the length of the lock lease (default 30 s, at most 60 s;
	// the environment variable DEBFLOW_S3_LEASE sets it for the command
	// line).
	LeaseTTL time.Duration
	// HTTPClient replaces the SDK's HTTP client (tests inject faults).
	HTTPClient *http.Client
	// MaxAttempts is how often a request is tried on a 5xx or a reset
	// connection (default 5), with exponential backoff up to 2 s.
	MaxAttempts int
	// MaxBackoff bounds the wait between two attempts (default 2 s).
	MaxBackoff time.Duration
	// LogRequests keeps a line per request for RequestLog (also turned on
	// by DEBFLOW_S3_STATS=2).
	LogRequests bool
}

// ParseURL splits s3://BUCKET[/PREFIX].
func ParseURL(spec string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(spec, "s3://")
	if !ok {
		return "", "", fmt.Errorf("%q is not an s3://BUCKET[/PREFIX] URL", spec)
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	prefix = strings.Trim(prefix, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("%q: no bucket name (s3://BUCKET[/PREFIX])", spec)
	}
	if prefix != "" {
		if err := repo.ValidName(prefix); err != nil {
			return "", "", fmt.Errorf("%q: prefix: %w", spec, err)
		}
	}
	return bucket, prefix, nil
}

// Open returns the Store of an s3://BUCKET[/PREFIX] URL, configured from
// the environment. It makes no request.
func Open(ctx context.Context, spec string, opts Options) (*Store, error) {
	bucket, prefix, err := ParseURL(spec)
	if err != nil {
		return nil, err
	}
	if opts.LeaseTTL == 0 {
		if v := os.Getenv("DEBFLOW_S3_LEASE"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("DEBFLOW_S3_LEASE=%q: not a positive duration such as 30s", v)
			}
			opts.LeaseTTL = d
		}
	}
	if opts.LeaseTTL == 0 {
		opts.LeaseTTL = defaultTTL
	}
	if opts.LeaseTTL > maxLease {
		return nil, fmt.Errorf("lease length %s: at most %s", opts.LeaseTTL, maxLease)
	}
	if opts.MaxBackoff == 0 {
		opts.MaxBackoff = 2 * time.Second
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 5
	}
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = opts.MaxAttempts
				o.MaxBackoff = opts.MaxBackoff
			})
		}),
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3://%s: AWS configuration: %w", bucket, err)
	}
	endpoint := os.Getenv("AWS_ENDPOINT_URL_S3")
	if endpoint == "" {
		endpoint = os.Getenv("AWS_ENDPOINT_URL")
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1" // what non-AWS servers expect; AWS answers a wrong one with a redirect error
	}
	st := &Store{bucket: bucket, ttl: opts.LeaseTTL, logRequests: opts.LogRequests || os.Getenv("DEBFLOW_S3_STATS") == "2"}
	if prefix != "" {
		st.prefix = prefix + "/"
	}
	st.client = s3sdk.NewFromConfig(cfg, func(o *s3sdk.Options) {
		o.UsePathStyle = endpoint != ""
		if opts.HTTPClient != nil {
			o.HTTPClient = opts.HTTPClient
		}
		// Uploads carry a CRC32 the server checks. Downloads are not
		// checked against the stored checksum: versitygw sends the
		// checksum of the previous content with the new body when a GET
		// races an overwrite, and debflow checks the hashes of what it
		// reads itself (Release, indexes, verify).
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.APIOptions = append(o.APIOptions, st.countRequests)
	})
	return st, nil
}

// String is the store's URL.
func (s *Store) String() string { return "s3://" + s.bucket + "/" + s.prefix }

// Stats returns the requests made so far (every attempt counts) and the
// bytes of the request bodies sent.
func (s *Store) Stats() (requests, bytesSent int64) { return s.requests.Load(), s.sent.Load() }

// RequestLog returns a line per request made so far
// ("PUT /bucket/key?x-id=PutObject 200"),
// in the order they ended, when Options.LogRequests is set; else nil.
func (s *Store) RequestLog() []string {
	s.logMu.Lock()
	defer s.logMu.Unlock()
	return slices.Clone(s.log)
}

func (s *Store) key(name string) string { return s.prefix + name }

func (s *Store) checkName(name string) error {
	if err := repo.ValidName(name); err != nil {
		return err
	}
	if reserved(name) {
		return fmt.Errorf("%w %q: reserved for the lock lease", repo.ErrBadName, name)
	}
	return nil
}

// reserved: the lease and the probe's scratch objects.
func reserved(name string) bool { return name == lockName || strings.HasPrefix(name, probePrefix) }

// Get implements repo.Storage.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := s.checkName(name); err != nil {
		return nil, err
	}
	out, err := s.client.GetObject(ctx, &s3sdk.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err != nil {
		return nil, s.wrap("get", name, err)
	}
	return &body{out.Body, s, name}, nil
}

// body names the object in a read error.
type body struct {
	io.ReadCloser
	s    *Store
	name string
}

func (b *body) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("reading %s: %w", b.s.describe(b.name), err)
	}
	return n, err
}

// Stat implements repo.Storage.
func (s *Store) Stat(ctx context.Context, name string) (repo.ObjectInfo, error) {
	if err := s.checkName(name); err != nil {
		return repo.ObjectInfo{}, err
	}
	out, err := s.client.HeadObject(ctx, &s3sdk.HeadObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err != nil {
		return repo.ObjectInfo{}, s.wrap("stat", name, err)
	}
	return repo.ObjectInfo{Name: name, Size: aws.ToInt64(out.ContentLength), ModTime: aws.ToTime(out.LastModified)}, nil
}

// Delete implements repo.Storage.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := s.checkName(name); err != nil {
		return err
	}
	_, err := s.client.DeleteObject(ctx, &s3sdk.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
	if err = s.wrap("delete", name, err); errors.Is(err, fs.ErrNotExist) && !errors.Is(err, errNoBucket) {
		return nil
	}
	return err
}

// Put implements repo.Storage.
func (s *Store) Put(ctx context.Context, name string, r io.Reader) error {
	if err := s.checkName(name); err != nil {
		return err
	}
	_, err := s.put(ctx, name, r, nil, nil)
	return err
}

// PutStat stores an object as Put does and returns what the server holds
// then, without a HEAD: the body goes with its CRC32, computed here, which
// the server checks before it stores the object, and a server that answers
// with the checksum of what it stored must answer with that one. A server
// that does not answer with a checksum is asked with a HEAD (Stat).
func (s *Store) PutStat(ctx context.Context, name string, r io.Reader) (repo.ObjectInfo, error) {
	if err := s.checkName(name); err != nil {
		return repo.ObjectInfo{}, err
	}
	data, size, cleanup, err := spool(r)
	if err != nil {
		return repo.ObjectInfo{}, fmt.Errorf("put %s: %w", s.describe(name), err)
	}
	defer cleanup()
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, data); err != nil {
		return repo.ObjectInfo{}, fmt.Errorf("put %s: %w", s.describe(name), err)
	}
	if _, err := data.Seek(0, io.SeekStart); err != nil {
		return repo.ObjectInfo{}, fmt.Errorf("put %s: %w", s.describe(name), err)
	}
	sum := base64.StdEncoding.EncodeToString(h.Sum(nil))
	out, err := s.putObject(ctx, name, data, size, sum, nil, nil)
	if err != nil {
		return repo.ObjectInfo{}, err
	}
	switch got := aws.ToString(out.ChecksumCRC32); got {
	case sum:
		return repo.ObjectInfo{Name: name, Size: size}, nil
	case "":
		return s.Stat(ctx, name)
	default:
		return repo.ObjectInfo{}, fmt.Errorf("put %s: the server stored an object with CRC32 %s, the body sent has %s", s.describe(name), got, sum)
	}
}

// put stores an object, conditionally when ifMatch or ifNoneMatch is set,
// and returns its ETag.
func (s *Store) put(ctx context.Context, name string, r io.Reader, ifMatch, ifNoneMatch *string) (string, error) {
	data, size, cleanup, err := spool(r)
	if err != nil {
		return "", fmt.Errorf("put %s: %w", s.describe(name), err)
	}
	defer cleanup()
	out, err := s.putObject(ctx, name, data, size, "", ifMatch, ifNoneMatch)
	if err != nil {
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// putObject is one PutObject with a CRC32 the server checks: sum (base64)
// when given, else computed by the SDK while it sends the body.
func (s *Store) putObject(ctx context.Context, name string, data io.ReadSeeker, size int64, sum string, ifMatch, ifNoneMatch *string) (*s3sdk.PutObjectOutput, error) {
	in := &s3sdk.PutObjectInput{
		Bucket:            &s.bucket,
		Key:               aws.String(s.key(name)),
		Body:              data,
		ContentLength:     aws.Int64(size),
		CacheControl:      aws.String(CacheControl(name)),
		ContentType:       aws.String(contentType(name)),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		IfMatch:           ifMatch,
		IfNoneMatch:       ifNoneMatch,
	}
	if sum != "" {
		in.ChecksumCRC32 = aws.String(sum)
	}
	out, err := s.client.PutObject(ctx, in)
	if err != nil {
		return nil, s.wrap("put", name, err)
	}
	return out, nil
}

// spool makes r seekable with a known length, as a signed, retried and
// checksummed PutObject needs: in memory up to memoryLimit, else in a
// temporary file.
func spool(r io.Reader) (io.ReadSeeker, int64, func(), error) {
	if rs, ok := r.(*bytes.Reader); ok {
		return rs, rs.Size(), func() {}, nil
	}
	var buf bytes.Buffer
	n, err := io.CopyN(&buf, r, memoryLimit+1)
	if err == io.EOF || (err == nil && n <= memoryLimit) {
		return bytes.NewReader(buf.Bytes()), n, func() {}, nil
	}
	if err != nil {
		return nil, 0, nil, err
	}
	f, err := os.CreateTemp("", "debflow-s3-*")
	if err != nil {
		return nil, 0, nil, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	total, err := io.Copy(f, io.MultiReader(&buf, r))
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		cleanup()
		return nil, 0, nil, err
	}
	return f, total, cleanup, nil
}

// Copy implements repo.Storage with a server-side copy, which gets the
// Cache-Control of its new name.
func (s *Store) Copy(ctx context.Context, src, dst string) error {
	if err := s.checkName(src); err != nil {
		return err
	}
	if err := s.checkName(dst); err != nil {
		return err
	}
	source := (&url.URL{Path: s.bucket + "/" + s.key(src)}).EscapedPath()
	_, err := s.client.CopyObject(ctx, &s3sdk.CopyObjectInput{
		Bucket:            &s.bucket,
		Key:               aws.String(s.key(dst)),
		CopySource:        &source,
		MetadataDirective: types.MetadataDirectiveReplace,
		CacheControl:      aws.String(CacheControl(dst)),
		ContentType:       aws.String(contentType(dst)),
	})
	if err != nil {
		return fmt.Errorf("copy to %s: %w", dst, s.wrap("copy", src, err))
	}
	return nil
}

// Sync implements repo.Storage: an object that PutObject stored is durable
// when it returns.
func (s *Store) Sync(ctx context.Context) error { return nil }

// List implements repo.Storage. It lists only under prefix: debflow never
// lists a whole bucket in a publish.
func (s *Store) List(ctx context.Context, prefix string) ([]repo.ObjectInfo, error) {
	if prefix != "" {
		if err := repo.ValidName(strings.TrimSuffix(prefix, "/")); err != nil {
			return nil, fmt.Errorf("list prefix: %w", err)
		}
	}
	return s.list(ctx, prefix, 0)
}

func (s *Store) list(ctx context.Context, prefix string, limit int32) ([]repo.ObjectInfo, error) {
	in := &s3sdk.ListObjectsV2Input{Bucket: &s.bucket, Prefix: aws.String(s.key(prefix))}
	if limit > 0 {
		in.MaxKeys = aws.Int32(limit)
	}
	out := []repo.ObjectInfo{}
	p := s3sdk.NewListObjectsV2Paginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range page.Contents {
			name := strings.TrimPrefix(aws.ToString(o.Key), s.prefix)
			if reserved(name) || repo.ValidName(name) != nil {
				continue
			}
			out = append(out, repo.ObjectInfo{Name: name, Size: aws.ToInt64(o.Size), ModTime: aws.ToTime(o.LastModified)})
		}
		if limit > 0 {
			break
		}
	}
	slices.SortFunc(out, func(a, b repo.ObjectInfo) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Empty reports whether the store holds no object, with one short list.
func (s *Store) Empty(ctx context.Context) (bool, error) {
	objs, err := s.list(ctx, "", 2)
	return len(objs) == 0, err
}

// GetVersion implements repo.ConditionalStorage: the object's content and
// its ETag, which the compare-and-swap of the commit point relies on.
//
// A server may answer a GET that races an overwrite with the new ETag and
// the old body (versitygw does: its metadata and data are read apart). A
// compare-and-swap on that ETag would then replace a record this command
// never read, and lose another publisher's packages. So when the ETag is a
// plain MD5 (a single-part upload without SSE-KMS, which is how records are
// written) it must be the MD5 of the body, or the object is read again.
func (s *Store) GetVersion(ctx context.Context, name string) ([]byte, string, error) {
	if err := s.checkName(name); err != nil {
		return nil, "", err
	}
	for attempt := 0; ; attempt++ {
		out, err := s.client.GetObject(ctx, &s3sdk.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(name))})
		if err != nil {
			return nil, "", s.wrap("get", name, err)
		}
		data, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", s.describe(name), err)
		}
		etag := aws.ToString(out.ETag)
		if etagMatches(etag, data) {
			return data, etag, nil
		}
		if attempt == 10 {
			return nil, "", fmt.Errorf("reading %s: the ETag %s is not the MD5 of the content the server sent, ten times in a row", s.describe(name), etag)
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
}

// etagMatches reports whether an ETag can be the version of data: an ETag
// that is a plain MD5 must be data's; others (multipart, SSE-KMS) cannot
// be checked and are taken as they are.
func etagMatches(etag string, data []byte) bool {
	hexsum := strings.Trim(etag, `"`)
	if len(hexsum) != 32 || strings.Trim(strings.ToLower(hexsum), "0123456789abcdef") != "" {
		return true
	}
	sum := md5.Sum(data)
	return strings.EqualFold(hexsum, hex.EncodeToString(sum[:]))
}

// PutIfVersion implements repo.ConditionalStorage: If-Match on version, or
// If-None-Match: * when version is "". It returns the new ETag.
func (s *Store) PutIfVersion(ctx context.Context, name string, r io.Reader, version string) (string, error) {
	if err := s.checkName(name); err != nil {
		return "", err
	}
	if err := s.probe(ctx); err != nil {
		return "", err
	}
	if version == "" {
		return s.put(ctx, name, r, nil, aws.String("*"))
	}
	return s.put(ctx, name, r, aws.String(version), nil)
}

// ---------------------------------------------------------------------------
// Errors

var errNoBucket = errors.New("no such bucket")

// describe names an object for messages.
func (s *Store) describe(name string) string {
	return fmt.Sprintf("s3://%s/%s", s.bucket, s.key(name))
}

// wrap turns an SDK error into one that names the bucket and the object
// and wraps fs.ErrNotExist or repo.ErrPreconditionFailed where they apply.
func (s *Store) wrap(op, name string, err error) error {
	if err == nil {
		return nil
	}
	what := s.describe(name)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s %s: %w", op, what, err)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	code := ""
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code = ae.ErrorCode()
	}
	switch {
	case code == "NoSuchBucket":
		return fmt.Errorf("%s %s: bucket %q does not exist (create it first): %w: %w", op, what, s.bucket, errNoBucket, fs.ErrNotExist)
	case code == "NoSuchKey" || code == "NotFound" || status == http.StatusNotFound:
		if op == "stat" || op == "get" || op == "copy" || op == "delete" {
			return fmt.Errorf("%s %s: %w", op, what, fs.ErrNotExist)
		}
	case code == "PreconditionFailed" || status == http.StatusPreconditionFailed ||
		code == "ConditionalRequestConflict" || (status == http.StatusConflict && op == "put"):
		return fmt.Errorf("%s %s: %w", op, what, repo.ErrPreconditionFailed)
	case code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "AccessDenied" || status == http.StatusForbidden:
		return fmt.Errorf("%s %s: access denied (check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or AWS_PROFILE, and the bucket's policy): %w", op, what, err)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("%s %s: cannot reach the S3 endpoint (check AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL): %w", op, what, err)
	}
	return fmt.Errorf("%s %s: %w", op, what, err)
}

// countRequests counts every attempt (it runs after the retry
// middleware) and the bytes of its body.
func (s *Store) countRequests(stack *middleware.Stack) error {
	return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("debflowCount",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req, ok := in.Request.(*smithyhttp.Request)
			if ok {
				s.requests.Add(1)
				if n, ok, err := req.StreamLength(); ok && err == nil {
					s.sent.Add(n)
				}
			}
			out, md, err := next.HandleFinalize(ctx, in)
			if ok && s.logRequests {
				line := req.Method + " " + req.URL.Path
				if req.URL.RawQuery != "" {
					line += "?" + req.URL.RawQuery
				}
				if resp, isResp := awsmiddleware.GetRawResponse(md).(*smithyhttp.Response); isResp {
					line += fmt.Sprintf(" %d", resp.StatusCode)
				} else if err != nil {
					line += " (no response)"
				}
				s.logMu.Lock()
				s.log = append(s.log, line)
				s.logMu.Unlock()
			}
			return out, md, err
		}), middleware.After)
}

// ---------------------------------------------------------------------------
// Lock

type lease struct {
	Holder string        `json:"holder"`
	Since  time.Time     `json:"since"`
	TTL    repo.Duration `json:"ttl"`
	Token  string        `json:"token"`
	// Renewed changes with each renewal, and with it the ETag that
	// waiters watch (an ETag is often the MD5 of the content).
	Renewed time.Time `json:"renewed"`
}

func (l lease) bytes() []byte {
	b, _ := json.Marshal(l)
	return b
}

// ErrNoConditionalWrites is wrapped by the error about a server that
// ignores If-None-Match.
var ErrNoConditionalWrites = errors.New("the S3 server does not enforce conditional writes (If-None-Match/If-Match)")

// probe checks once that the server refuses a second If-None-Match: * PUT
// of an object: without that, neither the lease nor the commit point would
// guard anything.
func (s *Store) probe(ctx context.Context) error {
	if s.probed.Load() {
		return nil
	}
	scratch := probePrefix + randomToken()
	for i := range 2 {
		_, err := s.put(ctx, scratch, strings.NewReader("probe"), nil, aws.String("*"))
		if i == 0 && err != nil {
			return fmt.Errorf("checking conditional writes: %w", err)
		}
		if i == 1 {
			s.client.DeleteObject(context.WithoutCancel(ctx), &s3sdk.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(scratch))})
			if errors.Is(err, repo.ErrPreconditionFailed) {
				break
			}
			if err != nil {
				return fmt.Errorf("checking conditional writes: %w", err)
			}
			return fmt.Errorf("s3://%s: %w: a second PUT with If-None-Match: * of %s succeeded instead of failing with 412; "+
				"debflow cannot publish safely there (AWS S3, Cloudflare R2, MinIO, Ceph RGW, SeaweedFS and versitygw enforce them)",
				s.bucket, ErrNoConditionalWrites, s.describe(scratch))
		}
	}
	s.probed.Store(true)
	return nil
}

func randomToken() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Lock implements repo.Storage with an expiring lease; see the package
// documentation.
func (s *Store) Lock(ctx context.Context, holder string, waiting func(holder string, since time.Time)) (func() error, error) {
	mine := lease{Holder: holder, Since: time.Now().UTC(), TTL: repo.Duration(s.ttl), Token: randomToken()}
	var (
		seenTag   string
		seenAt    time.Time
		lastShown string
		current   lease
	)
	for {
		etag, err := s.put(ctx, lockName, bytes.NewReader(mine.bytes()), nil, aws.String("*"))
		if err == nil && !s.probed.Load() {
			// The probe, for one request: the lease now exists, so a
			// second If-None-Match: * PUT of it must fail with 412.
			_, perr := s.put(ctx, lockName, bytes.NewReader(mine.bytes()), nil, aws.String("*"))
			if perr == nil {
				s.client.DeleteObject(context.WithoutCancel(ctx), &s3sdk.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(lockName))})
				return nil, fmt.Errorf("s3://%s: %w: a second PUT with If-None-Match: * of %s succeeded instead of failing with 412; "+
					"debflow cannot publish safely there (AWS S3, Cloudflare R2, MinIO, Ceph RGW, SeaweedFS and versitygw enforce them)",
					s.bucket, ErrNoConditionalWrites, s.describe(lockName))
			}
			if !errors.Is(perr, repo.ErrPreconditionFailed) {
				s.client.DeleteObject(context.WithoutCancel(ctx), &s3sdk.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(lockName)), IfMatch: aws.String(etag)})
				return nil, fmt.Errorf("checking conditional writes: %w", perr)
			}
			s.probed.Store(true)
		}
		if err == nil {
			return s.hold(mine, etag), nil
		}
		if !errors.Is(err, repo.ErrPreconditionFailed) {
			return nil, s.lockError(ctx, err, current)
		}
		data, tag, err := s.getLease(ctx)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // released meanwhile
		case err != nil:
			return nil, s.lockError(ctx, err, current)
		}
		var l lease
		if json.Unmarshal(data, &l) != nil || l.TTL <= 0 {
			l = lease{Holder: "an unreadable lease", TTL: repo.Duration(maxLease)}
		}
		current = l
		now := time.Now()
		if tag != seenTag {
			seenTag, seenAt = tag, now
		}
		ttl := min(time.Duration(l.TTL), maxLease)
		if now.Sub(seenAt) >= ttl {
			// The holder has not renewed its lease for a whole lease
			// length: it is dead or stuck. Take the lease over, unless
			// someone else just did.
			mine.Since = time.Now().UTC()
			etag, err := s.put(ctx, lockName, bytes.NewReader(mine.bytes()), aws.String(tag), nil)
			if err == nil {
				unlock := s.hold(mine, etag)
				if perr := s.probe(ctx); perr != nil {
					unlock()
					return nil, perr
				}
				return unlock, nil
			}
			if !errors.Is(err, repo.ErrPreconditionFailed) {
				return nil, s.lockError(ctx, err, current)
			}
			continue
		}
		if waiting != nil && l.Holder+l.Since.String() != lastShown {
			lastShown = l.Holder + l.Since.String()
			waiting(l.Holder, l.Since)
		}
		select {
		case <-ctx.Done():
			return nil, s.lockError(ctx, ctx.Err(), current)
		case <-time.After(lockPoll):
		}
	}
}

func (s *Store) lockError(ctx context.Context, err error, current lease) error {
	if ctx.Err() != nil {
		who := "another publisher"
		if current.Holder != "" {
			who = current.Holder
			if !current.Since.IsZero() {
				who += " since " + current.Since.Format(time.RFC3339)
			}
		}
		return fmt.Errorf("%w: %s holds the lease %s: %w", repo.ErrLockTimeout, who, s.describe(lockName), ctx.Err())
	}
	return fmt.Errorf("taking the lock lease %s: %w", s.describe(lockName), err)
}

func (s *Store) getLease(ctx context.Context) ([]byte, string, error) {
	out, err := s.client.GetObject(ctx, &s3sdk.GetObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(lockName))})
	if err != nil {
		return nil, "", s.wrap("get", lockName, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	return data, aws.ToString(out.ETag), err
}

// hold renews the lease until unlock is called.
func (s *Store) hold(mine lease, etag string) func() error {
	var (
		mu   sync.Mutex
		tag  = etag
		lost error
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(s.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			mu.Lock()
			cur := tag
			mu.Unlock()
			mine.Renewed = time.Now().UTC()
			ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
			next, err := s.put(ctx, lockName, bytes.NewReader(mine.bytes()), aws.String(cur), nil)
			cancel()
			mu.Lock()
			if err == nil {
				tag = next
			} else if errors.Is(err, repo.ErrPreconditionFailed) {
				lost = fmt.Errorf("the lock lease %s was taken over by another publisher (this one did not renew it in time)", s.describe(lockName))
				mu.Unlock()
				return
			}
			mu.Unlock()
		}
	}()
	return sync.OnceValue(func() error {
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		if lost != nil {
			return lost
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := s.client.DeleteObject(ctx, &s3sdk.DeleteObjectInput{Bucket: &s.bucket, Key: aws.String(s.key(lockName)), IfMatch: aws.String(tag)})
		if err = s.wrap("delete", lockName, err); err != nil && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, repo.ErrPreconditionFailed) {
			return fmt.Errorf("releasing the lock lease: %w", err)
		}
		return nil
	})
}
