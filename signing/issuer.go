package signing

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// SignatureIssuers returns the fingerprints (or, for signatures that carry
// none, the 16-digit key IDs) of the keys that made the signatures in sig,
// armored or binary, sorted. It verifies nothing.
func SignatureIssuers(sig []byte) []string {
	var r io.Reader = bytes.NewReader(sig)
	if isArmored(sig) {
		block, err := armor.Decode(bytes.NewReader(sig))
		if err != nil {
			return nil
		}
		r = block.Body
	}
	var ids []string
	packets := packet.NewReader(r)
	for {
		p, err := packets.Next()
		if err != nil {
			break
		}
		switch s, ok := p.(*packet.Signature); {
		case !ok:
		case len(s.IssuerFingerprint) > 0:
			ids = append(ids, fmt.Sprintf("%X", s.IssuerFingerprint))
		case s.IssuerKeyId != nil:
			ids = append(ids, fmt.Sprintf("%016X", *s.IssuerKeyId))
		}
	}
	slices.Sort(ids)
	return ids
}
