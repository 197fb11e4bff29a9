package build

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// changelogEntry is one release in nfpm's changelog file (the format of
// github.com/goreleaser/chglog, a YAML list of entries).
type changelogEntry struct {
	Semver   string    `yaml:"semver"`
	Date     time.Time `yaml:"date"`
	Packager string    `yaml:"packager"`
	Deb      *struct {
		Urgency       string   `yaml:"urgency"`
		Distributions []string `yaml:"distributions"`
	} `yaml:"deb"`
	Changes []struct {
		Note string `yaml:"note"`
	} `yaml:"changes"`
}

// debianChangelog renders a chglog file as nfpm writes it into
// /usr/share/doc/NAME/changelog.Debian.gz (chglog's Debian template),
// gzip-compressed as nfpm compresses it.
func debianChangelog(name string, data []byte) ([]byte, error) {
	var entries []changelogEntry
	if err := yaml.Unmarshal(data, &entries); err != nil {
		return nil, err
	}
	var b strings.Builder
	for _, e := range entries {
		// nfpm writes "NAME (VERSION)" alone when the entry has no deb:
		// section (or "NAME (VERSION) ; urgency=low" when it names no
		// distribution), which is not a Debian changelog line (lintian:
		// syntax-error-in-debian-changelog); debflow writes the
		// distribution "unstable" and urgency "low" that are missing.
		dists, urgency := "unstable", "low"
		if e.Deb != nil {
			if len(e.Deb.Distributions) > 0 {
				dists = strings.Join(e.Deb.Distributions, " ")
			}
			if e.Deb.Urgency != "" {
				urgency = e.Deb.Urgency
			}
		}
		fmt.Fprintf(&b, "\n%s (%s) %s; urgency=%s", name, e.Semver, dists, urgency)
		for _, c := range e.Changes {
			lines := strings.Split(c.Note, "\n")
			fmt.Fprintf(&b, "\n  * %s", lines[0])
			for _, l := range lines[1:] {
				if strings.TrimSpace(l) != "" {
					fmt.Fprintf(&b, "\n   - %s", l)
				}
			}
		}
		fmt.Fprintf(&b, "\n\n -- %s  %s\n", e.Packager, e.Date.UTC().Format("Mon, 02 Jan 2006 15:04:05 -0700"))
	}
	text := strings.TrimSpace(b.String()) + "\n"
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write([]byte(text)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
