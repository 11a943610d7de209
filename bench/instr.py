#!/usr/bin/env python3
"""Instructions per operation under callgrind: a measure that does not
depend on the machine's load, for the fast paths.

Each benchmark runs at N and at 2N iterations under
`valgrind --tool=callgrind`; the difference of the two totals over N
iterations is the cost of one iteration, start-up and exit cancelled out.
The benchmark's own loop (random numbers, writing the block) is included,
the same for every allocator.

    bench/instr.py [--allocators hakmem,mimalloc] [--hakmem-so PATH] [-n N]

Allocators are found as bench/run.py finds them.
"""

import argparse
import os
import re
import subprocess
import sys

from run import ALLOCATORS, csv_choice, fail, resolve_allocators

# (benchmark, iteration argument, iterations per N, operations per iteration, unit)
BENCHES = [
    ("tiny-hot", "batches", 1, 100, "malloc+free pair"),
    ("random-mixed", "iters", 100, 1, "op (malloc or free)"),
]


def instructions(binary, arg, count, preload):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    proc = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                           binary, f"{arg}={count}"], env=env, capture_output=True,
                          text=True, check=False)
    found = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode or not found:
        fail(f"{binary} {arg}={count} under callgrind failed:\n{proc.stderr[-2000:]}")
    return int(found.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--allocators", type=lambda v: csv_choice(v, ALLOCATORS, "allocator"),
                    default=ALLOCATORS)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--hakmem-so")
    ap.add_argument("-n", type=int, default=2000, help="N (default 2000)")
    opts = ap.parse_args()
    if subprocess.run(["sh", "-c", "command -v valgrind"], capture_output=True).returncode:
        fail("needs valgrind (scripts/install-deps.sh bench)")
    libs, _ = resolve_allocators(opts.allocators, opts.build_dir, opts.hakmem_so)

    print("| allocator | " + " | ".join(f"{b} Ir/{unit}" for b, _, _, _, unit in BENCHES) + " |")
    print("|---" * (len(BENCHES) + 1) + "|")
    for name, so in libs.items():
        cells = []
        for bench, arg, scale, ops, _ in BENCHES:
            binary = os.path.join(opts.build_dir, "bench", bench)
            n = opts.n * scale
            diff = (instructions(binary, arg, 2 * n, so) -
                    instructions(binary, arg, n, so))
            cells.append(f"{diff / (n * ops):.1f}")
        print(f"| {name} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
