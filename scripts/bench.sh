#!/usr/bin/env bash
# make bench: debflow's benchmarks, printed as a readable report.
#
#   scripts/bench.sh [all | go | build | publish | mirror]...     (default: all)
#
# Each section is a function named section_NAME, listed in SECTIONS below; to
# add one (snapshot, promote, ...), write section_NAME and add NAME to SECTIONS.
# Sections share the helpers: timed (wall time and peak RSS of one command),
# benchgen (the deterministic input generator, internal/cmd/benchgen), bench_key
# (a signing key) and need (a required tool, with the package that has it).
#
# Environment:
#   BENCH_DIR           parent of the temporary work directory (/tmp/debflow-bench)
#   BENCH_KEEP=1        keep the work directory instead of removing it
#   BENCH_PAYLOAD_MB    size of the build payload in MiB (200)
#   BENCH_PUBLISH_N     package counts of the publish benchmark ("1000 10000"; the issue-15 goals at 50,000
#                       need BENCH_PUBLISH_N="10000 50000")
#   BENCH_CI_RUNS       CI steps per repository; the median is reported (3)
#   BENCH_GO_BENCHTIME  -benchtime of the Go micro-benchmarks (1x)
#   BENCH_MIRROR_N      packages of the mirror benchmark's upstream (5000; development gets twice as many)
#   VERSITYGW           the S3 server of the s3 section (versitygw on PATH or in $(go env GOPATH)/bin;
#                       go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)
#   DEBFLOW             the binary to measure (bin/debflow, built by make bench)
#
# Nothing is installed here: a missing tool is an error naming its package.
# The machine needs: apt-get install dpkg reprepro gpg gpg-agent time
# (dpkg-deb is in dpkg; /usr/bin/time is optional, without it no peak memory).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
ROOT=$PWD
SECTIONS=(go build publish mirror s3)

GO=${GO:-go}
DEBFLOW=${DEBFLOW:-$ROOT/bin/debflow}
BENCH_DIR=${BENCH_DIR:-/tmp/debflow-bench}
PAYLOAD_MB=${BENCH_PAYLOAD_MB:-200}
PUBLISH_N=$(tr -s ' ' '\n' <<<"${BENCH_PUBLISH_N:-1000 10000}" | sort -n | xargs) # the goals apply to the largest
CI_RUNS=${BENCH_CI_RUNS:-3}
GO_BENCHTIME=${BENCH_GO_BENCHTIME:-1x}

FAILED=()
WORK=
PUB_BATCH=0
declare -A BUILD_RATIO=() BUILD_S=() BUILD_DPKG_S=() CI_ALL=() PUB_BY_N=()
P_SNAP_ALL= P_PROMOTE_ALL= P_PICK_ALL=

usage() {
	echo "usage: scripts/bench.sh [all|$(IFS='|' && echo "${SECTIONS[*]}")]...   (default: all)" >&2
	exit 2
}

die() {
	echo "bench: $*" >&2
	exit 1
}

# need CMD PACKAGE: fail, naming the package, when CMD is missing.
need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 is missing: install the $2 package (apt-get install $2)"
}

cleanup() {
	local rc=$?
	if [[ -n $WORK && -d $WORK ]]; then
		if [[ -d $WORK/gnupg ]]; then
			gpgconf --homedir "$WORK/gnupg" --kill all >/dev/null 2>&1 || true
		fi
		if [[ ${BENCH_KEEP:-} == 1 ]]; then
			echo "bench: kept $WORK"
		else
			rm -rf "$WORK"
			rmdir "$BENCH_DIR" 2>/dev/null || true
		fi
	fi
	exit "$rc"
}

header() {
	printf '\n%s\n%s\n' "$1" "$(printf '%*s' "${#1}" '' | tr ' ' '=')"
}

now() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then echo "$EPOCHREALTIME"; else date +%s.%N; fi
}

# calc EXPR [ARGS as a=1 b=2]: floating point arithmetic.
calc() {
	local expr=$1
	shift
	local args=()
	for a in "$@"; do args+=(-v "$a"); done
	awk "${args[@]}" "BEGIN { $expr }"
}

# TIME_BIN is /usr/bin/time when present: it gives the peak RSS.
TIME_BIN=
if [[ -x /usr/bin/time ]]; then TIME_BIN=/usr/bin/time; fi

# timed LOG CMD...: runs CMD with its stdout and stderr in LOG and sets
# T_S (wall seconds, ms resolution), T_MB (peak RSS in MB of the largest
# process, "n/a" without /usr/bin/time) and T_CPU (user + system seconds).
# A failing command prints the end of LOG and returns its status.
timed() {
	local log=$1 rc=0 t0 t1 e kb usr sys
	shift
	if [[ -n $TIME_BIN ]]; then
		t0=$(now)
		"$TIME_BIN" -f '%e %M %U %S' -o "$WORK/.time" "$@" >"$log" 2>&1 || rc=$?
		t1=$(now)
		read -r e kb usr sys < <(tail -n 1 "$WORK/.time")
		T_S=$(calc 'printf "%.3f", b - a' a="$t0" b="$t1")
		T_MB=$(calc 'printf "%.1f", k * 1024 / 1e6' k="$kb")
		T_CPU=$(calc 'printf "%.2f", u + s' u="$usr" s="$sys")
		: "$e" # %e is the same wall time at 10 ms resolution
	else
		local TIMEFORMAT='%3R %3U %3S'
		{ time "$@" >"$log" 2>&1; } 2>"$WORK/.time" || rc=$?
		read -r T_S usr sys < <(tail -n 1 "$WORK/.time")
		T_MB=n/a
		T_CPU=$(calc 'printf "%.2f", u + s' u="$usr" s="$sys")
	fi
	if ((rc != 0)); then
		echo "bench: FAILED (exit $rc): $*" >&2
		tail -n 20 "$log" | sed 's/^/  | /' >&2
		return "$rc"
	fi
}

# ratio A B: A/B with two decimals ("-" when B is 0).
ratio() { calc 'if (b + 0 == 0) print "-"; else printf "%.2f", a / b' a="$1" b="$2"; }

# median V...: the median of the values.
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# max V...
max() { printf '%s\n' "$@" | sort -g | tail -n 1; }

mb() { calc 'printf "%.1f", n / 1e6' n="$1"; }

# benchgen: builds the input generator once per run and prints its path.
benchgen() {
	if [[ ! -x $WORK/benchgen ]]; then
		"$GO" build -o "$WORK/benchgen" ./internal/cmd/benchgen || die "cannot build internal/cmd/benchgen"
	fi
	echo "$WORK/benchgen"
}

# bench_key: prints the path of a signing key made once per run.
bench_key() {
	if [[ ! -f $WORK/K.asc ]]; then
		"$DEBFLOW" key generate -q --uid "Bench <b@example.com>" --out "$WORK/K.asc" >"$WORK/key.log" 2>&1 ||
			die "debflow key generate failed: $(cat "$WORK/key.log")"
	fi
	echo "$WORK/K.asc"
}

# ---------------------------------------------------------------------------

section_go() {
	header "1. Go micro-benchmarks (go test -p 1 -run '^\$' -bench . -benchmem -benchtime $GO_BENCHTIME ./...)"
	need "$GO" golang-go
	local t0 rc=0
	t0=$(now)
	"$GO" test -p 1 -run '^$' -bench . -benchmem -benchtime "$GO_BENCHTIME" ./... 2>&1 |
		sed '/\[no test files\]$/d' || rc=$?
	echo "(section took $(calc 'printf "%.0f", b - a' a="$t0" b="$(now)") s)"
	if ((rc != 0)); then
		echo "go test FAILED (exit $rc)"
		FAILED+=(go)
	fi
}

# ---------------------------------------------------------------------------

section_build() {
	header "2. Build: debflow build vs dpkg-deb --build, ${PAYLOAD_MB} MiB payload"
	need dpkg-deb dpkg
	need "$GO" golang-go
	local d=$WORK/build bg
	mkdir -p "$d"
	bg=$(benchgen)

	timed "$d/gen.log" "$bg" tree -out "$d" -mb "$PAYLOAD_MB"
	sync # the tree's write-back must not compete with the builds
	echo "input: $(cat "$d/gen.log")"
	echo "       generated in ${T_S} s; debflow packages it with $d/bench.yaml (contents: src root/opt/bench, dst /opt/bench),"
	echo "       dpkg-deb with root/DEBIAN/control; both get the same files."
	local want
	want=$(($(find "$d/root/opt" | wc -l) + 1)) # plus "./"
	echo "defaults: dpkg-deb (man dpkg-deb) -z9 for gzip, -z6 for xz, -z3 for zstd, threads for compressors that have them"
	echo "          (--threads-max, default all cores: compare the cpu and wall columns);"
	echo "          debflow: the parallel writers of internal/compress (levels and block sizes: see its package documentation)."
	echo "          debflow also writes md5sums, which dpkg-deb --build does not. Debflow builds are unsigned (--unsigned)."
	echo

	# name|debflow --compression (empty: the row above's build again)|dpkg-deb -Z|dpkg-deb -z (empty: its default)
	local cases=("xz|xz|xz|" "zstd|zstd|zstd|" "zstd:fastest|zstd:fastest|zstd|1"
		"gzip|gzip|gzip|" "gzip (dpkg -z6)||gzip|6")
	local rows=() row name c z lvl dflag deb got df_s df_mb df_cpu df_size dp_s dp_mb dp_cpu dp_size
	for row in "${cases[@]}"; do
		IFS='|' read -r name c z lvl <<<"$row"
		dflag=()
		[[ -n $lvl ]] && dflag=(-z"$lvl")
		if [[ -n $c ]]; then
			rm -rf "$d/out"
			timed "$d/debflow-$c.log" "$DEBFLOW" build -q --unsigned --spec "$d/bench.yaml" --out "$d/out" --version 1.0 --compression "$c"
			df_s=$T_S df_mb=$T_MB df_cpu=$T_CPU
			deb=$(tail -n 1 "$d/debflow-$c.log")
			[[ -f $deb ]] || die "debflow build --compression $c printed no package: $(cat "$d/debflow-$c.log")"
			dpkg-deb --info "$deb" >/dev/null 2>&1 || die "dpkg-deb --info refuses debflow's $c package $deb"
			got=$(dpkg-deb --contents "$deb" | wc -l)
			((got == want)) || die "debflow's $c package has $got entries, the tree $want"
			df_size=$(stat -c %s "$deb")
			rm -f "$deb"
			BUILD_S[$c]=$df_s
		fi
		timed "$d/dpkg-$z$lvl.log" dpkg-deb --root-owner-group -Z"$z" "${dflag[@]}" --build "$d/root" "$d/dpkg.deb"
		dp_s=$T_S dp_mb=$T_MB dp_cpu=$T_CPU
		dp_size=$(stat -c %s "$d/dpkg.deb")
		rm -f "$d/dpkg.deb"
		rows+=("$name|$df_s|$df_cpu|$df_mb|$dp_s|$dp_cpu|$dp_mb|$(ratio "$dp_s" "$df_s")|$(mb "$df_size")|$(mb "$dp_size")")
		[[ -z $lvl ]] && BUILD_DPKG_S[$z]=$dp_s
		[[ -z $lvl && -n $c ]] && BUILD_RATIO[$c]=$(ratio "$dp_s" "$df_s")
	done

	echo "ratio = dpkg-deb time / debflow time (> 1: debflow faster). Times in s (wall, cpu = user+sys), RSS = peak MB, sizes in MB."
	local fmt='%-16s %10s %8s %8s %11s %8s %8s %7s %12s %12s\n'
	# shellcheck disable=SC2059
	printf "$fmt" compression "debflow s" "cpu s" "RSS" "dpkg-deb s" "cpu s" "RSS" ratio "debflow MB" "dpkg-deb MB"
	local r
	for r in "${rows[@]}"; do
		IFS='|' read -r -a f <<<"$r"
		# shellcheck disable=SC2059
		printf "$fmt" "${f[@]}"
	done
	echo "(the zstd:fastest row compares debflow's fastest zstd level with dpkg-deb -z1, the gzip (dpkg -z6) row the"
	echo " same debflow gzip build with dpkg-deb -z6, zlib's default level)"
	echo "debflow zstd:fastest against dpkg-deb's default zstd level: ratio $(ratio "${BUILD_DPKG_S[zstd]}" "${BUILD_S[zstd:fastest]}")"
	echo
	echo "Goals (2 cores):"
	local g
	for g in zstd gzip; do
		goal "$g: debflow at least as fast as dpkg-deb (default level)" \
			"$(calc 'print (r >= 1) ? "y" : "n"' r="${BUILD_RATIO[$g]}")" "ratio ${BUILD_RATIO[$g]}"
	done
	echo "  xz: ratio ${BUILD_RATIO[xz]} (reported, no goal)"
	rm -rf "$d"
}

# ---------------------------------------------------------------------------

# publish_reprepro_conf REPO FINGERPRINT: the development suite, signed.
publish_reprepro_conf() {
	mkdir -p "$1/conf"
	cat >"$1/conf/distributions" <<EOF
Origin: bench
Label: bench
Codename: development
Architectures: amd64 arm64 armhf
Components: main
Description: debflow benchmark
SignWith: $2
EOF
}

# arg_batch FILES...: how many of the files fit in one command line
# (ARG_MAX, less the environment and a margin), halving from all of them.
arg_batch() {
	local n=$# argmax arglen batch=$#
	argmax=$(getconf ARG_MAX)
	arglen=$(printf '%s\0' "$@" | wc -c)
	while ((arglen * batch / n + $(env | wc -c) + 65536 > argmax)); do batch=$(((batch + 1) / 2)); done
	echo "$batch"
}

# count_packages FILE: stanzas in a Packages or Packages.gz file.
count_packages() {
	if [[ $1 == *.gz ]]; then gzip -dc "$1"; else cat "$1"; fi | grep -c '^Package:' || true
}

# publish_tool NAME N REPO DEBS_DIR CI_DEBS...: one tool, one N: ingest, then
# CI steps; sets P_INGEST_S, P_INGEST_MB, P_INGEST_CPU, P_CI_S (median),
# P_CI_MB (max), P_CI_CPU (median) and P_CI_ALL (every CI step's time).
publish_tool() {
	local name=$1 n=$2 r=$3 dir=$4
	shift 4
	local cis=("$@") cmd=() files=("$dir"/*.deb) key log=$WORK/publish.log
	key=$(bench_key)
	case $name in
	gz) cmd=("$DEBFLOW" publish -q --repo "$r" --key "$key" --index-compression gz) ;;
	gzxz) cmd=("$DEBFLOW" publish -q --repo "$r" --key "$key") ;;
	reprepro) cmd=(reprepro -s -b "$r" includedeb development) ;;
	esac
	local at=0 s=0 mbs=() c=0
	while ((at < ${#files[@]})); do
		sync # so that the syncfs(2) of a publish does not flush the inputs
		timed "$log" "${cmd[@]}" "${files[@]:at:PUB_BATCH}"
		s=$(calc 'printf "%.3f", a + b' a="$s" b="$T_S") c=$(calc 'printf "%.2f", a + b' a="$c" b="$T_CPU")
		mbs+=("$T_MB")
		at=$((at + PUB_BATCH))
	done
	P_INGEST_S=$s P_INGEST_MB=$(max "${mbs[@]}") P_INGEST_CPU=$c
	publish_check "$name" "$r" "$n"
	local base=
	if [[ $name == gzxz ]]; then # the base of snapshot pick: the suite before the CI builds
		base=$("$DEBFLOW" snapshot create -q --repo "$r" --key "$key" | tail -n 1)
	fi
	local ts=() ms=() cs=() i=0 deb
	for deb in "${cis[@]}"; do
		sync
		timed "$log" "${cmd[@]}" "$deb"
		ts+=("$T_S") ms+=("$T_MB") cs+=("$T_CPU")
		i=$((i + 1))
	done
	publish_check "$name" "$r" "$((n + i))"
	P_SNAP_S=- P_PROMOTE_S=- P_PICK_S=- P_VERIFY_S=- P_VERIFY_CPU=-
	if [[ $name == gzxz ]]; then
		publish_verify "$r" "$key"
		publish_snapshots "$r" "$key" "$base" "${cis[@]}"
	fi
	P_CI_S=$(median "${ts[@]}")
	P_CI_MB=$(max "${ms[@]}")
	P_CI_CPU=$(median "${cs[@]}")
	P_CI_ALL="${ts[*]}"
}

# publish_verify REPO KEY: times debflow verify CI_RUNS times and sets
# P_VERIFY_S and P_VERIFY_CPU (medians).
publish_verify() {
	local ts=() cs=() i
	for ((i = 0; i < CI_RUNS; i++)); do
		timed "$WORK/verify.log" "$DEBFLOW" verify -q --repo "$1" --key "$2"
		ts+=("$T_S") cs+=("$T_CPU")
	done
	P_VERIFY_S=$(median "${ts[@]}") P_VERIFY_CPU=$(median "${cs[@]}")
}

# publish_snapshots REPO KEY BASE CI_DEBS...: times snapshot create, promote
# (to canary, alternating between two snapshots so that each run changes the
# stage) and snapshot pick (a CI build into BASE), CI_RUNS times each, and
# sets P_SNAP_S, P_PROMOTE_S and P_PICK_S (medians).
publish_snapshots() {
	local r=$1 key=$2 base=$3
	shift 3
	local log=$WORK/snap.log ts=() ps=() ks=() snaps=() i deb pkg ver
	for ((i = 0; i < CI_RUNS; i++)); do
		sync
		timed "$log" "$DEBFLOW" snapshot create -q --repo "$r" --key "$key"
		ts+=("$T_S")
		snaps+=("$(tail -n 1 "$log")")
	done
	for ((i = 0; i < CI_RUNS; i++)); do
		sleep 1 # a stage's Date must move on: a promote within the same second waits for the clock
		sync
		timed "$log" "$DEBFLOW" promote -q --repo "$r" --key "$key" "${snaps[$((i % 2))]}" --to canary
		ps+=("$T_S")
	done
	for deb in "$@"; do
		pkg=$(dpkg-deb -f "$deb" Package)
		ver=$(dpkg-deb -f "$deb" Version)
		sync
		timed "$log" "$DEBFLOW" snapshot pick -q --repo "$r" --key "$key" "$base" "$pkg=$ver"
		ks+=("$T_S")
	done
	P_SNAP_S=$(median "${ts[@]}") P_PROMOTE_S=$(median "${ps[@]}") P_PICK_S=$(median "${ks[@]}")
	P_SNAP_ALL="${ts[*]}" P_PROMOTE_ALL="${ps[*]}" P_PICK_ALL="${ks[*]}"
}

# publish_check NAME REPO WANT: the repository verifies and lists WANT
# amd64 packages (untimed).
publish_check() {
	local name=$1 r=$2 want=$3 got idx
	if [[ $name == reprepro ]]; then
		# reprepro keeps one version per package: a CI build replaces the old one.
		idx=$r/dists/development/main/binary-amd64/Packages.gz
		got=$(count_packages "$idx")
		local n=$((want - ${#CI_DEBS[@]}))
		((got == want || got == n)) || die "reprepro lists $got packages in $idx, want $want or $n"
		gpgv --keyring "$WORK/keyring.gpg" "$r/dists/development/InRelease" >/dev/null 2>&1 ||
			die "reprepro's InRelease does not verify"
		return
	fi
	"$DEBFLOW" verify -q --repo "$r" --key "$(bench_key)" >"$WORK/verify.log" 2>&1 ||
		die "debflow verify fails on $r: $(cat "$WORK/verify.log")"
	idx=$r/dists/development/main/binary-amd64/Packages
	[[ -f $idx ]] || idx=$idx.gz
	got=$(count_packages "$idx")
	((got == want)) || die "debflow lists $got packages in $idx, want $want"
}

section_mirror() {
	local n=${BENCH_MIRROR_N:-5000}
	local dn=$((n * 2))
	header "4. Mirror: a $n-package local upstream (first and no-change update), snapshot create combining it with a $dn-package development"
	need "$GO" golang-go
	local key bg up=$WORK/mirror-up r=$WORK/mirror-repo
	key=$(bench_key)
	bg=$(benchgen)
	"$DEBFLOW" key export --key "$key" --out "$WORK/mirror-pub.asc" >/dev/null 2>&1 || die "debflow key export failed"
	"$bg" debs -n "$n" -out "$WORK/mirror-updebs" >/dev/null
	"$bg" debs -n "$dn" -seed 2 -out "$WORK/mirror-devdebs" >/dev/null
	echo "upstream: a debflow repository (component contrib, $n packages from benchgen), read over file://;"
	echo "development: $dn benchgen packages in main (the same names: every upstream package is also in development)."
	echo "debflow mirror update --json gives the request count; sync(1) runs before every timed command."
	timed "$WORK/mirror-up.log" "$DEBFLOW" publish -q --repo "$up" --key "$key" --component contrib "$WORK"/mirror-updebs/*.deb
	timed "$WORK/mirror-dev.log" "$DEBFLOW" publish -q --repo "$r" --key "$key" "$WORK"/mirror-devdebs/*.deb
	rm -rf "$WORK/mirror-updebs" "$WORK/mirror-devdebs"
	"$DEBFLOW" mirror create up -q --repo "$r" --url "file://$up" --suite development --component contrib --arch amd64 \
		--keyring "$WORK/mirror-pub.asc" >"$WORK/mirror-create.log" 2>&1 || die "mirror create failed: $(cat "$WORK/mirror-create.log")"
	local fmt='%-46s %10s %10s %10s\n' reqs
	# shellcheck disable=SC2059
	printf "$fmt" "step" "wall s" "peak MB" "requests"
	sync
	timed "$WORK/mirror-u1.json" "$DEBFLOW" mirror update up --json --repo "$r" --key "$key"
	reqs=$(grep -o '"requests": *[0-9]*' "$WORK/mirror-u1.json" | grep -o '[0-9]*$')
	# shellcheck disable=SC2059
	printf "$fmt" "first update ($n packages)" "$T_S" "$T_MB" "$reqs"
	sync
	timed "$WORK/mirror-u2.json" "$DEBFLOW" mirror update up --json --repo "$r" --key "$key"
	reqs=$(grep -o '"requests": *[0-9]*' "$WORK/mirror-u2.json" | grep -o '[0-9]*$')
	grep -q '"unchanged": *true' "$WORK/mirror-u2.json" || die "the second update was not a no-change update: $(cat "$WORK/mirror-u2.json")"
	# shellcheck disable=SC2059
	printf "$fmt" "no-change update" "$T_S" "$T_MB" "$reqs"
	sync
	timed "$WORK/mirror-snap.log" "$DEBFLOW" snapshot create -q --repo "$r" --key "$key" --from development --from up
	# shellcheck disable=SC2059
	printf "$fmt" "snapshot create --from development --from up" "$T_S" "$T_MB" "-"
	"$DEBFLOW" verify -q --repo "$r" --keyring "$WORK/mirror-pub.asc" >"$WORK/mirror-verify.log" 2>&1 || die "debflow verify failed after the mirror benchmark: $(tail -n 20 "$WORK/mirror-verify.log")"
	rm -rf "$up" "$r"
}

section_publish() {
	header "3. Publish: debflow publish vs reprepro includedeb, N = ${PUBLISH_N// /, } packages"
	need reprepro reprepro
	need gpg gpg
	need gpg-agent gpg-agent
	need gpgv gpgv
	need "$GO" golang-go

	local key fpr n
	key=$(bench_key)
	export GNUPGHOME=$WORK/gnupg
	mkdir -m 700 "$GNUPGHOME"
	gpg --batch --quiet --import "$key" >"$WORK/gpg.log" 2>&1 || die "gpg cannot import the debflow key: $(cat "$WORK/gpg.log")"
	gpg --batch --export >"$WORK/keyring.gpg"
	fpr=$(gpg --batch --with-colons --list-secret-keys | awk -F: '/^fpr:/ { print $10; exit }')
	[[ -n $fpr ]] || die "gpg did not import the debflow key"
	gpg-connect-agent /bye >/dev/null 2>&1 || true # start the agent before anything is timed
	echo "key: debflow key generate (Ed25519), imported into a private GNUPGHOME; reprepro signs with it (SignWith: $fpr)."
	echo "debflow publish -q --repo R --key K [--index-compression gz] DEBS...   vs   reprepro -s -b R includedeb development DEBS..."
	echo "reprepro: conf/distributions with Architectures amd64 arm64 armhf, Components main, default DebIndices"
	echo "  (Packages Release . .gz: Packages and Packages.gz); its Architecture: all packages go to all three architectures,"
	echo "  debflow's to the suite's architectures (amd64 here). reprepro keeps one version per package, so a CI build"
	echo "  replaces the previous version; debflow keeps both. Both write InRelease and Release.gpg."
	echo "Every debflow repository passes debflow verify (untimed) after the ingest and after the CI steps;"
	echo "reprepro's InRelease is checked with gpgv. The CI step is the median of $CI_RUNS runs ($CI_RUNS different CI builds:"
	echo "new versions of pkg00001, pkg00002, ...). sync(1) runs before every timed command (debflow calls syncfs(2))."

	local ci=$WORK/ci bg
	bg=$(benchgen)
	"$bg" debs -ci "$CI_RUNS" -out "$ci" >/dev/null
	CI_DEBS=("$ci"/*.deb)

	local argmax
	argmax=$(getconf ARG_MAX)
	for n in $PUBLISH_N; do
		local dir=$WORK/debs-$n
		timed "$WORK/gen.log" "$bg" debs -n "$n" -out "$dir"
		local gen_s=$T_S
		local files=("$dir"/*.deb) arglen
		arglen=$(printf '%s\0' "${files[@]}" | wc -c)
		echo
		echo "N = $n: generated $n packages ($(find "$dir" -name '*_all.deb' | wc -l) Architecture: all, $(du -sm "$dir" | cut -f1) MB) in $gen_s s;" \
			"file arguments: $arglen bytes (ARG_MAX $argmax)"
		PUB_BATCH=$(arg_batch "${files[@]}")
		if ((PUB_BATCH < n)); then
			echo "the $n file names do not fit in one command line (ARG_MAX $argmax): every tool ingests them in" \
				"$(((n + PUB_BATCH - 1) / PUB_BATCH)) commands of at most $PUB_BATCH files; the ingest figures are their sums (RSS: the largest)"
		fi

		local tool res=() cpu=() snap=() ver=()
		for tool in gz gzxz reprepro; do
			local r=$WORK/repo-$n-$tool
			if [[ $tool == reprepro ]]; then publish_reprepro_conf "$r" "$fpr"; fi
			publish_tool "$tool" "$n" "$r" "$dir" "${CI_DEBS[@]}"
			res+=("$P_INGEST_S" "$P_INGEST_MB" "$P_CI_S" "$P_CI_MB")
			cpu+=("$P_INGEST_CPU" "$P_CI_CPU")
			if [[ $tool == gzxz ]]; then snap=("$P_SNAP_S" "$P_PROMOTE_S" "$P_PICK_S") ver=("$P_VERIFY_S" "$P_VERIFY_CPU"); fi
			CI_ALL[$tool]=$P_CI_ALL
		done
		# The repositories and inputs stay until the run ends (the work
		# directory goes then): deleting a tree of thousands of files
		# here would slow the file system under the next measurements
		# (with the discard mount option, markedly).

		local fmt='%-28s %22s %22s %22s %12s\n'
		# shellcheck disable=SC2059
		printf "$fmt" step "debflow (gz) s / MB" "debflow (gz,xz) s / MB" "reprepro s / MB" "reprepro/gz"
		# shellcheck disable=SC2059
		printf "$fmt" "ingest $n (empty suite)" "${res[0]} / ${res[1]}" "${res[4]} / ${res[5]}" "${res[8]} / ${res[9]}" "$(ratio "${res[8]}" "${res[0]}")"
		# shellcheck disable=SC2059
		printf "$fmt" "CI step, 1 more (median)" "${res[2]} / ${res[3]}" "${res[6]} / ${res[7]}" "${res[10]} / ${res[11]}" "$(ratio "${res[10]}" "${res[2]}")"
		# shellcheck disable=SC2059
		printf "$fmt" "  cpu s (user+sys), ingest" "${cpu[0]}" "${cpu[2]}" "${cpu[4]}" ""
		# shellcheck disable=SC2059
		printf "$fmt" "  cpu s (user+sys), CI step" "${cpu[1]}" "${cpu[3]}" "${cpu[5]}" ""
		echo "CI step runs (s): debflow gz: ${CI_ALL[gz]}; debflow gz,xz: ${CI_ALL[gzxz]}; reprepro: ${CI_ALL[reprepro]}"
		echo "debflow (gz,xz), medians of $CI_RUNS: snapshot create ${snap[0]} s ($P_SNAP_ALL), promote ${snap[1]} s ($P_PROMOTE_ALL)," \
			"snapshot pick ${snap[2]} s ($P_PICK_ALL)"
		echo "verify $n: ${ver[0]} s (cpu ${ver[1]} s) (debflow gz,xz after the CI steps, median of $CI_RUNS)"
		PUB_BY_N[$n]="${res[0]} ${res[1]} ${res[2]} ${res[3]} ${res[6]} ${res[10]} ${snap[*]} ${ver[*]}"
		echo "gz,xz (debflow's default) costs $(calc 'printf "%+.3f", b - a' a="${res[0]}" b="${res[4]}") s on the ingest" \
			"and $(calc 'printf "%+.3f", b - a' a="${res[2]}" b="${res[6]}") s on the CI step over gz alone."
		PUB_LAST=("$n" "${res[@]}")
	done

	local m
	for m in 10000 50000; do
		[[ -n ${PUB_BY_N[$m]:-} ]] || continue
		local v
		read -r -a v <<<"${PUB_BY_N[$m]}" # ingest s, MB, CI gz s, MB, CI gz,xz s, reprepro CI s, snapshot, promote, pick, verify s, cpu
		echo
		echo "Goals at N = $m (issue 15):"
		if ((m == 10000)); then
			goal "CI step (gz) at most 0.1 s" "$(calc 'print (s <= 0.1) ? "y" : "n"' s="${v[2]}")" "${v[2]} s"
			goal "CI step (gz) faster than reprepro" "$(calc 'print (s < r) ? "y" : "n"' s="${v[2]}" r="${v[5]}")" "${v[2]} s vs ${v[5]} s"
			goal "CI step (gz,xz) at most 0.15 s" "$(calc 'print (s <= 0.15) ? "y" : "n"' s="${v[4]}")" "${v[4]} s"
			goal "ingest at most 3 s" "$(calc 'print (s <= 3) ? "y" : "n"' s="${v[0]}")" "${v[0]} s"
			goal "ingest peak RSS at most 50 MB" "$(calc 'print (m <= 50) ? "y" : "n"' m="${v[1]}")" "${v[1]} MB"
			goal "snapshot pick at most 0.1 s" "$(calc 'print (s <= 0.1) ? "y" : "n"' s="${v[8]}")" "${v[8]} s"
			echo "  verify (no goal, reported): ${v[9]} s (cpu ${v[10]} s)"
		else
			goal "CI step (gz) at most 0.15 s" "$(calc 'print (s <= 0.15) ? "y" : "n"' s="${v[2]}")" "${v[2]} s"
			goal "CI step (gz,xz) at most 0.15 s" "$(calc 'print (s <= 0.15) ? "y" : "n"' s="${v[4]}")" "${v[4]} s"
			goal "ingest at most 15 s" "$(calc 'print (s <= 15) ? "y" : "n"' s="${v[0]}")" "${v[0]} s"
			goal "ingest peak RSS at most 80 MB" "$(calc 'print (m <= 80) ? "y" : "n"' m="${v[1]}")" "${v[1]} MB"
			goal "snapshot create at most 0.1 s" "$(calc 'print (s <= 0.1) ? "y" : "n"' s="${v[6]}")" "${v[6]} s"
			goal "promote at most 0.1 s" "$(calc 'print (s <= 0.1) ? "y" : "n"' s="${v[7]}")" "${v[7]} s"
		fi
	done

	local n=${PUB_LAST[0]} in_s=${PUB_LAST[1]} in_mb=${PUB_LAST[2]} ci_s=${PUB_LAST[3]} ci_mb=${PUB_LAST[4]} rr_ci=${PUB_LAST[11]}
	if ((n > 10000)); then
		return # the first goals were set for 10,000 packages at most; the issue-15 goals above cover larger N
	fi
	echo
	echo "Goals at N = $n (debflow with --index-compression gz):"
	goal "CI step under 0.1 s" "$(calc 'print (s < 0.1) ? "y" : "n"' s="$ci_s")" "$ci_s s"
	goal "CI step no slower than reprepro" "$(calc 'print (s <= r) ? "y" : "n"' s="$ci_s" r="$rr_ci")" "$ci_s s vs $rr_ci s"
	goal "full ingest under 3 s" "$(calc 'print (s < 3) ? "y" : "n"' s="$in_s")" "$in_s s"
	if [[ $in_mb == n/a ]]; then
		echo "  peak memory under 50 MB: not measured (/usr/bin/time missing: apt-get install time)"
	else
		local peak
		peak=$(max "$in_mb" "$ci_mb")
		goal "peak memory under 50 MB" "$(calc 'print (m < 50) ? "y" : "n"' m="$peak")" "$peak MB (ingest $in_mb, CI step $ci_mb)"
	fi
}

# ---------------------------------------------------------------------------

# s3_start: starts versitygw on a free port (S3_PID, S3_URL).
s3_start() {
	local bin=${VERSITYGW:-}
	[[ -n $bin ]] || bin=$(command -v versitygw || true)
	[[ -n $bin ]] || bin=$("$GO" env GOPATH)/bin/versitygw
	[[ -x $bin ]] || die "versitygw is missing: go install github.com/versity/versitygw/cmd/versitygw@v1.8.0"
	local port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$WORK/s3/data" "$WORK/s3/meta"
	ROOT_ACCESS_KEY=bench ROOT_SECRET_KEY=benchsecret "$bin" --port "127.0.0.1:$port" --keep-alive --quiet \
		posix --sidecar "$WORK/s3/meta" "$WORK/s3/data" >"$WORK/s3/gw.log" 2>&1 &
	S3_PID=$!
	S3_URL=http://127.0.0.1:$port
	local i
	for i in $(seq 100); do
		curl -s -o /dev/null "$S3_URL/" && break
		sleep 0.05
	done
	export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=benchsecret AWS_REGION=us-east-1 AWS_ENDPOINT_URL_S3=$S3_URL
	export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
}

section_s3() {
	header "4. S3: a CI step (publish 1 package into an N-package suite) on versitygw vs a directory, N = ${PUBLISH_N// /, }"
	need curl curl
	need python3 python3
	s3_start
	echo "server: versitygw $("${VERSITYGW:-versitygw}" --version 2>/dev/null | head -n 1 || true) (posix backend, keep-alive) on $S3_URL"
	echo "debflow publish -q --repo s3://bench-N --key K --index-compression gz DEB; requests and bytes sent counted by the client"
	echo "(DEBFLOW_S3_STATS=1: every attempt of every request). The CI step is the median of $CI_RUNS runs."
	local key bg ci n
	key=$(bench_key)
	bg=$(benchgen)
	ci=$WORK/ci-s3
	"$bg" debs -ci "$CI_RUNS" -out "$ci" >/dev/null
	local cis=("$ci"/*.deb) fmt='%-8s %14s %14s %16s %12s %14s %10s\n' rows=() maxreq=0 ci1000=
	for n in $PUBLISH_N; do
		local dir=$WORK/debs-s3-$n bucket=bench-$n
		"$bg" debs -n "$n" -out "$dir" >/dev/null
		mkdir -p "$WORK/s3/data/$bucket"
		curl -s -o /dev/null -X PUT --aws-sigv4 "aws:amz:us-east-1:s3" --user bench:benchsecret "$S3_URL/$bucket" || true
		local files=("$dir"/*.deb) batch at ingest=0
		batch=$(arg_batch "${files[@]}")
		for ((at = 0; at < n; at += batch)); do # in commands that fit ARG_MAX; the time is their sum
			timed "$WORK/s3-ingest.log" "$DEBFLOW" publish -q --repo "s3://$bucket" --key "$key" --index-compression gz "${files[@]:at:batch}"
			ingest=$(calc 'printf "%.3f", a + b' a="$ingest" b="$T_S")
		done
		local ts=() reqs=() sent=() dts=() deb
		for deb in "${cis[@]}"; do
			DEBFLOW_S3_STATS=1 timed "$WORK/s3-ci.log" "$DEBFLOW" publish -q --repo "s3://$bucket" --key "$key" --index-compression gz "$deb"
			ts+=("$T_S")
			reqs+=("$(grep -o '[0-9]* requests' "$WORK/s3-ci.log" | cut -d' ' -f1)")
			sent+=("$(grep -o '[0-9]* bytes sent' "$WORK/s3-ci.log" | cut -d' ' -f1)")
		done
		"$DEBFLOW" verify -q --repo "s3://$bucket" --key "$key" >"$WORK/verify.log" 2>&1 || die "verify fails on s3://$bucket: $(cat "$WORK/verify.log")"
		# The same step on a directory.
		local r=$WORK/repo-s3cmp-$n
		for ((at = 0; at < n; at += batch)); do
			"$DEBFLOW" publish -q --repo "$r" --key "$key" --index-compression gz "${files[@]:at:batch}" >/dev/null 2>&1
		done
		for deb in "${cis[@]}"; do
			sync
			timed "$WORK/dir-ci.log" "$DEBFLOW" publish -q --repo "$r" --key "$key" --index-compression gz "$deb"
			dts+=("$T_S")
		done
		rm -rf "$r" "$dir" "$WORK/s3/data/$bucket"
		local med req
		med=$(median "${ts[@]}")
		req=$(max "${reqs[@]}")
		maxreq=$(max "$maxreq" "$req")
		[[ $n == 1000 ]] && ci1000=$med
		rows+=("$n|$ingest|$med|$(median "${dts[@]}")|$req|$(median "${sent[@]}")|$(ratio "$med" "$(median "${dts[@]}")")")
	done
	kill "$S3_PID" 2>/dev/null || true
	wait "$S3_PID" 2>/dev/null || true
	# shellcheck disable=SC2059
	printf "$fmt" N "S3 ingest s" "S3 CI step s" "dir CI step s" "requests" "bytes sent" "S3/dir"
	local row
	for row in "${rows[@]}"; do
		IFS='|' read -r -a f <<<"$row"
		# shellcheck disable=SC2059
		printf "$fmt" "${f[@]}"
	done
	echo
	echo "Goals:"
	if [[ -n $ci1000 ]]; then
		goal "CI step at N = 1000 under 0.5 s on loopback" "$(calc 'print (s <= 0.5) ? "y" : "n"' s="$ci1000")" "$ci1000 s"
	fi
	goal "at most 25 requests per CI step, whatever N" "$(calc 'print (r <= 25) ? "y" : "n"' r="$maxreq")" "at most $maxreq"
}

# tool_version CMD ARGS...: the first version number CMD prints, or "missing".
tool_version() {
	local out
	if ! out=$("$@" 2>&1); then
		echo missing
		return
	fi
	grep -o -m 1 '[0-9][0-9]*\.[0-9][0-9.]*' <<<"$out" | head -n 1
}

goal() {
	if [[ $2 == y ]]; then echo "  $1: MET ($3)"; else echo "  $1: NOT MET ($3)"; fi
}

# ---------------------------------------------------------------------------

main() {
	local want=() s
	for s in "$@"; do
		case $s in
		all) want+=("${SECTIONS[@]}") ;;
		-h | --help) usage ;;
		*)
			declare -F "section_$s" >/dev/null || usage
			want+=("$s")
			;;
		esac
	done
	((${#want[@]})) || want=("${SECTIONS[@]}")

	[[ -x $DEBFLOW ]] || die "$DEBFLOW is missing: run make build (or make bench)"
	mkdir -p "$BENCH_DIR"
	WORK=$(mktemp -d "$BENCH_DIR/run.XXXXXX")
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	local t0
	t0=$(now)
	header "debflow benchmarks ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo "debflow:  $("$DEBFLOW" --version 2>/dev/null || echo "$DEBFLOW"), $("$GO" version 2>/dev/null | cut -d' ' -f3-)"
	echo "machine:  $(nproc) cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.1f GB", $2 / 1e6 }' /proc/meminfo) RAM, $(uname -sr)"
	echo "tools:    dpkg-deb $(tool_version dpkg-deb --version), reprepro $(tool_version reprepro --version), gpg $(tool_version gpg --version)"
	if [[ -n $TIME_BIN ]]; then
		echo "timing:   wall time from bash's clock (ms), peak RSS of the largest process from /usr/bin/time -f '%e %M' (MB = 10^6 bytes)"
	else
		echo "timing:   /usr/bin/time is missing (apt-get install time): wall time only, from bash's time (TIMEFORMAT=%3R); no peak memory"
	fi
	local load
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo "load:     $load (1 min) at the start$(calc 'if (l > 0.5) printf ": other processes are using the CPU, timings will be noisy"' l="$load")"
	echo "work dir: $WORK"

	for s in "${want[@]}"; do
		"section_$s"
	done

	echo
	echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg); make bench took $(calc 'printf "%.0f", b - a' a="$t0" b="$(now)") s"
	if ((${#FAILED[@]})); then
		echo "FAILED sections: ${FAILED[*]}"
		exit 1
	fi
}

main "$@"
