package repo

import (
	"bytes"
	"fmt"
	"strings"
)

// SourcesOptions describe the apt source entry a device needs.
type SourcesOptions struct {
	URL        string   // where the repository root is served
	Suite      string   // the suite (stage or snapshot) to follow
	Components []string // default: main
	// Exactly one of these: the armored public key to embed (apt >= 2.3.10,
	// Debian 12), or the path of a keyring on the device.
	ArmoredKey  []byte
	KeyringPath string
}

// Deb822 renders a .sources entry. An embedded key goes into Signed-By as
// a multi-line field: every line indented by one space, empty lines as " .".
func Deb822(o SourcesOptions) (string, error) {
	if o.URL == "" {
		return "", fmt.Errorf("sources: a URL is needed")
	}
	if err := ValidSuiteName(o.Suite); err != nil {
		return "", err
	}
	comps := o.Components
	if len(comps) == 0 {
		comps = []string{"main"}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\n", o.URL, o.Suite, strings.Join(comps, " "))
	switch {
	case o.KeyringPath != "":
		fmt.Fprintf(&b, "Signed-By: %s\n", o.KeyringPath)
	case len(o.ArmoredKey) > 0:
		b.WriteString("Signed-By:\n")
		for _, line := range strings.Split(strings.TrimRight(string(bytes.TrimSpace(o.ArmoredKey)), "\n"), "\n") {
			line = strings.TrimRight(line, " \r")
			if line == "" {
				line = "."
			}
			b.WriteString(" " + line + "\n")
		}
	default:
		return "", fmt.Errorf("sources: give a key to embed or a keyring path")
	}
	return b.String(), nil
}

// OneLine renders the legacy sources.list line for old devices. It cannot
// embed a key, so it names a keyring on the device.
func OneLine(o SourcesOptions) (string, error) {
	if o.KeyringPath == "" {
		return "", fmt.Errorf("sources: the one-line format cannot embed a key; give --keyring-path")
	}
	if err := ValidSuiteName(o.Suite); err != nil {
		return "", err
	}
	comps := o.Components
	if len(comps) == 0 {
		comps = []string{"main"}
	}
	return fmt.Sprintf("deb [signed-by=%s] %s %s %s\n", o.KeyringPath, o.URL, o.Suite, strings.Join(comps, " ")), nil
}
