package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// commandDocs are the Example section of each command's --help (and man
// page) and a last paragraph for its long description saying what the
// command changes in the repository tree. They live in one table, not in
// each command's file, so that the tree's documentation reads as a whole;
// a command that sets its own Example keeps it, and the test
// TestEveryCommandHasExamples parses every example line against the real
// flags.
var commandDocs = map[string]struct{ example, tree string }{
	"check":           {"", "Changes in the tree: none (it only reads, and never the pool)."},
	"reconcile":       {"", "Changes in the tree: as promote: the stage's dists/STAGE and its record; nothing with --dry-run."},
	"keyring-package": {"", "Changes in the tree: none; it writes one .deb into --out."},
	"stage set":       {"", "Changes in the tree: the stage's gate in .debflow/config.json."},
	"verdict":         {"", "Changes in the tree: .debflow/verdicts/STAGE.json."},
	"build": {`  # build from a spec at the current commit, signed with the release key
  debflow build --spec debian/debflow.yaml --out dist/ --key release.key

  # one package per architecture, with an explicit version
  debflow build --spec debian/debflow.yaml --out dist/ --arch amd64,arm64 --version 1.4.2 --unsigned`,
		"Changes in the tree: none; build writes .deb files into --out only."},
	"copy": {`  # mirror a local repository into a bucket, checking its signatures first
  debflow copy --from /srv/apt --to s3://fleet-apt/prod --keyring fleet.pub`,
		"Changes in the tree: --to gets every file of --from; --from is only read."},
	"gc": {`  # see what would be freed, then free it
  debflow gc --repo /srv/apt --dry-run
  debflow gc --repo /srv/apt`,
		"Changes in the tree: deletes unlisted pool files, stale temporary files, and the plain Packages files an older debflow stored next to Packages.gz; nothing with --dry-run."},
	"github promote": {`  debflow github promote --snapshot-file stages/production.snapshot --stage-map main=production --repo /srv/apt --key release.key`,
		"Changes in the tree: as promote: the stage's dists/STAGE and its history."},
	"github propose": {`  debflow github propose 2025-06-01 --file stages/canary.snapshot --base main --repo /srv/apt`,
		"Changes in the tree: none; it opens a pull request on GitHub."},
	"history": {`  debflow history --repo /srv/apt production
  debflow history --repo /srv/apt canary --json`,
		"Changes in the tree: none (it only reads)."},
	"init": {`  debflow init --repo /srv/apt --origin Acme --label "Acme fleet" --arch amd64,arm64
  debflow init --repo /srv/apt --stages canary,production --codename fleet`,
		"Changes in the tree: writes .debflow/config.json into an empty directory."},
	"key add": {`  # devices trust new.pub already: let it sign from now on
  debflow key add --repo /srv/apt new.pub`,
		"Changes in the tree: .debflow/config.json's signing keys; every Release is re-signed."},
	"key export": {`  debflow key export --key release.key --out fleet.pub
  debflow key export --key release.key --binary --out fleet.gpg`,
		"Changes in the tree: none; it writes the public key to --out or stdout."},
	"key generate": {`  debflow key generate --uid "Acme fleet <apt@acme.example>" --out release.key`,
		"Changes in the tree: none; it writes a new secret key to --out."},
	"key retire": {`  debflow key retire --repo /srv/apt old.pub`,
		"Changes in the tree: .debflow/config.json's signing keys; every Release is re-signed without the retired key."},
	"list": {`  debflow list --repo /srv/apt
  debflow list --repo /srv/apt --snapshot 2025-06-01 --json`,
		"Changes in the tree: none (it only reads)."},
	"mirror create": {`  debflow mirror create bookworm-main --url http://deb.debian.org/debian --suite bookworm --keyring debian-archive.pub --component main --arch amd64 --repo /srv/apt --key release.key`,
		"Changes in the tree: records the mirror under .debflow/ and creates its suite dists/NAME."},
	"mirror drop": {`  debflow mirror drop bookworm-main --repo /srv/apt`,
		"Changes in the tree: removes the mirror's record and its suite; gc frees its pool files."},
	"mirror list": {`  debflow mirror list --repo /srv/apt`,
		"Changes in the tree: none (it only reads)."},
	"mirror update": {`  debflow mirror update bookworm-main --repo /srv/apt --key release.key --parallel 8`,
		"Changes in the tree: new pool files and the mirror's dists/NAME."},
	"promote": {`  # look first, then promote
  debflow promote --repo /srv/apt --key release.key 2025-06-01 --to canary --dry-run
  debflow promote --repo /srv/apt --key release.key 2025-06-01 --to canary

  # roll production back past the order rule
  debflow promote --repo /srv/apt --key release.key 2025-05-20 --to production --force`,
		"Changes in the tree: dists/STAGE (indexes copied from the snapshot, a new signed Release) and the stage's history; nothing with --dry-run."},
	"publish": {`  debflow publish --repo /srv/apt --key release.key dist/*.deb

  # keep the newest three versions of each package; look first
  debflow publish --repo /srv/apt --key release.key --keep 3 --dry-run dist/hello_1.4.2_amd64.deb`,
		"Changes in the tree: new pool files, dists/SUITE's indexes and Release; with --keep, pool files no suite lists any more go; nothing with --dry-run."},
	"refresh": {`  # run daily from cron: re-sign every Release before Valid-Until passes
  debflow refresh --repo /srv/apt --key release.key --valid-for 168h`,
		"Changes in the tree: every Release and InRelease (new Date and Valid-Until); indexes and pool stay."},
	"remove": {`  debflow remove --repo /srv/apt --key release.key hello=1.4.1
  debflow remove --repo /srv/apt --dry-run hello/arm64`,
		"Changes in the tree: dists/SUITE's indexes and Release; pool files nothing lists any more; nothing with --dry-run."},
	"repair": {`  debflow repair --repo /srv/apt --keyring fleet.pub
  debflow repair --repo /srv/apt --key release.key --stages canary,production`,
		"Changes in the tree: rebuilds .debflow/ from what dists/ serves; served files stay."},
	"serve": {`  debflow serve --repo /srv/apt --addr 127.0.0.1:8080`,
		"Changes in the tree: none (it only reads)."},
	"snapshot create": {`  debflow snapshot create --repo /srv/apt --key release.key
  debflow snapshot create --repo /srv/apt --key release.key --from development --from bookworm-main --name 2025-06-01`,
		"Changes in the tree: a new dists/NAME (indexes linked or copied from the source) and its record; nothing with --dry-run."},
	"snapshot diff": {`  debflow snapshot diff --repo /srv/apt 2025-05-20 2025-06-01
  debflow snapshot diff --repo /srv/apt production development --markdown`,
		"Changes in the tree: none (it only reads)."},
	"snapshot drop": {`  debflow snapshot drop --repo /srv/apt 2025-05-20 --dry-run
  debflow snapshot drop --repo /srv/apt 2025-05-20`,
		"Changes in the tree: removes dists/NAME and its record; 'debflow gc' then frees pool files only it listed; nothing with --dry-run."},
	"snapshot list": {`  debflow snapshot list --repo /srv/apt
  debflow snapshot list --repo /srv/apt --json`,
		"Lists every snapshot with its creation time, package count, provenance and the stages serving it.\n\nChanges in the tree: none (it only reads)."},
	"snapshot pick": {`  # production's snapshot plus one fix from development
  debflow snapshot pick --repo /srv/apt --key release.key 2025-06-01 hello=1.4.3
  debflow snapshot pick --repo /srv/apt --key release.key 2025-06-01 hello=1.4.3 --from 2025-06-03 --name 2025-06-01.fix --dry-run`,
		"Changes in the tree: a new dists/NAME and its record; BASE stays; nothing with --dry-run."},
	"snapshot show": {`  debflow snapshot show --repo /srv/apt 2025-06-01`,
		"Shows a snapshot's creation time, package count, provenance (source and generation, or base and picks, or each combined source) and the stages serving it.\n\nChanges in the tree: none (it only reads)."},
	"sources": {`  debflow sources --repo /srv/apt --url https://apt.acme.example --stage production --keyring-path /usr/share/keyrings/acme.gpg --key release.key
  debflow sources --repo /srv/apt --url https://apt.acme.example --snapshot 2025-06-01 --keyring fleet.pub --format deb822`,
		"Changes in the tree: none; it prints an apt source (and --preferences a pin)."},
	"status": {`  debflow status --repo /srv/apt
  debflow status --repo s3://fleet-apt/prod --json`,
		"Changes in the tree: none (it only reads)."},
	"suite drop": {`  debflow suite drop --repo /srv/apt feature-x --dry-run
  debflow suite drop --repo /srv/apt feature-x`,
		"Changes in the tree: removes dists/NAME and its record, and the pool files nothing else lists; nothing with --dry-run."},
	"suite list": {`  debflow suite list --repo /srv/apt`,
		"Changes in the tree: none (it only reads)."},
	"verify": {`  debflow verify --repo /srv/apt --keyring fleet.pub
  debflow verify --repo s3://fleet-apt/prod --key release.key --json`,
		"Changes in the tree: none (it only reads)."},
	"man": {`  debflow man --out /usr/local/share/man/man1
  SOURCE_DATE_EPOCH=1700000000 debflow man --out build/man`, ""},
	"doctor": {`  debflow doctor
  debflow doctor --repo /srv/apt --key release.key --json`, ""},
	"help":                  {`  debflow help publish`, ""},
	"completion bash":       {`  debflow completion bash > /etc/bash_completion.d/debflow`, ""},
	"completion zsh":        {`  debflow completion zsh > "${fpath[1]}/_debflow"`, ""},
	"completion fish":       {`  debflow completion fish > ~/.config/fish/completions/debflow.fish`, ""},
	"completion powershell": {`  debflow completion powershell | Out-String | Invoke-Expression`, ""},
}

// applyDocs sets each command's Example and adds its tree paragraph from
// commandDocs, unless the command has its own.
func applyDocs(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		path := strings.TrimPrefix(strings.TrimPrefix(c.CommandPath(), root.Name()), " ")
		if d, ok := commandDocs[path]; ok {
			if c.Example == "" {
				c.Example = d.example
			}
			if d.tree != "" && !strings.Contains(c.Long, "Changes in the tree") {
				if c.Long == "" {
					c.Long = c.Short + "."
				}
				c.Long = strings.TrimRight(c.Long, "\n") + "\n\n" + wrap(d.tree, 76)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}

// wrap breaks each paragraph of s into lines of at most width columns.
func wrap(s string, width int) string {
	paras := strings.Split(s, "\n\n")
	for i, p := range paras {
		var b strings.Builder
		n := 0
		for _, w := range strings.Fields(p) {
			if n > 0 && n+1+len(w) > width {
				b.WriteString("\n")
				n = 0
			} else if n > 0 {
				b.WriteString(" ")
				n++
			}
			b.WriteString(w)
			n += len(w)
		}
		paras[i] = b.String()
	}
	return strings.Join(paras, "\n\n")
}
