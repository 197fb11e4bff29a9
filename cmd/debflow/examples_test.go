package main

import (
	"strings"
	"testing"
)

// TestEveryCommandHasExamples walks the real command tree, whoever added
// the commands: every command that runs (groups only print help) has an
// Example section, each of its debflow lines (continuations joined) names
// an existing command and parses against that command's real flags and
// arguments, and at least one line runs the command itself. Every command
// of ours also says in its long description what it changes in the tree.
func TestEveryCommandHasExamples(t *testing.T) {
	n := 0
	for _, c := range commandTree(t) {
		if !c.Runnable() || c.HasSubCommands() {
			continue
		}
		n++
		path := c.CommandPath()
		if strings.TrimSpace(c.Example) == "" {
			t.Errorf("%s: no Example", path)
			continue
		}
		cobraOwn := c.Name() == "help" || (c.Parent() != nil && c.Parent().Name() == "completion")
		if !cobraOwn && !strings.Contains(c.Long, "Changes in the tree") && !strings.Contains(c.Long, "changes in the tree") {
			t.Errorf("%s: the long description does not say what it changes in the tree (\"Changes in the tree: ...\")", path)
		}
		self := false
		lines := exampleCommands(c.Example)
		for _, line := range lines {
			args := shellWords(expandPlaceholders(line))[1:]
			if err := checkCommandLine(args); err != nil {
				t.Errorf("%s: example %q: %v", path, line, err)
				continue
			}
			root := c.Root()
			if found, _, err := root.Find(args); err == nil && found.CommandPath() == path {
				self = true
			}
		}
		if !self {
			t.Errorf("%s: no example line runs it (%d debflow lines in %q)", path, len(lines), c.Example)
		}
	}
	if n < 30 {
		t.Errorf("only %d runnable commands found", n)
	}
}

// TestExampleCheckerCatchesMistakes: the checker above refuses a flag
// that does not exist and a command path that does not resolve.
func TestExampleCheckerCatchesMistakes(t *testing.T) {
	for _, line := range []string{
		"debflow publish --repo /srv/apt --no-such-flag x.deb",
		"debflow snapshot creat --repo /srv/apt",
		"debflow promote --repo /srv/apt a b --to canary",
	} {
		if err := checkCommandLine(shellWords(line)[1:]); err == nil {
			t.Errorf("%q passed", line)
		}
	}
}

// exampleCommands returns the debflow command lines of an Example:
// continuation lines joined, comments skipped, each line cut at the first
// unquoted pipe, redirection, separator or trailing comment.
func exampleCommands(example string) []string {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(example, "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "debflow ") {
			continue
		}
		var quote byte
		end := len(line)
	scan:
		for i := 0; i < len(line); i++ {
			switch c := line[i]; {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '\'' || c == '"':
				quote = c
			case c == '|' || c == '>' || c == '<' || c == ';' || c == '&' || c == '#' && i > 0 && line[i-1] == ' ':
				end = i
				break scan
			}
		}
		out = append(out, strings.TrimSpace(line[:end]))
	}
	return out
}
