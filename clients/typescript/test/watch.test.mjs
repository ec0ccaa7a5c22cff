// watch() against a real server: the whole stream in order, resumed exactly after cuts.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Offload, OffloadError } from "../dist/index.js";
import { clientKey, startProxy, startServer } from "./helpers.mjs";

const items = (n) => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `item${i + 1}` }));

/**
 * The events (snapshots of reconnections aside) carry contiguous seqs from the first snapshot's id on, and the
 * last one is final.
 */
function assertExact(events) {
  assert.equal(events[0].kind, "snapshot");
  const start = Number(events[0].id ?? 0);
  const seqs = events.filter((e) => e.kind !== "snapshot").map((e) => Number(e.id));
  assert.deepEqual(seqs, seqs.map((_, i) => start + 1 + i), `seqs ${seqs} after ${start}`);
  assert.equal(events.at(-1).kind, "completed");
}

describe("watch", () => {
  let server;
  let key;
  before(async () => {
    server = await startServer();
    key = await clientKey(server.url, "watchers");
  });
  after(async () => server?.stop());

  test("a snapshot, then every event to the final one, then the loop ends", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await offload.submit("type1", items(3));
    const events = [];
    for await (const event of offload.watch(job.jobId)) events.push(event);
    assertExact(events);
    const progress = events.filter((e) => e.kind === "progress").map((e) => e.data.progress);
    assert.deepEqual(progress, [33, 66, 100]);
    assert.equal(events.at(-1).data.status, "COMPLETED");
    assert.deepEqual(events.at(-1).data.result.map((r) => [r.id, r.processed]), [[1, true], [2, true], [3, true]]);
  });

  test("cut twice mid-stream, it resumes with Last-Event-ID: no event twice, none missing", async () => {
    const proxy = await startProxy(server.url);
    try {
      const offload = new Offload({ baseUrl: proxy.url, apiKey: key });
      const job = await offload.submit("type1", items(12));
      const events = [];
      let cuts = 0;
      for await (const event of offload.watch(job.jobId)) {
        events.push(event);
        const progress = events.filter((e) => e.kind === "progress").length;
        if ((progress === 3 && cuts === 0) || (progress === 7 && cuts === 1)) {
          cuts += 1;
          proxy.cutAll();
        }
      }
      assert.equal(cuts, 2);
      assertExact(events);
      assert.equal(events.filter((e) => e.kind === "snapshot").length, 3, "a snapshot per connection");
      const progress = events.filter((e) => e.kind === "progress").map((e) => e.data.progress);
      assert.equal(progress.length, 12);
      // The stored log agrees, event for event.
      const stored = await offload.events(job.jobId);
      const start = Number(events[0].id);
      assert.deepEqual(
        events.filter((e) => e.kind !== "snapshot").map((e) => [Number(e.id), e.kind]),
        stored.events.filter((e) => e.seq > start).map((e) => [e.seq, e.kind]),
      );
    } finally {
      await proxy.stop();
    }
  });

  test("a stream token in the query (a browser's way), resumed after a cut with ?lastEventId=", async () => {
    const proxy = await startProxy(server.url);
    try {
      const offload = new Offload({ baseUrl: server.url, apiKey: key });
      const job = await offload.submit("type1", items(6));
      const { token } = await offload.streamToken(job.jobId);
      const tokens = [];
      const reader = new Offload({
        baseUrl: proxy.url,
        tokenInQuery: true,
        fetch: (input, init) => {
          const url = new URL(input);
          tokens.push([url.searchParams.get("token"), url.searchParams.get("lastEventId"), init.headers.Authorization]);
          return fetch(input, init);
        },
        getToken: () => token,
      });
      const events = [];
      for await (const event of reader.watch(job.jobId)) {
        events.push(event);
        if (events.filter((e) => e.kind === "progress").length === 2 && tokens.length === 1) proxy.cutAll();
      }
      assertExact(events);
      assert.equal(tokens.length, 2);
      assert.deepEqual(tokens.map(([t, , header]) => [t === token, header]), [[true, undefined], [true, undefined]]);
      assert.equal(tokens[0][1], null);
      assert.ok(Number(tokens[1][1]) >= 3, `resumed after ${tokens[1][1]}`);
    } finally {
      await proxy.stop();
    }
  });

  test("lastEventId \"0\" replays the whole log; a finished job's stream ends at once", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await offload.submitAndWait("type1", items(2), {}, { timeoutSeconds: 30 });
    assert.equal(job.status, "COMPLETED");
    const replay = [];
    for await (const event of offload.watch(job.jobId, { lastEventId: "0" })) replay.push(event);
    assert.equal(replay[0].id, null, "a snapshot after Last-Event-ID carries no id");
    assert.deepEqual(replay.slice(1).map((e) => Number(e.id)), replay.slice(1).map((_, i) => i + 1));
    assert.equal(replay.at(-1).kind, "completed");
    const fresh = [];
    for await (const event of offload.watch(job.jobId)) fresh.push(event.kind);
    assert.deepEqual(fresh, ["snapshot"]);
  });

  test("a signal ends the loop quietly; a missing job is an error at once", async () => {
    const offload = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await offload.submit("type1", items(50));
    const controller = new AbortController();
    const kinds = [];
    for await (const event of offload.watch(job.jobId, { signal: controller.signal })) {
      kinds.push(event.kind);
      if (event.kind === "progress") controller.abort();
    }
    assert.equal(kinds.at(-1), "progress");
    await offload.cancel(job.jobId);

    const missing = [];
    const error = await (async () => {
      for await (const event of offload.watch("job_missing")) missing.push(event);
    })().catch((e) => e);
    assert.ok(error instanceof OffloadError);
    assert.equal(error.status, 404);
    assert.deepEqual(missing, []);
  });

  test("after its reconnects run out, watch throws the network error", async () => {
    const proxy = await startProxy(server.url);
    const offload = new Offload({ baseUrl: proxy.url, apiKey: key });
    const job = await offload.submit("type1", items(50));
    await proxy.stop(); // nothing listens there any more
    const started = Date.now();
    const error = await (async () => {
      for await (const _ of offload.watch(job.jobId, { maxReconnects: 2 })) { /* nothing comes */ }
    })().catch((e) => e);
    assert.ok(error instanceof OffloadError);
    assert.equal(error.code, "network_error");
    assert.ok(Date.now() - started >= 250 + 500, "two backoffs, 250 and 500 ms");
    await new Offload({ baseUrl: server.url, apiKey: key }).cancel(job.jobId);
  });
});
