package main

import (
	"errors"
	"strings"

	"github.com/debflow/debflow/build"
	"github.com/debflow/debflow/ci"
	"github.com/debflow/debflow/internal/compress"
	"github.com/debflow/debflow/internal/debfile"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/s3"
	"github.com/debflow/debflow/signing"
	"github.com/debflow/debflow/snapshot"
)

// exitCode is the one place where errors become exit statuses.
func exitCode(err error) int {
	var usage usageError
	var verify errVerify
	var check checkExit
	switch {
	case errors.As(err, &check):
		return int(check.state) // the monitoring-plugin convention: 1, 2, 3
	case errors.As(err, &verify), errors.Is(err, repo.ErrUpstreamVerify):
		return exitVerify
	case errors.Is(err, errBadValue):
		return exitInput
	case errors.Is(err, ci.ErrNotReported):
		return exitNotReported
	case errors.Is(err, ci.ErrStageMap), errors.Is(err, ci.ErrConfig):
		return exitUsage
	case errors.Is(err, ci.ErrEvent), errors.Is(err, ci.ErrStageFile), errors.Is(err, ci.ErrWrongBranch), errors.Is(err, ci.ErrNoStage):
		return exitInput
	case errors.Is(err, repo.ErrNeedsRepair), errors.Is(err, repo.ErrClock), errors.Is(err, signing.ErrKeyExists):
		return exitConflict
	case errors.Is(err, repo.ErrNoRepo), errors.Is(err, repo.ErrBadConfig):
		return exitInput
	case errors.Is(err, repo.ErrConflict), errors.Is(err, repo.ErrLockTimeout), errors.Is(err, snapshot.ErrOutOfOrder), errors.Is(err, snapshot.ErrGateClosed),
		errors.Is(err, repo.ErrPreconditionFailed), errors.Is(err, s3.ErrNoConditionalWrites),
		errors.Is(err, repo.ErrNotEmpty):
		return exitConflict
	case errors.Is(err, debfile.ErrInvalid), errors.Is(err, repo.ErrInput), errors.Is(err, repo.ErrChanged), errors.Is(err, repo.ErrBadSuiteName), errors.Is(err, repo.ErrBadComponent),
		errors.Is(err, repo.ErrNoSuite), errors.Is(err, snapshot.ErrBadName), errors.Is(err, snapshot.ErrBadPick),
		errors.Is(err, snapshot.ErrUnknownPackage), errors.Is(err, snapshot.ErrUnknownVersion),
		errors.Is(err, snapshot.ErrUnknownStage),
		errors.Is(err, repo.ErrNoPackage), errors.Is(err, repo.ErrBadPackageSpec), errors.Is(err, repo.ErrNoMirror):
		return exitInput
	case errors.Is(err, repo.ErrNoSigner), errors.Is(err, repo.ErrWrongKey):
		return exitKey
	case errors.As(err, &usage), isCobraUsage(err):
		return exitUsage
	case errors.Is(err, signing.ErrNoKey),
		errors.Is(err, signing.ErrNotSecretKey),
		errors.Is(err, signing.ErrPassphrase),
		errors.Is(err, signing.ErrUnusableKey),
		errors.Is(err, signing.ErrWeakKey),
		errors.Is(err, signing.ErrKeyExpired), errors.Is(err, signing.ErrKeyRevoked), errors.Is(err, signing.ErrCannotSign):
		return exitKey
	case errors.Is(err, build.ErrSpec),
		errors.Is(err, compress.ErrUnknownFormat):
		return exitInput
	}
	return exitFailure
}

// isCobraUsage recognises the argument errors cobra creates itself
// (unknown command, wrong number of arguments), which carry no type.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, p := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "unknown flag", "unknown shorthand flag", "required flag"} {
		if strings.Contains(msg, p) {
			return true
		}
	}
	return false
}
