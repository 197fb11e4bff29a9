package repo

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/debflow/debflow/internal/debian"
)

// Hashes are the sums a Release file lists for each index file.
type Hashes struct {
	Size   int64  `json:"size"`
	MD5    string `json:"md5"`
	SHA1   string `json:"sha1"`
	SHA256 string `json:"sha256"`
	SHA512 string `json:"sha512"`
}

// HashBytes computes every sum of data, the two slow ones in parallel.
func HashBytes(data []byte) Hashes {
	h := Hashes{Size: int64(len(data))}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := sha512.Sum512(data)
		h.SHA512 = hex.EncodeToString(s[:])
		m := md5.Sum(data)
		h.MD5 = hex.EncodeToString(m[:])
	}()
	s256 := sha256.Sum256(data)
	s1 := sha1.Sum(data)
	h.SHA256 = hex.EncodeToString(s256[:])
	h.SHA1 = hex.EncodeToString(s1[:])
	wg.Wait()
	return h
}

// Release is the content of a suite's Release file.
type Release struct {
	Origin, Label, Suite, Codename string
	Description                    string
	Date                           time.Time
	ValidUntil                     time.Time // zero: no Valid-Until
	Architectures                  []string
	Components                     []string
	Files                          map[string]Hashes // path relative to dists/SUITE/
	Extra                          []debian.Field    // more fields, before the hash lists (e.g. the snapshot a stage serves)
}

// releaseDate is the format apt expects: RFC 1123 in UTC.
const releaseDate = "Mon, 02 Jan 2006 15:04:05 UTC"

// Bytes renders the Release file. Every line ends in "\n" and none has
// trailing white space, as clearsigning requires.
func (r *Release) Bytes() []byte {
	p := debian.Paragraph{}
	add := func(name, value string) {
		if value != "" {
			p = append(p, debian.Field{Name: name, Value: value})
		}
	}
	add("Origin", r.Origin)
	add("Label", r.Label)
	add("Suite", r.Suite)
	add("Codename", r.Codename)
	add("Description", r.Description)
	add("Date", r.Date.UTC().Format(releaseDate))
	if !r.ValidUntil.IsZero() {
		add("Valid-Until", r.ValidUntil.UTC().Format(releaseDate))
	}
	add("Architectures", strings.Join(r.Architectures, " "))
	add("Components", strings.Join(r.Components, " "))
	add("Acquire-By-Hash", "yes")
	p = append(p, r.Extra...)

	var b bytes.Buffer
	p.WriteTo(&b)
	names := make([]string, 0, len(r.Files))
	for name := range r.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	width := 0
	for _, name := range names {
		width = max(width, len(strconv.FormatInt(r.Files[name].Size, 10)))
	}
	for _, list := range []struct {
		field string
		sum   func(Hashes) string
	}{
		{"MD5Sum", func(h Hashes) string { return h.MD5 }},
		{"SHA1", func(h Hashes) string { return h.SHA1 }},
		{"SHA256", func(h Hashes) string { return h.SHA256 }},
		{"SHA512", func(h Hashes) string { return h.SHA512 }},
	} {
		listed := false
		for _, name := range names {
			listed = listed || list.sum(r.Files[name]) != ""
		}
		if !listed {
			continue
		}
		fmt.Fprintf(&b, "%s:\n", list.field)
		for _, name := range names {
			h := r.Files[name]
			if sum := list.sum(h); sum != "" {
				fmt.Fprintf(&b, " %s %*d %s\n", sum, width, h.Size, name)
			}
		}
	}
	return b.Bytes()
}

// ParseRelease reads a Release file (or the text of an InRelease).
func ParseRelease(data []byte) (*Release, error) {
	p, err := debian.ParseParagraph(data)
	if err != nil {
		return nil, fmt.Errorf("parsing Release: %w", err)
	}
	r := &Release{
		Origin:        p.Get("Origin"),
		Label:         p.Get("Label"),
		Suite:         p.Get("Suite"),
		Codename:      p.Get("Codename"),
		Description:   p.Get("Description"),
		Architectures: strings.Fields(p.Get("Architectures")),
		Components:    strings.Fields(p.Get("Components")),
		Files:         map[string]Hashes{},
	}
	if r.Date, err = time.Parse(releaseDate, p.Get("Date")); err != nil {
		return nil, fmt.Errorf("parsing Release: Date: %w", err)
	}
	if v := p.Get("Valid-Until"); v != "" {
		if r.ValidUntil, err = time.Parse(releaseDate, v); err != nil {
			return nil, fmt.Errorf("parsing Release: Valid-Until: %w", err)
		}
	}
	known := map[string]bool{"origin": true, "label": true, "suite": true, "codename": true, "description": true,
		"date": true, "valid-until": true, "architectures": true, "components": true, "acquire-by-hash": true}
	for _, list := range []struct {
		field string
		set   func(*Hashes, string)
	}{
		{"MD5Sum", func(h *Hashes, s string) { h.MD5 = s }},
		{"SHA1", func(h *Hashes, s string) { h.SHA1 = s }},
		{"SHA256", func(h *Hashes, s string) { h.SHA256 = s }},
		{"SHA512", func(h *Hashes, s string) { h.SHA512 = s }},
	} {
		known[strings.ToLower(list.field)] = true
		for _, line := range strings.Split(p.Get(list.field), "\n") {
			f := strings.Fields(line)
			if len(f) == 0 {
				continue
			}
			if len(f) != 3 {
				return nil, fmt.Errorf("parsing Release: %s: bad line %q", list.field, line)
			}
			size, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("parsing Release: %s: bad size in %q", list.field, line)
			}
			h := r.Files[f[2]]
			if h.Size != 0 && h.Size != size {
				return nil, fmt.Errorf("parsing Release: %s: sizes of %s disagree", list.field, f[2])
			}
			h.Size = size
			list.set(&h, f[0])
			r.Files[f[2]] = h
		}
	}
	for _, f := range p {
		if !known[strings.ToLower(f.Name)] {
			r.Extra = append(r.Extra, f)
		}
	}
	return r, nil
}
