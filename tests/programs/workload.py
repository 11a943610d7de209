"""Allocation-heavy but deterministic Python workload for tests/programs/run.sh.

Builds and tears down dicts, lists, strings, objects and large buffers (many
of them beyond pymalloc's small-object limit, so they reach malloc/realloc/free),
round-trips JSON, sorts, and prints digests.  The output must be identical with
and without the allocator preloaded.  Run with PYTHONHASHSEED=0.
"""
import hashlib
import json
import random
import re
import threading
import zlib

rng = random.Random(20240607)
digest = hashlib.sha256()


def emit(label, value):
    """Print one result line and fold it into the overall digest."""
    line = f"{label}: {value}"
    print(line)
    digest.update(line.encode())


def words(n):
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(1, 12))) for _ in range(n)]


# dicts and lists, growing and shrinking (list/dict resizes are reallocs)
vocab = words(50000)
counts = {}
for w in vocab:
    counts[w] = counts.get(w, 0) + 1
emit("distinct words", len(counts))
emit("most common", sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5])
index = {w: [i for i in range(len(w) * 3)] for w in counts}
emit("index cells", sum(len(v) for v in index.values()))
for w in list(index)[::2]:
    del index[w]
emit("index after delete", len(index))

# strings: joins, repeats, formatting, regex
big = " ".join(vocab)
emit("joined length", len(big))
emit("upper digest", hashlib.md5(big.upper().encode()).hexdigest())
emit("vowel runs", len(re.findall(r"[aeiou]{2,}", big)))
parts = big.split(" ")
rebuilt = "".join(f"<{p}:{len(p)}>" for p in parts[:20000])
emit("rebuilt", hashlib.sha1(rebuilt.encode()).hexdigest())
s = ""
for i in range(20000):
    s += chr(97 + i % 26) * (i % 7)
emit("appended string", (len(s), hashlib.sha1(s.encode()).hexdigest()))

# JSON round trip of a nested structure
doc = {
    "users": [
        {"id": i, "name": vocab[i], "tags": vocab[i:i + 5], "score": (i * 7919) % 1000 / 7.0,
         "nested": {"a": [i] * (i % 10), "b": {"c": str(i)}}}
        for i in range(20000)
    ]
}
text = json.dumps(doc, sort_keys=True)
back = json.loads(text)
emit("json length", len(text))
emit("json round trip equal", back == doc)
emit("json digest", hashlib.sha256(text.encode()).hexdigest())

# sorting many objects


class Record:
    __slots__ = ("key", "value", "payload")

    def __init__(self, key, value):
        self.key = key
        self.value = value
        self.payload = bytes(rng.randrange(256) for _ in range(rng.randint(0, 64)))


records = [Record(rng.randrange(1 << 30), w) for w in vocab]
records.sort(key=lambda r: (r.key, r.value))
emit("sorted head", [(r.key, r.value) for r in records[:3]])
emit("payload bytes", sum(len(r.payload) for r in records))
nums = [rng.random() for _ in range(300000)]
nums.sort()
emit("sorted floats", (round(nums[0], 12), round(nums[150000], 12), round(nums[-1], 12)))

# large buffers: bytearray growth, compression, slicing
buf = bytearray()
for i in range(3000):
    buf += bytes([i % 251]) * (i % 2000)
emit("bytearray", (len(buf), hashlib.sha256(buf).hexdigest()))
packed = zlib.compress(bytes(buf), 6)
emit("compressed", (len(packed), zlib.decompress(packed) == buf))
chunks = [bytes(buf[i:i + 100000]) for i in range(0, len(buf), 100000)]
emit("chunks", (len(chunks), hashlib.md5(b"".join(reversed(chunks))).hexdigest()))
huge = b"x" * (64 << 20)
emit("huge", (len(huge), huge[-3:]))
del huge

# several threads allocating; objects created in one thread die in another
results = [None] * 4
handoff = []
lock = threading.Lock()


def worker(k):
    local = random.Random(k)
    made = []
    for i in range(20000):
        made.append(("t%d-%d" % (k, i)) * local.randint(1, 40))
    with lock:
        handoff.append(made)
    results[k] = hashlib.sha1("".join(made[::97]).encode()).hexdigest()


threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
emit("thread results", results)
emit("handoff strings", sum(len(x) for m in handoff for x in m))
handoff.clear()

print("overall", digest.hexdigest())
