package repo

import "time"

// SetVerifyRetry lets tests shorten Verify's retries; restore undoes it.
func SetVerifyRetry(attempts int, backoff time.Duration) (restore func()) {
	a, b := verifyAttempts, verifyBackoff
	verifyAttempts, verifyBackoff = attempts, backoff
	return func() { verifyAttempts, verifyBackoff = a, b }
}
