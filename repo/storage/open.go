// Package storage opens a repository's storage from a --repo value: the
// one place where the backends are registered.
package storage

import (
	"context"
	"strings"

	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/repo/storage/s3"
)

// Open returns the storage that spec names: s3://BUCKET[/PREFIX] is a
// bucket in S3-compatible object storage (configured from the AWS_*
// environment, see package s3), anything else a directory.
func Open(ctx context.Context, spec string) (repo.Storage, error) {
	if strings.HasPrefix(spec, "s3://") {
		return s3.Open(ctx, spec, s3.Options{})
	}
	return repo.NewFS(spec)
}

// IsURL reports whether spec names a storage other than a directory.
func IsURL(spec string) bool { return strings.Contains(spec, "://") }
