// Package ci closes the GitOps loop on GitHub: a merged pull request in a
// fleet's IaC repository promotes a stage, and GitHub records the result;
// a release manager proposes a snapshot for a stage by pull request.
//
// The IaC repository has one branch per stage, and a stage file on each
// branch that names the snapshot the stage serves (a YAML mapping with a
// "snapshot" key). The repository is the declaration; the apt repository
// follows it. Promote runs in the merge job: it reads the declaration from
// the checked-out workspace, records a GitHub deployment, promotes, and
// reports on the deployment and the pull request. Propose runs in the
// release manager's job: it changes the stage file on a new branch through
// the contents API and opens the pull request that a reviewer merges.
//
// The decisions (which stage a branch feeds, how a stage file is edited,
// what a comment says) are pure functions; Promote and Propose apply them
// with a small Client over go-github. The one rule of the promote sequence
// is that a promotion is never left half reported: no deployment, no
// promotion; a promotion that GitHub could not be told about fails with
// ErrNotReported, which names what happened and what GitHub lacks.
package ci
