#!/usr/bin/env bash
# make mirror-check: a manual check against the real Debian archive (not part
# of make test). It mirrors a handful of bookworm main packages (amd64) with
# --with-deps from deb.debian.org, serves the repository on 127.0.0.1 and
# builds a minbase root with debootstrap from the mirror alone.
#
# Needs: network access to deb.debian.org, debian-archive-keyring, debootstrap,
# python3 (to serve the tree), root (debootstrap). Set MIRROR_URL to use
# another Debian mirror.
set -euo pipefail
cd "$(dirname "$0")/.."
URL=${MIRROR_URL:-http://deb.debian.org/debian}
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
for t in debootstrap python3; do command -v "$t" >/dev/null || { echo "mirror-check: $t is missing (apt-get install $t)" >&2; exit 1; }; done
[[ -f $KEYRING ]] || { echo "mirror-check: $KEYRING is missing (apt-get install debian-archive-keyring)" >&2; exit 1; }
W=$(mktemp -d /tmp/debflow-mirror-check.XXXXXX)
trap 'kill "${SRV:-}" 2>/dev/null || true; rm -rf "$W"' EXIT
D=bin/debflow
$D key generate -q --uid "mirror-check <m@example.com>" --out "$W/K.asc"
$D key export --key "$W/K.asc" --out "$W/pub.asc"
R=$W/repo
$D init -q --repo "$R" --key "$W/K.asc" >/dev/null
$D mirror create bookworm --repo "$R" --url "$URL" --suite bookworm --component main --arch amd64 \
	--keyring "$KEYRING" --filter 'Priority (required) | apt | ca-certificates | openssh-client' --with-deps
time $D mirror update bookworm --repo "$R" --key "$W/K.asc"
time $D mirror update bookworm --repo "$R" --key "$W/K.asc" # unchanged: one request
PORT=$((20000 + RANDOM % 20000))
python3 -m http.server --bind 127.0.0.1 --directory "$R" "$PORT" >/dev/null 2>&1 &
SRV=$!
sleep 1
gpg --dearmor <"$W/pub.asc" >"$W/pub.gpg"
debootstrap --variant=minbase --keyring="$W/pub.gpg" bookworm "$W/root" "http://127.0.0.1:$PORT"
chroot "$W/root" dpkg-query -W apt ca-certificates >/dev/null 2>&1 || true
echo "mirror-check: debootstrap built a root from the mirror ($(du -sh "$W/root" | cut -f1))"
