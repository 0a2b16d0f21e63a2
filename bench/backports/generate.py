#!/usr/bin/env python3
"""Generate an upstream/vendor repository pair for timing `kwarden backports`.

Shape (defaults): the vendor branch has --commits commits in all, of which --vendor-only were made after it forked
from upstream; upstream has as many commits after the fork. Among the upstream commits after the fork, --fixes carry
a `Fixes:` tag (most name a commit the vendor shipped, some name a later upstream commit the vendor never got, some
name another fix: fixes of fixes). The vendor picked part of the fixes with a stable trailer, part silently (same
patch, other message: found by patch-id), and reverted some picks later. Both histories contain merges.

Everything goes through `git fast-import` (the benchmark may use git; kwarden itself never does). Commits are
deterministic: the same arguments give the same ids.

    python3 generate.py OUT_DIR [--commits 100000] [--vendor-only 20000] [--fixes 1000]

Writes OUT_DIR/upstream.git (bare), OUT_DIR/vendor (the audited repository, branch main) and OUT_DIR/info.txt
(the fork commit and counts, read by run.sh).
"""
import argparse
import os
import random
import subprocess
import sys

DIRS, FILES_PER_DIR, LINES = 100, 20, 24
NOISE_LINES = range(0, 10)     # lines noise commits change
FIX_SLOTS = (14, 21)           # lines fixes change; their 3-line contexts never overlap noise or each other


def path_of(index):
    return "drivers/d%03d/f%02d.c" % (index // FILES_PER_DIR, index % FILES_PER_DIR)


class Stream:
    """Writes one fast-import stream and tracks file contents so each commit carries its full new file."""

    def __init__(self, files, clock, author):
        self.parts, self.files, self.clock, self.author = [], files, clock, author
        self.mark = 0

    def data(self, text):
        raw = text.encode()
        self.parts.append(b"data %d\n" % len(raw) + raw + b"\n")

    def commit(self, ref, message, changes, parent=None, merge=None):
        """changes: {path: (line, text)}; parent/merge: ':mark' or a full id. Returns the mark."""
        self.mark += 1
        self.clock += 60
        self.parts.append(("commit %s\nmark :%d\n" % (ref, self.mark)).encode())
        sig = "%s %d +0000\n" % (self.author, self.clock)
        self.parts.append(("author " + sig + "committer " + sig).encode())
        self.data(message)
        if parent:
            self.parts.append(("from %s\n" % parent).encode())
        if merge:
            self.parts.append(("merge %s\n" % merge).encode())
        for path, (line, text) in changes.items():
            lines = self.files[path]
            lines[line] = text
            self.parts.append(("M 100644 inline %s\n" % path).encode())
            self.data("\n".join(lines) + "\n")
        return ":%d" % self.mark

    def full_tree(self, ref, message):
        """A root commit holding every file."""
        self.mark += 1
        self.clock += 60
        self.parts.append(("commit %s\nmark :%d\n" % (ref, self.mark)).encode())
        sig = "%s %d +0000\n" % (self.author, self.clock)
        self.parts.append(("author " + sig + "committer " + sig).encode())
        self.data(message)
        for path, lines in sorted(self.files.items()):
            self.parts.append(("M 100644 inline %s\n" % path).encode())
            self.data("\n".join(lines) + "\n")
        return ":%d" % self.mark

    def run(self, git_dir):
        marks = os.path.join(git_dir, "kwarden-bench-marks")
        subprocess.run(["git", "--git-dir", git_dir, "fast-import", "--quiet", "--export-marks=" + marks],
                       input=b"".join(self.parts), check=True)
        ids = {}
        with open(marks) as handle:
            for line in handle:
                mark, sha = line.split()
                ids[mark] = sha
        os.remove(marks)
        return ids


def noise_change(rng, tag):
    index = rng.randrange(DIRS * FILES_PER_DIR)
    line = rng.choice(NOISE_LINES)
    return path_of(index), line, "\tnoise_%s();" % tag


def linear_history(stream, ref, count, rng, label, start_parent=None, merge_every=500, fixes_for=None):
    """`count` commits on `ref`: noise, a merged side branch every `merge_every`, and the fixes of `fixes_for`
    (a list of (slot, message) placed at evenly spread positions). Returns (marks in order, tip mark, fix marks)."""
    marks, fix_marks = [], []
    parent = start_parent
    fixes = list(fixes_for or [])
    fix_positions = set(rng.sample(range(count), len(fixes))) if fixes else set()
    made = 0
    while made < count:
        if made in fix_positions:
            (path, line, text), message = fixes.pop(0)
            mark = stream.commit(ref, message, {path: (line, text)}, parent=parent)
            fix_marks.append(mark)
        elif (merge_every and made % merge_every == merge_every - 1 and made + 4 < count
              and not fix_positions.intersection(range(made, made + 4))):
            # A side branch of two commits merged back.
            side_ref = "refs/heads/side-%s-%d" % (label, made)
            first_path, first_line, first_text = noise_change(rng, "%s_side_%d_a" % (label, made))
            side1 = stream.commit(side_ref, "%s: side work %d\n" % (label, made), {first_path: (first_line, first_text)},
                                  parent=parent or marks[-1])
            second_path, second_line, second_text = noise_change(rng, "%s_side_%d_b" % (label, made))
            side2 = stream.commit(side_ref, "%s: more side work %d\n" % (label, made),
                                  {second_path: (second_line, second_text)})
            main_path, main_line, main_text = noise_change(rng, "%s_main_%d" % (label, made))
            stream.commit(ref, "%s: mainline work %d\n" % (label, made), {main_path: (main_line, main_text)},
                          parent=parent)
            # The merge result carries both sides' files (the stream's file state already has them).
            mark = stream.commit(ref, "Merge branch 'side-%d'\n" % made,
                                 {first_path: (first_line, first_text), second_path: (second_line, second_text)},
                                 merge=side2)
            marks += [side1, side2]
            made += 3
        else:
            path, line, text = noise_change(rng, "%s_%d" % (label, made))
            mark = stream.commit(ref, "%s: change %d\n\nSigned-off-by: Dev <dev@example.org>\n" % (label, made),
                                 {path: (line, text)}, parent=parent)
        parent = None  # only the first commit of a run names its parent
        marks.append(mark)
        made += 1
    assert not fixes, "every fix must be placed"
    return marks, marks[-1], fix_marks


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--commits", type=int, default=100_000)
    parser.add_argument("--vendor-only", type=int, default=20_000)
    parser.add_argument("--fixes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.fixes > DIRS * FILES_PER_DIR * len(FIX_SLOTS) or args.fixes * 2 > args.vendor_only:
        sys.exit("too many fixes for the repository size")
    rng = random.Random(args.seed)
    os.makedirs(args.out, exist_ok=True)
    upstream_dir = os.path.join(args.out, "upstream.git")
    vendor_dir = os.path.join(args.out, "vendor")
    if os.path.exists(upstream_dir) or os.path.exists(vendor_dir):
        sys.exit("%s already holds a generated pair; remove it first" % args.out)
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", upstream_dir], check=True)

    files = {path_of(i): ["\tstatement_%d_%d();" % (i, n) for n in range(LINES)] for i in range(DIRS * FILES_PER_DIR)}
    base_count = args.commits - args.vendor_only
    post_count = args.vendor_only

    # 1. Shared history up to the fork.
    print("generating %d shared commits…" % base_count, flush=True)
    base = Stream(files, 1_500_000_000, "Upstream Dev <upstream@example.org>")
    root = base.full_tree("refs/heads/main", "Initial import\n")
    base_marks, base_tip, _ = linear_history(base, "refs/heads/main", base_count - 1, rng, "base", start_parent=root)
    base_ids = base.run(upstream_dir)
    fork = base_ids[base_tip]
    shipped_targets = [base_ids[m] for m in rng.sample(base_marks, min(len(base_marks), args.fixes))]
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", upstream_dir, vendor_dir], check=True)
    fork_files = {path: list(lines) for path, lines in files.items()}

    # 2. Upstream after the fork, in two runs so the second can name commits of the first.
    slots = [(path_of(i), slot) for i in range(DIRS * FILES_PER_DIR) for slot in FIX_SLOTS]
    rng.shuffle(slots)
    first_fixes = args.fixes * 2 // 5
    second_fixes = args.fixes - first_fixes
    up = Stream(files, base.clock, "Upstream Dev <upstream@example.org>")

    def fix_list(count, targets, label):
        chosen = []
        for n in range(count):
            path, line = slots.pop()
            target = targets[n % len(targets)]
            message = "%s: fix bug %d in %s\n\nFixes: %s (\"subject of %s\")\nSigned-off-by: Dev <dev@example.org>\n" % (
                label, n, path, target[:12], target[:12])
            chosen.append(((path, line, "\tfixed_%s_%d();" % (label, n)), message))
        return chosen

    print("generating %d upstream commits after the fork…" % post_count, flush=True)
    run1 = fix_list(first_fixes, shipped_targets, "net")
    marks1, tip1, fix_marks1 = linear_history(up, "refs/heads/main", post_count // 2, rng, "up1", start_parent=fork,
                                           fixes_for=run1)
    ids1 = up.run(upstream_dir)
    up.parts = []
    noise_after_fork = [ids1[m] for m in marks1 if m not in fix_marks1]
    fix_ids1 = [ids1[m] for m in fix_marks1]
    # Second run: most fixes name shipped commits, 10% name upstream-only commits (not needed), 5% name fixes.
    unshipped = max(1, second_fixes // 10)
    of_fixes = max(1, second_fixes // 20)
    run2 = (fix_list(second_fixes - unshipped - of_fixes, shipped_targets[first_fixes:] or shipped_targets, "mm")
            + fix_list(unshipped, noise_after_fork, "fs") + fix_list(of_fixes, fix_ids1, "net2"))
    rng.shuffle(run2)
    marks2, tip2, fix_marks2 = linear_history(up, "refs/heads/main", post_count - post_count // 2, rng, "up2",
                                              start_parent=ids1[tip1], fixes_for=run2)
    ids2 = up.run(upstream_dir)
    fix_ids = fix_ids1 + [ids2[m] for m in fix_marks2]
    fix_changes = {}
    for (change, _), fix_id in zip(run1, fix_ids1):
        fix_changes[fix_id] = change
    # run2 was shuffled before placing; recover each fix's change from its commit order.
    for (change, _), mark in zip(run2, fix_marks2):
        fix_changes[ids2[mark]] = change

    # 3. Vendor after the fork: trailer picks, silent picks, reverts of some picks, merges, noise.
    print("generating %d vendor commits after the fork…" % args.vendor_only, flush=True)
    vendor_files = fork_files
    vendor = Stream(vendor_files, base.clock + 30, "Vendor Dev <vendor@example.org>")
    picked = rng.sample(fix_ids, len(fix_ids) * 55 // 100)
    trailer_picks = picked[: len(picked) * 6 // 10]
    silent_picks = picked[len(picked) * 6 // 10:]
    picks = [((fix_changes[f]), "%s\n\ncommit %s upstream.\n\nSigned-off-by: Vendor Dev <vendor@example.org>\n" % (
        "backport of " + f[:12], f)) for f in trailer_picks]
    picks += [((fix_changes[f]), "vendor: quiet fix %s\n" % n) for n, f in enumerate(silent_picks)]
    rng.shuffle(picks)
    first_vendor = args.vendor_only // 2
    vmarks1, vtip1, pick_marks = linear_history(vendor, "refs/heads/main", first_vendor, rng, "vendor",
                                                start_parent=fork, fixes_for=picks)
    vids1 = vendor.run(os.path.join(vendor_dir, ".git"))
    vendor.parts = []
    pick_ids = [vids1[m] for m in pick_marks]
    reverted = rng.sample(list(zip(picks, pick_ids)), max(1, len(pick_ids) // 25))
    reverts = []
    for ((path, line, _), _), pick_id in reverted:
        reverts.append(((path, line, "\tstatement_%d_%d();" % (index_of(path), line)),
                        "Revert \"%s\"\n\nThis reverts commit %s.\n" % (pick_id[:12], pick_id)))
    vmarks2, vtip2, _ = linear_history(vendor, "refs/heads/main", args.vendor_only - first_vendor, rng, "vendor2",
                                       start_parent=vids1[vtip1], fixes_for=reverts)
    vendor.run(os.path.join(vendor_dir, ".git"))
    subprocess.run(["git", "-C", vendor_dir, "symbolic-ref", "HEAD", "refs/heads/main"], check=True)

    with open(os.path.join(args.out, "info.txt"), "w") as info:
        info.write("fork=%s\nfixes=%d\ntrailer_picks=%d\nsilent_picks=%d\nreverted=%d\nunshipped_targets=%d\n"
                   "fixes_of_fixes=%d\nvendor_commits=%d\n" % (
                       fork, len(fix_ids), len(trailer_picks), len(silent_picks), len(reverted), unshipped, of_fixes,
                       args.commits))
    print("done: %s" % args.out)


def index_of(path):
    directory, name = path.split("/")[1:]
    return int(directory[1:]) * FILES_PER_DIR + int(name[1:3])


if __name__ == "__main__":
    main()
