// Test support: a real `offload serve` process on a free loopback port, and a TCP proxy the tests can cut.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ADMIN_KEY = "sdk-test-admin-key-0123456789";
export const WEBHOOK_SECRET = "sdk-test-webhook-secret-0123456789abcdef";

/** Every server started here, so that none outlives the test process, even one that fails half-way. */
const running = new Set();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** The binary under test: OFFLOAD_BIN, or the debug build of this checkout. */
const BINARY = process.env.OFFLOAD_BIN ?? fileURLToPath(new URL("../../../.build/debug/offload", import.meta.url));

/**
 * Starts `offload serve` in a fresh data directory (or `dataDir`) and waits until it listens.
 * `stop()` ends it by its pid (SIGTERM, then SIGKILL after 10 s) and removes a directory it made.
 */
export async function startServer({ args = [], env = {}, dataDir, port = 0 } = {}) {
  const directory = dataDir ?? (await mkdtemp(join(tmpdir(), "offload-sdk-")));
  const child = spawn(BINARY, ["serve", "--port", String(port), "--data-dir", directory, "--workers", "2", ...args], {
    env: { ...process.env, OFFLOAD_ADMIN_KEY: ADMIN_KEY, OFFLOAD_WEBHOOK_SECRET: WEBHOOK_SECRET, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  child.once("exit", () => running.delete(child));
  let log = "";
  child.stderr.on("data", (chunk) => { log += chunk; });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const url = await new Promise((resolve, reject) => {
    let seen = "";
    child.stdout.on("data", (chunk) => {
      seen += chunk;
      const match = /listening on (http:\/\/[0-9.]+:[0-9]+)/.exec(seen);
      if (match) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`offload serve exited (${code}) before listening:\n${seen}\n${log}`)));
  });
  return {
    url,
    dataDir: directory,
    log: () => log,
    async stop({ keepData = false } = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (!dataDir && !keepData) await rm(directory, { recursive: true, force: true });
    },
  };
}

/** A free loopback port (for a server that must come back on the same one). */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A client key of `tenant`, made with the admin key. */
export async function clientKey(baseUrl, tenant = "sdk", extra = {}) {
  const answer = await fetch(`${baseUrl}/api/keys`, {
    method: "POST",
    headers: { "X-API-Key": ADMIN_KEY, "Content-Type": "application/json" },
    body: JSON.stringify({ name: `sdk test ${tenant}`, role: "client", tenant, ...extra }),
  });
  if (answer.status !== 201) throw new Error(`POST /api/keys: ${answer.status} ${await answer.text()}`);
  return (await answer.json()).secret;
}

/**
 * A TCP proxy in front of `target` (`http://host:port`). `cutAll()` destroys every open connection (a dropped
 * network); `dropAnswers(n)` lets requests reach the server but cuts the connection that carries each of the next
 * n answers instead of delivering it (the server did the work; the client sees the connection die).
 */
export async function startProxy(target) {
  const { hostname, port } = new URL(target);
  const open = new Set();
  let toDrop = 0;
  const stats = { connections: 0, dropped: 0 };
  const server = net.createServer((client) => {
    stats.connections += 1;
    const upstream = net.connect(Number(port), hostname);
    open.add(client);
    open.add(upstream);
    client.on("data", (chunk) => upstream.write(chunk));
    upstream.on("data", (chunk) => {
      if (toDrop > 0) {
        toDrop -= 1;
        stats.dropped += 1;
        client.destroy();
        upstream.destroy();
        return;
      }
      client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on("close", close);
    upstream.on("close", close);
    client.on("error", close);
    upstream.on("error", close);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    stats,
    cutAll() {
      for (const socket of open) socket.destroy();
      open.clear();
    },
    dropAnswers(n) { toDrop = n; },
    async stop() {
      for (const socket of open) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A `fetch` that records every request (method, path, status) and hands them on to the real one. */
export function recordingFetch() {
  const calls = [];
  const wrapped = async (input, init = {}) => {
    const url = new URL(typeof input === "string" ? input : input.url);
    const call = { method: init.method ?? "GET", path: url.pathname, status: null };
    calls.push(call);
    try {
      const response = await fetch(input, init);
      call.status = response.status;
      return response;
    } catch (error) {
      call.status = "error";
      throw error;
    }
  };
  return { fetch: wrapped, calls };
}
