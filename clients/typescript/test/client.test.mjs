// The client against a real `offload serve`: every method, its errors, its retries and its token.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Offload, OffloadError } from "../dist/index.js";
import { ADMIN_KEY, clientKey, freePort, recordingFetch, startProxy, startServer } from "./helpers.mjs";

describe("Offload client", () => {
  let server;
  let key;
  before(async () => {
    server = await startServer();
    key = await clientKey(server.url, "acme");
  });
  after(async () => server?.stop());

  test("submit, get, list with filters and cursor, events", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await offload.submit("noop", { n: 1 }, { queue: "sdk-list", priority: 5 });
    assert.match(job.jobId, /^job_/);
    assert.equal(job.processingType, "noop");
    assert.equal(job.queue, "sdk-list");
    assert.equal(job.priority, 5);
    assert.equal(job.tenant, "acme");
    const again = await offload.get(job.jobId);
    assert.equal(again.jobId, job.jobId);

    for (let i = 0; i < 4; i++) await offload.submit("noop", { n: i }, { queue: "sdk-list" });
    const first = await offload.list({ queue: "sdk-list", limit: 3 });
    assert.equal(first.jobs.length, 3);
    assert.ok(first.nextCursor);
    const second = await offload.list({ queue: "sdk-list", limit: 3, cursor: first.nextCursor });
    assert.equal(second.jobs.length, 2);
    assert.equal(second.nextCursor, null);
    const ids = [...first.jobs, ...second.jobs].map((j) => j.jobId);
    assert.equal(new Set(ids).size, 5);
    assert.ok(ids.includes(job.jobId));

    const finished = await offload.submitAndWait("noop", { answer: 42 }, {}, { timeoutSeconds: 30 });
    assert.equal(finished.status, "COMPLETED");
    assert.deepEqual(finished.result, { answer: 42 });
    const completed = await offload.list({ status: "COMPLETED", type: "noop", limit: 100 });
    assert.ok(completed.jobs.some((j) => j.jobId === finished.jobId));
    assert.ok(completed.jobs.every((j) => j.status === "COMPLETED"));

    const events = await offload.events(finished.jobId);
    assert.deepEqual(events.events.map((e) => e.seq), events.events.map((_, i) => i + 1));
    assert.equal(events.events.at(-1).kind, "completed");
  });

  test("submitAndWait answers the unfinished job when the wait runs out", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await offload.submitAndWait("type1", [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }, { id: 5 }], {}, { timeoutSeconds: 0 });
    assert.ok(job.status === "PENDING" || job.status === "PROCESSING", job.status);
    await offload.cancel(job.jobId);
  });

  test("submitBatch stores all in order; a bad item refuses the batch with the items named", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const jobs = await offload.submitBatch([
      { processingType: "noop", data: { i: 0 } },
      { processingType: "noop", data: { i: 1 }, options: { priority: 3 } },
      { processingType: "type1", data: [{ id: 1 }] },
    ]);
    assert.deepEqual(jobs.map((j) => j.processingType), ["noop", "noop", "type1"]);
    assert.equal(jobs[1].priority, 3);
    const error = await offload.submitBatch([
      { processingType: "noop", data: {} },
      { processingType: "no-such-type", data: {} },
    ]).catch((e) => e);
    assert.ok(error instanceof OffloadError);
    assert.equal(error.status, 422);
    assert.equal(error.items?.[0]?.index, 1);
  });

  test("cancel and retry", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await offload.submit("noop", {}, { delaySeconds: 3600 });
    const cancelled = await offload.cancel(job.jobId);
    assert.equal(cancelled.status, "CANCELLED");
    const retried = await offload.retry(job.jobId);
    assert.equal(retried.status, "PENDING");
    const conflict = await offload.retry(job.jobId).catch((e) => e);
    assert.ok(conflict instanceof OffloadError);
    assert.equal(conflict.status, 409);
    assert.equal(conflict.code, "conflict");
  });

  test("errors carry the server's status, code and message", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const missing = await offload.get("job_nope").catch((e) => e);
    assert.ok(missing instanceof OffloadError);
    assert.equal(missing.status, 404);
    assert.equal(missing.code, "not_found");
    assert.match(missing.message, /job_nope/);
    const invalid = await offload.submit("noop", {}, { priority: 5000 }).catch((e) => e);
    assert.equal(invalid.status, 422);
    assert.match(invalid.message, /priority/);
    const unknownKey = await new Offload({ baseUrl: server.url, apiKey: "ok_wrong" }).get("job_x").catch((e) => e);
    assert.equal(unknownKey.status, 401);
    const nobody = await new Offload({ baseUrl: "http://127.0.0.1:9", apiKey: key, maxAttempts: 2 }).get("job_x").catch((e) => e);
    assert.equal(nobody.status, 0);
    assert.equal(nobody.code, "network_error");
    assert.throws(() => new Offload({ baseUrl: server.url, apiKey: key, token: "t" }), TypeError);
  });

  test("a stream token reads only its job", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await offload.submit("noop", { x: 1 });
    const other = await offload.submit("noop", { x: 2 });
    const { token, expiresIn, url } = await offload.streamToken(job.jobId);
    assert.ok(expiresIn > 0 && expiresIn <= 300);
    assert.ok(url.includes(job.jobId));
    const reader = new Offload({ baseUrl: server.url, token });
    const events = [];
    for await (const event of reader.watch(job.jobId)) events.push(event.kind);
    assert.equal(events[0], "snapshot");
    const refused = await reader.get(other.jobId).catch((e) => e);
    assert.ok(refused instanceof OffloadError);
    assert.ok([401, 403, 404].includes(refused.status), String(refused.status));
  });

  test("the API key is exchanged once, and again 5 minutes before the JWT expires", async () => {
    const recorder = recordingFetch();
    let now = Date.now();
    const offload = new Offload({ baseUrl: server.url, apiKey: key, fetch: recorder.fetch, now: () => now });
    const job = await offload.submit("noop", {});
    await offload.get(job.jobId);
    await offload.list({ limit: 1 });
    const exchanges = () => recorder.calls.filter((c) => c.path === "/api/auth/token").length;
    assert.equal(exchanges(), 1);
    now += 1_499_000; // the JWT lives 1,800 s: 301 s are left
    await offload.get(job.jobId);
    assert.equal(exchanges(), 1);
    now += 2_000; // 299 s left: inside the 5-minute margin
    await offload.get(job.jobId);
    assert.equal(exchanges(), 2);
    assert.ok(recorder.calls.every((c) => c.status !== 401));
  });

  test("getToken is asked before each request, and again after a 401", async () => {
    const exchange = async () => (await (await fetch(`${server.url}/api/auth/token`, { method: "POST", headers: { "X-API-Key": key } })).json()).token;
    const good = await exchange();
    const asked = [];
    let answer = "not-a-jwt";
    const offload = new Offload({ baseUrl: server.url, getToken: async () => { asked.push(answer); const a = answer; answer = good; return a; } });
    const job = await offload.submit("noop", { via: "getToken" });
    assert.deepEqual(asked, ["not-a-jwt", good], "the refused token is replaced once");
    await offload.get(job.jobId);
    assert.equal(asked.length, 3);
    const always = new Offload({ baseUrl: server.url, getToken: () => "not-a-jwt" });
    const refused = await always.get(job.jobId).catch((e) => e);
    assert.equal(refused.status, 401);
  });

  test("concurrent first calls share one exchange", async () => {
    const recorder = recordingFetch();
    const offload = new Offload({ baseUrl: server.url, apiKey: key, fetch: recorder.fetch });
    await Promise.all(Array.from({ length: 8 }, () => offload.list({ limit: 1 })));
    assert.equal(recorder.calls.filter((c) => c.path === "/api/auth/token").length, 1);
  });

  test("an idempotent submit whose answer is lost is retried and stores one job; a plain one is not retried", async () => {
    const proxy = await startProxy(server.url);
    try {
      const offload = new Offload({ baseUrl: proxy.url, apiKey: key });
      await offload.list({ limit: 1 }); // the JWT, so that the next answer lost is the submit's
      const idempotencyKey = `order-${Date.now()}`;
      proxy.dropAnswers(1);
      const job = await offload.submit("noop", { order: 17 }, { idempotencyKey, queue: "sdk-retry" });
      assert.equal(proxy.stats.dropped, 1);
      const stored = await offload.list({ queue: "sdk-retry", limit: 100 });
      assert.deepEqual(stored.jobs.filter((j) => j.idempotencyKey === idempotencyKey).map((j) => j.jobId), [job.jobId]);

      proxy.dropAnswers(1);
      const recorder = recordingFetch();
      const plain = new Offload({ baseUrl: proxy.url, apiKey: key, fetch: recorder.fetch });
      await plain.list({ limit: 1 });
      proxy.dropAnswers(1);
      const lost = await plain.submit("noop", { order: 18 }, { queue: "sdk-plain" }).catch((e) => e);
      assert.ok(lost instanceof OffloadError);
      assert.equal(lost.code, "network_error");
      assert.equal(recorder.calls.filter((c) => c.method === "POST" && c.path === "/api/jobs").length, 1, "a submit without a key is sent once");
      // The server did store it: the answer was lost, not the request. That is why it is not repeated.
      const plainJobs = await plain.list({ queue: "sdk-plain", limit: 100 });
      assert.equal(plainJobs.jobs.length, 1);
    } finally {
      await proxy.stop();
    }
  });

  test("a 401 on a JWT the server no longer accepts is answered with a new exchange", async () => {
    const port = await freePort();
    const first = await startServer({ port, env: { OFFLOAD_JWT_SECRET: "a".repeat(40) } });
    const dataDir = first.dataDir;
    let second;
    try {
      const recorder = recordingFetch();
      const offload = new Offload({ baseUrl: first.url, apiKey: ADMIN_KEY, fetch: recorder.fetch });
      const job = await offload.submit("noop", {}, { delaySeconds: 3600 });
      await first.stop({ keepData: true });
      second = await startServer({ port, dataDir, env: { OFFLOAD_JWT_SECRET: "b".repeat(40) } });
      const again = await offload.get(job.jobId);
      assert.equal(again.jobId, job.jobId);
      assert.deepEqual(recorder.calls.map((c) => `${c.path} ${c.status}`), [
        "/api/auth/token 200", "/api/jobs 201", `/api/jobs/${job.jobId} 401`, "/api/auth/token 200", `/api/jobs/${job.jobId} 200`,
      ]);
    } finally {
      await second?.stop();
      const { rm } = await import("node:fs/promises");
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

describe("Offload client against a rate-limited server", () => {
  let server;
  before(async () => { server = await startServer({ args: ["--rate-limit", "2", "--rate-burst", "2"] }); });
  after(async () => server?.stop());

  test("reads are retried after a 429, honouring Retry-After", async () => {
    const key = await clientKey(server.url, "limited");
    const recorder = recordingFetch();
    const offload = new Offload({ baseUrl: server.url, apiKey: key, fetch: recorder.fetch, maxAttempts: 6 });
    const job = await offload.submit("noop", {}, { idempotencyKey: "limited-1" });
    for (let i = 0; i < 4; i++) assert.equal((await offload.get(job.jobId)).jobId, job.jobId);
    const limited = recorder.calls.filter((c) => c.status === 429);
    assert.ok(limited.length >= 1, JSON.stringify(recorder.calls));
    // Without retries, a burst over the limit sees the 429 itself, with the server's Retry-After.
    const once = new Offload({ baseUrl: server.url, apiKey: key, maxAttempts: 1 });
    const outcomes = await Promise.all(Array.from({ length: 6 }, () => once.get(job.jobId).catch((e) => e)));
    const refused = outcomes.filter((o) => o instanceof OffloadError);
    assert.ok(refused.length >= 1);
    for (const error of refused) {
      assert.equal(error.status, 429);
      assert.ok(error.retryAfter >= 1);
    }
  });
});
