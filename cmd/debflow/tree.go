package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// finishTree applies the rules that every command follows, whoever wrote
// it, once the whole tree is assembled:
//
//   - A command with subcommands refuses anything that is not one of them
//     with exit 2 and a suggestion ("snapshot creat": did you mean create?).
//     Cobra does that only at the root, and only for near names there; a
//     group without RunE would print its help and exit 0.
//   - A command marked withoutJSON refuses --json with exit 2, before it
//     does anything; every other command prints JSON with --json.
func finishTree(root *cobra.Command, g *globalOptions) {
	// Add cobra's own commands now, so that they follow the rules too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			withoutJSON(c, "it prints help text")
		case "completion":
			withoutJSON(c, "it prints a shell script")
			for _, sub := range c.Commands() {
				withoutJSON(sub, "it prints a shell script")
			}
		}
	}
	applyDocs(root)
	registerCompletions(root, g)
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.HasSubCommands() {
			guardGroup(c, g)
		} else if c.Runnable() {
			guardJSON(c, g)
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// guardGroup makes a command that only groups subcommands refuse unknown
// ones and --json, and print its help when called alone.
func guardGroup(c *cobra.Command, g *globalOptions) {
	if c.Runnable() {
		guardJSON(c, g) // a group that does something itself keeps its own rules
		return
	}
	withoutJSON(c, "it groups subcommands: give one")
	c.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return unknownCommand(cmd, args[0])
		}
		if g.json {
			return refuseJSON(cmd)
		}
		return nil
	}
	c.RunE = func(cmd *cobra.Command, _ []string) error {
		return cmd.Help()
	}
}

// guardJSON makes a command without JSON output refuse --json before
// anything else, its own argument checks included.
func guardJSON(c *cobra.Command, g *globalOptions) {
	if _, none := c.Annotations[jsonAnnotation]; !none {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if g.json {
			return refuseJSON(cmd)
		}
		if check != nil {
			return check(cmd, args)
		}
		return nil
	}
}

// unknownCommand is the usage error for an unknown subcommand of c, with
// the commands it may have meant: c's subcommands with a similar name, or
// else similar commands deeper in the tree ("debflow creat": snapshot
// create).
func unknownCommand(c *cobra.Command, arg string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "unknown command %q for %q", arg, c.CommandPath())
	if s := suggestions(c, arg); len(s) > 0 {
		b.WriteString("\n\nDid you mean this?\n")
		for _, name := range s {
			fmt.Fprintf(&b, "\t%s\n", name)
		}
	} else {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\nRun '%s --help' for its commands.", c.CommandPath())
	return usageError{fmt.Errorf("%s", b.String())}
}

// suggestions returns c's subcommands whose name is within two edits of
// arg or starts with it; when there are none, the same among all deeper
// commands, as paths relative to c.
func suggestions(c *cobra.Command, arg string) []string {
	near := func(name string) bool {
		name, a := strings.ToLower(name), strings.ToLower(arg)
		return levenshtein(a, name) <= 2 || (a != "" && strings.HasPrefix(name, a))
	}
	var out []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() && near(sub.Name()) {
			out = append(out, sub.Name())
		}
	}
	if len(out) > 0 {
		return out
	}
	var walk func(prefix string, cmd *cobra.Command)
	walk = func(prefix string, cmd *cobra.Command) {
		for _, sub := range cmd.Commands() {
			if !sub.IsAvailableCommand() {
				continue
			}
			path := prefix + sub.Name()
			if prefix != "" && near(sub.Name()) {
				out = append(out, path)
			}
			walk(path+" ", sub)
		}
	}
	walk("", c)
	slices.Sort(out)
	return out
}

// levenshtein is the edit distance between a and b.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
