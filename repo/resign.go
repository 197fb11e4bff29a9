package repo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/debflow/debflow/internal/ar"
	"github.com/debflow/debflow/signing"
)

// debsigsOrigin is the member that carries a package's origin signature.
const debsigsOrigin = "_gpgorigin"

// sameButSignature reports whether the package p and the pool file stored
// for the same name, version and architecture differ only in their origin
// signatures, made by the same key: the same members in the same order,
// byte for byte, apart from _gpgorigin. Such a package is what a CI re-run
// builds when the signature carried the time: publishing it again is a
// no-op, not a conflict. It is only asked when the hashes differ, so the
// stored package is read only then.
func (r *Repo) sameButSignature(ctx context.Context, stored string, p *Package) (bool, error) {
	if !p.Info.Signed {
		return false, nil
	}
	rc, err := r.st.Get(ctx, stored)
	if err != nil {
		return false, err
	}
	defer rc.Close()
	a, err := debMembers(rc)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", stored, err)
	}
	content, err := p.content()
	if err != nil {
		return false, err
	}
	defer content.Close()
	b, err := debMembers(io.LimitReader(content, p.Info.Size))
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", p.Path, err)
	}
	if !slices.Equal(a.names, b.names) || !slices.Equal(a.sums, b.sums) {
		return false, nil
	}
	ia, ib := signing.SignatureIssuers(a.origin), signing.SignatureIssuers(b.origin)
	return len(ia) > 0 && slices.Equal(ia, ib), nil
}

// members is what sameButSignature compares: the names and SHA-256 of the
// members other than the origin signature, and that signature.
type members struct {
	names  []string
	sums   [][sha256.Size]byte
	origin []byte
}

func debMembers(r io.Reader) (*members, error) {
	m := &members{}
	ar := ar.NewReader(r)
	for {
		hdr, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		if hdr.Name == debsigsOrigin {
			var b bytes.Buffer
			if _, err := io.Copy(&b, io.LimitReader(ar, 1<<20)); err != nil {
				return nil, err
			}
			m.origin = b.Bytes()
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, ar); err != nil {
			return nil, err
		}
		m.names = append(m.names, hdr.Name)
		m.sums = append(m.sums, [sha256.Size]byte(h.Sum(nil)))
	}
}
