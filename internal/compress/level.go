package compress

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/klauspost/compress/zstd"
)

// DefaultLevel (0) asks a writer for its format's default level.
const DefaultLevel = 0

// The zstd levels named as nfpm and klauspost/compress name them, on
// zstd's scale. The encoder has four speeds, each serving a range of zstd
// levels (zstd.EncoderLevelFromZstd): 1-2 fastest, 3-5 default, 6-9
// better, 10-22 best. Levels of one range give the same bytes.
var zstdLevelNames = map[string]int{"fastest": 1, "default": 3, "better": 7, "best": 11}

// ParseMethod parses a compression setting as nfpm's deb.compression and
// dpkg-deb's -Z and -z take it: a format name, optionally with a level after
// a colon ("xz", "gzip:9", "zstd:19", "zstd:fastest"). The level is
// DefaultLevel when none is given. ParseFormat lists the names; see
// ParseLevel for the levels.
func ParseMethod(s string) (Format, int, error) {
	name, level, hasLevel := strings.Cut(s, ":")
	f, err := ParseFormat(name)
	if err != nil {
		return "", 0, err
	}
	if !hasLevel {
		return f, DefaultLevel, nil
	}
	l, err := ParseLevel(f, level)
	if err != nil {
		return "", 0, err
	}
	return f, l, nil
}

// ParseLevel parses a level for format f: 1-9 for gzip (deflate's levels),
// 1-22 or fastest, default, better or best for zstd. xz and none have no
// levels: debflow's xz writer has one setting (see the package
// documentation), and nfpm refuses a level for xz too.
func ParseLevel(f Format, s string) (int, error) {
	s = strings.TrimSpace(s)
	lo, hi := 0, 0
	switch f {
	case Gzip:
		lo, hi = 1, 9
	case Zstd:
		if l, ok := zstdLevelNames[strings.ToLower(s)]; ok {
			return l, nil
		}
		lo, hi = 1, 22
	default:
		return 0, fmt.Errorf("%w: %s has no compression levels (%q)", ErrBadLevel, f, s)
	}
	l, err := strconv.Atoi(s)
	if err != nil || l < lo || l > hi {
		want := fmt.Sprintf("%d-%d", lo, hi)
		if f == Zstd {
			want += ", fastest, default, better or best"
		}
		return 0, fmt.Errorf("%w %q for %s (valid: %s)", ErrBadLevel, s, f, want)
	}
	return l, nil
}

// ErrBadLevel is returned (wrapped) for a level that the format does not
// have.
var ErrBadLevel = errors.New("compress: bad compression level")

// zstdEncoderLevel is the encoder speed that serves a zstd level.
func zstdEncoderLevel(level int) zstd.EncoderLevel {
	if level == DefaultLevel {
		return zstd.SpeedDefault
	}
	return zstd.EncoderLevelFromZstd(level)
}

// CheckLevel refuses a level that format f does not have (ParseLevel),
// with an error wrapping ErrBadLevel.
func CheckLevel(f Format, level int) error {
	if level == DefaultLevel {
		return nil
	}
	_, err := ParseLevel(f, strconv.Itoa(level))
	return err
}
