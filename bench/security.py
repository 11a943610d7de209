#!/usr/bin/env python3
"""Run mimalloc-bench's security suite under hakmem and its peers and count
what each allocator catches.

    bench/security.py
    bench/security.py --allocators hakmem,glibc --only one_mbyte_overflow_large

The suite is mimalloc-bench's bench/security folder (the checkout is found,
or cloned, as bench/mimalloc-bench.py does): one program per misuse
(overflow, underflow, double free, use after free, invalid free, ...),
each C program built at three allocation sizes (_small: 8 bytes,
_medium: 4096, _large: 262144) by the suite's own CMakeLists.txt, the C++
ones once.  A program that goes on after the misuse prints NOT_CAUGHT;
one that does not print it was caught, whether the allocator aborted, the
access faulted, or the misuse turned out harmless (a reused block that was
not reused).  Each program runs --reps times under each allocator
(LD_PRELOAD; glibc: no preload; --reps, default $SECURITY_REPS or 1);
it counts as caught only if every run was, and a program caught in some
runs only is marked "mixed".

The report (printed, and written to BUILD/security/results.md) has one
row per program, the totals per allocator, and the programs where hakmem
and glibc differ.  Exit status: 0, or 2 on a setup error; a program
that is not caught is a finding, not a failure.

Python 3 standard library only.
"""

import argparse
import datetime
import glob
import importlib
import os
import resource
import shlex
import signal
import subprocess
import sys
import time

import run
from run import note

mbench = importlib.import_module("mimalloc-bench")

# The allocation sizes the suite's CMakeLists.txt builds each C program at.
SIZES = ["small", "medium", "large"]


def programs(src):
    """The suite's program names, as its CMakeLists.txt names the binaries."""
    folder = os.path.join(src, "bench", "security")
    names = []
    for path in sorted(glob.glob(os.path.join(folder, "*.c"))):
        stem = os.path.splitext(os.path.basename(path))[0]
        names += [f"{stem}_{size}" for size in SIZES]
    names += sorted(os.path.splitext(os.path.basename(p))[0]
                    for p in glob.glob(os.path.join(folder, "*.cc")))
    return names


def no_core_dump():
    # A caught misuse is often a crash: dumping core for each would be slow.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_once(binary, preload, timeout):
    """(caught, how): how = the signal, exit status or timeout that ended it."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    try:
        proc = subprocess.run([binary], env=env, capture_output=True, timeout=timeout,
                              cwd=os.path.dirname(binary), preexec_fn=no_core_dump,
                              check=False)
    except subprocess.TimeoutExpired as e:
        return b"NOT_CAUGHT" not in (e.stdout or b""), "timeout"
    if run.PRELOAD_ERROR.encode() in proc.stderr:
        run.fail(f"{preload} could not be preloaded into {binary}")
    if proc.returncode < 0:
        how = signal.Signals(-proc.returncode).name
    else:
        how = f"exit {proc.returncode}"
    return b"NOT_CAUGHT" not in proc.stdout, how


def verdict(runs):
    """One table cell for a program's runs under one allocator."""
    caught = [c for c, _ in runs]
    hows = sorted({h for c, h in runs if c})
    if all(caught):
        return "caught (" + ", ".join(hows) + ")"
    if any(caught):
        return f"mixed {sum(caught)}/{len(caught)}"
    return "NOT_CAUGHT"


def markdown(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(out + ["| " + " | ".join(r) + " |" for r in rows])


def parse_args(names):
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    # Programs go by the names of the suite's binaries.
    run.add_selection_args(ap, names, "SECURITY_REPS", 1)
    ap.add_argument("--timeout", type=float, default=30.0,
                    help="seconds before a run is killed (default: %(default)s)")
    mbench.add_build_args(ap, "mimalloc-bench/security", "BUILD/security/results.md")
    opts = ap.parse_args()
    if opts.reps < 1:
        ap.error("--reps must be at least 1")
    return opts


def checkout_from_argv(build):
    """The checkout, needed before parsing --only, whose choices it lists."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--src")
    pre.add_argument("--build-dir", default=build)
    known, _ = pre.parse_known_args()
    return mbench.checkout(known, os.path.abspath(known.build_dir)), known.build_dir


def main():
    started = time.monotonic()
    src, build = checkout_from_argv(os.path.join(run.REPO, "build"))
    names = programs(src)
    opts = parse_args(names)
    build = os.path.abspath(build)
    out_dir = os.path.join(build, "mimalloc-bench")
    libs, skipped = run.resolve_allocators(opts.allocators, build, opts.hakmem_so)
    if not opts.no_build:
        mbench.cmake_build(src, out_dir, "security")
    folder = os.path.join(out_dir, "security")
    missing = [n for n in opts.only if not os.access(os.path.join(folder, n), os.X_OK)]
    if missing:
        run.fail(f"not built in {folder}: {', '.join(missing)} "
                 f"(see {os.path.join(out_dir, 'build.log')})")

    allocs = list(libs)
    cells = {}
    for name in opts.only:
        for alloc in allocs:
            runs = [run_once(os.path.join(folder, name), libs[alloc], opts.timeout)
                    for _ in range(opts.reps)]
            cells[name, alloc] = verdict(runs)
        note(f"[{name}] " + "  ".join(f"{a}: {cells[name, a]}" for a in allocs))

    def caught(name, alloc):
        return cells[name, alloc].startswith("caught")

    totals = {a: sum(caught(n, a) for n in opts.only) for a in allocs}
    rows = [[n] + [cells[n, a] for a in allocs] for n in opts.only]
    report = [
        "# mimalloc-bench security suite",
        "",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- mimalloc-bench: {src} at {mbench.describe(src)}",
        "- allocators: " + ", ".join(f"{a} ({libs[a] or 'no preload'})" for a in libs),
        f"- runs: {opts.reps} per program and allocator; caught = NOT_CAUGHT never printed",
        "- command: " + " ".join(shlex.quote(a) for a in sys.argv),
        *(f"- note: {s}" for s in skipped),
        "",
        "## Totals",
        "",
        markdown(["allocator", f"caught of {len(opts.only)}"],
                 [[a, str(totals[a])] for a in allocs]),
        "",
    ]
    if "hakmem" in libs and "glibc" in libs:
        diff = [n for n in opts.only if caught(n, "hakmem") != caught(n, "glibc")]
        report += [
            "## Where hakmem and glibc differ",
            "",
            markdown(["program", "hakmem", "glibc"],
                     [[n, cells[n, "hakmem"], cells[n, "glibc"]] for n in diff])
            if diff else "none",
            "",
        ]
    report += ["## Every program", "", markdown(["program"] + allocs, rows), ""]
    text = "\n".join(report)
    print(text)
    out = os.path.abspath(opts.out or os.path.join(build, "security", "results.md"))
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(text)
    note(f"wrote {out}; {time.monotonic() - started:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
