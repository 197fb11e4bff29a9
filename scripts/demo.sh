#!/usr/bin/env bash
# The whole debflow pipeline on a local demo, in ./demo (never the machine's apt).
set -euo pipefail
cd "$(dirname "$0")/.."
DEBFLOW=${DEBFLOW:-$PWD/bin/debflow}
DEMO=$PWD/demo
rm -rf "$DEMO"
mkdir -p "$DEMO"

if [ -t 1 ]; then step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }; else step() { printf '\n== %s\n' "$*"; }; fi

step "A signing key (Ed25519, v4 EdDSA as Debian 12's gpgv wants)"
"$DEBFLOW" key generate --uid "Demo Fleet <fleet@example.com>" --out "$DEMO/signing.asc"
"$DEBFLOW" key export --key "$DEMO/signing.asc" --binary --out "$DEMO/keyring.gpg"

step "debflow build: the example package, version from git"
deb=$("$DEBFLOW" build --spec testdata/example/nfpm.yaml --out "$DEMO/out" --key "$DEMO/signing.asc")
echo "$deb"

step "What dpkg-deb says about it"
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"

step "The debsigs origin signature, checked by gpgv"
tmp=$(mktemp -d)
(cd "$tmp" && ar x "$deb" && cat debian-binary control.tar.* data.tar.* > signed && gpgv --keyring "$DEMO/keyring.gpg" _gpgorigin signed)
rm -rf "$tmp"

step "Installed by dpkg into a throwaway root (postinst runs)"
root="$DEMO/root"
mkdir -p "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/info"
# The throwaway root's dpkg database lists the package's dependencies as
# installed (the host provides them), so that dpkg has nothing to complain of.
arch=$(dpkg --print-architecture)
for dep in bash ca-certificates; do
  : > "$root/var/lib/dpkg/info/$dep.list"
  printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nSection: demo\nMaintainer: Demo <demo@example.com>\nArchitecture: %s\nVersion: 99\nDescription: stand-in for the host'"'"'s %s\n\n' "$dep" "$arch" "$dep"
done > "$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-not-root -i "$deb"
dpkg --root="$root" -l hello-fleet | tail -1
cat "$root/var/lib/hello-fleet/postinst-ran"

step "Rebuilt: byte-identical (unsigned builds are reproducible)"
a=$("$DEBFLOW" build -q --unsigned --spec testdata/example/nfpm.yaml --out "$DEMO/repro1")
b=$("$DEBFLOW" build -q --unsigned --spec testdata/example/nfpm.yaml --out "$DEMO/repro2")
sha256sum "$a" "$b"
cmp "$a" "$b" && echo "identical"

step "debflow publish: into the rolling development suite (created on first use)"
export DEBFLOW_REPO="$DEMO/repo"
"$DEBFLOW" publish --key "$DEMO/signing.asc" "$deb"
"$DEBFLOW" publish --key "$DEMO/signing.asc" "$deb"   # again: a no-op
"$DEBFLOW" verify --key "$DEMO/signing.asc"
find "$DEMO/repo" -path '*/by-hash' -prune -o -type f -print | sed "s|$DEMO/repo/||" | sort

step "Served on 127.0.0.1; a device's apt, isolated in $DEMO/apt, follows development"
port=$((20000 + RANDOM % 20000))
"$DEBFLOW" serve --addr "127.0.0.1:$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/dists/development/InRelease" >/dev/null 2>&1 && break; sleep 0.1; done
A="$DEMO/apt"
mkdir -p "$A/sources.list.d" "$A/preferences.d" "$A/trusted.gpg.d" "$A/lists/partial" "$A/cache" "$A/archives/partial" "$A/log"
: > "$A/status"
"$DEBFLOW" sources --key "$DEMO/signing.asc" --url "http://127.0.0.1:$port" --stage development > "$A/sources.list.d/fleet.sources"
head -5 "$A/sources.list.d/fleet.sources"; echo " ... (the armored public key)"
apt_opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$A/sources.list.d"
	-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts="$A/preferences.d"
	-o Dir::Etc::Trusted=/dev/null -o Dir::Etc::TrustedParts="$A/trusted.gpg.d"
	-o Dir::State="$A" -o Dir::State::Lists="$A/lists" -o Dir::State::status="$A/status"
	-o Dir::Cache="$A/cache" -o Dir::Cache::Archives="$A/archives" -o Dir::Log="$A/log"
	-o Debug::NoLocking=1 -o APT::Sandbox::User=root -o Acquire::Languages=none
	-o APT::Architecture=amd64 -o APT::Architectures::=amd64)
apt-get "${apt_opts[@]}" update
apt-cache "${apt_opts[@]}" policy hello-fleet
(cd "$DEMO" && apt-get "${apt_opts[@]}" download hello-fleet)
step "A second build (version 1.1.0 of the example) reaches development"
deb2=$("$DEBFLOW" build --spec testdata/example/nfpm.yaml --out "$DEMO/out" --version 1.1.0 --key "$DEMO/signing.asc")
"$DEBFLOW" publish --key "$DEMO/signing.asc" "$deb2"

step "The release manager: a snapshot of development, then a pick and a diff"
first=$("$DEBFLOW" snapshot create --key "$DEMO/signing.asc" --name 2026-01-05)
echo "snapshot: $first"
deb3=$("$DEBFLOW" build --spec testdata/example/nfpm.yaml --out "$DEMO/out" --version 1.1.1 --key "$DEMO/signing.asc")
"$DEBFLOW" publish --key "$DEMO/signing.asc" "$deb3"
fixed=$("$DEBFLOW" snapshot pick --key "$DEMO/signing.asc" "$first" hello-fleet=1.1.1 --name 2026-01-06)
echo "picked: $fixed"
"$DEBFLOW" snapshot diff "$first" "$fixed"
"$DEBFLOW" snapshot list

step "The merge pipeline: promote to canary, then to production (unmodified)"
"$DEBFLOW" promote --key "$DEMO/signing.asc" "$fixed" --to canary
"$DEBFLOW" promote --key "$DEMO/signing.asc" "$fixed" --to production
cmp "$DEMO/repo/dists/$fixed/main/binary-amd64/Packages.xz" "$DEMO/repo/dists/production/main/binary-amd64/Packages.xz" && echo "production's indexes are the snapshot's, byte for byte"
"$DEBFLOW" status
"$DEBFLOW" verify --key "$DEMO/signing.asc"

step "A production device: apt follows the production stage, pinned so that it follows rollbacks"
"$DEBFLOW" sources --key "$DEMO/signing.asc" --url "http://127.0.0.1:$port" --stage production > "$A/sources.list.d/fleet.sources"
"$DEBFLOW" sources --stage production --preferences | tee "$A/preferences.d/fleet.pref"
apt-get "${apt_opts[@]}" update
apt-cache "${apt_opts[@]}" policy hello-fleet
kill $server; wait $server 2>/dev/null || true
echo
echo "demo done: everything is under $DEMO"
