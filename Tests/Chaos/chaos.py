#!/usr/bin/env python3
"""The chaos soak: real `offload` processes under load, kill -9 / SIGTERM / PostgreSQL restarts / a full disk on
a seeded schedule, then invariants from the store and from what the clients saw, and hostile clients.

    python3 Tests/Chaos/chaos.py --offload .build/debug/offload --short          # about 3 minutes (CI)
    python3 Tests/Chaos/chaos.py --offload .build/release/offload --minutes 30   # the long soak

Prints one summary line per scenario and in all:
    chaos: acknowledged N, completed C, failed F, cancelled X, lost 0, doubled 0, stuck 0, sse gaps 0, ...
and exits 1 when any invariant fails. A failing run prints its seed and fault schedule: `--seed S` replays the
schedule (the threads' interleaving is the machine's).
Needs root (the SQLite scenario mounts a tmpfs; PostgreSQL runs as `postgres`) and PostgreSQL 15.
"""

import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import hostile  # noqa: E402
import soak  # noqa: E402

COUNTS = ["acknowledged", "completed", "failed", "cancelled", "lost", "doubled", "stuck", "sse gaps",
          "sse duplicates", "webhooks missing"]


def line(summary):
    return "chaos: " + ", ".join(f"{name} {summary[name]}" for name in COUNTS)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--offload", required=True, help="the offload binary")
    parser.add_argument("--short", action="store_true", help="about 3 minutes in all (what CI runs)")
    parser.add_argument("--minutes", type=float, default=None, help="minutes of faults per scenario")
    parser.add_argument("--seed", type=int, default=None, help="replay this seed's fault schedule")
    parser.add_argument("--scenario", action="append", choices=["postgres", "sqlite", "hostile"],
                        help="run only these (repeatable; default all three)")
    parser.add_argument("--rate", type=float, default=40.0, help="jobs submitted per second")
    parser.add_argument("--json", help="also write the figures to this file")
    arguments = parser.parse_args()
    seed = arguments.seed if arguments.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    seconds = 20.0 if arguments.short or arguments.minutes is None else arguments.minutes * 60
    scenarios = arguments.scenario or ["postgres", "sqlite", "hostile"]
    binary = os.path.abspath(arguments.offload)

    def log(text):
        print(text, flush=True)

    root = tempfile.mkdtemp(prefix="offload-chaos-")
    os.chmod(root, 0o755)  # PostgreSQL runs as `postgres` in a folder below it
    log(f"chaos: seed {seed}, {seconds:.0f} s of faults per scenario, rate {arguments.rate}/s, work in {root}")
    results, failures = {}, []
    total = {name: 0 for name in COUNTS}
    began = time.monotonic()
    try:
        for name in scenarios:
            started = time.monotonic()
            if name == "hostile":
                figures, problems = hostile.run(binary, root, short=arguments.short or arguments.minutes is None,
                                                log=log)
                results[name] = figures
                failures += [f"[hostile] {problem}" for problem in problems]
                log(f"chaos[hostile]: {json.dumps(figures)} ({time.monotonic() - started:.0f} s)")
                continue
            # Short: one round of every fault kind, 1.5-3 s apart; long: a fault every 3-7 s.
            gaps = (1.5, 3.0) if arguments.short or arguments.minutes is None else (3.0, 7.0)
            summary, problems = soak.run(name, binary, root, seed, seconds, arguments.rate, log, gaps)
            results[name] = summary
            failures += [f"[{name}] {problem}" for problem in problems]
            for key in COUNTS:
                total[key] += summary[key]
            log(f"chaos[{name}]: {line(summary)} ({time.monotonic() - started:.0f} s)")
            log(f"chaos[{name}]: details {json.dumps({k: v for k, v in summary.items() if k not in COUNTS})}")
    except Exception as error:
        failures.append(f"the harness stopped: {error!r}")
    log(line(total) + f" ({time.monotonic() - began:.0f} s)")
    if arguments.json:
        with open(arguments.json, "w") as out:
            json.dump({"seed": seed, "seconds": seconds, "results": results, "failures": failures}, out, indent=2)
    if failures:
        for failure in failures:
            log("chaos FAILED: " + failure)
        log(f"chaos: replay with --seed {seed}; logs kept in {root}")
        sys.exit(1)
    shutil.rmtree(root, ignore_errors=True)
    log("chaos: all invariants held")


if __name__ == "__main__":
    main()
