#!/usr/bin/env bash
# A fleet in a box: three Debian 12 devices (development, canary, production)
# configured by ansible-pull from a branch per stage of a local IaC git
# repository, following their stages through a release and a rollback.
# Everything is under ./demo/fleet; the debootstrap tarball is cached in
# ./demo/cache between runs (FLEET_FRESH=1 rebuilds it). Needs root,
# debootstrap and the machine's Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
DEBFLOW=${DEBFLOW:-$PWD/bin/debflow}
TOP=$PWD
FLEET=$TOP/demo/fleet
CACHE=$TOP/demo/cache
DEVICES=(development canary production)
PKG=hello-fleet
start=$(date +%s)
export USER=${USER:-$(id -un)} # who promotes, in the stages' history

if [ -t 1 ]; then step() { printf '\n\033[1m== %s\033[0m  [%ss]\n' "$*" $(($(date +%s) - start)); }; else step() { printf '\n== %s  [%ss]\n' "$*" $(($(date +%s) - start)); }; fi
die() { echo "fleet-demo: $*" >&2; exit 1; }

# --- Prerequisites, before anything is touched ---------------------------
missing=()
[ "$(id -u)" = 0 ] || missing+=("root (debootstrap and chroot need it: sudo make fleet-demo)")
command -v debootstrap >/dev/null || missing+=("debootstrap (apt-get install debootstrap)")
command -v git >/dev/null || missing+=("git (apt-get install git)")
command -v curl >/dev/null || missing+=("curl (apt-get install curl)")
[ -x "$DEBFLOW" ] || missing+=("$DEBFLOW (make build)")

# The mirror the machine's own apt uses: the first deb URI for bookworm in
# /etc/apt/sources.list.d/*.sources (deb822) or /etc/apt/sources.list.
mirror=${FLEET_MIRROR:-}
if [ -z "$mirror" ]; then
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		mirror=$(awk 'BEGIN{RS=""} /(^|\n)Suites:[^\n]*bookworm([ \n]|$)/ && /(^|\n)Types:[^\n]*deb([ \n]|$)/ {
			if (match($0, /(^|\n)URIs:[ \t]*[^ \t\n]+/)) { s=substr($0, RSTART, RLENGTH); sub(/^\n?URIs:[ \t]*/, "", s); print s; exit } }' "$f")
		[ -n "$mirror" ] && break
	done
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
	mirror=$(awk '$1=="deb" { i=2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ } if ($(i+1)=="bookworm") { print $i; exit } }' /etc/apt/sources.list)
fi
if [ -z "$mirror" ]; then
	missing+=("a bookworm mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/*.sources (or FLEET_MIRROR=URL)")
elif ! curl -fsS -o /dev/null --max-time 20 "$mirror/dists/bookworm/InRelease"; then
	missing+=("the mirror $mirror (cannot fetch $mirror/dists/bookworm/InRelease)")
fi
if [ ${#missing[@]} -gt 0 ]; then
	echo "fleet-demo: cannot start; missing:" >&2
	printf '  - %s\n' "${missing[@]}" >&2
	exit 2
fi

# --- Mounts: only while needed, and all of them undone on any exit --------
server=
umount_under() { # DIR: every mount point under it, innermost first
	local m
	for m in $(awk -v d="$1" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r); do
		umount "$m" 2>/dev/null || umount -l "$m" || true
	done
}
cleanup() {
	umount_under "$FLEET/"
	if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mounted_under() { grep -qs " $1" /proc/mounts; }

umount_under "$FLEET/" # a run killed with SIGKILL
if mounted_under "$FLEET/"; then
	die "something is still mounted under $FLEET: umount it first (grep $FLEET /proc/mounts)"
fi
rm -rf --one-file-system "$FLEET"
mkdir -p "$FLEET/devices" "$CACHE"
# The device roots hold Go files (git's contrib): a module of its own keeps
# demo/ out of the debflow module's ./... (go vet, go test, staticcheck).
[ -f "$TOP/demo/go.mod" ] || printf 'module demo\n\ngo 1.21\n' >"$TOP/demo/go.mod"
D() { "$DEBFLOW" "$@"; }
export DEBFLOW_REPO=$FLEET/repo
KEY=$FLEET/signing.asc

# --- Devices ---------------------------------------------------------------
step "Devices: one Debian 12 base root (debootstrap --variant=minbase bookworm from $mirror), copied three times"
tarball=$CACHE/bookworm-minbase-ansible-2.tgz
[ "${FLEET_FRESH:-}" = 1 ] && rm -f "$tarball"
# python3-cffi-backend: debootstrap does not resolve the virtual
# python3-cffi-backend-api-* that python3-cryptography (ansible-core) needs.
include=ansible-core,git,python3-cffi-backend
if [ ! -s "$tarball" ]; then
	echo "downloading the packages once into $tarball"
	debootstrap --variant=minbase --include=$include --make-tarball="$tarball.tmp" bookworm "$CACHE/mk" "$mirror" >"$CACHE/make-tarball.log" 2>&1 ||
		{ tail -20 "$CACHE/make-tarball.log" >&2; die "debootstrap --make-tarball failed (log: $CACHE/make-tarball.log)"; }
	mv "$tarball.tmp" "$tarball"
	rm -rf "$CACHE/mk"
else
	echo "using the cached $tarball"
fi
base=$FLEET/base
debootstrap --variant=minbase --include=$include --unpack-tarball="$tarball" bookworm "$base" "$mirror" >"$FLEET/debootstrap.log" 2>&1 ||
	{ tail -20 "$FLEET/debootstrap.log" >&2; die "debootstrap --unpack-tarball failed (log: $FLEET/debootstrap.log)"; }
mounted_under "$base/" && die "debootstrap left mounts under $base"
[ -z "$(chroot "$base" dpkg --audit)" ] || { chroot "$base" dpkg --audit >&2; die "the base root has packages that are not configured"; }
# A device of the demo follows the fleet's repository only: its Debian
# source is dropped, so that apt-get update asks 127.0.0.1 alone.
rm -f "$base/etc/apt/sources.list" "$base"/etc/apt/sources.list.d/*
# The IaC checkout is bind-mounted from the host, owned by another uid.
chroot "$base" git config --system --add safe.directory '*'
chroot "$base" ansible --version >"$FLEET/ansible-version.txt"
head -1 "$FLEET/ansible-version.txt"
chroot "$base" git --version
for d in "${DEVICES[@]}"; do
	cp -a "$base" "$FLEET/devices/$d"
	echo "$d" >"$FLEET/devices/$d/etc/hostname"
done
rm -rf "$base"
ls "$FLEET/devices"

# --- The apt repository, served on 127.0.0.1 ---------------------------------
step "The apt repository at demo/fleet/repo, served by debflow serve on 127.0.0.1"
D key generate --uid "Fleet Demo <fleet@example.com>" --out "$KEY" >/dev/null
D key export --key "$KEY" >"$FLEET/public.asc"
build() { # VERSION: the commit's package, built and published into development
	local deb
	deb=$(D build -q --spec testdata/example/nfpm.yaml --out "$FLEET/out" --version "$1" --key "$KEY")
	D publish --key "$KEY" "$deb" >/dev/null
	echo "built and published $(basename "$deb") into development"
}
build 1.0.0
D snapshot create --key "$KEY" --name 2026-01-01 >/dev/null
D promote --key "$KEY" 2026-01-01 --to canary >/dev/null
D promote --key "$KEY" 2026-01-01 --to production >/dev/null
echo "the fleet so far: snapshot 2026-01-01 (1.0.0) on canary and production"
port=$((20000 + RANDOM % 20000))
URL=http://127.0.0.1:$port
"$DEBFLOW" serve --addr "127.0.0.1:$port" >"$FLEET/serve.log" 2>&1 & # not through D: $! must be the server
server=$!
for _ in $(seq 100); do curl -fs "$URL/dists/development/InRelease" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$URL/dists/development/InRelease" >/dev/null || die "debflow serve did not start (log: demo/fleet/serve.log)"
echo "devices reach it at $URL; the key's public part is demo/fleet/public.asc"

# --- The IaC repository --------------------------------------------------------
step "The IaC repository demo/fleet/iac: branches development, canary, production"
IAC=$FLEET/iac
mkdir -p "$IAC/apt"
git init -q -b development "$IAC"
g() { git -C "$IAC" -c user.name="Fleet Operator" -c user.email=ops@example.com "$@"; }
cat >"$IAC/inventory.ini" <<'EOF'
# One device per stage; each runs ansible-pull from its stage's branch.
[development]
dev-01 stage=development

[canary]
canary-01 stage=canary

[production]
prod-01 stage=production

[all:vars]
ansible_connection=local
ansible_python_interpreter=/usr/bin/python3
EOF
cat >"$IAC/site.yml" <<'EOF'
# The device's whole configuration: its stage's apt source and pin (with the
# fleet's key), then the fleet's package from that stage, up or down.
- hosts: all
  gather_facts: false
  tasks:
    - name: the apt source and pin of the device's stage
      ansible.builtin.include_tasks: "apt/{{ stage }}.yml"
    - name: apt-get update
      ansible.builtin.command: apt-get update --error-on=any -o Acquire::Check-Valid-Until=true -o Acquire::Check-Date=true
      changed_when: false
    - name: install or upgrade the fleet's package; the pin takes it down on a rollback
      ansible.builtin.command: apt-get install -y --allow-downgrades --no-install-recommends -o Dpkg::Use-Pty=0 hello-fleet
      environment:
        DEBIAN_FRONTEND: noninteractive
      register: install
      changed_when: "'0 upgraded, 0 newly installed, 0 downgraded' not in install.stdout"
EOF
for s in "${DEVICES[@]}"; do
	D sources --key "$KEY" --url "$URL" --stage "$s" --format ansible >"$IAC/apt/$s.yml"
done
cat >"$IAC/stage.yaml" <<'EOF'
# development follows the rolling suite that publish feeds: it names no snapshot.
rollout: every commit
EOF
cat >"$IAC/README" <<'EOF'
The fleet's IaC repository: one branch per stage. Devices run
  ansible-pull -U IAC -C STAGE -i inventory.ini -l HOST site.yml
A merge into canary or production is a release: the merge pipeline runs
  debflow reconcile --stage STAGE --branch STAGE --snapshot-file stage.yaml
EOF
g add -A && g commit -qm "the fleet: inventory, playbook, apt sources and pins"
g checkout -qb canary
printf '# canary: the first hundred devices\nsnapshot: "2026-01-01"\nrollout: first hundred devices\n' >"$IAC/stage.yaml"
g commit -qam "canary serves 2026-01-01"
g checkout -qb production
g checkout -q development
for b in development canary production; do echo "$b: $(g log -1 --format='%h %s' "$b")"; done

# --- Device updates: ansible-pull inside each device root ------------------------
update() { # DEVICE
	local d=$1 root=$FLEET/devices/$1 host
	case $1 in development) host=dev-01 ;; canary) host=canary-01 ;; production) host=prod-01 ;; esac
	mkdir -p "$root/srv/iac"
	mount -t proc proc "$root/proc"
	mount --bind "$IAC" "$root/srv/iac"
	mount -o remount,bind,ro "$root/srv/iac"
	if ! chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 ANSIBLE_NOCOLOR=1 \
		ansible-pull -U /srv/iac -C "$d" -d /var/lib/fleet/iac -i inventory.ini -l "$host" site.yml >"$FLEET/devices/$d.log" 2>&1; then
		tail -30 "$FLEET/devices/$d.log" >&2
		die "ansible-pull failed on the $d device (log: demo/fleet/devices/$d.log)"
	fi
	umount "$root/srv/iac"
	umount "$root/proc"
}
installed() { chroot "$FLEET/devices/$1" dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || echo "-"; }
serves() { # STAGE: what it serves (a snapshot), or "" for the rolling suite
	D status --json | python3 -c 'import json,sys; print(next((s.get("serves","") for s in json.load(sys.stdin) if s["stage"]==sys.argv[1]), ""))' "$1"
}
stage_version() { # STAGE: the version of the package that the stage serves
	awk -v p="$PKG" '$1=="Package:"{n=$2} $1=="Version:" && n==p {print $2}' <(xz -dc "$FLEET/repo/dists/$1/main/binary-amd64/Packages.xz") | sort -V | tail -1
}
declared() { git -C "$IAC" show "$1:stage.yaml" | sed -n 's/^snapshot: *"\{0,1\}\([^"]*\)"\{0,1\}.*/\1/p'; }
table() {
	local d
	for d in "${DEVICES[@]}"; do update "$d"; done
	printf '\n  %-12s %-12s %-12s %-12s %s\n' device stage serves branch installed
	for d in "${DEVICES[@]}"; do
		local s
		s=$(serves "$d")
		printf '  %-12s %-12s %-12s %-12s %s\n' "$d" "$d" "${s:-(rolling)}" "$(declared "$d" || true)" "$(installed "$d")"
	done
}
expect() { # DEVICE VERSION
	local got
	got=$(installed "$1")
	[ "$got" = "$2" ] || die "the $1 device runs $PKG $got, want $2"
}
reconcile() { # STAGE: the merge pipeline of the stage's branch
	echo "\$ debflow reconcile --stage $1 --branch $1 --snapshot-file stage.yaml   (in a checkout of $1)"
	local work
	work=$(mktemp -d)
	git -C "$IAC" show "$1:stage.yaml" >"$work/stage.yaml"
	USER=ops D reconcile --key "$KEY" --stage "$1" --branch "$1" --snapshot-file "$work/stage.yaml"
	rm -rf "$work"
}

step "Every device pulls its branch once: all run 1.0.0"
table
for d in "${DEVICES[@]}"; do expect "$d" 1.0.0; done

step "1. A commit is built and published: only the development device gets it"
build 1.1.0
table
expect development 1.1.0; expect canary 1.0.0; expect production 1.0.0

step "2. Snapshot 2026-01-02 is merged into canary; the merge pipeline reconciles; the canary device gets it"
D snapshot create --key "$KEY" --name 2026-01-02 >/dev/null
g checkout -qb release-2026-01-02 canary
sed -i 's/^snapshot: .*/snapshot: "2026-01-02"/' "$IAC/stage.yaml"
g commit -qam "release 2026-01-02 to canary"
g checkout -q canary
g merge -q --no-ff -m "Merge release-2026-01-02 into canary" release-2026-01-02
reconcile canary
table
expect development 1.1.0; expect canary 1.1.0; expect production 1.0.0

step "3. The next commit reaches development only"
build 1.2.0
table
expect development 1.2.0; expect canary 1.1.0; expect production 1.0.0

step "4. canary is merged into production; the production device gets what canary had"
g checkout -q production
g merge -q --no-ff -m "Merge canary into production" canary
reconcile production
table
expect development 1.2.0; expect canary 1.1.0; expect production 1.1.0

step "5. A git revert on production rolls back; the pin takes the device down"
g revert --no-edit -m 1 HEAD >/dev/null
g log -1 --format='%h %s' production
reconcile production
table
expect development 1.2.0; expect canary 1.1.0; expect production 1.0.0
g checkout -q development

step "At the end: every device runs what its stage serves, every branch declares what its stage serves"
for s in "${DEVICES[@]}"; do
	want=$(stage_version "$s")
	expect "$s" "$want"
	if [ "$s" != development ]; then
		[ "$(declared "$s")" = "$(serves "$s")" ] || die "branch $s declares $(declared "$s"), stage $s serves $(serves "$s")"
	fi
	echo "ok: $s serves $PKG $want, the device runs it"
done
echo "ok: canary and production declare what they serve"
D history production
D verify --key "$KEY" >/dev/null && echo "ok: debflow verify"
if mounted_under "$FLEET/"; then die "a mount was left under $FLEET"; fi
echo
echo "fleet demo done in $(($(date +%s) - start))s: everything is under demo/fleet"
