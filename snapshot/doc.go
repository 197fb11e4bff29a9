// Package snapshot decides what snapshots of a suite are called, what a
// pick changes in one, and how two of them differ. It holds decisions
// only: every function is pure, with no storage, no clock and no I/O other
// than writing a report to an io.Writer it is given. Package repo reads the
// suites, calls these functions, and applies or prints what they return.
//
// A snapshot freezes the rolling suite (development) at one moment under a
// name of its own, a suite that never changes afterwards. Stages (canary,
// production) serve snapshots, so promoting or rolling back a stage is a
// matter of pointing it at another snapshot, and a device that follows a
// stage sees exactly the package set that was tested.
//
// Names. A snapshot is named after the UTC day it was made, "2026-11-24";
// later ones of that day get ".02", ".03", ... (see NextName), so names sort
// by creation time both as plain strings and in dpkg version order. Snapshot
// names start with a digit and stage names with a letter (ValidName,
// ValidStageName), so the two can never collide under dists/.
//
// Picks. A hotfix is a snapshot made from an older one with a few packages
// replaced by chosen versions from another suite: PlanPicks returns the
// packages to remove and to add, and warnings about dependencies the
// result no longer satisfies, the way restic's ApplyPolicy returns what to
// keep and why; Apply computes the resulting content. Nothing is changed
// until the caller decides to publish it.
//
// Diffs. Diff compares two suites per package and architecture as apt sees
// them: what matters is the highest version, the one apt would install,
// while other versions that appear or disappear are listed too. WriteText
// and WriteMarkdown render a diff for a terminal and for a pull request.
package snapshot
