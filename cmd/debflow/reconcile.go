package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/debflow/debflow/ci"
	"github.com/debflow/debflow/repo"
	"github.com/debflow/debflow/snapshot"
)

type reconcileOptions struct {
	stage        string
	snapshotFile string
	branch       string
	stageMap     []string
	markdown     bool
	dryRun       bool
	validFor     time.Duration
	lockTimeout  time.Duration
}

func newReconcileCmd(g *globalOptions, e env) *cobra.Command {
	var o reconcileOptions
	cmd := &cobra.Command{
		Use:   "reconcile --stage STAGE --snapshot-file PATH --repo DIR --key FILE [--markdown] [--dry-run]",
		Short: "Make a stage serve what the IaC branch's stage file declares (any forge's merge pipeline)",
		Long: `Reconcile is the merge pipeline's step on any forge (GitLab, Gitea, Forgejo,
Jenkins, a plain git post-receive hook): it reads the snapshot that the
stage file in the checked-out IaC branch declares, and makes STAGE serve it
under the rules of 'debflow promote' (order, rollback, no-op; no --force).
In the tree it changes what dists/STAGE serves and appends to the stage's
history who acted: the CI job (GitLab CI, GitHub, Gitea and Forgejo
Actions, Jenkins) or $USER@host.

It prints the result and the packages added, removed, upgraded and
downgraded on the stage; --markdown prints them as a merge-request comment.
--dry-run decides and prints without changing anything.

Bad input changes nothing and exits 3: a stage file that names no snapshot,
an unknown one or a hostile value; a STAGE the repository does not have;
a branch that declares another stage than STAGE (--branch, default from
the CI environment, mapped by --stage-map). A refused promotion exits as
'debflow promote' would.`,
		Example: `  # a GitLab CI job on the canary branch of the IaC repository
  debflow reconcile --repo /srv/apt/fleet --stage canary --snapshot-file stage.yaml --markdown
  # what a merge into production would do
  debflow reconcile --repo /srv/apt/fleet --stage production --snapshot-file stage.yaml --dry-run
  # a post-receive hook names the branch that was pushed
  debflow reconcile --repo /srv/apt/fleet --stage production --branch main --stage-map main=production --snapshot-file stage.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.stage == "" || o.snapshotFile == "" {
				return usagef("--stage STAGE and --snapshot-file PATH are required")
			}
			if o.markdown && g.json {
				return usagef("give --markdown or --json, not both")
			}
			stages, err := ci.ParseStageMap(o.stageMap)
			if err != nil {
				return usageError{err}
			}
			pe := ci.PipelineFromEnv(e.getenv)
			if cmd.Flags().Changed("branch") {
				pe.Branch = o.branch
			}
			r, err := openRepo(g, e, !o.dryRun)
			if err != nil {
				return err
			}
			out, err := ci.Reconcile(cmd.Context(), r, ci.ReconcileRequest{
				Stage: o.stage, StageFile: o.snapshotFile, Branch: pe.Branch, StageMap: stages,
				Commit: pe.Commit, RunURL: pe.RunURL, DryRun: o.dryRun,
				Options: repo.PromoteOptions{By: repo.Promoter(e.getenv), ValidFor: o.validFor, LockTimeout: o.lockTimeout},
			})
			if out == nil {
				return err
			}
			switch {
			case g.json:
				if jerr := printJSON(e, reconcileJSON(*out, o.dryRun)); jerr != nil {
					return jerr
				}
			case o.markdown:
				fmt.Fprint(e.stdout, ci.PromoteComment(*out))
			default:
				fmt.Fprint(e.stdout, ci.ReconcileText(*out, o.dryRun))
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.stage, "stage", "", "the stage this pipeline reconciles (required)")
	f.StringVar(&o.snapshotFile, "snapshot-file", "", "the stage file in the checked-out branch, YAML with a snapshot key (required)")
	f.StringVar(&o.branch, "branch", "", "the IaC branch (default from the CI environment); it must declare --stage")
	f.StringSliceVar(&o.stageMap, "stage-map", nil, "BRANCH=STAGE pairs, for branches not named after their stage")
	f.BoolVar(&o.markdown, "markdown", false, "print the result as a merge-request comment")
	f.BoolVar(&o.dryRun, "dry-run", false, "decide and print the changes; change nothing")
	f.DurationVar(&o.validFor, "valid-for", 0, "write Valid-Until = Date + this for the stage")
	f.DurationVar(&o.lockTimeout, "lock-timeout", repo.DefaultLockTimeout, "how long to wait for a publisher")
	return cmd
}

// reconcileOut is the --json output of reconcile.
type reconcileOut struct {
	Stage    string              `json:"stage"`
	Snapshot string              `json:"snapshot"`
	DryRun   bool                `json:"dry_run"`
	Result   *repo.PromoteResult `json:"result"`
	Refused  string              `json:"refused,omitempty"`
	Serving  string              `json:"serving,omitempty"`
	Changes  []snapshot.Change   `json:"changes"`
}

func reconcileJSON(o ci.PromoteOutcome, dryRun bool) reconcileOut {
	j := reconcileOut{Stage: o.Stage, Snapshot: o.Snapshot, DryRun: dryRun, Result: o.Result, Serving: o.Serving, Changes: o.Changes}
	if o.Refused != nil {
		j.Refused = o.Refused.Error()
	}
	if j.Changes == nil {
		j.Changes = []snapshot.Change{}
	}
	return j
}
