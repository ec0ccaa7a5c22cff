"""The real processes a soak runs: a throwaway PostgreSQL cluster, `offload serve` and `offload worker`.

Every process is started by this harness and stopped only by its own pid; PostgreSQL runs as the
`postgres` user (it refuses root) in a temporary directory on a free loopback port.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

PG_BIN = "/usr/lib/postgresql/15/bin"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_json(method, url, body=None, key=None, timeout=10.0, headers=None):
    """One request on a fresh connection: (status, parsed JSON or None). Connection errors raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if key:
        request.add_header("X-API-Key", key)
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
            return response.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        text = error.read()
        try:
            return error.code, json.loads(text) if text else None
        except ValueError:
            return error.code, None
    except urllib.error.URLError as error:
        raise OSError(str(error.reason)) from error


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory; `restart` and `remove` act on this cluster only."""

    def __init__(self, root):
        self.directory = os.path.join(root, "pg")
        os.makedirs(self.directory)
        if os.getuid() == 0:
            shutil.chown(self.directory, "postgres")
        self.port = free_port()
        self._run("initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions")
        self.start()
        self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-d", "postgres", "-q",
                  "-c", "CREATE DATABASE offload")

    @property
    def data(self):
        return os.path.join(self.directory, "data")

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/offload?sslmode=disable"

    def _run(self, program, *arguments):
        argv = [os.path.join(PG_BIN, program), *arguments]
        if os.getuid() == 0:
            argv = ["/usr/sbin/runuser", "-u", "postgres", "--", *argv]
        # Output to a file, not a pipe: the server `pg_ctl start` leaves running would hold a pipe open.
        with tempfile.TemporaryFile() as errors:
            result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors,
                                    timeout=120)
            if result.returncode != 0:
                errors.seek(0)
                raise RuntimeError(f"{program} {arguments[-1]} failed: {errors.read().decode(errors='replace')}")

    def start(self):
        self._run("pg_ctl", "-D", self.data, "-l", os.path.join(self.directory, "server.log"), "-w", "-t", "60",
                  "-o", f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c max_connections=300",
                  "start")

    def restart(self, mode):
        """`fast` rolls back open transactions; `immediate` is a crash (recovery from the WAL on start)."""
        self._run("pg_ctl", "-D", self.data, "-m", mode, "-w", "stop")
        self.start()

    def remove(self):
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        except (RuntimeError, subprocess.TimeoutExpired):
            pass
        shutil.rmtree(self.directory, ignore_errors=True)


class OffloadProcess:
    """One `offload` process that can be killed and started again with the same arguments (and port)."""

    def __init__(self, binary, name, arguments, environment, log_directory, ready):
        self.binary = binary
        self.name = name
        self.arguments = arguments
        self.environment = environment
        self.log_path = os.path.join(log_directory, name + ".log")
        self.ready = ready
        self.process = None
        self.starts = 0

    def start(self, wait=True):
        log = open(self.log_path, "ab")
        log.write(f"--- start {self.starts + 1} at {time.time():.3f}\n".encode())
        log.flush()
        self.process = subprocess.Popen([self.binary, *self.arguments], env=self.environment,
                                        stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        self.starts += 1
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}; log: {self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"{self.name} did not get ready in {timeout} s; log: {self.log_tail()}")

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, number):
        if self.running:
            os.kill(self.process.pid, number)

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.process.wait()

    def terminate(self, timeout=60.0):
        """SIGTERM, then waits for the drain to end; answers the exit status."""
        self.signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill9()
            raise RuntimeError(f"{self.name} did not exit within {timeout} s of SIGTERM; log: {self.log_tail()}")

    def stop(self):
        if self.running:
            self.kill9()

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def log_tail(self, size=3000):
        try:
            with open(self.log_path, "rb") as log:
                log.seek(0, os.SEEK_END)
                log.seek(max(0, log.tell() - size))
                return log.read().decode(errors="replace")
        except OSError:
            return ""


def server(binary, name, port, data_dir, database, environment, log_directory, extra=()):
    """`offload serve` on a fixed port (kept across restarts), with in-process workers and shell allowed."""
    arguments = ["serve", "--port", str(port), "--data-dir", data_dir, "--allow-shell", "--log-level", "notice",
                 *extra]
    if database:
        arguments += ["--database", database]
    base = f"http://127.0.0.1:{port}"

    def ready():
        try:
            return http_json("GET", base + "/ready", timeout=1.0)[0] == 200
        except OSError:
            return False

    process = OffloadProcess(binary, name, arguments, environment, log_directory, ready)
    process.base = base
    return process


def agent(binary, name, server_url, key, state_directory, environment, log_directory, concurrency):
    """`offload worker` against `server_url`; ready once it logged its registration."""
    environment = dict(environment, OFFLOAD_WORKER_KEY=key)
    arguments = ["worker", "--server", server_url, "--name", name, "--state-file",
                 os.path.join(state_directory, name + ".json"), "--concurrency", str(concurrency), "--allow-shell",
                 "--heartbeat-seconds", "1", "--shutdown-grace", "3"]
    holder = {}

    def ready():
        process = holder["process"]
        return f"--- start {process.starts}" in process.log_tail(200_000) and "worker registered" in \
            process.log_tail(200_000).split(f"--- start {process.starts}")[-1]

    process = OffloadProcess(binary, name, arguments, environment, log_directory, ready)
    holder["process"] = process
    process.base = server_url
    return process
