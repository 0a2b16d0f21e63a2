#!/usr/bin/env python3
"""A stable-branch benchmark for `kwarden backports`, judged against git's own answer.

Generates one repository holding an upstream branch (`master`) and a stable branch (`stable`) forked from it, made the
way stable trees are made: fixes picked without -x (same message, same patch), picked with the stable trailer
(`commit <id> upstream.`), picked with only their code part (test hunks dropped), picked over vendor-changed
context, picks reverted later, upstream reverts backported (and the fixes of those reverts), `Fixes:` tags naming
commits of other trees (40-hex ids the repository does not have), `Fixes:` glued to the parenthesis or written
`Fixes: commit <id>`, fixes whose bug never reached the stable branch, fixes of fixes, and a fix that removes lines
up to the end of a file. Files are C-like, full of generic lines (`{`, `}`, `else`, `return 0;`).

Then computes git's own answer for every upstream fix with the git CLI alone (ancestry, trailers, `git patch-id
--stable` with context, without context and over the non-test files, subjects, `This reverts commit`), compares it
with kwarden's history mode and tree mode (on a `git archive` export of the stable branch) fix by fix, and prints
agreement and times side by side with `git cherry` answering the same question.

    python3 stable.py DIR [--kwarden PATH] [--base 8000] [--upstream 6000] [--stable 2000] [--fixes 600]

DIR/kernel is the repository, DIR/export the archive, DIR/fixes.txt the fixes list (`%h%x09%s`, CRLF line ends).
"""
import argparse
import json
import os
import random
import re
import resource
import shutil
import subprocess
import sys
import time

FILES, BLOCKS, TEST_LINES = 400, 20, 40


def code_path(i):
    return "drivers/d%02d/f%03d.c" % (i // 10, i)


def test_path(i):
    return "tools/testing/selftests/d%02d/f%03d_test.sh" % (i // 10, i)


def block(i, k):
    return ["static int fn_%d_%d(struct dev *d)" % (i, k), "{", "\tint ret = op_%d_%d_a(d);" % (i, k), "\tif (ret)",
            "\t\treturn ret;", "\telse", "\t\top_%d_%d_b(d);" % (i, k), "\treturn 0;", "}", ""]


class Tree:
    """File contents as blocks (code) or lines (tests); the last block of a code file is a legacy tail."""

    def __init__(self):
        self.code = {i: [block(i, k) for k in range(BLOCKS)] + [["/* legacy %d */" % i, "\tlegacy_%d_one();" % i,
                                                                  "\tlegacy_%d_two();" % i]] for i in range(FILES)}
        self.tests = {i: ["check_%d_%d" % (i, n) for n in range(TEST_LINES)] for i in range(FILES)}

    def copy(self):
        other = Tree.__new__(Tree)
        other.code = {i: [list(b) for b in blocks] for i, blocks in self.code.items()}
        other.tests = {i: list(lines) for i, lines in self.tests.items()}
        return other

    def text(self, path):
        kind, i = path_kind(path)
        if kind == "code":
            return "\n".join(line for b in self.code[i] for line in b) + "\n"
        return "\n".join(self.tests[i]) + "\n"


def path_kind(path):
    number = int(re.search(r"f(\d{3})", path).group(1))
    return ("test" if path.endswith(".sh") else "code"), number


class Importer:
    """One `git fast-import` process; commits are written as they are made, and their ids read back."""

    def __init__(self, git_dir):
        self.process = subprocess.Popen(["git", "--git-dir", git_dir, "fast-import", "--quiet", "--cat-blob-fd=1"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.mark, self.clock = 0, 1_600_000_000

    def write(self, data):
        self.process.stdin.write(data if isinstance(data, bytes) else data.encode())

    def commit(self, ref, message, tree, paths, parent=None, author="Dev <dev@example.org>"):
        self.mark += 1
        self.clock += 60
        raw = message.encode()
        self.write("commit %s\nmark :%d\nauthor %s %d +0000\ncommitter %s %d +0000\ndata %d\n" % (
            ref, self.mark, author, self.clock, author, self.clock, len(raw)))
        self.write(raw + b"\n")
        if parent:
            self.write("from %s\n" % parent)
        for path in sorted(paths):
            content = tree.text(path).encode()
            self.write("M 100644 inline %s\ndata %d\n" % (path, len(content)))
            self.write(content + b"\n")
        self.write("get-mark :%d\n" % self.mark)
        self.process.stdin.flush()
        return self.process.stdout.readline().decode().strip()

    def reset(self, ref, commit):
        self.write("reset %s\nfrom %s\n\n" % (ref, commit))

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def git(repo, *args, input=None):
    return subprocess.run(["git", "-C", repo] + list(args), input=input, stdout=subprocess.PIPE, check=True).stdout


def generate(out, args):
    rng = random.Random(args.seed)
    repo = os.path.join(out, "kernel")
    subprocess.run(["git", "init", "--quiet", "--initial-branch=master", repo], check=True)
    importer = Importer(os.path.join(repo, ".git"))
    tree = Tree()
    every = [code_path(i) for i in range(FILES)] + [test_path(i) for i in range(FILES)]
    root = importer.commit("refs/heads/master", "Linux-2.6.12-rc2\n\nInitial git repository build.\n", tree, every)
    truth = {}

    # Slots a fix can change: (file, block); the last block of each file is for end-of-file removals.
    slots = [(i, k) for i in range(FILES) for k in range(BLOCKS)]
    rng.shuffle(slots)
    n_fixes = args.fixes
    plans = []
    for n in range(n_fixes):
        kind = rng.random()
        plan = {"n": n, "slot": slots.pop(), "test": rng.random() < 0.35}
        if kind < 0.05:
            plan["kind"] = "eof"
            plan["slot"] = (plan["slot"][0], BLOCKS)
        elif kind < 0.09:
            plan["kind"] = "foreign"
        elif kind < 0.22:
            plan["kind"] = "unshipped"
        else:
            plan["kind"] = "shipped"
        plans.append(plan)
    eof_files = set()
    for plan in plans:
        if plan["kind"] == "eof":
            if plan["slot"][0] in eof_files:
                plan["kind"] = "shipped"
                plan["slot"] = slots.pop()
            eof_files.add(plan["slot"][0])

    def noise(label, n, state):
        # The `op_b` line, fourth from the end of a block whatever a fix did to its start.
        i, k = rng.randrange(FILES), rng.randrange(BLOCKS)
        state.code[i][k][-4] = "\t\top_%d_%d_b_%s_%d(d);" % (i, k, label, n)
        return [code_path(i)]

    def spelled(target, subject, n, full=False):
        cited = target if full else target[:12]
        roll = n % 40
        if roll == 7:
            return "Fixes: %s(\"%s\")" % (cited, subject)
        if roll == 19 or roll == 31:
            return "Fixes: commit %s (\"%s\")" % (cited, subject)
        return "Fixes: %s (\"%s\")" % (cited, subject)

    # 1. Shared history: noise, and the bugs stable shipped.
    print("shared history: %d commits" % args.base, flush=True)
    shipped = [p for p in plans if p["kind"] == "shipped"]
    bug_positions = dict(zip(rng.sample(range(1, args.base), len(shipped)), shipped))
    tip = root
    for n in range(1, args.base):
        if n in bug_positions:
            plan = bug_positions[n]
            i, k = plan["slot"]
            tree.code[i][k][2] = "\tint ret = op_%d_%d_a(d, BUG);" % (i, k)
            plan["bug_subject"] = "d%02d: use the fast path in fn_%d_%d" % (i // 10, i, k)
            plan["bug"] = tip = importer.commit("refs/heads/master", plan["bug_subject"] + "\n", tree, [code_path(i)])
        else:
            tip = importer.commit("refs/heads/master", "base: change %d\n" % n, tree, noise("base", n, tree))
    fork, fork_mark = tip, ":%d" % importer.mark
    fork_tree = tree.copy()

    # 2. Upstream after the fork: unshipped bugs, fixes, fixes of fixes, reverts and the fixes of reverts.
    print("upstream after the fork: %d commits, %d fixes" % (args.upstream, n_fixes), flush=True)
    events = []
    for plan in plans:
        if plan["kind"] == "unshipped":
            events.append(("bug", plan))
        events.append(("fix", plan))
    rng.shuffle(events)
    # A bug comes before its fix.
    order, placed = [], set()
    for kind, plan in events:
        if kind == "fix" and plan["kind"] == "unshipped" and ("bug", plan["n"]) not in placed:
            order.append(("bug", plan))
            placed.add(("bug", plan["n"]))
        if (kind, plan["n"]) not in placed:
            order.append((kind, plan))
            placed.add((kind, plan["n"]))
    followups = []
    fixes = []
    positions = set(rng.sample(range(args.upstream), min(args.upstream, len(order) * 2)))
    queue = list(order)
    for n in range(args.upstream):
        if n in positions and (queue or followups):
            kind, plan = queue.pop(0) if queue else followups.pop(0)
            i, k = plan["slot"]
            paths = [code_path(i)]
            if kind == "bug":
                tree.code[i][k][2] = "\tint ret = op_%d_%d_a(d, BUG);" % (i, k)
                plan["bug_subject"] = "d%02d: use the fast path in fn_%d_%d" % (i // 10, i, k)
                plan["bug"] = tip = importer.commit("refs/heads/master", plan["bug_subject"] + "\n", tree, paths)
                continue
            if kind == "fix":
                subject = "d%02d: fix fn_%d_%d error handling" % (i // 10, i, k)
                if plan["kind"] == "eof":
                    target, target_subject = root, "Linux-2.6.12-rc2"
                    subject = "d%02d: drop the legacy tail of f%03d.c" % (i // 10, i)
                elif plan["kind"] == "foreign":
                    target = "%040x" % rng.getrandbits(160)
                    target_subject = "d%02d: a change of another tree" % (i // 10)
                else:
                    target, target_subject = plan["bug"], plan["bug_subject"]
                if plan["test"]:
                    paths.append(test_path(i))
                apply_change(tree, kind, plan, paths)
                message = "%s\n\nThe error path was wrong.\n\n%s\nSigned-off-by: Dev <dev@example.org>\n" % (
                    subject, spelled(target, target_subject, plan["n"],
                                     full=plan["kind"] == "foreign" and plan["n"] % 2 == 0))
                plan["fix"] = tip = importer.commit("refs/heads/master", message, tree, paths)
                plan["subject"], plan["message"], plan["paths"] = subject, message, paths
                fixes.append(("fix", plan))
                if plan["kind"] != "eof":
                    roll = rng.random()
                    if roll < 0.05:
                        followups.append(("fix-of-fix", plan))
                    elif roll < 0.08:
                        followups.append(("revert", plan))
                continue
            # A fix of a fix, a revert of a fix, a fix of a revert: each names the commit it follows.
            if kind == "revert":
                if plan["test"]:
                    paths.append(test_path(i))
                subject = "Revert \"%s\"" % plan["subject"]
                message = "%s\n\nThis reverts commit %s.\n\nIt broke suspend.\n\n%s\n" % (
                    subject, plan["fix"], spelled(plan["fix"], plan["subject"], 0))
            else:
                subject = ("d%02d: also check priv in fn_%d_%d" if kind == "fix-of-fix"
                           else "d%02d: fix fn_%d_%d again, safely") % (i // 10, i, k)
                message = "%s\n\n%s\n" % (subject, spelled(plan["fix"], plan["subject"], 0))
            apply_change(tree, kind, plan, paths)
            follow = {"kind": kind, "of": plan, "slot": plan["slot"], "subject": subject, "message": message,
                      "paths": paths}
            follow["fix"] = tip = importer.commit("refs/heads/master", message, tree, paths)
            plan["revert" if kind == "revert" else "follow"] = follow
            fixes.append((kind, follow))
            if kind == "revert":
                followups.append(("fix-of-revert", follow))
            continue
        tip = importer.commit("refs/heads/master", "up: change %d\n" % n, tree, noise("up", n, tree))
    assert not queue, "raise --upstream: %d events left" % len(queue)

    # 3. The stable branch: noise, and picks of what upstream fixed, in upstream order, the way stable picks.
    print("stable branch: %d commits" % args.stable, flush=True)
    stable = fork_tree
    picks = []
    for kind, plan in fixes:
        base_plan = plan if kind == "fix" else plan["of"]
        if kind == "fix" and plan["kind"] in ("unshipped",):
            continue  # its bug is not there: nothing to fix
        if kind == "fix" and rng.random() < 0.45:
            continue
        if kind in ("fix-of-fix", "revert") and "picked" not in base_plan:
            continue
        if kind == "fix-of-fix" and rng.random() < 0.5:
            continue
        if kind == "fix-of-revert" and ("picked" not in base_plan or rng.random() < 0.5):
            continue
        plan["picked"] = True
        picks.append((kind, plan))
    positions = sorted(rng.sample(range(args.stable), min(args.stable, len(picks) * 2)))
    pick_at = dict(zip(positions[::2], picks))
    importer.reset("refs/heads/stable", fork_mark)
    tip = fork
    vendor = "Stable Dev <stable@example.org>"
    reverted_later = []
    for n in range(args.stable):
        if n in pick_at:
            kind, plan = pick_at[n]
            i, k = plan["slot"]
            style = rng.random()
            message, paths = plan["message"], list(plan["paths"])
            if kind == "fix" and plan["kind"] != "eof" and style < 0.06:
                # Over context the stable branch changed: the patch-id with context differs, without does not.
                stable.code[i][k][4] = "\t\treturn ret; /* stable */"
                tip = importer.commit("refs/heads/stable", "d%02d: stable-only tweak %d\n" % (i // 10, n), stable,
                                      [code_path(i)], author=vendor)
                plan["style"] = "context"
            elif style < 0.40:
                lines = message.split("\n", 2)
                message = "%s\n\ncommit %s upstream.\n\n%s" % (lines[0], plan["fix"], lines[2])
                plan["style"] = "trailer"
            elif plan.get("test") and kind == "fix" and style < 0.60:
                paths = [code_path(i)]
                plan["style"] = "code-only"
            else:
                plan["style"] = "silent"
            apply_change(stable, kind, plan, paths)
            plan["pick"] = tip = importer.commit("refs/heads/stable", message, stable, paths,
                                                 author=vendor)
            if kind == "fix" and rng.random() < 0.04:
                reverted_later.append(plan)
            continue
        if reverted_later and rng.random() < 0.1:
            plan = reverted_later.pop(0)
            if "revert" in plan and plan["revert"].get("picked"):
                continue
            i, k = plan["slot"]
            undo_change(stable, plan)
            message = "Revert \"%s\"\n\nThis reverts commit %s.\n\nIt breaks the vendor board.\n" % (
                plan["subject"], plan["pick"])
            plan["stable_revert"] = tip = importer.commit("refs/heads/stable", message, stable, plan_paths(plan),
                                                          author=vendor)
            continue
        tip = importer.commit("refs/heads/stable", "stable: change %d\n" % n, stable, noise("stable", n, stable),
                              author=vendor)
    importer.close()
    git(repo, "symbolic-ref", "HEAD", "refs/heads/stable")

    # The planted answer, for the record (the comparison uses git's).
    for kind, plan in fixes:
        truth[plan["fix"]] = planted(kind, plan)
    with open(os.path.join(out, "planted.json"), "w") as handle:
        json.dump({"fork": fork, "truth": truth}, handle)
    # The fixes list as people paste it: `git log --format=%h%x09%s`, with CRLF line ends.
    listing = git(repo, "log", "--reverse", "--format=%h%x09%s", "--grep=^Fixes:", "%s..master" % fork).decode()
    with open(os.path.join(out, "fixes.txt"), "wb") as handle:
        handle.write(listing.replace("\n", "\r\n").encode())
    with open(os.path.join(out, "info.txt"), "w") as handle:
        handle.write("fork=%s\n" % fork)


def plan_paths(plan):
    return plan["paths"] if plan.get("style") != "code-only" else plan["paths"][:1]


def apply_change(tree, kind, plan, paths):
    i, k = plan["slot"]
    if kind == "fix" and plan["kind"] == "eof":
        tree.code[i][BLOCKS] = ["/* legacy %d */" % i]
    elif kind == "fix":
        tree.code[i][k][2:3] = ["\tif (!d)", "\t\treturn -EINVAL;", "\tint ret = op_%d_%d_a(d, 0);" % (i, k)]
    elif kind == "fix-of-fix":
        tree.code[i][k][2] = "\tif (!d || !d->priv)"
    elif kind == "revert":
        tree.code[i][k][2:5] = ["\tint ret = op_%d_%d_a(d, BUG);" % (i, k)]
    elif kind == "fix-of-revert":
        tree.code[i][k][2] = "\tint ret = op_%d_%d_a(d, SAFE);" % (i, k)
    if test_path(i) in paths:
        if kind == "fix":
            tree.tests[i][k] = "check_%d_%d_fixed" % (i, k)
        elif kind == "revert":
            tree.tests[i][k] = "check_%d_%d" % (i, k)


def undo_change(tree, plan):
    i, k = plan["slot"]
    if plan["kind"] == "eof":
        tree.code[i][BLOCKS] = ["/* legacy %d */" % i, "\tlegacy_%d_one();" % i, "\tlegacy_%d_two();" % i]
    else:
        tree.code[i][k][2:5] = ["\tint ret = op_%d_%d_a(d, BUG);" % (i, k)] if plan["kind"] != "foreign" \
            else ["\tint ret = op_%d_%d_a(d);" % (i, k)]
    if plan.get("style") != "code-only" and plan.get("test"):
        tree.tests[i][k] = "check_%d_%d" % (i, k)


def planted(kind, plan):
    if plan.get("picked"):
        if "stable_revert" in plan:
            return "reverted"
        if kind == "fix" and plan.get("revert", {}).get("picked"):
            return "reverted"
        return "present"
    if kind == "fix" and plan["kind"] == "unshipped":
        return "not-needed"
    if kind in ("fix-of-fix", "revert", "fix-of-revert"):
        base = plan["of"]
        if not base.get("picked") or "stable_revert" in base:
            return "not-needed"
        if kind == "fix-of-revert" and not base.get("picked"):
            return "not-needed"
    return "missing"


# ---------------------------------------------------------------------------------------------------------------
# git's own answer

FIXES = re.compile(r"^\s*fixes:\s*(?:commit\s+)?([0-9a-f]{4,40})(?![0-9a-z])", re.I | re.M)
TRAILER = re.compile(r"^\s*(?:commit ([0-9a-f]{12,40}) upstream\.?|\[ upstream commit ([0-9a-f]{12,40}) \]|"
                     r"\(cherry picked from commit ([0-9a-f]{12,40})\))\s*$", re.I | re.M)
REVERTS = re.compile(r"^\s*this reverts commit ([0-9a-f]{7,40})", re.I | re.M)


def commits(repo, spec):
    """(id, subject, message) of each commit in spec, newest first."""
    raw = git(repo, "log", "--format=%H%x00%s%x00%B%x01", spec).decode()
    return [tuple(entry.strip("\n").split("\0", 2)) for entry in raw.split("\x01") if entry.strip()]


def patch_ids(repo, spec, *extra):
    out = git(repo, "-c", "diff.renames=false", "log", "-p", "--no-merges", *extra, spec, input=None)
    ids = subprocess.run(["git", "patch-id", "--stable"], input=out, stdout=subprocess.PIPE, check=True).stdout.decode()
    result = {}
    for line in ids.splitlines():
        patch, commit = line.split()
        result[commit] = patch
    return result


def hunk_headings(repo, spec):
    """commit → sorted function names of its zero-context hunk headers."""
    out = git(repo, "-c", "diff.renames=false", "log", "-p", "-U0", "--no-merges", "--format=commit %H", spec).decode(
        errors="replace")
    result, current = {}, None
    for line in out.split("\n"):
        if line.startswith("commit "):
            current = line.split()[1]
            result[current] = []
        elif line.startswith("@@ ") and current:
            result[current].append(line.split("@@", 2)[2].strip())
    return {commit: tuple(sorted(names)) for commit, names in result.items()}


def git_answer(repo, fork):
    """Every upstream fix since the fork: present (how), reverted, not-needed or missing, from git alone."""
    upstream = commits(repo, "%s..master" % fork)
    stable = commits(repo, "%s..stable" % fork)
    ancestors = set(git(repo, "rev-list", "stable").decode().split())
    full = lambda spec: patch_ids(repo, spec)
    loose = lambda spec: patch_ids(repo, spec, "-U0")
    code = lambda spec: patch_ids(repo, spec, "--", ".", ":(exclude)tools/testing")
    by_patch = []
    for name, get in (("patch-id", full), ("patch-id-nocontext", loose), ("patch-id-code", code)):
        stable_by_patch = {}
        for commit, patch in get("%s..stable" % fork).items():
            stable_by_patch.setdefault(patch, []).append(commit)
        by_patch.append((name, stable_by_patch, get("%s..master" % fork)))
    # Without context, the same one-line change in two functions has one patch-id: the hunk headers' function
    # names (which `git patch-id` leaves out) must agree too.
    headings = hunk_headings(repo, "%s..stable" % fork)
    headings.update(hunk_headings(repo, "%s..master" % fork))
    cited, reverts, subjects = {}, {}, {}
    resolve_cache = {}

    def resolve(hex_id):
        if hex_id not in resolve_cache:
            found = subprocess.run(["git", "-C", repo, "rev-parse", "-q", "--verify", hex_id + "^{commit}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            resolve_cache[hex_id] = found.stdout.decode().strip() if found.returncode == 0 else None
        return resolve_cache[hex_id]

    for commit, subject, message in stable:
        for match in TRAILER.finditer(message):
            target = resolve(next(group for group in match.groups() if group))
            if target:
                cited.setdefault(target, []).append(commit)
        for match in REVERTS.finditer(message):
            target = resolve(match.group(1))
            if target:
                reverts.setdefault(target, []).append(commit)
        subjects.setdefault(subject, []).append(commit)

    def carriers(commit, subject):
        if commit in ancestors:
            return "ancestor", [commit]
        if commit in cited:
            return "trailer", cited[commit]
        for name, stable_by_patch, upstream_ids in by_patch:
            patch = upstream_ids.get(commit)
            found = [c for c in stable_by_patch.get(patch, [])
                     if name != "patch-id-nocontext" or headings.get(c) == headings.get(commit)]
            if patch and found:
                return name, found
        if subject in subjects:
            return "subject", subjects[subject]
        return None, []

    def standing(commit, named=None, depth=0):
        """Reverts of `commit` (and of the upstream commit it carries, `named`) not themselves reverted."""
        found = reverts.get(commit, []) + (reverts.get(named, []) if named and named != commit else [])
        return [r for r in found if depth > 4 or not standing(r, None, depth + 1)]

    info = {commit: (subject, message) for commit, subject, message in upstream}
    verdicts = {}

    def verdict(commit):
        if commit not in verdicts:
            subject = info[commit][0] if commit in info else git(repo, "log", "-1", "--format=%s", commit).decode().strip()
            how, found = carriers(commit, subject)
            if not found:
                verdicts[commit] = ("absent", None)
            elif all(standing(c, commit) for c in found):
                verdicts[commit] = ("reverted", how)
            else:
                verdicts[commit] = ("present", how)
        return verdicts[commit]

    answer = {}
    for commit, subject, message in upstream:
        tags = FIXES.findall(message)
        if not tags:
            continue
        status, how = verdict(commit)
        if status == "absent":
            shipped = []
            for tag in tags:
                target = resolve(tag)
                shipped.append(True if target is None else verdict(target)[0] == "present")
            status = "not-needed" if not any(shipped) else "missing"
        answer[commit] = (status, how)
    return answer


# ---------------------------------------------------------------------------------------------------------------
# Runs

def timed(command, **kwargs):
    """(wall seconds, CPU seconds — user and system, less sensitive to a busy machine —, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.time()
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return time.time() - start, cpu, result


def compare(label, report, answer, mapping):
    got = {fix["commit"]: mapping.get(fix["status"], fix["status"]) for fix in report["fixes"]}
    agree = sum(1 for commit, (status, _) in answer.items() if got.get(commit) == status)
    disagreements = {}
    for commit, (status, _) in answer.items():
        if got.get(commit) != status:
            key = "%s→%s" % (status, got.get(commit))
            disagreements[key] = disagreements.get(key, 0) + 1
    return agree, disagreements


def check_apply(repo, report):
    """kwarden's apply verdict of each missing fix against `git cherry-pick --no-commit` in a scratch worktree."""
    worktree = repo + "-apply-check"
    subprocess.run(["git", "-C", repo, "worktree", "remove", "--force", worktree], stderr=subprocess.DEVNULL)
    git(repo, "worktree", "add", "--quiet", "--detach", worktree, "stable")
    agree, total, off = 0, 0, []
    for fix in report["fixes"]:
        if fix["status"] != "missing" and fix["how"] != "already-applied":
            continue
        total += 1
        pick = subprocess.run(["git", "-C", worktree, "cherry-pick", "--no-commit", fix["commit"]],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if pick.returncode != 0:
            gits = "conflicts"
        else:
            unchanged = subprocess.run(["git", "-C", worktree, "diff", "--cached", "--quiet"]).returncode == 0
            gits = "already-applied" if unchanged else "applies-cleanly"
        subprocess.run(["git", "-C", worktree, "cherry-pick", "--quit"], stderr=subprocess.DEVNULL)
        git(worktree, "reset", "--quiet", "--hard", "stable")
        ours = fix.get("apply") or fix["how"]
        if ours == gits:
            agree += 1
        else:
            off.append((fix["commit"][:12], ours, gits))
    git(repo, "worktree", "remove", "--force", worktree)
    return "%d/%d agree with git cherry-pick%s" % (agree, total, (", off: %s" % off[:5]) if off else "")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out")
    parser.add_argument("--kwarden", required=True)
    parser.add_argument("--base", type=int, default=8000)
    parser.add_argument("--upstream", type=int, default=6000)
    parser.add_argument("--stable", type=int, default=2000)
    parser.add_argument("--fixes", type=int, default=600)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    repo = os.path.join(args.out, "kernel")
    if not os.path.exists(os.path.join(args.out, "info.txt")):
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.makedirs(args.out)
        start = time.time()
        generate(args.out, args)
        print("generated in %.0f s" % (time.time() - start))
    fork = open(os.path.join(args.out, "info.txt")).read().split("=")[1].strip()
    export = os.path.join(args.out, "export")
    if not os.path.exists(export):
        os.makedirs(export)
        archive = subprocess.run(["git", "-C", repo, "archive", "stable"], stdout=subprocess.PIPE, check=True).stdout
        subprocess.run(["tar", "-x", "-C", export], input=archive, check=True)

    start = time.time()
    answer = git_answer(repo, fork)
    answer_seconds = time.time() - start
    planted = json.load(open(os.path.join(args.out, "planted.json")))["truth"]
    counts = {}
    for status, _ in answer.values():
        counts[status] = counts.get(status, 0) + 1
    planted_agree = sum(1 for commit, (status, _) in answer.items() if planted.get(commit) == status)
    print("stable %s..stable: %s commits; upstream %s..master: %s commits; %d fixes" % (
        fork[:12], git(repo, "rev-list", "--count", "%s..stable" % fork).decode().strip(), fork[:12],
        git(repo, "rev-list", "--count", "%s..master" % fork).decode().strip(), len(answer)))
    print("git's answer (%.1f s): %s; agrees with the planted answer on %d/%d" % (
        answer_seconds, counts, planted_agree, len(answer)))
    print("load: %s" % open("/proc/loadavg").read().split()[:3])

    fixes_file = os.path.join(args.out, "fixes.txt")
    history = [args.kwarden, "backports", "--repo", repo, "--branch", "stable", "--upstream-ref", "master",
               "--fixes", fixes_file, "--format", "json"]
    runs = {
        "git cherry": (["git", "-C", repo, "cherry", "stable", "master", fork], None),
        "kwarden history, no apply check": (history + ["--no-apply-check"], "history"),
        "kwarden history": (history, "history"),
        "kwarden tree (git archive)": ([args.kwarden, "backports", "--tree", export, "--upstream", repo,
                                        "--fixes", fixes_file, "--format", "json"], "tree"),
    }
    history_map = {"present": "present", "missing": "missing", "reverted": "reverted", "not-needed": "not-needed"}
    tree_map = {"applied": "present", "not-applied": "missing", "not-needed": "not-needed"}
    results = {}
    for label, (command, mode) in runs.items():
        times, cpus = [], []
        for _ in range(args.runs):
            seconds, cpu, result = timed(command)
            times.append(seconds)
            cpus.append(cpu)
            if result.returncode not in (0, 1):
                sys.exit("%s failed (%d): %s" % (label, result.returncode, result.stderr.decode()[-2000:]))
        line = "%-34s %5.2f–%5.2f s wall, %5.2f–%5.2f s CPU" % (label, min(times), max(times), min(cpus), max(cpus))
        if mode:
            report = json.loads(result.stdout)
            if mode == "tree":
                # A tree cannot tell a reverted fix from one never applied.
                expected = {c: (("missing" if s == "reverted" else s), h) for c, (s, h) in answer.items()}
                agree, off = compare(label, report, expected, tree_map)
                wrong_applied = sum(1 for fix in report["fixes"] if fix["status"] == "applied"
                                    and answer.get(fix["commit"], ("",))[0] in ("missing", "reverted"))
                line += "  agreement %d/%d (%.1f %%); applied said of %d missing fixes; off: %s" % (
                    agree, len(answer), 100.0 * agree / len(answer), wrong_applied, off)
            else:
                agree, off = compare(label, report, answer, history_map)
                line += "  agreement %d/%d (%.1f %%); off: %s; summary: %s" % (
                    agree, len(answer), 100.0 * agree / len(answer), off,
                    {k: v for k, v in report["summary"].items() if v})
        results[label] = (times, cpus)
        print(line, flush=True)
        if label == "kwarden history":
            print("  apply check: %s" % check_apply(repo, report), flush=True)
    for kind, which in (("wall", 0), ("CPU", 1)):
        cherry = min(results["git cherry"][which])
        print("ratios to git cherry (best %s times): history %.2f×, history with apply check %.2f×, tree %.2f×" % (
            kind, min(results["kwarden history, no apply check"][which]) / cherry,
            min(results["kwarden history"][which]) / cherry, min(results["kwarden tree (git archive)"][which]) / cherry))


if __name__ == "__main__":
    main()
