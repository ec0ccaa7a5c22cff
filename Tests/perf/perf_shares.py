"""Shares of a `perf record --call-graph dwarf` profile of `offload bench`, by the first matching frame.

    perf script -i e2e.data -F comm,tid,ip,sym | swift demangle --simplified > e2e.txt
    python3 Tests/perf/perf_shares.py e2e.txt

Each sample counts once, for the first part (in the order below) that one of its frames names; samples
that match none count by thread name.
"""
import collections
import sys

PARTS = [
    ("the SQLite writer", "GroupCommitWriter.commit"),
    ("  of it: completions", "SQLiteJobStore.complete"),
    ("the worker pool", "WorkerPool"),
    ("event bus", "EventBus"),
    ("metrics", "ServerMetrics"),
    ("server routes", "JobRoutes"),
    ("auth", "Auth"),
    ("middleware", "Middleware"),
    ("JSON outside the writer", "JSON"),
    ("GRDB reads", "DatabasePool.read"),
    ("task scheduling", "swift_task"),
    ("the load generator (AsyncHTTPClient)", "HTTPClient"),
    ("the load generator (bench)", "Bench"),
]

samples, current = [], None
for line in open(sys.argv[1]):
    if not line.strip():
        if current:
            samples.append(current)
        current = None
    elif not line.startswith("\t"):
        current = (line.split()[0], [])
    elif current is not None:
        current[1].append(line.strip().split(" ", 1)[-1])
if current:
    samples.append(current)

counts = collections.Counter()
nested = collections.Counter()
for thread, frames in samples:
    part = None
    for name, pattern in PARTS:
        if name.startswith("  "):
            continue
        if any(pattern in frame for frame in frames):
            part = name
            break
    if part is None:
        part = "NIO event loops (sockets, HTTP)" if thread.startswith("NIO") else f"unmatched, thread {thread}"
    counts[part] += 1
    if part == "the SQLite writer" and any("SQLiteJobStore.complete" in frame for frame in frames):
        nested["  of it: completions"] += 1
print(f"{len(samples)} samples")
for part, count in counts.most_common():
    print(f"{100 * count / len(samples):5.1f} % {part}")
    if part == "the SQLite writer":
        print(f"{100 * nested['  of it: completions'] / len(samples):5.1f} %   of it: completions")
