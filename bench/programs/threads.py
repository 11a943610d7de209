"""A thread pool of 4 serialising, compressing and hashing JSON documents:
python3's json, zlib and hashlib from several threads.  A bench/run.py
workload."""
import hashlib
import json
import random
import sys
import zlib
from multiprocessing.pool import ThreadPool


def job(i):
    rng = random.Random(i)
    docs = [{"k%d" % j: [rng.random() for _ in range(20)], "s": "x" * rng.randrange(1000)}
            for j in range(2000)]
    packed = zlib.compress(json.dumps(docs).encode(), 6)
    return len(packed), hashlib.sha256(zlib.decompress(packed)).hexdigest()[:8]


with ThreadPool(4) as pool:
    results = pool.map(job, range(24))
sys.stdout.write(f"{sum(n for n, _ in results)}\n")
