package signing

import (
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// GenerateExpiring is Generate for a key that expires lifetime after now
// (0: never). Devices refuse signatures made by an expired key, so a
// repository signed with one must have its successor added first (see
// `debflow check`, which warns before the expiry).
func GenerateExpiring(uid string, algo Algorithm, now time.Time, lifetime time.Duration) (*Key, error) {
	return generate(uid, algo, now, lifetime)
}

// Expires returns when k's primary key expires; zero if never.
func (k *Key) Expires() time.Time { return entityExpiry(k.entity) }

// KeyInfo describes one key of a Keyring.
type KeyInfo struct {
	Fingerprint string
	Expires     time.Time // zero: never
	Revoked     bool
}

// Keys describes the keys of kr.
func (kr *Keyring) Keys() []KeyInfo {
	out := make([]KeyInfo, 0, len(kr.entities))
	for _, e := range kr.entities {
		out = append(out, KeyInfo{Fingerprint: fingerprint(e.PrimaryKey), Expires: entityExpiry(e), Revoked: e.Revoked(time.Now())})
	}
	return out
}

// entityExpiry is the expiry its self-signature gives the primary key.
func entityExpiry(e *openpgp.Entity) time.Time {
	sig, _ := e.PrimarySelfSignature()
	if sig == nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return time.Time{}
	}
	return e.PrimaryKey.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
}

// lifetimeSecs converts a key lifetime for packet.Config.
func lifetimeSecs(d time.Duration) uint32 {
	if d <= 0 {
		return 0
	}
	s := d / time.Second
	if s > 1<<32-1 {
		s = 1<<32 - 1
	}
	return uint32(s)
}
