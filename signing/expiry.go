package signing

import "time"

// Expires returns when the key expires, per its primary identity's self
// signature, and false when it never does. A device's apt refuses the
// Release files a key signed once it has expired.
func (k *Key) Expires() (time.Time, bool) {
	id := k.entity.PrimaryIdentity()
	if id == nil || id.SelfSignature == nil || id.SelfSignature.KeyLifetimeSecs == nil || *id.SelfSignature.KeyLifetimeSecs == 0 {
		return time.Time{}, false
	}
	return k.entity.PrimaryKey.CreationTime.Add(time.Duration(*id.SelfSignature.KeyLifetimeSecs) * time.Second), true
}
