#!/bin/sh
# Times `kwarden backports` on a generated vendor/upstream pair (see generate.py) and prints absolute figures, then
# runs the stable-branch benchmark (see stable.py): verdicts of history and tree mode judged against git's own
# answer, times side by side with `git cherry`.
#
#   bench/backports/run.sh [DIR]        default DIR: /tmp/kwarden-backports-bench (generated on first use);
#                                       the stable pair goes to DIR-stable
#
# Environment: KWARDEN (the binary; default: a release build in .build-backports), COMMITS, VENDOR_ONLY, FIXES
# (sizes passed to generate.py; defaults 100000 / 20000 / 1000), STABLE_ARGS (passed to stable.py, e.g.
# "--base 30000 --upstream 20000 --stable 5000 --fixes 1500"), ONLY=stable to skip the first benchmark.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-/tmp/kwarden-backports-bench}
commits=${COMMITS:-100000}
vendor_only=${VENDOR_ONLY:-20000}
fixes=${FIXES:-1000}

if [ -z "${KWARDEN:-}" ]; then
    echo "building kwarden (release)…"
    (cd "$root" && swift build -c release --scratch-path .build-backports --product kwarden >/dev/null)
    KWARDEN="$root/.build-backports/release/kwarden"
fi

if [ "${ONLY:-}" = stable ]; then
    echo "uptime: $(uptime)"
    # shellcheck disable=SC2086
    exec python3 "$here/stable.py" "$dir-stable" --kwarden "$KWARDEN" ${STABLE_ARGS:-}
fi

if [ ! -f "$dir/info.txt" ]; then
    start=$(date +%s)
    python3 "$here/generate.py" "$dir" --commits "$commits" --vendor-only "$vendor_only" --fixes "$fixes"
    echo "generated in $(( $(date +%s) - start )) s"
fi
fork=$(sed -n 's/^fork=//p' "$dir/info.txt")
cat "$dir/info.txt"
echo "vendor branch: $(git -C "$dir/vendor" rev-list --count main) commits; upstream: $(git --git-dir "$dir/upstream.git" rev-list --count main) commits"

run() {
    label=$1; shift
    start=$(date +%s.%N)
    status=0
    "$KWARDEN" backports "$@" --format json --output "$dir/report-$label.json" || status=$?
    end=$(date +%s.%N)
    python3 - "$dir/report-$label.json" "$label" "$status" "$start" "$end" <<'PY'
import json, sys
path, label, status, start, end = sys.argv[1:]
report = json.load(open(path))
s = report["summary"]
hows = {}
for fix in report["fixes"]:
    if fix["status"] == "present":
        hows[fix["how"]] = hows.get(fix["how"], 0) + 1
follow = sum(len(f["fixes_of_fixes"]) for f in report["fixes"])
print("%-22s wall %6.2f s (engine %6.2f s), exit %s: %d fixes: %d present %s, %d missing (%d apply cleanly), "
      "%d partial, %d reverted, %d not needed, %d unknown; %d missing fixes of fixes" % (
          label, float(end) - float(start), s["seconds"], status, len(report["fixes"]), s["present"], hows,
          s["missing"], s.get("applies_cleanly", 0), s.get("partial", 0), s["reverted"], s["not_needed"], s["unknown"],
          follow))
PY
}

run range --repo "$dir/vendor" --upstream "$dir/upstream.git" --range "$fork..main"
run range-follow-ups --repo "$dir/vendor" --upstream "$dir/upstream.git" --range "$fork..main" --follow-ups

echo "uptime: $(uptime)"
# shellcheck disable=SC2086
python3 "$here/stable.py" "$dir-stable" --kwarden "$KWARDEN" ${STABLE_ARGS:-}
