#!/usr/bin/env bash
# Times `kwarden gate` on a ten-patch series over Linux 6.1 (the pre-merge CI case).
#
# Builds a git repository from the linux-source-6.1 tree (once), commits a series of ten patches
# touching a handful of driver files — one of them adds an unbounded subtract loop — and times
# the gate over the series: cold (--no-cache), again with the cache warm (a CI runner that keeps
# kwarden's cache between runs), and for a next push adding one patch (cache from the previous run).
# Files read from git objects are cached by content; entries parsed against an overlaid header are
# never reused.
#
# Usage: bench/gate-linux.sh [--jobs N]
# Env:   KWARDEN_BENCH_DIR (default /tmp/kwarden-bench), KWARDEN_SCRATCH (default .build in the repo)
set -euo pipefail

jobs=$(nproc)
while [ $# -gt 0 ]; do
    case "$1" in
        --jobs) jobs="$2"; shift 2 ;;
        -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
work=${KWARDEN_BENCH_DIR:-/tmp/kwarden-bench}
scratch=${KWARDEN_SCRATCH:-$repo/.build}
tarball=/usr/src/linux-source-6.1.tar.xz
mkdir -p "$work"
log() { printf '==> %s\n' "$*" >&2; }

if [ ! -f "$tarball" ]; then
    [ "$(id -u)" = 0 ] || { echo "linux-source-6.1 is missing; run as root to install it" >&2; exit 2; }
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1 >/dev/null
fi
command -v git >/dev/null || { echo "git is needed to build the benchmark repository" >&2; exit 2; }

gitrepo=$work/linux-git
if [ ! -d "$gitrepo/.git" ]; then
    log "building a git repository of linux 6.1 in $gitrepo (once)"
    rm -rf "$gitrepo"
    mkdir -p "$gitrepo"
    tar -C "$gitrepo" --strip-components=1 -xf "$tarball"
    # Debian's source package ignores everything at the top level (`/*` in .gitignore): force.
    (cd "$gitrepo" && git init -q -b master && git add -A --force && \
        git -c user.name=bench -c user.email=bench@example.org commit -q -m "Linux 6.1" && git tag base)
fi

log "building kwarden (release)"
(cd "$repo" && swift build -c release --scratch-path "$scratch" --product kwarden >"$work/build.log" 2>&1) \
    || { echo "swift build failed; see $work/build.log" >&2; exit 1; }
kwarden=$scratch/release/kwarden

# The series: ten commits over five driver files; commit 6 adds a subtract loop on a queue count.
cd "$gitrepo"
git checkout -q -B series base
files=(drivers/net/ethernet/intel/igb/igb_main.c drivers/net/ethernet/intel/e1000e/netdev.c
       drivers/net/ethernet/realtek/r8169_main.c drivers/net/ethernet/broadcom/tg3.c
       drivers/net/ethernet/stmicro/stmmac/stmmac_main.c)
for n in $(seq 1 10); do
    file=${files[$(( (n - 1) % ${#files[@]} ))]}
    if [ "$n" = 6 ]; then
        cat >>"$file" <<'C'

static unsigned int bench_pick_ring(struct net_device *netdev, unsigned int hash)
{
	while (hash >= netdev->real_num_tx_queues)
		hash -= netdev->real_num_tx_queues;
	return hash;
}
C
    else
        printf '\n/* bench series: patch %d */\n' "$n" >>"$file"
    fi
    git -c user.name=bench -c user.email=bench@example.org commit -q -am "bench: patch $n"
done

now() { date +%s.%N; }
run() {
    local label=$1; shift
    local start end status=0
    start=$(now)
    "$kwarden" gate --repo "$gitrepo" --base base --head series --jobs "$jobs" --quiet "$@" >"$work/gate-$label.txt" || status=$?
    end=$(now)
    printf '%-12s wall %6.1f s  exit %d  %s\n' "$label" "$(python3 -c "print($end - $start)")" "$status" "$(tail -n 1 "$work/gate-$label.txt")"
}
echo
echo "kwarden gate over a 10-patch series touching ${#files[@]} driver files of Linux 6.1, $jobs jobs on $(nproc) cores"
run cold --no-cache
# A CI runner that keeps kwarden's cache between pushes: the same series again, cache warm.
cache=$work/gate-cache
rm -rf "$cache"
run fill --cache-dir "$cache" >/dev/null
run warm --cache-dir "$cache"
# The next push: one more patch on top, the cache holding the previous push's results.
printf '\n/* bench series: patch 11 */\n' >>"${files[1]}"
git -c user.name=bench -c user.email=bench@example.org commit -q -am "bench: patch 11"
run next-push --cache-dir "$cache"
