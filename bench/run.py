#!/usr/bin/env python3
"""Run the allocator benchmarks under hakmem and its peers and tabulate them.

    bench/run.py                                  everything, BENCH_REPS reps (5)
    bench/run.py --only random-mixed,tiny-hot --allocators hakmem,mimalloc
    bench/run.py --reps 3 --out build/bench/results.md

Every benchmark binary in BUILD/bench is run once per allocator per
repetition, with the allocator swapped in through LD_PRELOAD (glibc: no
preload).  The allocators alternate within each repetition, and the order is
rotated from one repetition to the next, so slow drift of the machine (other
load, thermal state) spreads over all of them instead of biasing one.

Besides the binaries, real programs run the same way (PROGRAMS: SQLite and
threads in python3, a Python object workload, gcc -O2), through
BUILD/bench/run-program, with one run as one operation and the peak RSS of
the program's largest process; they repeat --program-reps times (3).

Per run we record the benchmark's own ops/s and peak RSS, and the child's
minor page faults (ru_minflt from wait4).  Peak RSS is the VmHWM the
benchmark reads itself, not ru_maxrss: at exec Linux carries the forking
parent's RSS (this script's ~15 MiB) into the child's maxrss, which would
put a floor under every small benchmark.  The table shows medians over the
repetitions.

Exit status: 0 if every run succeeded, 1 if any run failed (the table is
still printed), 2 on a setup error such as a missing libhakmem.so.

Python 3 standard library only.
"""

import argparse
import datetime
import os
import platform
import select
import shlex
import statistics
import subprocess
import sys
import tempfile

BENCHMARKS = ["random-mixed", "tiny-hot", "xthread", "larson", "fresh-touch"]

# Real programs, run through build/bench/run-program: one operation per run,
# so their ops/s is runs per second and their peak RSS the largest process's.
PROGRAMS = {
    "sqlite": ["python3", "bench/programs/sqlite.py"],
    "py-threads": ["python3", "bench/programs/threads.py"],
    "py-objects": ["python3", "tests/programs/workload.py"],
    "cc1": ["sh", "bench/programs/compile.sh"],
}

# Peers as (Debian package, soname); the path is looked up with `dpkg -L`
# so it does not depend on the multiarch directory.
PEERS = {
    "mimalloc": ("libmimalloc2.0", "libmimalloc.so.2"),
    "jemalloc": ("libjemalloc2", "libjemalloc.so.2"),
    "tcmalloc": ("libtcmalloc-minimal4", "libtcmalloc_minimal.so.4"),
}
ALLOCATORS = ["hakmem", "glibc"] + list(PEERS)

# What ld.so prints, before running the program anyway, when LD_PRELOAD
# names a library it cannot load: such a run silently measures glibc.
PRELOAD_ERROR = "cannot be preloaded"

# What every benchmark's result line must hold (see bench_report() in bench.h).
REPORT_KEYS = {"ops_per_sec", "elapsed_sec", "peak_rss_kib", "malloc_lib"}

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def note(msg):
    print(msg, file=sys.stderr, flush=True)


def dpkg_find(package, soname):
    """Path of `soname` as installed by `package`, or None."""
    try:
        out = subprocess.run(["dpkg", "-L", package], capture_output=True,
                             text=True, check=False)
    except FileNotFoundError:
        return None
    for path in out.stdout.splitlines():
        if os.path.basename(path) == soname and os.path.exists(path):
            return path
    return None


def apt_install(package):
    """apt-get install; refresh the package lists only if the first try fails."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")

    def apt(*args):
        try:
            return subprocess.run(["apt-get", "-q", *args], stdout=sys.stderr,
                                  env=env, check=False).returncode == 0
        except FileNotFoundError:
            return False

    if apt("install", "-y", package):
        return True
    apt("update")
    return apt("install", "-y", package)


def locate_peer(name):
    """Path of the peer allocator's .so, installing it if needed; None if unavailable."""
    package, soname = PEERS[name]
    path = dpkg_find(package, soname)
    if path is None:
        note(f"{name}: {soname} not found, installing {package}")
        if apt_install(package):
            path = dpkg_find(package, soname)
    return path


def parse_report(stdout):
    """The benchmark's result line as a dict (see bench_report() in bench.h), or None."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("ops_per_sec="):
            numbers, _, lib = line.partition(" malloc_lib=")
            try:
                report = {k: float(v) for k, v in
                          (field.split("=", 1) for field in numbers.split())}
            except ValueError:
                return None
            report["malloc_lib"] = lib
            return report
    return None


def wrong_malloc(lib, preload):
    """Why `lib` (where the benchmark's malloc came from) is not the allocator
    we meant to measure, or None if it is."""
    if preload:
        if os.path.realpath(lib) == os.path.realpath(preload):
            return None
    elif os.path.basename(lib).startswith("libc.so"):
        return None
    return f"malloc came from {lib or '(nowhere)'}, not {preload or 'libc'}"


def run_once(binary, args, preload, timeout):
    """Run one benchmark process; returns a dict with the measurements or an 'error'."""
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen([binary] + args, stdout=out, stderr=err, env=env)
        # Wait through a pidfd so a timeout needs no polling, then reap with
        # wait4 ourselves: its rusage is this child's alone.
        pidfd = os.pidfd_open(proc.pid)
        try:
            timed_out = not select.select([pidfd], [], [], timeout)[0]
        finally:
            os.close(pidfd)
        if timed_out:
            proc.kill()
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()

    result = {"minflt": usage.ru_minflt}
    report = parse_report(stdout)
    if timed_out:
        result["error"] = f"timeout after {timeout:g} s"
    elif proc.returncode < 0:
        result["error"] = f"killed by signal {-proc.returncode}"
    elif proc.returncode > 0:
        last = (stderr.strip().splitlines() or [""])[-1]
        result["error"] = f"exit {proc.returncode}: {last}".rstrip(": ")
    elif PRELOAD_ERROR in stderr:
        result["error"] = next(line for line in stderr.splitlines()
                               if PRELOAD_ERROR in line)
    elif report is None or not REPORT_KEYS <= report.keys():
        result["error"] = "no complete ops_per_sec line in output"
    else:
        mismatch = wrong_malloc(report["malloc_lib"], preload)
        if mismatch:
            result["error"] = mismatch
        else:
            result["ops"] = report["ops_per_sec"]
            result["secs"] = report["elapsed_sec"]
            result["rss_mib"] = report["peak_rss_kib"] / 1024.0
    return result


def fmt_ops(v):
    return f"{v / 1e6:.2f} M" if v >= 1e4 else f"{v:.3g}"


def summarize(runs):
    """Medians over the successful runs of one (benchmark, allocator)."""
    ok = [r for r in runs if "error" not in r]
    errors = [r["error"] for r in runs if "error" in r]
    row = {"errors": errors, "n": len(runs)}
    if ok:
        ops = [r["ops"] for r in ok]
        row["ops"] = statistics.median(ops)
        row["spread"] = (max(ops) - min(ops)) / row["ops"] if row["ops"] else 0.0
        row["secs"] = statistics.median(r["secs"] for r in ok)
        row["rss_mib"] = statistics.median(r["rss_mib"] for r in ok)
        row["minflt"] = statistics.median(r["minflt"] for r in ok)
    return row


def table(results, benches, allocs):
    head = ["benchmark", "allocator", "median ops/s", "spread", "median s",
            "peak RSS MiB", "minor faults", "hakmem/best peer ops/s",
            "hakmem/mimalloc RSS"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|"]
    for bench in benches:
        rows = {a: summarize(results[bench][a]) for a in allocs if results[bench][a]}
        for alloc, row in rows.items():
            if "ops" in row:
                cells = [fmt_ops(row["ops"]), f"±{row['spread'] * 50:.1f}%",
                         f"{row['secs']:.3f}", f"{row['rss_mib']:.1f}",
                         f"{row['minflt']:.0f}"]
            else:
                cells = ["-"] * 5
            if row["errors"]:
                reason = row["errors"][0].replace("|", "\\|")   # keep the table intact
                cells[0] = f"FAILED {len(row['errors'])}/{row['n']}: {reason}"
            ratio = rss_ratio = ""
            if alloc == "hakmem" and "ops" in row and not row["errors"]:
                peers = {a: r["ops"] for a, r in rows.items()
                         if a != "hakmem" and "ops" in r and not r["errors"]}
                if peers:
                    best = max(peers, key=peers.get)
                    ratio = f"{row['ops'] / peers[best]:.2f}× ({best})"
                mi = rows.get("mimalloc", {})
                if "rss_mib" in mi and not mi["errors"]:
                    rss_ratio = f"{row['rss_mib'] / mi['rss_mib']:.2f}×"
            lines.append("| " + " | ".join([bench, alloc] + cells +
                                           [ratio, rss_ratio]) + " |")
    return "\n".join(lines)


def machine_info():
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def csv_choice(value, choices, what):
    names = [v for v in value.split(",") if v]
    bad = [n for n in names if n not in choices]
    if bad or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {','.join(bad) or '(none)'}; choose from {','.join(choices)}")
    return names


def add_selection_args(ap, names, reps_var, reps_default):
    """--only (from `names`), --allocators and --reps (default: $reps_var)."""
    ap.add_argument("--only", type=lambda v: csv_choice(v, names, "benchmark"),
                    default=names, help="comma-separated benchmarks "
                    f"(default: all of {','.join(names)})")
    ap.add_argument("--allocators", type=lambda v: csv_choice(v, ALLOCATORS, "allocator"),
                    default=ALLOCATORS, help="comma-separated allocators "
                    f"(default: all of {','.join(ALLOCATORS)})")
    ap.add_argument("--reps", type=int,
                    default=int(os.environ.get(reps_var) or reps_default),
                    help=f"repetitions per allocator (default: ${reps_var} or {reps_default})")


def fail(msg):
    note("error: " + msg)
    sys.exit(2)


def parse_args():
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    add_selection_args(ap, BENCHMARKS + list(PROGRAMS), "BENCH_REPS", 5)
    ap.add_argument("--program-reps", type=int, default=3,
                    help="repetitions of the real programs, which take seconds "
                    "each (default: %(default)s, at most --reps)")
    ap.add_argument("--build-dir", default=os.path.join(REPO, "build"),
                    help="where libhakmem.so and bench/ live (default: %(default)s)")
    ap.add_argument("--hakmem-so", help="library to test as hakmem "
                    "(default: BUILD/libhakmem.so)")
    ap.add_argument("--out", help="also write the markdown report here")
    ap.add_argument("--timeout", type=float, default=120.0,
                    help="seconds before a run is killed (default: %(default)s)")
    ap.add_argument("--bench-args", default="", help="extra NAME=VALUE arguments "
                    "for every benchmark, e.g. 'iters=1000000' with --only")
    opts = ap.parse_args()
    if opts.reps < 1 or opts.program_reps < 1:
        ap.error("--reps and --program-reps must be at least 1")
    return opts


def resolve_allocators(names, build, hakmem_so):
    """{allocator: .so path or None for glibc} in canonical order, and skip notes."""
    libs, skipped = {}, []
    # Canonical order whatever the command line said: hakmem's rows come first.
    for alloc in sorted(set(names), key=ALLOCATORS.index):
        if alloc == "glibc":
            libs[alloc] = None
        elif alloc == "hakmem":
            so = os.path.abspath(hakmem_so or os.path.join(build, "libhakmem.so"))
            if not os.path.exists(so):
                fail(f"{so} does not exist; build it with `make lib` "
                     "(or run `make bench`, which builds it first)")
            libs[alloc] = so
        else:
            path = locate_peer(alloc)
            if path is None:
                skipped.append(f"{alloc}: {PEERS[alloc][1]} missing and "
                               f"`apt-get install {PEERS[alloc][0]}` failed; skipped")
                note("note: " + skipped[-1])
            else:
                libs[alloc] = path
    if not libs:
        fail("no allocator left to run")
    return libs, skipped


def command_of(bench, bench_args, build):
    """The binary and arguments that run `bench`."""
    if bench in PROGRAMS:
        return (os.path.join(build, "bench", "run-program"),
                [os.path.join(REPO, a) if a.startswith(("bench/", "tests/")) else a
                 for a in PROGRAMS[bench]])
    return os.path.join(build, "bench", bench), bench_args


def run_all(benches, libs, reps, program_reps, bench_args, build, timeout):
    """{benchmark: {allocator: [run result, ...]}}"""
    allocs = list(libs)
    results = {b: {a: [] for a in allocs} for b in benches}
    for bench in benches:
        binary, args = command_of(bench, bench_args, build)
        timed_out = set()
        for rep in range(min(reps, program_reps) if bench in PROGRAMS else reps):
            order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
            for alloc in order:
                if alloc in timed_out:
                    continue   # one timeout per row is enough waiting
                r = run_once(binary, args, libs[alloc], timeout)
                results[bench][alloc].append(r)
                if "error" in r:
                    msg = "FAILED: " + r["error"]
                    if r["error"].startswith("timeout"):
                        timed_out.add(alloc)
                else:
                    msg = (f"{fmt_ops(r['ops'])} ops/s  {r['rss_mib']:.1f} MiB  "
                           f"{r['minflt']} minflt")
                note(f"[{bench} {rep + 1}/{reps}] {alloc:<9} {msg}")
    return results


def main():
    opts = parse_args()
    build = os.path.abspath(opts.build_dir)
    missing = [b for b in opts.only
               if not os.access(command_of(b, [], build)[0], os.X_OK)]
    if missing:
        fail(f"benchmark binaries missing in {build}/bench: {', '.join(missing)}; "
             "build them with `make bench-build` (or run `make bench`)")
    libs, skipped = resolve_allocators(opts.allocators, build, opts.hakmem_so)
    # Other load on the machine is the usual cause of a wide spread.
    load = "load average before the runs: %.2f %.2f %.2f" % os.getloadavg()
    results = run_all(opts.only, libs, opts.reps, opts.program_reps,
                      shlex.split(opts.bench_args), build, opts.timeout)

    report = "\n".join([
        "# hakmem benchmark results",
        "",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        f"- machine: {machine_info()}; {load}",
        f"- repetitions: {opts.reps} per allocator "
        f"({min(opts.reps, opts.program_reps)} for the real programs); medians shown, "
        "spread = ±(max-min)/2 of ops/s relative to the median",
        "- allocators: " + ", ".join(f"{a} ({libs[a] or 'no preload'})" for a in libs),
        "- command: " + " ".join(shlex.quote(a) for a in sys.argv),
        "- hakmem/best peer ops/s > 1 means hakmem is faster than every peer; "
        "hakmem/mimalloc RSS < 1 means it uses less memory",
        *(f"- note: {s}" for s in skipped),
        "",
        table(results, opts.only, list(libs)),
        "",
    ])
    print(report)
    if opts.out:
        os.makedirs(os.path.dirname(os.path.abspath(opts.out)), exist_ok=True)
        with open(opts.out, "w") as f:
            f.write(report)
        note(f"wrote {opts.out}")

    failed = any("error" in r for rows in results.values()
                 for runs in rows.values() for r in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
