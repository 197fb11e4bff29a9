package snapshot

import (
	"errors"
	"testing"

	"github.com/debflow/debflow/internal/debian"
)

// FuzzParsePick checks that ParsePick never panics, that everything it
// accepts is a valid name and version that print back to the input, and
// that everything it refuses is an ErrBadPick.
func FuzzParsePick(f *testing.F) {
	for _, s := range []string{
		"hello-fleet=1.2.0", "app=1:2.0~rc1-3", "g++=12.2.0-14", "a=1", "app", "=", "app=", "=1.0",
		"app==1", "app=1=2", "App=1.0", "app=v1", "app=1.0\n", "app=1.0-", "app=:1", "app=1:",
		"app=0~git42.0123456789ab", "\x00=\xff",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePick(s)
		if err != nil {
			if !errors.Is(err, ErrBadPick) {
				t.Fatalf("ParsePick(%q) = %v, not ErrBadPick", s, err)
			}
			if p != (Pick{}) {
				t.Fatalf("ParsePick(%q) returned %+v with its error", s, p)
			}
			return
		}
		if p.String() != s {
			t.Fatalf("ParsePick(%q).String() = %q", s, p.String())
		}
		if err := debian.ValidPackageName(p.Name); err != nil {
			t.Fatalf("ParsePick(%q) accepted name: %v", s, err)
		}
		if err := debian.ValidVersion(p.Version); err != nil {
			t.Fatalf("ParsePick(%q) accepted version: %v", s, err)
		}
	})
}
