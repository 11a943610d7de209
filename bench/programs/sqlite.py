"""SQLite through python3's sqlite3 module: inserts, two indexes, queries,
deletes and a VACUUM on a file database.  A bench/run.py workload."""
import os
import random
import sqlite3
import sys
import tempfile

rng = random.Random(1)
with tempfile.TemporaryDirectory() as scratch:
    db = sqlite3.connect(os.path.join(scratch, "bench.db"))
    db.execute("PRAGMA cache_size=-65536")
    db.execute("create table t(id integer primary key, name text, v real, tag text)")
    db.executemany("insert into t(name, v, tag) values (?, ?, ?)",
                   (("n%d" % rng.randrange(10**9), rng.random(), "x" * rng.randrange(1, 60))
                    for _ in range(200000)))
    db.execute("create index by_name on t(name)")
    db.execute("create index by_tag on t(tag, v)")
    db.commit()
    groups = db.execute("select count(*) from t where v < 0.5 "
                        "group by substr(tag, 1, 3)").fetchall()
    top = db.execute("select name, v from t order by v desc limit 50000").fetchall()
    db.execute("delete from t where v < 0.3")
    db.commit()
    db.execute("VACUUM")
    db.close()
sys.stdout.write(f"{sum(c for (c,) in groups)} {len(top)}\n")
