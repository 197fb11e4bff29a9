package ci

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors; the command layer maps them to exit codes.
var (
	// ErrEvent: the GitHub Actions event is missing, unreadable or not a
	// closed pull request.
	ErrEvent = errors.New("bad GitHub event")
	// ErrStageFile: a stage file is not YAML with a valid "snapshot" key.
	ErrStageFile = errors.New("bad stage file")
	// ErrStageMap: a --stage-map entry is not BRANCH=STAGE.
	ErrStageMap = errors.New("bad stage map")
	// ErrConfig: the GitHub settings (token, repository, API URL) are
	// missing or malformed.
	ErrConfig = errors.New("GitHub is not configured")
	// ErrNotReported: a promotion happened but GitHub could not be told
	// (deployment status or pull request comment).
	ErrNotReported = errors.New("GitHub was not told")
)

// APIError is a failed GitHub REST call: which call, the HTTP status (0 when
// no reply came), GitHub's message, and when a rate limit ends.
type APIError struct {
	Call       string    // what debflow was doing: "create deployment"
	Method     string    // HTTP method
	Path       string    // the endpoint, relative to the API root
	StatusCode int       // 0 for a network error
	Message    string    // GitHub's message and error details
	RateLimit  bool      // a primary or secondary rate limit
	Reset      time.Time // when the rate limit ends, if GitHub said
	Tries      int       // how many times the call was sent
	Err        error     // the underlying error from go-github or net/http
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "GitHub %s (%s %s): ", e.Call, e.Method, e.Path)
	switch {
	case e.RateLimit:
		fmt.Fprintf(&b, "rate limit exceeded (HTTP %d)", e.StatusCode)
		if !e.Reset.IsZero() {
			fmt.Fprintf(&b, ", resets at %s", e.Reset.UTC().Format(time.RFC3339))
		}
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
	case e.StatusCode == 0:
		fmt.Fprintf(&b, "no reply: %v", e.Err)
	default:
		fmt.Fprintf(&b, "HTTP %d", e.StatusCode)
		if e.Message != "" {
			fmt.Fprintf(&b, ": %s", e.Message)
		}
	}
	if e.Tries > 1 {
		fmt.Fprintf(&b, " (after %d tries)", e.Tries)
	}
	return b.String()
}

func (e *APIError) Unwrap() error { return e.Err }

// transient says whether trying again may help: no reply at all, or a
// server error.
func (e *APIError) transient() bool {
	return !e.RateLimit && (e.StatusCode == 0 || e.StatusCode >= 500)
}

// NotReportedError is a promotion that happened while GitHub was not told
// all of it. It matches ErrNotReported with errors.Is.
type NotReportedError struct {
	Stage, Snapshot string
	Err             error // the failed report(s)
}

func (e *NotReportedError) Error() string {
	return fmt.Sprintf("promoted %s to %s, but GitHub was not told: %v", e.Stage, e.Snapshot, e.Err)
}

// Unwrap returns ErrNotReported and the failed calls' errors.
func (e *NotReportedError) Unwrap() []error { return []error{ErrNotReported, e.Err} }

// RefusedError is a promotion that was refused (out of order, unknown
// snapshot or stage). Its Unwrap is the refusal only, so that the exit
// status is the refusal's, even when reporting it failed too.
type RefusedError struct {
	Stage, Snapshot string
	Err             error // why the promotion was refused
	ReportErr       error // non-nil when GitHub could not be told
	Local           bool  // no forge was told (debflow reconcile)
}

func (e *RefusedError) Error() string {
	if e.Local {
		return fmt.Sprintf("did not promote %s to %s, nothing changed: %v", e.Stage, e.Snapshot, e.Err)
	}
	if e.ReportErr != nil {
		return fmt.Sprintf("did not promote %s to %s: %v; and GitHub was not told: %v", e.Stage, e.Snapshot, e.Err, e.ReportErr)
	}
	return fmt.Sprintf("did not promote %s to %s (reported on GitHub): %v", e.Stage, e.Snapshot, e.Err)
}

func (e *RefusedError) Unwrap() error { return e.Err }
