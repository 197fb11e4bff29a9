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
: > "$root/var/lib/dpkg/status"
dpkg --root="$root" --log=/dev/null --force-script-chrootless --force-depends --force-not-root -i "$deb"
dpkg --root="$root" -l hello-fleet | tail -1
cat "$root/var/lib/hello-fleet/postinst-ran"

step "Rebuilt: byte-identical (unsigned builds are reproducible)"
a=$("$DEBFLOW" build -q --unsigned --spec testdata/example/nfpm.yaml --out "$DEMO/repro1")
b=$("$DEBFLOW" build -q --unsigned --spec testdata/example/nfpm.yaml --out "$DEMO/repro2")
sha256sum "$a" "$b"
cmp "$a" "$b" && echo "identical"
