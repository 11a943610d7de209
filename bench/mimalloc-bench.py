#!/usr/bin/env python3
"""Run mimalloc-bench's benchmarks under hakmem and its peers and tabulate them.

    MIMALLOC_BENCH_DIR=~/src/mimalloc-bench bench/mimalloc-bench.py
    bench/mimalloc-bench.py --reps 1 --only cfrac,larsonN --allocators hakmem,glibc

mimalloc-bench (https://github.com/daanx/mimalloc-bench) is not part of this
repository.  The checkout is $MIMALLOC_BENCH_DIR (or --src); without one,
BUILD/mimalloc-bench-src is used, cloned there first if it is not present.
Its bench/ folder is built with cmake into BUILD/mimalloc-bench, with
bench/mimalloc-bench.cmake hooked in so that a target whose sources are
missing is skipped rather than failing the configure step.  Benchmarks
that did not build are listed in the report.

Each benchmark runs with the arguments mimalloc-bench's bench.sh gives it,
--procs standing for bench.sh's core count (default: this machine's CPU
count), from the build folder as its working directory.  Every allocator
runs once per repetition, swapped in with LD_PRELOAD (glibc: no preload),
in an order rotated from one repetition to the next, as bench/run.py does.

Per run we record the wall time, peak RSS and page faults (minor + major)
as /usr/bin/time reports them for the benchmark process.  /usr/bin/time
sits between this script and the benchmark because Linux carries the
forking parent's RSS into the child's ru_maxrss at exec: measured from
here, this script's ~15 MiB would be a floor under every small benchmark;
time's own ~1.5 MiB is the floor instead.  Benchmarks that run for a fixed
duration (larson, rptest, xmalloc-test, glibc-thread) get the "relative
time" that bench.sh derives from their throughput output instead of the
wall time.  A nonzero exit, a signal, or a missing throughput line is a
FAIL; a run killed after --timeout seconds is a TIMEOUT, and the
allocator's remaining repetitions of that benchmark are skipped.  The
table shows medians over the repetitions.

Exit status: 0 if every run succeeded, 1 if any run failed or timed out
(the table is still printed), 2 on a setup error.

Python 3 standard library only; the allocator helpers come from run.py.
"""

import argparse
import datetime
import os
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import run
from run import PRELOAD_ERROR, fail, note

UPSTREAM = "https://github.com/daanx/mimalloc-bench"
CMAKE_HOOK = os.path.join(run.REPO, "bench", "mimalloc-bench.cmake")
TIME = "/usr/bin/time"


def larson_time(out):
    m = re.search(r"relative time: ([0-9.]+)", out)
    return float(m.group(1)) if m else None


def rptest_time(out):
    m = re.search(r".*\.\.\.([0-9]+) memory ops", out)
    return 2e6 / int(m.group(1)) if m and int(m.group(1)) else None


def xmalloc_time(out):
    m = re.search(r"^rtime: ([0-9.]+)", out, re.M)
    return float(m.group(1)) if m else None


def glibc_thread_time(out):
    m = re.search(r"^([0-9]+) iterations", out, re.M)
    return 1e9 / int(m.group(1)) if m and int(m.group(1)) else None


# (name as bench.sh reports it, binary, arguments, stdin, relative-time parser)
# in bench.sh's order.  "{procs}" is bench.sh's core count, "{src}" the
# checkout's bench/ folder.  The parsers turn a fixed-duration benchmark's
# throughput into the relative time bench.sh reports for it.
TESTS = [
    ("cfrac", "cfrac", "17545186520507317056371138836327483792789528", None, None),
    ("espresso", "espresso", "{src}/espresso/largest.espresso", None, None),
    ("barnes", "barnes", "", "{src}/barnes/input", None),
    ("larsonN-sized", "larson-sized", "5 8 1000 5000 100 4141 {procs}", None, larson_time),
    ("mstressN", "mstress", "{procs} 50 25", None, None),
    ("rptestN", "rptest", "{procs} 0 1 2 500 1000 100 8 16000", None, rptest_time),
    ("alloc-test1", "alloc-test", "1", None, None),
    ("alloc-testN", "alloc-test", "{procs_max16}", None, None),
    ("sh6benchN", "sh6bench", "{procsx2}", None, None),
    ("sh8benchN", "sh8bench", "{procsx2}", None, None),
    ("xmalloc-testN", "xmalloc-test", "-w {procs} -t 5 -s 64", None, xmalloc_time),
    ("cache-scratch1", "cache-scratch", "1 1000 1 2000000 {procs}", None, None),
    ("cache-scratchN", "cache-scratch", "{procs} 1000 1 2000000 {procs}", None, None),
    ("glibc-simple", "glibc-simple", "", None, None),
    ("glibc-thread", "glibc-thread", "{procs}", None, glibc_thread_time),
    ("larsonN", "larson", "5 8 1000 5000 100 4141 {procs}", None, larson_time),
    ("malloc-large", "malloc-large", "", None, None),
    ("mleak10", "mleak", "5", None, None),
    ("mleak100", "mleak", "50", None, None),
    ("cache-thrash1", "cache-thrash", "1 1000 1 2000000 {procs}", None, None),
    ("cache-thrashN", "cache-thrash", "{procs} 1000 1 2000000 {procs}", None, None),
]
TEST_NAMES = [t[0] for t in TESTS]

# bench.sh tests that are not in bench/ at all: they need programs that
# mimalloc-bench's build-bench-env.sh downloads and builds (or a SPEC
# licence), so this script does not run them.
EXTERNAL = ["redis", "lean", "lean-mathlib", "gs", "lua", "rocksdb", "linux",
            "z3", "rbstress", "spec", "spec-bench"]


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)


def checkout(opts, build):
    """The mimalloc-bench checkout to use: --src, $MIMALLOC_BENCH_DIR, or a clone."""
    src = opts.src or os.environ.get("MIMALLOC_BENCH_DIR") or ""
    if src:
        src = os.path.abspath(src)
        if not os.path.isfile(os.path.join(src, "bench", "CMakeLists.txt")):
            fail(f"{src} is not a mimalloc-bench checkout (no bench/CMakeLists.txt)")
        return src
    src = os.path.join(build, "mimalloc-bench-src")
    if os.path.isfile(os.path.join(src, "bench", "CMakeLists.txt")):
        return src
    note(f"MIMALLOC_BENCH_DIR is not set; cloning {UPSTREAM} into {src}")
    if shutil.which("git") is None:
        fail("MIMALLOC_BENCH_DIR is not set and git is missing, so mimalloc-bench "
             "cannot be cloned; set MIMALLOC_BENCH_DIR to a mimalloc-bench checkout")
    shutil.rmtree(src, ignore_errors=True)
    r = subprocess.run(["git", "clone", "--depth", "1", UPSTREAM, src],
                       stdout=sys.stderr, check=False)
    if r.returncode != 0:
        shutil.rmtree(src, ignore_errors=True)
        fail(f"MIMALLOC_BENCH_DIR is not set and `git clone --depth 1 {UPSTREAM}` "
             "failed (no network?); clone mimalloc-bench elsewhere and set "
             "MIMALLOC_BENCH_DIR to that checkout")
    return src


def describe(src):
    """The checkout's commit (and date) for the report, if it is a git checkout."""
    r = sh(["git", "-C", src, "log", "-1", "--format=%H (%cs)"])
    return r.stdout.strip() if r.returncode == 0 and r.stdout.strip() else "not a git checkout"


def cmake_build(src, out, folder=None):
    """Configure src/bench into out and build it (only out/folder if given);
    returns the build log's text."""
    for tool in ("cmake", "make", "cc", "c++"):
        if shutil.which(tool) is None:
            fail(f"{tool} is missing (scripts/install-deps.sh mbench installs "
                 "cmake, make and g++)")
    os.makedirs(out, exist_ok=True)
    log = os.path.join(out, "build.log")
    with open(log, "w") as f:
        steps = [
            ["cmake", "-S", os.path.join(src, "bench"), "-B", out,
             "-G", "Unix Makefiles", "-DCMAKE_BUILD_TYPE=Release",
             f"-DCMAKE_PROJECT_INCLUDE={CMAKE_HOOK}"],
            # -k: one benchmark that fails to compile must not stop the others.
            ["make", "-C", os.path.join(out, folder or ""), "-j", str(os.cpu_count() or 1),
             "-k"],
        ]
        for step in steps:
            note("$ " + " ".join(shlex.quote(a) for a in step))
            r = subprocess.run(step, stdout=f, stderr=subprocess.STDOUT, check=False)
            if step[0] == "cmake" and r.returncode != 0:
                fail(f"cmake configure failed; see {log}")
    with open(log) as f:
        return f.read()


def build_benchmarks(src, out):
    """cmake-build src/bench into out; returns {binary: reason} for those not built."""
    skipped = dict(re.findall(r"hakmem-skip: (\S+): (.*)", cmake_build(src, out)))
    log = os.path.join(out, "build.log")
    missing = {}
    for binary in sorted({t[1] for t in TESTS}):
        if not os.access(os.path.join(out, binary), os.X_OK):
            missing[binary] = skipped.get(binary, f"compile or link failed, see {log}")
    if missing:
        note("not built: " + ", ".join(f"{b} ({why})" for b, why in missing.items()))
    return missing


def run_once(cmd, stdin, cwd, preload, timeout, score):
    """One benchmark run under /usr/bin/time; a dict of measurements or an 'error'."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    # env(1) sets LD_PRELOAD for the benchmark alone (as bench.sh does), so
    # the allocator is not loaded into time itself, whose RSS the benchmark
    # process inherits at fork.
    cmd = ["env"] + ([f"LD_PRELOAD={preload}"] if preload else []) + cmd
    with tempfile.TemporaryDirectory() as tmp:
        tfile = os.path.join(tmp, "time")
        out_path, err_path = os.path.join(tmp, "out"), os.path.join(tmp, "err")
        with open(out_path, "w") as out, open(err_path, "w") as err, \
                open(stdin or os.devnull) as inp:
            t0 = time.perf_counter()
            # A session of its own, so a timeout kills time and the benchmark.
            proc = subprocess.Popen([TIME, "-o", tfile, "-f", "%M %R %F"] + cmd,
                                    stdin=inp, stdout=out, stderr=err, env=env,
                                    cwd=cwd, start_new_session=True)
            # Wait through a pidfd: Popen.wait(timeout) polls, which would
            # round the wall time up to its 50 ms polling steps.
            pidfd = os.pidfd_open(proc.pid)
            try:
                timed_out = not select.select([pidfd], [], [], timeout)[0]
            finally:
                os.close(pidfd)
            wall = time.perf_counter() - t0
            if timed_out:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with open(out_path, errors="replace") as f:
            stdout = f.read()
        with open(err_path, errors="replace") as f:
            stderr = f.read()
        try:
            with open(tfile) as f:
                tlines = f.read().splitlines()
        except OSError:
            tlines = []

    if timed_out:
        return {"error": f"TIMEOUT after {timeout:g} s", "timeout": True}
    result = {}
    try:
        rss_kib, minflt, majflt = (int(v) for v in tlines[-1].split())
        result.update(rss_mib=rss_kib / 1024.0, faults=minflt + majflt)
    except (IndexError, ValueError):
        pass
    status = next((line for line in tlines if line.startswith("Command ")), "")
    if status:
        last = (stderr.strip().splitlines() or [""])[-1][:120]
        result["error"] = f"{status.replace('Command ', '')}: {last}".rstrip(": ")
    elif proc.returncode != 0 or "rss_mib" not in result:
        result["error"] = f"{TIME} failed (exit {proc.returncode})"
    elif PRELOAD_ERROR in stderr:
        result["error"] = next(line for line in stderr.splitlines()
                               if PRELOAD_ERROR in line)
    elif score:
        secs = score(stdout)
        if secs is None:
            result["error"] = "no throughput line in the output"
        else:
            result["secs"] = secs
    else:
        result["secs"] = wall
    return result


def summarize(runs):
    """Medians over the successful runs of one (benchmark, allocator)."""
    ok = [r for r in runs if "error" not in r]
    row = {"errors": [r["error"] for r in runs if "error" in r], "n": len(runs),
           "timeout": any(r.get("timeout") for r in runs)}
    if ok:
        secs = [r["secs"] for r in ok]
        row["secs"] = statistics.median(secs)
        row["spread"] = (max(secs) - min(secs)) / 2 / row["secs"] if row["secs"] else 0.0
        row["rss_mib"] = statistics.median(r["rss_mib"] for r in ok)
        row["faults"] = statistics.median(r["faults"] for r in ok)
    return row


HEAD = ["benchmark", "allocator", "median time s", "spread", "peak RSS MiB",
        "faults", "time vs best peer", "RSS vs best peer"]


def rows_for(results, tests, allocs):
    """Table rows (lists of cells) and the hakmem ratios per benchmark."""
    lines, ratios = [], {}
    for test in tests:
        rows = {a: summarize(results[test][a]) for a in allocs if results[test][a]}
        for alloc, row in rows.items():
            if "secs" in row and not row["errors"]:
                cells = [f"{row['secs']:.3f}", f"±{row['spread'] * 100:.0f}%",
                         f"{row['rss_mib']:.1f}", f"{row['faults']:.0f}"]
            elif row["timeout"]:
                cells = ["TIMEOUT", "", "", ""]
            else:
                cells = [f"FAIL {len(row['errors'])}/{row['n']}", "", "", ""]
            t_ratio = r_ratio = ""
            if alloc == "hakmem" and "secs" in row and not row["errors"]:
                peers = {a: r for a, r in rows.items()
                         if a != "hakmem" and "secs" in r and not r["errors"]}
                if peers:
                    bt = min(peers, key=lambda a: peers[a]["secs"])
                    br = min(peers, key=lambda a: peers[a]["rss_mib"])
                    tr = row["secs"] / peers[bt]["secs"]
                    rr = row["rss_mib"] / peers[br]["rss_mib"]
                    t_ratio, r_ratio = f"{tr:.2f}× ({bt})", f"{rr:.2f}× ({br})"
                    ratios[test] = (tr, rr)
            lines.append([test, alloc] + cells + [t_ratio, r_ratio])
    return lines, ratios


def markdown(lines):
    out = ["| " + " | ".join(HEAD) + " |",
           "|" + "|".join(["---", "---"] + ["---:"] * (len(HEAD) - 2)) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in line) + " |"
            for line in lines]
    return "\n".join(out)


def rst(lines):
    """An RST simple table; the benchmark name only on its first row."""
    shown, prev = [], None
    for line in lines:
        shown.append([line[0] if line[0] != prev else ""] + line[1:])
        prev = line[0]
    widths = [max(len(c) for c in col) for col in zip(HEAD, *shown)]
    rule = "  ".join("=" * w for w in widths)

    def fmt(cells):
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    return "\n".join([rule, fmt(HEAD), rule] + [fmt(c) for c in shown] + [rule])


def failures(results, tests, allocs):
    out = []
    for test in tests:
        for alloc in allocs:
            errs = [r["error"] for r in results[test].get(alloc, []) if "error" in r]
            if errs:
                out.append(f"{test} / {alloc}: {len(errs)}× {errs[0]}")
    return out


def add_build_args(ap, built_in, out_default):
    """--src, --build-dir, --hakmem-so, --no-build and --out, for a runner
    whose binaries are built in BUILD/built_in."""
    ap.add_argument("--src", help="mimalloc-bench checkout "
                    "(default: $MIMALLOC_BENCH_DIR, else BUILD/mimalloc-bench-src)")
    ap.add_argument("--build-dir", default=os.path.join(run.REPO, "build"),
                    help="where libhakmem.so lives; the binaries are built in "
                    f"BUILD/{built_in} (default: %(default)s)")
    ap.add_argument("--hakmem-so", help="library to test as hakmem "
                    "(default: BUILD/libhakmem.so)")
    ap.add_argument("--no-build", action="store_true",
                    help=f"use the binaries already in BUILD/{built_in}")
    ap.add_argument("--out", help=f"write the markdown report here (default: {out_default})")


def parse_args():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_build_args(ap, "mimalloc-bench",
                   "BUILD/mimalloc-bench/results.md; an .rst table beside it")
    # Benchmarks go by bench.sh's names.
    run.add_selection_args(ap, TEST_NAMES, "MBENCH_REPS", 3)
    ap.add_argument("--procs", type=int, default=os.cpu_count() or 1,
                    help="what bench.sh's core count stands for (default: %(default)s)")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds before a run is killed as TIMEOUT (default: %(default)s)")
    opts = ap.parse_args()
    if opts.reps < 1 or opts.procs < 1:
        ap.error("--reps and --procs must be at least 1")
    return opts


def main():
    started = time.monotonic()
    opts = parse_args()
    build = os.path.abspath(opts.build_dir)
    out_dir = os.path.join(build, "mimalloc-bench")
    if not os.access(TIME, os.X_OK):
        fail(f"{TIME} is missing (scripts/install-deps.sh mbench installs it)")
    libs, skipped = run.resolve_allocators(opts.allocators, build, opts.hakmem_so)
    src = checkout(opts, build)
    if opts.no_build:
        missing = {t[1]: "not built (--no-build)" for t in TESTS
                   if not os.access(os.path.join(out_dir, t[1]), os.X_OK)}
    else:
        missing = build_benchmarks(src, out_dir)
    tests = [t for t in TESTS if t[0] in opts.only and t[1] not in missing]
    names = [t[0] for t in tests]
    allocs = list(libs)
    p = opts.procs
    subst = {"procs": p, "procsx2": 2 * p, "procs_max16": min(p, 16),
             "src": os.path.join(src, "bench")}

    load = "load average before the runs: %.2f %.2f %.2f" % os.getloadavg()
    results = {t[0]: {a: [] for a in allocs} for t in tests}
    commands = []
    for name, binary, args, stdin, score in tests:
        cmd = [os.path.join(out_dir, binary)] + shlex.split(args.format(**subst))
        inp = stdin.format(**subst) if stdin else None
        commands.append(f"{name}: ./{binary} {args.format(**subst)}".rstrip()
                        .replace(subst["src"], "$SRC/bench")
                        + (" < $SRC/bench/" + os.path.relpath(inp, subst["src"])
                           if inp else ""))
        timed_out = set()
        for rep in range(opts.reps):
            order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
            for alloc in order:
                if alloc in timed_out:
                    continue   # one timeout per row is enough waiting
                r = run_once(cmd, inp, out_dir, libs[alloc], opts.timeout, score)
                results[name][alloc].append(r)
                if "error" in r:
                    msg = "FAILED: " + r["error"]
                    if r.get("timeout"):
                        timed_out.add(alloc)
                else:
                    msg = f"{r['secs']:.3f} s  {r['rss_mib']:.1f} MiB  {r['faults']} faults"
                note(f"[{name} {rep + 1}/{opts.reps}] {alloc:<9} {msg}")

    lines, _ = rows_for(results, names, allocs)
    fails = failures(results, names, allocs)
    not_built = [f"{t[0]} ({t[1]}): {missing[t[1]]}" for t in TESTS
                 if t[0] in opts.only and t[1] in missing]
    elapsed = time.monotonic() - started
    report = "\n".join([
        "# mimalloc-bench results",
        "",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {run.machine_info()}; {load}",
        f"- mimalloc-bench: {src} at {describe(src)}",
        f"- repetitions: {opts.reps} per allocator, order rotated; medians shown, "
        "spread = ±(max-min)/2 of the time relative to the median",
        f"- procs (bench.sh's core count): {p}; timeout {opts.timeout:g} s per run",
        "- allocators: " + ", ".join(f"{a} ({libs[a] or 'no preload'})" for a in libs),
        "- command: " + " ".join(shlex.quote(a) for a in sys.argv),
        "- time: wall seconds; for larsonN, larsonN-sized, rptestN, xmalloc-testN "
        "and glibc-thread the relative time bench.sh derives from the benchmark's "
        "throughput output (they run a fixed duration); lower is better",
        "- peak RSS: /usr/bin/time's maximum RSS of the benchmark process; "
        "faults: its minor + major page faults",
        "- vs best peer: hakmem's median over the lowest median of the other "
        "allocators (> 1: hakmem is slower / larger)",
        *(f"- note: {s}" for s in skipped),
        *(f"- not built: {s}" for s in not_built),
        *(f"- failed: {s}" for s in fails),
        f"- runtime: {elapsed:.0f} s",
        "",
        markdown(lines),
        "",
        "Commands ($SRC = the mimalloc-bench checkout, run in "
        f"{out_dir}):",
        "",
        *(f"    {c}" for c in commands),
        "",
    ])
    print(report)
    out = os.path.abspath(opts.out or os.path.join(out_dir, "results.md"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(report)
    with open(os.path.splitext(out)[0] + ".rst", "w") as f:
        f.write(rst(lines) + "\n")
    note(f"wrote {out} and {os.path.splitext(out)[0]}.rst; {elapsed:.0f} s in all")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
