package snapshot

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrBadName is wrapped by the errors of ValidName and ValidStageName.
var ErrBadName = errors.New("invalid name")

// Limits on the length of names. Snapshot names are longer to leave room
// for a date and a free-form suffix ("2026-11-24-hotfix-ota-timeout").
const (
	MaxNameLen      = 64
	MaxStageNameLen = 32
)

// dayLayout is the date part of a default snapshot name.
const dayLayout = "2006-01-02"

// maxSequence bounds the same-day sequence numbers NextName recognises in
// existing names, far beyond any real count. It keeps the arithmetic from
// overflowing and every name NextName makes within MaxNameLen; a larger
// number is treated as part of a custom name.
const maxSequence = 99_999_999

// NextName returns the default name of a snapshot created at now.
//
// The first snapshot of a UTC day is named after the day, "2026-11-24". The
// following ones of the same day get a sequence number: "2026-11-24.02",
// "2026-11-24.03", ..., "2026-11-24.99". The number is one more than the
// highest that existing has for that day (the bare date counts as 1), so a
// deleted snapshot's name is not reused while a later one of its day
// exists. Names in existing that NextName would not have made (custom
// --name values, other days) are ignored; they can never equal the result,
// whose suffix is made of digits and dots only.
//
// Why ".02": names must sort by creation time for a human running ls and
// for a program using sort.Strings, and also in dpkg version order (a date
// name is a valid Debian version, and tools compare suites that way). A
// plain ".2" ... ".10" sorts correctly for dpkg but not byte-wise (".10" <
// ".2"); two digits sort correctly both ways. The 100th snapshot of a day
// would break two digits again, so each further width is prefixed with the
// last name of the previous width: ".99.100" ... ".99.999", then
// ".99.999.1000", and so on. A name is then a prefix of every later band,
// which keeps both orders right for any count, while the common case stays
// short.
func NextName(existing []string, now time.Time) string {
	day := now.UTC().Format(dayLayout)
	highest := 0
	for _, name := range existing {
		if n, ok := daySequence(name, day); ok && n > highest {
			highest = n
		}
	}
	if highest == 0 {
		return day
	}
	return day + sequenceSuffix(highest+1)
}

// sequenceSuffix returns the suffix of the n-th snapshot of a day, n >= 2.
func sequenceSuffix(n int) string {
	digits := strconv.Itoa(n)
	width := max(len(digits), 2)
	var b strings.Builder
	for w := 2; w < width; w++ {
		b.WriteString(".")
		b.WriteString(strings.Repeat("9", w))
	}
	fmt.Fprintf(&b, ".%0*d", width, n)
	return b.String()
}

// daySequence returns the sequence number of name if it is a default name
// of day: 1 for the bare day, n for day+sequenceSuffix(n).
func daySequence(name, day string) (int, bool) {
	rest, ok := strings.CutPrefix(name, day)
	if !ok {
		return 0, false
	}
	if rest == "" {
		return 1, true
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[i+1:])
	if err != nil || n < 2 || n > maxSequence || sequenceSuffix(n) != rest {
		return 0, false
	}
	return n, true
}

// ValidName checks a snapshot name, such as one given with --name: a safe
// apt suite name that cannot be mistaken for a stage.
//
// The rule: at most MaxNameLen characters out of lower-case letters,
// digits, '.', '+', '-' and '_'; the first character a digit and the last
// a letter or digit; no "..". So no '/', no control characters, no spaces,
// nothing that can climb out of dists/ or needs quoting in a sources
// entry.
//
// Snapshot names start with a digit and stage names (ValidStageName) with
// a letter, so a snapshot and a stage can never share a directory under
// dists/, whatever names people choose. Default names are dates and always
// qualify; a custom name can still say what it is for:
// "2026-11-24-hotfix".
func ValidName(name string) error {
	if err := checkName(name, MaxNameLen, "._+-"); err != nil {
		return err
	}
	if !isDigit(name[0]) {
		return fmt.Errorf("%w %q: a snapshot name must start with a digit (names that start with a letter are stages)", ErrBadName, name)
	}
	return nil
}

// ValidStageName checks a stage name such as canary or production: at most
// MaxStageNameLen characters out of lower-case letters, digits and '-',
// starting with a letter and ending with a letter or digit. Starting with a
// letter keeps stages apart from snapshots (see ValidName). The rolling
// suite (development) lives in the same namespace as the stages; that a
// new stage does not take an existing suite's name is for the caller, who
// knows the suites, to check.
func ValidStageName(name string) error {
	if err := checkName(name, MaxStageNameLen, "-"); err != nil {
		return err
	}
	if !isLower(name[0]) {
		return fmt.Errorf("%w %q: a stage name must start with a lower-case letter (names that start with a digit are snapshots)", ErrBadName, name)
	}
	return nil
}

// checkName applies the rules snapshot and stage names share.
func checkName(name string, maxLen int, punct string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadName)
	case len(name) > maxLen:
		return fmt.Errorf("%w %q: longer than %d characters", ErrBadName, name, maxLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !isLower(c) && !isDigit(c) && !strings.ContainsRune(punct, rune(c)) {
			return fmt.Errorf("%w %q: character %q is not allowed (only a-z, 0-9 and %q)", ErrBadName, name, c, punct)
		}
	}
	if strings.Contains(name, "..") {
		return fmt.Errorf("%w %q: must not contain \"..\"", ErrBadName, name)
	}
	if last := name[len(name)-1]; !isLower(last) && !isDigit(last) {
		return fmt.Errorf("%w %q: must end with a letter or digit", ErrBadName, name)
	}
	return nil
}

func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
