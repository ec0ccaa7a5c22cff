"""One soak scenario: real servers and agents under load, faults on a seeded schedule, then the invariants.

PostgreSQL: 2 `offload serve` (each with in-process workers) on one database and 2 `offload worker` agents.
SQLite: 1 `offload serve` whose data directory is a small tmpfs the harness fills up, and 1 agent.
"""

import os
import random
import secrets
import signal
import subprocess
import threading
import time

import clients
import invariants
import processes

LEASE_SECONDS = 5


class Fault:
    def __init__(self, at, kind, target, down):
        self.at, self.kind, self.target, self.down = at, kind, target, down

    def __str__(self):
        return f"{self.at:.1f}s {self.kind} {self.target} ({self.down:.1f}s down)"


def schedule(rng, kinds, seconds, gaps):
    """Faults `gaps` (min, max) seconds apart over `seconds`, each kind in turn of a seeded shuffle so every kind
    comes up; at least one whole round, however long that takes."""
    faults, at, cycle, rounds = [], 2.0, [], 0
    while at < seconds - 2 or rounds == 0 or cycle:
        if not cycle:
            if rounds and at >= seconds - 2:
                break
            cycle = list(kinds)
            rng.shuffle(cycle)
            rounds += 1
        kind, target = cycle.pop()
        faults.append(Fault(at, kind, target, 0.5 + rng.random() * 2.5))
        at += gaps[0] + rng.random() * (gaps[1] - gaps[0])
    return faults


class Scenario:
    def __init__(self, name, binary, root, seed, seconds, rate, log):
        self.name, self.binary, self.seed, self.seconds, self.rate, self.log = name, binary, seed, seconds, rate, log
        self.root = os.path.join(root, name)
        os.makedirs(self.root)
        self.logs = os.path.join(self.root, "logs")
        os.makedirs(self.logs)
        self.marks = os.path.join(self.root, "marks")
        os.makedirs(self.marks)
        self.rng = random.Random(seed)
        self.admin_key = "ok_chaos_" + secrets.token_hex(16)
        self.webhook_secret = secrets.token_hex(16)
        self.environment = dict(os.environ, OFFLOAD_ADMIN_KEY=self.admin_key,
                                OFFLOAD_JWT_SECRET=secrets.token_hex(32), OFFLOAD_WEBHOOK_SECRET=self.webhook_secret)
        self.servers, self.agents = [], []
        self.postgres = None
        self.tmpfs = None
        self.injected = {}

    # Setting up

    def start(self):
        server_flags = ["--lease-seconds", str(LEASE_SECONDS), "--shutdown-grace", "3", "--sse-keep-alive", "2",
                        "--workers", "4"]
        if self.name == "postgres":
            self.postgres = processes.PostgresCluster(self.root)
            for letter in "ab":
                data = os.path.join(self.root, "server-" + letter)
                os.makedirs(data)
                self.servers.append(processes.server(
                    self.binary, "server-" + letter, processes.free_port(), data, self.postgres.url,
                    self.environment, self.logs, server_flags))
        else:
            # The data directory on a tmpfs of its own, so the harness can fill it up. Sized for the run at twice
            # what the store takes, about 3 KB a job (its events, webhook deliveries and WAL): a long run filled
            # a fixed 96 MB in 13 minutes on its own.
            self.tmpfs = os.path.join(self.root, "data")
            os.makedirs(self.tmpfs)
            megabytes = 96 + int(self.seconds * self.rate * 6 / 1000)
            subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={megabytes}m", "tmpfs", self.tmpfs], check=True)
            self.servers.append(processes.server(
                self.binary, "server-a", processes.free_port(), self.tmpfs, None, self.environment, self.logs,
                server_flags))
        for server in self.servers:
            server.start()
        status, worker_key = processes.http_json(
            "POST", self.servers[0].base + "/api/keys", {"name": "chaos-agents", "role": "worker"}, key=self.admin_key)
        assert status == 201, (status, worker_key)
        for number in range(2 if self.name == "postgres" else 1):
            server = self.servers[number % len(self.servers)]
            agent = processes.agent(self.binary, f"agent-{number + 1}", server.base, worker_key["secret"], self.root,
                                    self.environment, self.logs, concurrency=8)
            agent.start()
            self.agents.append(agent)

    def fault_kinds(self):
        kinds = []
        for server in self.servers:
            kinds += [("kill9", server.name), ("sigterm", server.name), ("kill9-mid-batch", server.name),
                      ("sigstop", server.name)]
        for agent in self.agents:
            kinds += [("kill9", agent.name), ("sigterm", agent.name), ("sigstop", agent.name)]
        if self.postgres:
            kinds += [("postgres-restart", "fast"), ("postgres-restart", "immediate")]
        if self.tmpfs:
            kinds += [("disk-full", "data")]
        return kinds

    def process(self, name):
        return next(p for p in self.servers + self.agents if p.name == name)

    # Faults

    def inject(self, fault, api, ledger, stop):
        self.injected[fault.kind] = self.injected.get(fault.kind, 0) + 1
        if fault.kind == "postgres-restart":
            self.postgres.restart(fault.target)
            return
        if fault.kind == "disk-full":
            self.fill_disk(fault.down, ledger)
            return
        target = self.process(fault.target)
        if not target.running:
            return
        if fault.kind == "sigstop":
            # Frozen past its leases, as a VM paused by its host: its jobs run elsewhere meanwhile, and what it
            # reports when it wakes carries stale lease tokens that must be refused, never stored.
            target.signal(signal.SIGSTOP)
            time.sleep(LEASE_SECONDS + 1 + fault.down)
            target.signal(signal.SIGCONT)
            return
        if fault.kind == "kill9":
            target.kill9()
        elif fault.kind == "sigterm":
            target.terminate()
        elif fault.kind == "kill9-mid-batch":
            index = self.servers.index(target)
            jobs = []
            for n in range(300):
                key = f"midbatch-{fault.at:.1f}-{n}"
                body, expectation = clients.job_body("noop", key, n, api.receiver, self.marks)
                jobs.append((key, body, expectation))
            sender = threading.Thread(target=clients.submit, args=(api.servers, ledger, jobs, index, stop),
                                      daemon=True)
            sender.start()
            time.sleep(0.005 + self.rng.random() * 0.04)
            target.kill9()
            api.batch_senders.append(sender)
        time.sleep(fault.down)
        target.start(wait=target in self.servers)

    def fill_disk(self, seconds, ledger):
        """Fills the tmpfs to the last byte, keeps it full for `seconds`, then frees it."""
        filler = os.path.join(self.tmpfs, "filler")
        descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for size in (1 << 20, 4096, 1):
                try:
                    while True:
                        os.write(descriptor, b"\0" * size)
                except OSError:
                    pass
        finally:
            os.close(descriptor)
        with ledger.lock:
            ledger.disk_full = True
        time.sleep(seconds)
        with ledger.lock:
            ledger.disk_full = False
        os.remove(filler)

    def restore(self):
        """Everything up again, as after an operator's fix."""
        for process in self.servers + self.agents:
            if not process.running:
                process.start(wait=process in self.servers)
        for agent in self.agents:
            agent.wait_ready()

    def stop(self):
        for process in self.agents + self.servers:
            process.stop()
        if self.postgres:
            self.postgres.remove()
        if self.tmpfs:
            subprocess.run(["umount", "-l", self.tmpfs], check=False)


class Clients:
    """The load: submitters, a canceller, 20 followers, a webhook receiver."""

    def __init__(self, scenario, ledger):
        self.ledger = ledger
        self.stop_submitting = threading.Event()
        self.stop_following = threading.Event()
        self.give_up = threading.Event()
        self.webhooks = clients.WebhookReceiver(scenario.webhook_secret, ledger)
        self.receiver = self.webhooks.url
        status, client_key = processes.http_json(
            "POST", scenario.servers[0].base + "/api/keys", {"name": "chaos-client", "role": "client"},
            key=scenario.admin_key)
        assert status == 201, (status, client_key)
        self.servers = clients.Servers([s.base for s in scenario.servers], client_key["secret"])
        self.batch_senders = []
        submitters = 3
        self.threads = [clients.Submitter(f"s{n}", self.servers, ledger, scenario.rate / submitters,
                                          scenario.seed * 100 + n, self.receiver, scenario.marks,
                                          self.stop_submitting) for n in range(submitters)]
        self.canceller = clients.Canceller(self.servers, ledger, self.give_up)
        self.followers = [clients.Follower(n, self.servers, ledger, self.stop_following, self.give_up,
                                           scenario.seed * 1000 + n) for n in range(20)]

    def start(self):
        for thread in self.threads + [self.canceller] + self.followers:
            thread.start()


def run(name, binary, root, seed, seconds, rate, log, gaps):
    """Runs one scenario; answers (summary dict, failures list)."""
    scenario = Scenario(name, binary, root, seed, seconds, rate, log)
    try:
        scenario.start()
        ledger = clients.Ledger()
        api = Clients(scenario, ledger)
        faults = schedule(scenario.rng, scenario.fault_kinds(), seconds, gaps)
        seconds = max(seconds, faults[-1].at + faults[-1].down + 2)
        log(f"chaos[{name}]: seed {seed}, {len(faults)} faults: " + "; ".join(map(str, faults)))
        began = time.monotonic()
        api.start()
        for fault in faults:
            time.sleep(max(0.0, began + fault.at - time.monotonic()))
            try:
                scenario.inject(fault, api, ledger, api.stop_submitting)
            except Exception as error:  # a fault that could not be injected is a harness failure, not a pass
                raise RuntimeError(f"fault {fault} failed: {error}") from error
        time.sleep(max(0.0, began + seconds - time.monotonic()))
        api.stop_submitting.set()
        scenario.restore()
        for thread in api.threads + api.batch_senders:
            thread.join(timeout=150)
        log(f"chaos[{name}]: faults over after {time.monotonic() - began:.0f} s; draining")
        return invariants.check(scenario, api, ledger, log)
    finally:
        scenario.stop()
