package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/debflow/debflow/repo"
)

// Where the device configuration puts the source and the pin: fixed names,
// so that a device moved to another stage keeps one source and one pin.
const (
	deviceSourcesPath = "/etc/apt/sources.list.d/debflow.sources"
	devicePinPath     = "/etc/apt/preferences.d/debflow.pref"
)

// deviceJSON is sources --format json: what a device of a stage needs.
type deviceJSON struct {
	Suite           string   `json:"suite"`
	URL             string   `json:"url"`
	Components      []string `json:"components"`
	SignedBy        string   `json:"signed_by"` // the armored key, or the keyring's path on the device
	SourcesPath     string   `json:"sources_path"`
	Sources         string   `json:"sources"` // the deb822 entry
	PreferencesPath string   `json:"preferences_path"`
	Preferences     string   `json:"preferences"` // the pin
}

// deviceConfig renders the source and the pin for --format ansible or
// json. Every value in them was checked by runSources.
func deviceConfig(so repo.SourcesOptions, pin, format string, deb822Module bool) (string, error) {
	sources, err := repo.Deb822(so)
	if err != nil {
		return "", usageError{err}
	}
	signedBy := so.KeyringPath
	if signedBy == "" {
		signedBy = strings.TrimSpace(string(so.ArmoredKey)) + "\n"
	}
	comps := so.Components
	if len(comps) == 0 {
		comps = []string{"main"}
	}
	d := deviceJSON{Suite: so.Suite, URL: so.URL, Components: comps, SignedBy: signedBy,
		SourcesPath: deviceSourcesPath, Sources: sources, PreferencesPath: devicePinPath, Preferences: pin}
	if format == "json" {
		b, err := json.MarshalIndent(d, "", "  ")
		return string(b) + "\n", err
	}
	return ansibleTasks(d, deb822Module)
}

// block is a string that YAML writes as a literal block.
type block string

func (b block) MarshalYAML() (any, error) {
	return &yaml.Node{Kind: yaml.ScalarNode, Style: yaml.LiteralStyle, Value: string(b)}, nil
}

type copyArgs struct {
	Dest    string `yaml:"dest"`
	Content block  `yaml:"content"`
	Owner   string `yaml:"owner"`
	Group   string `yaml:"group"`
	Mode    string `yaml:"mode"`
}

type deb822Args struct {
	Name       string   `yaml:"name"`
	Types      []string `yaml:"types"`
	URIs       []string `yaml:"uris"`
	Suites     []string `yaml:"suites"`
	Components []string `yaml:"components"`
	SignedBy   block    `yaml:"signed_by"`
	State      string   `yaml:"state"`
}

type ansibleTask struct {
	Name     string      `yaml:"name"`
	Copy     *copyArgs   `yaml:"ansible.builtin.copy,omitempty"`
	Deb822   *deb822Args `yaml:"ansible.builtin.deb822_repository,omitempty"`
	Register string      `yaml:"register"`
}

// ansibleTasks renders the tasks. The default writes both files with
// ansible.builtin.copy, which Debian 12's ansible-core 2.14 has;
// deb822_repository arrived in 2.15.
func ansibleTasks(d deviceJSON, deb822Module bool) (string, error) {
	src := ansibleTask{Name: fmt.Sprintf("apt source: the %s suite, signed by the fleet's key", d.Suite), Register: "debflow_sources"}
	if deb822Module {
		// It writes /etc/apt/sources.list.d/debflow.sources too.
		src.Deb822 = &deb822Args{Name: "debflow", Types: []string{"deb"}, URIs: []string{d.URL}, Suites: []string{d.Suite},
			Components: d.Components, SignedBy: block(d.SignedBy), State: "present"}
	} else {
		src.Copy = &copyArgs{Dest: d.SourcesPath, Content: block(d.Sources), Owner: "root", Group: "root", Mode: "0644"}
	}
	pin := ansibleTask{Name: fmt.Sprintf("apt pin: follow %s down as well as up (priority 1001)", d.Suite), Register: "debflow_pin",
		Copy: &copyArgs{Dest: d.PreferencesPath, Content: block(d.Preferences), Owner: "root", Group: "root", Mode: "0644"}}
	var b strings.Builder
	fmt.Fprintf(&b, "# Written by debflow sources --format ansible: the apt source and pin of %s.\n", d.Suite)
	b.WriteString("# Run apt-get update when debflow_sources or debflow_pin changed.\n")
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode([]ansibleTask{src, pin}); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return b.String(), nil
}
