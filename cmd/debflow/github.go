package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/ci"
	"github.com/debflow/debflow/repo"
)

func newGitHubCmd(g *globalOptions, e env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "github",
		Short: "The GitOps loop on GitHub: a merge promotes, a pull request proposes",
		Long: `The fleet's IaC repository has one branch per stage, and on each a stage
file, YAML with a "snapshot: NAME" key, that declares what the stage serves.

'github promote' runs in the IaC repository's merge job: it makes the stage
serve what the merged file declares and reports on GitHub. 'github propose'
is for the release manager: it proposes a snapshot for a stage by pull
request.

Both take what GitHub Actions provides: GITHUB_TOKEN, GITHUB_REPOSITORY,
GITHUB_API_URL (GitHub Enterprise) and, for promote, GITHUB_EVENT_PATH.`,
	}
	cmd.AddCommand(newGitHubPromoteCmd(g, e), newGitHubProposeCmd(g, e))
	return cmd
}

type githubPromoteOptions struct {
	snapshotFile string
	stageMap     []string
	githubRepo   string
	validFor     time.Duration
	lockTimeout  time.Duration
}

func newGitHubPromoteCmd(g *globalOptions, e env) *cobra.Command {
	var o githubPromoteOptions
	cmd := &cobra.Command{
		Use:   "promote --snapshot-file PATH [--stage-map BRANCH=STAGE,...] --repo DIR --key FILE",
		Short: "Promote what a merged pull request declares, and report it on GitHub",
		Long: `Promote runs in a GitHub Actions job on pull_request "closed" in the IaC
repository. A pull request closed without merging is a successful no-op.
For a merged one it:

  1. maps the base branch to a stage (the branch's own name, unless
     --stage-map says otherwise);
  2. reads the snapshot from the stage file in the checked-out workspace;
  3. creates a GitHub deployment: the merge commit, the stage as
     environment, the snapshot in the payload;
  4. promotes, under the rules of 'debflow promote' (no --force);
  5. posts the deployment status, success or failure with the reason;
  6. comments on the pull request with the result and the packages added,
     removed, upgraded and downgraded on the stage.

If the deployment cannot be created, nothing is promoted. A refused
promotion is reported the same way and exits as 'debflow promote' would.
A promotion that GitHub could not be told about exits 7.

The token needs contents: read, deployments: write and pull-requests: write.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.snapshotFile == "" {
				return usagef("--snapshot-file PATH is required")
			}
			stages, err := ci.ParseStageMap(o.stageMap)
			if err != nil {
				return usageError{err}
			}
			ev, err := ci.ReadEvent(e.getenv("GITHUB_EVENT_PATH"))
			if err != nil {
				return err
			}
			if !ev.Merged {
				fmt.Fprintf(e.stdout, "pull request #%d was closed without merging: nothing to promote\n", ev.Number)
				return nil
			}
			gh, err := githubClient(e, o.githubRepo, ev.Repo)
			if err != nil {
				return err
			}
			r, err := openRepo(g, e, true)
			if err != nil {
				return err
			}
			rep, err := ci.Promote(cmd.Context(), gh, r, ci.PromoteRequest{
				Event:     ev,
				StageMap:  stages,
				StageFile: o.snapshotFile,
				RunURL:    ci.RunURL(e.getenv),
				Options:   repo.PromoteOptions{ValidFor: o.validFor, LockTimeout: o.lockTimeout},
			})
			if err != nil {
				return err
			}
			out := rep.Outcome
			if g.json {
				return printJSON(e, githubPromoteJSON{Stage: out.Stage, Snapshot: out.Snapshot, Result: out.Result,
					DeploymentID: rep.DeploymentID, CommentURL: rep.CommentURL})
			}
			fmt.Fprintf(e.stdout, "%s (deployment %d; %s)\n", out.StatusDescription(), rep.DeploymentID, rep.CommentURL)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.snapshotFile, "snapshot-file", "", "the stage file in the workspace, YAML with a snapshot key (required)")
	f.StringSliceVar(&o.stageMap, "stage-map", nil, "BRANCH=STAGE pairs, for branches not named after their stage")
	f.StringVar(&o.githubRepo, "github-repo", "", "the IaC repository, OWNER/NAME (default $GITHUB_REPOSITORY)")
	f.DurationVar(&o.validFor, "valid-for", 0, "write Valid-Until = Date + this for the stage")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

// githubPromoteJSON is the --json output of github promote.
type githubPromoteJSON struct {
	Stage        string              `json:"stage"`
	Snapshot     string              `json:"snapshot"`
	Result       *repo.PromoteResult `json:"result"`
	DeploymentID int64               `json:"deployment_id"`
	CommentURL   string              `json:"comment_url"`
}

type githubProposeOptions struct {
	file, base, branch string
	githubRepo         string
	createFile         bool
}

func newGitHubProposeCmd(g *globalOptions, e env) *cobra.Command {
	var o githubProposeOptions
	cmd := &cobra.Command{
		Use:   "propose SNAPSHOT --file PATH --base BRANCH --repo DIR",
		Short: "Propose a snapshot for a stage by pull request, and print its URL",
		Long: `Propose creates a branch from BASE in the IaC repository, changes the stage
file there to name SNAPSHOT (through the contents API, other keys and
comments untouched), and opens a pull request against BASE. Its body
carries the snapshot's provenance and the packages added, removed,
upgraded and downgraded from the snapshot the file names on BASE. It
prints the pull request's URL as the last line of stdout.

If the file names SNAPSHOT on BASE already, nothing is proposed. If an
open pull request from the proposal's branch into BASE exists already (the
job ran before), nothing is written and its URL is printed. A --file that
does not exist on BASE is refused (exit 3), unless --create-file says that
a new stage file is meant.

The token needs contents: write and pull-requests: write.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.file == "" || o.base == "" {
				return usagef("--file PATH and --base BRANCH are required")
			}
			gh, err := githubClient(e, o.githubRepo, "")
			if err != nil {
				return err
			}
			r, err := openRepo(g, e, false)
			if err != nil {
				return err
			}
			rep, err := ci.Propose(cmd.Context(), gh, r, ci.ProposeRequest{Snapshot: args[0], File: o.file, Base: o.base, Branch: o.branch, CreateFile: o.createFile})
			if err != nil {
				return err
			}
			if g.json {
				return printJSON(e, rep)
			}
			if rep.NoOp {
				fmt.Fprintf(e.stderr, "%s names %s on %s already: nothing to propose\n", o.file, args[0], o.base)
				return nil
			}
			if rep.Existing {
				fmt.Fprintf(e.stderr, "pull request #%d proposes %s for %s already\n", rep.Number, args[0], o.base)
			}
			fmt.Fprintln(e.stdout, rep.URL)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.file, "file", "", "the stage file's path in the IaC repository (required)")
	f.StringVar(&o.base, "base", "", "the stage's branch in the IaC repository (required)")
	f.StringVar(&o.branch, "branch", "", "the new branch (default debflow/promote-SNAPSHOT-to-BASE)")
	f.StringVar(&o.githubRepo, "github-repo", "", "the IaC repository, OWNER/NAME (default $GITHUB_REPOSITORY)")
	f.BoolVar(&o.createFile, "create-file", false, "create --file on BASE if it does not exist there (a new stage)")
	return cmd
}

// githubRetry is how GitHub calls are retried: the zero value is ci's
// default; tests make the waits instant.
var githubRetry ci.Retry

// githubClient makes the GitHub client from the environment; the
// repository is --github-repo, else $GITHUB_REPOSITORY, else the event's.
func githubClient(e env, flagRepo, eventRepo string) (*ci.Client, error) {
	cfg := ci.ConfigFromEnv(e.getenv)
	cfg.Retry = githubRetry
	switch {
	case flagRepo != "":
		cfg.Repository = flagRepo
	case cfg.Repository == "":
		cfg.Repository = eventRepo
	}
	return ci.NewClient(cfg)
}
