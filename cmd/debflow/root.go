package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// env is everything a command takes from the outside world, so that tests
// can run commands in-process with their own streams and environment.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	lookupEnv      func(string) (string, bool) // nil: a variable is set when getenv is not ""
	now            func() time.Time
}

func defaultEnv() env {
	return env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, lookupEnv: os.LookupEnv, now: time.Now}
}

// globalOptions are the persistent flags every command accepts, so that
// one CI configuration serves all of them.
type globalOptions struct {
	repo     string
	keyFile  string   // the first --key
	keyFiles []string // every --key, in order
	json     bool
	quiet    bool
}

func (o *globalOptions) addFlags(cmd *cobra.Command, e env) {
	f := cmd.PersistentFlags()
	f.StringVar(&o.repo, "repo", e.getenv("DEBFLOW_REPO"), "the repository: a directory (default $DEBFLOW_REPO)")
	f.Var(&keyFlag{o}, "key", "OpenPGP secret key file, repeatable to sign with several keys (else the armored key or keys in $DEBFLOW_KEY, or the file $DEBFLOW_KEY_FILE names; passphrase in $DEBFLOW_KEY_PASSPHRASE)")
	f.BoolVar(&o.json, "json", false, "print results as JSON, for scripts")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "print only results and errors")
}

// Exit codes, mapped from errors in one place (exitCode).
const (
	exitOK       = 0
	exitFailure  = 1 // anything not listed below
	exitUsage    = 2 // bad flags or arguments
	exitInput    = 3 // bad input: spec, package file, version
	exitKey      = 4 // missing, wrong or unusable key
	exitConflict = 5 // refused: a version reused with other bytes, a lock not obtained
	exitVerify   = 6 // verification found problems
	// a promotion happened, but GitHub could not be told (deployment
	// status or pull request comment); see ci.ErrNotReported
	exitNotReported = 7
)

const exitCodeHelp = `Exit status:
  0  success
  1  failure not listed below
  2  bad flags or arguments
  3  bad input (build spec, package file, version)
  4  key missing, wrong passphrase, or not a secret key
  5  refused: conflicts with the repository, or the lock was not obtained
  6  verification found problems
  7  promoted, but GitHub was not told (github promote: deployment status or comment failed)
`

// usageError marks errors in how debflow was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func newRootCmd(version string, e env) *cobra.Command {
	var g globalOptions
	root := &cobra.Command{
		Use:   "debflow",
		Short: "Carry Debian packages from a git commit to a fleet of devices",
		Long: `debflow builds reproducible, signed .deb packages from git commits and
publishes them into signed apt repositories.

The repository tree is the only state: any CI runner that can reach it can
run any command.`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetUsageTemplate(root.UsageTemplate() + "\n" + exitCodeHelp)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// "snapshot creat --name x": the flag is unknown because the
		// subcommand is; say so.
		if c.HasSubCommands() && len(c.Flags().Args()) > 0 {
			return unknownCommand(c, c.Flags().Args()[0])
		}
		return usageError{err}
	})
	g.addFlags(root, e)

	root.AddCommand(
		newKeyCmd(&g, e),
		newInitCmd(&g, e),
		newRepairCmd(&g, e),
		newBuildCmd(&g, e),
		newPublishCmd(&g, e),
		newVerifyCmd(&g, e),
		newRefreshCmd(&g, e),
		newSourcesCmd(&g, e),
		newServeCmd(&g, e),
		newGCCmd(&g, e),
		newSnapshotCmd(&g, e),
		newPromoteCmd(&g, e),
		newStatusCmd(&g, e),
		newHistoryCmd(&g, e),
		newGitHubCmd(&g, e),
		newReconcileCmd(&g, e),
		newRemoveCmd(&g, e),
		newListCmd(&g, e),
		newSuiteCmd(&g, e),
		newMirrorCmd(&g, e),
		newCopyCmd(&g, e),
		newCheckCmd(&g, e),
		newStageCmd(&g, e),
		newVerdictCmd(&g, e),
		newKeyringPackageCmd(&g, e),
		newManCmd(&g, e),
		newDoctorCmd(&g, e),
	)
	// Commands defined in other files that print no JSON. (A command
	// file can also mark its own command with withoutJSON.)
	for path, why := range map[string]string{
		"key generate": "it writes a key file",
		"key export":   "it prints a key",
	} {
		if c, rest, err := root.Find(strings.Fields(path)); err == nil && len(rest) == 0 && c != root {
			withoutJSON(c, why)
		}
	}
	finishTree(root, &g)
	return root
}

// Execute runs debflow with args and returns the process exit status.
func Execute(version string, args []string, e env) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first signal cancels ctx so that work can stop cleanly; from
		// then on the default action is back, and a second one kills.
		<-ctx.Done()
		stop()
	}()
	root := newRootCmd(version, e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	printStorageStats(e)
	if err == nil {
		return exitOK
	}
	fmt.Fprintf(e.stderr, "debflow: %v\n", err)
	return exitCode(err)
}
