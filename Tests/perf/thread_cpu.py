"""CPU time per job of `offload bench`'s noop end-to-end figure, in all and on its busiest thread (the
SQLite writer), read from /proc/PID/task/*/stat while the bench runs.

    python3 Tests/perf/thread_cpu.py .build/release/offload 40000
"""
import os
import subprocess
import sys
import time

binary, jobs = sys.argv[1], int(sys.argv[2])
bench = subprocess.Popen(
    [binary, "bench", "--workers", "64", "--submits", "10", "--throughput-submits", "32", "--follows", "0",
     "--streams", "0", "--offered-loads", "", "--end-to-end-jobs", str(jobs)],
    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
ticks = os.sysconf("SC_CLK_TCK")
best = {}
while bench.poll() is None:
    seen = {}
    try:
        for task in os.listdir(f"/proc/{bench.pid}/task"):
            fields = open(f"/proc/{bench.pid}/task/{task}/stat").read().rsplit(")", 1)[1].split()
            seen[task] = int(fields[11]) + int(fields[12])
    except OSError:
        pass
    # Threads end as the process exits: keep the fullest reading.
    if sum(seen.values()) >= sum(best.values()):
        best = seen
    time.sleep(0.2)
output = bench.stdout.read()
print("\n".join(line for line in output.splitlines() if "end to end" in line))
cycles = 2 * jobs  # one run submitted one per request, one in batches
per_job = lambda t: t / ticks / cycles * 1e6
print(f"CPU per job: {per_job(sum(best.values())):.0f} µs in all, {per_job(max(best.values())):.0f} µs on the busiest thread")
