#!/usr/bin/env bash
# Times a whole-tree kwarden scan of Linux 6.1 in both modes:
#   unprepared  - the tree as unpacked (generated headers synthesized in memory)
#   prepared    - a copy after `make defconfig && make prepare`
# and prints wall time, files considered/parsed, parse-error rate and findings.
#
# Usage: bench/scan-linux.sh [--with-coccinelle] [--jobs N] [--arch ARCH] [--only unprepared|prepared|slice]
#                            (--only slice: no main scan, only the --slice part side by side)
#                            (--with-coccinelle: also time Coccinelle with bench/cocci/*.cocci, one
#                             semantic patch per rule, over the same part of the tree, and print ratios)
#                            [--rules LIST|all]   (default: subtract-loop-zero-divisor, the rule the
#                                                  5-minute target is set for; `all` runs every rule)
#                            [--under PATH]       (scan only this part of the tree, e.g. drivers/net;
#                                                  the findings are listed by function after the figures)
#                            [--warm-rescan]      (the unprepared scan starts from an empty result cache
#                                                  instead of none; then one file is changed and the
#                                                  scan repeated with that cache, as a user's next run)
#                            [--slice PATH]       (after the main scan, also scan this part of the tree
#                                                  and run Coccinelle's patches over it, one after the
#                                                  other, and print the ratio: e.g. the whole tree with
#                                                  `--slice drivers/net/ethernet/intel`)
# Env:   KWARDEN_BENCH_DIR   where trees are unpacked and results written (default /tmp/kwarden-bench)
#        KWARDEN_SCRATCH     swift build scratch path (default .build in the repo)
# Needs root only when packages are missing (apt-get install linux-source-6.1 and build deps).
set -euo pipefail

with_cocci=0
jobs=$(nproc)
arch=""
only=""
rules=subtract-loop-zero-divisor
under=""
slice=""
warm=0
while [ $# -gt 0 ]; do
    case "$1" in
        --with-coccinelle) with_cocci=1; shift ;;
        --jobs) jobs="$2"; shift 2 ;;
        --arch) arch="$2"; shift 2 ;;
        --only) only="$2"; shift 2 ;;
        --rules) rules="$2"; shift 2 ;;
        --under) under="${2%/}"; shift 2 ;;
        --slice) slice="${2%/}"; shift 2 ;;
        --warm-rescan) warm=1; shift ;;
        -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${KWARDEN_BENCH_DIR:-/tmp/kwarden-bench}
scratch=${KWARDEN_SCRATCH:-$repo/.build}
tarball=/usr/src/linux-source-6.1.tar.xz
mkdir -p "$work"

log() { printf '==> %s\n' "$*" >&2; }

# --- packages --------------------------------------------------------------
missing=()
[ -f "$tarball" ] || missing+=(linux-source-6.1)
for tool in flex:flex bison:bison bc:bc make:make gcc:gcc python3:python3 xz:xz-utils; do
    command -v "${tool%%:*}" >/dev/null 2>&1 || missing+=("${tool#*:}")
done
[ -f /usr/include/libelf.h ] || missing+=(libelf-dev)
[ -f /usr/include/openssl/ssl.h ] || missing+=(libssl-dev)
if { [ "$with_cocci" = 1 ] || [ -n "$slice" ]; } && ! command -v spatch >/dev/null 2>&1; then missing+=(coccinelle); fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "missing packages (${missing[*]}); run as root so apt-get can install them" >&2
        exit 2
    fi
    log "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# --- trees ------------------------------------------------------------------
tree=$work/linux-source-6.1
if [ ! -f "$tree/Makefile" ]; then
    log "unpacking $tarball into $work"
    rm -rf "$tree"
    tar -C "$work" -xf "$tarball"
fi
if [ -f "$tree/include/generated/autoconf.h" ]; then
    echo "$tree is prepared; the unprepared run needs a pristine tree (remove it to re-unpack)" >&2
    exit 2
fi

prepared=$work/linux-prepared
prepare_tree() {
    if [ -f "$prepared/include/generated/autoconf.h" ]; then return; fi
    log "copying the tree and running make defconfig prepare"
    rm -rf "$prepared"
    cp -a "$tree" "$prepared"
    local make_arch=()
    [ -n "$arch" ] && make_arch=("ARCH=$arch")
    (cd "$prepared" && make -s "${make_arch[@]}" defconfig && make -s -j"$jobs" "${make_arch[@]}" prepare) >"$work/prepare.log" 2>&1 \
        || { echo "make prepare failed; see $work/prepare.log" >&2; exit 1; }
}

# --- kwarden ----------------------------------------------------------------
log "building kwarden (release)"
(cd "$repo" && swift build -c release --scratch-path "$scratch" --product kwarden >"$work/build.log" 2>&1) \
    || { echo "swift build failed; see $work/build.log" >&2; exit 1; }
kwarden=$scratch/release/kwarden

now() { date +%s.%N; }

# Runs one scan and prints its figures; the JSON summary is the interface:
# files_considered, files_parsed, files_with_errors, files_failed, findings, seconds.
scan() {
    local mode=$1 dir=$2${3:-${under:+/$under}}
    local out=$work/$mode.json
    # Cold: no cache, or (--warm-rescan) an empty one that the rescan then uses.
    local cache_args=(--no-cache)
    if [ "$warm" = 1 ] && { [ "$mode" = unprepared ] || [ "$mode" = rescan ]; }; then cache_args=(--cache-dir "$work/cache"); fi
    [ -d "$dir" ] || { echo "no such directory: $dir" >&2; exit 2; }
    local arch_args=() rule_args=()
    [ -n "$arch" ] && arch_args=(--arch "$arch")
    [ "$rules" != all ] && rule_args=(--rules "$rules")
    log "scanning $dir ($mode, $jobs jobs, rules: $rules)"
    local start end status=0
    start=$(now)
    /usr/bin/time -f "%M" -o "$work/$mode.rss" \
        "$kwarden" scan "$dir" --format json --quiet "${cache_args[@]}" --jobs "$jobs" "${arch_args[@]}" "${rule_args[@]}" --output "$out" || status=$?
    end=$(now)
    # Exit 1 means findings; 2 means nothing could be scanned.
    if [ "$status" -gt 1 ]; then
        echo "kwarden scan failed with status $status" >&2
        exit 1
    fi
    python3 - "$mode" "$out" "$start" "$end" "$work/$mode.rss" <<'PY'
import json, sys
mode, path, start, end = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
rss_mib = int(open(sys.argv[5]).read().split()[-1]) / 1024
with open(path) as f:
    report = json.load(f)
s = report["summary"]
parsed = s.get("files_parsed", 0)
rate = 100.0 * s.get("files_with_errors", 0) / parsed if parsed else 0.0
print(f"{mode:<11} wall {end - start:8.1f} s  considered {s['files_considered']:6d}  parsed {parsed:6d}  "
      f"with errors {s['files_with_errors']:5d} ({rate:4.1f}%)  failed {s['files_failed']:4d}  "
      f"findings {s['findings']:4d}  (tool: {s.get('seconds', 0):.1f} s)  shared headers {s.get('files_with_shared_headers', 0)} files  "
      f"peak memory {rss_mib:.0f} MiB (largest process)")
with open(path.replace(".json", ".wall"), "w") as f:
    f.write(f"{end - start:.3f}\n")
PY
    if [ -n "$under" ] || [ -n "${3:-}" ]; then
        # A part of the tree is scanned to read its findings: list them, one line each.
        python3 - "$out" <<'PY'
import json, sys
with open(sys.argv[1]) as f:
    report = json.load(f)
for finding in sorted(report["findings"], key=lambda f: (f["file"], f["line"])):
    print(f"  {finding['file']}:{finding['line']} {finding.get('function') or ''}() [{finding['rule']}]")
PY
    fi
}

results=()
if [ -z "$only" ] || [ "$only" = unprepared ]; then
    [ "$warm" = 1 ] && rm -rf "$work/cache"
    scan unprepared "$tree" | tee "$work/unprepared.txt"
    results+=("$(head -n 1 "$work/unprepared.txt")")
    if [ "$warm" = 1 ]; then
        # A one-line change to one driver file, then the same scan with the cache: what a user
        # waits for after an edit. The line goes in near the top, so every line below it moves
        # and the file's summaries change (the rules judge again); it calls nothing, so the
        # call graph's chains are kept. The file is restored afterwards.
        changed=$tree/drivers/net/ethernet/intel/e1000e/netdev.c
        cp -p "$changed" "$work/netdev.c.orig"
        sed -i '1a /* kwarden bench: one changed line */' "$changed"
        scan rescan "$tree" | tee "$work/rescan.txt"
        cp -p "$work/netdev.c.orig" "$changed"
        results+=("$(head -n 1 "$work/rescan.txt") (warm: one file changed)")
    fi
fi
if [ -z "$only" ] || [ "$only" = prepared ]; then
    prepare_tree
    scan prepared "$prepared" | tee "$work/prepared.txt"
    results+=("$(head -n 1 "$work/prepared.txt")")
fi

# One semantic patch per rule (syntactic approximations of kwarden's patterns), over a part of
# the tree, one after the other, as a user would run them; appends the figures to `results` and
# the total to the file `$2`.
coccinelle() {
    local cocci_dir=$1 total_file=$2 cocci_total=0
    for patch in "$repo"/bench/cocci/*.cocci; do
        name=$(basename "$patch" .cocci)
        if [ -n "$rules" ] && [ "$rules" != all ] && ! echo ",$rules," | grep -q ",$name,"; then continue; fi
        log "running Coccinelle ($name.cocci) over $cocci_dir"
        start=$(now)
        spatch --sp-file "$patch" --dir "$cocci_dir" --jobs "$jobs" --no-includes \
            --very-quiet >"$work/coccinelle-$name.txt" 2>"$work/coccinelle-$name.err" || true
        end=$(now)
        seconds=$(python3 -c "print(f'{$end - $start:.1f}')")
        cocci_total=$(python3 -c "print(f'{$cocci_total + $end - $start:.1f}')")
        matches=$(grep -c ':[0-9]*$' "$work/coccinelle-$name.txt" || true)
        results+=("$(printf 'coccinelle  %-30s wall %8s s  matches %d' "$name" "$seconds" "$matches")")
    done
    results+=("$(printf 'coccinelle  all patches                    wall %8s s  (%s)' "$cocci_total" "${cocci_dir#"$tree"/}")")
    echo "$cocci_total" >"$total_file"
}

ratio() {
    python3 -c "print(f'{float(open(\"$1\").read()) / float(open(\"$2\").read()):.2f}')"
}

if [ "$with_cocci" = 1 ]; then
    coccinelle "$tree${under:+/$under}" "$work/coccinelle.total"
    for mode in unprepared prepared; do
        if [ -f "$work/$mode.wall" ]; then
            results+=("kwarden $mode / coccinelle wall-time ratio: $(ratio "$work/$mode.wall" "$work/coccinelle.total") (below 1: kwarden is faster)")
        fi
    done
fi

if [ -n "$slice" ]; then
    # The slice, side by side: kwarden (unprepared, all selected rules), then Coccinelle.
    scan slice "$tree" "/$slice" | tee "$work/slice.txt"
    results+=("$(head -n 1 "$work/slice.txt") ($slice)")
    coccinelle "$tree/$slice" "$work/coccinelle-slice.total"
    results+=("kwarden / coccinelle wall-time ratio on $slice: $(ratio "$work/slice.wall" "$work/coccinelle-slice.total") (below 1: kwarden is faster)")
fi

echo
echo "Linux 6.1 scan of ${under:-the whole tree}, rules: $rules, $jobs jobs on $(nproc) cores ($(uname -m)); results in $work"
printf '%s\n' "${results[@]}"
