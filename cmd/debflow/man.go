package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The man pages are written as roff here rather than with cobra/doc: that
// would add go-md2man and blackfriday to the dependencies to turn our plain
// text into Markdown and then into roff, and the text (indented lists,
// lines starting with a dot or a dash) is easier to escape once, where
// the test that renders every page with man --warnings can hold it to
// "no warnings".

func newManCmd(g *globalOptions, e env) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "man --out DIR",
		Short: "Write a man page for every command (debflow.1, debflow-publish.1, ...)",
		Long: `Man writes one page in section 1 for debflow and for each of its commands
into DIR (created if missing): debflow-snapshot-create.1 documents
'debflow snapshot create'. 'make install' installs them; 'man -l FILE'
reads one in place. With SOURCE_DATE_EPOCH set, the pages carry that date
and are reproducible.

Changes in the tree: none; it writes the pages into --out.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			n, err := writeManPages(cmd.Root(), out, e)
			if err != nil {
				return err
			}
			fmt.Fprintf(progress(g, e), "wrote %d man pages into %s\n", n, out)
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "the directory to write the pages into")
	return withoutJSON(cmd, "it writes files")
}

// manName is a command's page name: "debflow-snapshot-create".
func manName(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

// writeManPages writes a page for root and every available command under it.
func writeManPages(root *cobra.Command, dir string, e env) (int, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("man: %w", err)
	}
	date := ""
	if s := e.getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, usagef("SOURCE_DATE_EPOCH=%q: not a number of seconds", s)
		}
		date = time.Unix(sec, 0).UTC().Format("2006-01-02")
	}
	n := 0
	var walk func(c *cobra.Command) error
	walk = func(c *cobra.Command) error {
		if !c.IsAvailableCommand() && c != root || c.Name() == "help" {
			return nil
		}
		var b bytes.Buffer
		manPage(&b, c, root.Version, date)
		file := filepath.Join(dir, manName(c)+".1")
		if err := os.WriteFile(file, b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("man: %w", err)
		}
		n++
		for _, sub := range c.Commands() {
			if err := walk(sub); err != nil {
				return err
			}
		}
		return nil
	}
	return n, walk(root)
}

// manPage writes c's page.
func manPage(b *bytes.Buffer, c *cobra.Command, version, date string) {
	name := manName(c)
	fmt.Fprintf(b, ".TH %s 1 %s %s \"debflow manual\"\n", quoteArg(strings.ToUpper(name)), quoteArg(date), quoteArg("debflow "+version))
	b.WriteString(".nh\n")
	fmt.Fprintf(b, ".SH NAME\n%s \\- %s\n", roffEscape(name), roffText(c.Short))
	b.WriteString(".SH SYNOPSIS\n")
	fmt.Fprintf(b, ".B %s\n", roffEscape(c.CommandPath()))
	if use := strings.TrimSpace(strings.TrimPrefix(c.Use, c.Name())); use != "" {
		fmt.Fprintf(b, "%s\n", roffText(use))
	} else if c.HasAvailableSubCommands() {
		b.WriteString("\\fICOMMAND\\fP\n")
	}
	b.WriteString(".SH DESCRIPTION\n")
	long := c.Long
	if long == "" {
		long = c.Short + "."
	}
	for i, para := range strings.Split(strings.TrimSpace(long), "\n\n") {
		if i > 0 {
			b.WriteString(".PP\n")
		}
		manParagraph(b, para)
	}
	if c.HasAvailableSubCommands() {
		b.WriteString(".SH COMMANDS\n")
		for _, sub := range c.Commands() {
			if !sub.IsAvailableCommand() || sub.Name() == "help" {
				continue
			}
			fmt.Fprintf(b, ".TP\n.B %s\n%s\n", roffEscape(sub.Name()), roffText(sub.Short))
			fmt.Fprintf(b, "See \\fB%s\\fP(1).\n", roffEscape(manName(sub)))
		}
	}
	manFlags(b, "OPTIONS", c.NonInheritedFlags())
	manFlags(b, "GLOBAL OPTIONS", c.InheritedFlags())
	if c.Example != "" {
		b.WriteString(".SH EXAMPLES\n.nf\n.RS 4\n")
		for _, line := range strings.Split(strings.Trim(c.Example, "\n"), "\n") {
			fmt.Fprintf(b, "%s\n", roffLine(strings.TrimPrefix(line, "  ")))
		}
		b.WriteString(".RE\n.fi\n")
	}
	b.WriteString(".SH EXIT STATUS\n.nf\n")
	for _, line := range strings.Split(strings.TrimSpace(exitCodeHelp), "\n")[1:] {
		fmt.Fprintf(b, "%s\n", roffLine(strings.TrimSpace(line)))
	}
	b.WriteString(".fi\n")
	b.WriteString(".SH ENVIRONMENT\n")
	b.WriteString(".TP\n.B DEBFLOW_REPO\nthe repository, when \\-\\-repo is not given\n")
	b.WriteString(".TP\n.B DEBFLOW_KEY\nthe armored secret key, when \\-\\-key is not given\n")
	b.WriteString(".TP\n.B DEBFLOW_KEY_FILE\na file holding the secret key (a CI file variable), when \\-\\-key and DEBFLOW_KEY are not given\n")
	b.WriteString(".TP\n.B DEBFLOW_KEY_PASSPHRASE\nthe secret key's passphrase\n")
	b.WriteString(".TP\n.B DEBFLOW_S3_STATS\n1: print the requests and bytes sent to S3 after the command; 2: also each request\n")
	b.WriteString(".TP\n.B DEBFLOW_CPUPROFILE, DEBFLOW_MEMPROFILE\nwrite a CPU or heap profile of the command to this file (go tool pprof)\n")
	var also []string
	if p := c.Parent(); p != nil {
		also = append(also, fmt.Sprintf("\\fB%s\\fP(1)", roffEscape(manName(p))))
	}
	if c.Parent() == nil {
		also = append(also, "\\fBapt\\-get\\fP(8)", "\\fBsources.list\\fP(5)")
	}
	if len(also) > 0 {
		fmt.Fprintf(b, ".SH SEE ALSO\n%s\n", strings.Join(also, ", "))
	}
}

// manParagraph writes one paragraph of a description: flowing text, or
// as it is when its lines are indented (a list, a table).
func manParagraph(b *bytes.Buffer, para string) {
	lines := strings.Split(para, "\n")
	indented := false
	for _, l := range lines {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			indented = true
		}
	}
	if indented {
		b.WriteString(".nf\n")
	}
	for _, l := range lines {
		if indented {
			fmt.Fprintf(b, "%s\n", roffLine(l))
		} else {
			fmt.Fprintf(b, "%s\n", roffText(l))
		}
	}
	if indented {
		b.WriteString(".fi\n")
	}
}

func manFlags(b *bytes.Buffer, title string, fs *pflag.FlagSet) {
	var items []string
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		var head strings.Builder
		if f.Shorthand != "" {
			fmt.Fprintf(&head, "\\fB\\-%s\\fP, ", roffEscape(f.Shorthand))
		}
		fmt.Fprintf(&head, "\\fB\\-\\-%s\\fP", roffEscape(f.Name))
		varname, usage := pflag.UnquoteUsage(f)
		if varname != "" {
			fmt.Fprintf(&head, " \\fI%s\\fP", roffEscape(varname))
		}
		text := roffText(usage)
		// --repo's default is $DEBFLOW_REPO where the pages were made.
		if f.Name != "repo" && f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" && f.DefValue != "0s" {
			text += fmt.Sprintf(" (default: %s)", roffEscape(f.DefValue))
		}
		items = append(items, ".TP\n"+head.String()+"\n"+text+"\n")
	})
	if len(items) > 0 {
		fmt.Fprintf(b, ".SH %s\n%s", title, strings.Join(items, ""))
	}
}

// roffEscape escapes text for roff: backslashes and hyphens (which roff
// would otherwise render as hyphens, not the minus signs of options).
func roffEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	return strings.ReplaceAll(s, "-", `\-`)
}

// roffText escapes one line of filled text.
func roffText(s string) string {
	return roffLine(strings.TrimSpace(s))
}

// roffLine escapes one line, keeping a line that starts with a dot or an
// apostrophe from being read as a request.
func roffLine(s string) string {
	s = roffEscape(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// quoteArg quotes a macro argument.
func quoteArg(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\e`), `"`, `\(dq`) + `"`
}
