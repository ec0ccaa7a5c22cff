// The React hooks, rendered with react-test-renderer, following real jobs on a real server.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import React from "react";
import TestRenderer from "react-test-renderer";
import { Offload } from "../dist/index.js";
import { reduceJobView, useJob, useSubmit } from "../dist/react.js";
import { clientKey, startProxy, startServer } from "./helpers.mjs";

// Updates come from the stream, outside act(): tell React this is not an act() environment.
globalThis.IS_REACT_ACT_ENVIRONMENT = false;

/** Renders `useHook` in a component; resolves with the first value `done` accepts (and every value seen). */
function renderUntil(useHook, done, timeoutMs = 30_000) {
  const seen = [];
  let root;
  const result = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out; last ${JSON.stringify(seen.at(-1))}`)), timeoutMs);
    function Probe() {
      const value = useHook();
      seen.push(value);
      React.useEffect(() => {
        if (done(value)) {
          clearTimeout(timer);
          resolve(value);
        }
      });
      return null;
    }
    root = TestRenderer.create(React.createElement(Probe));
  });
  return result.then((value) => ({ value, seen, unmount: () => root.unmount() }));
}

describe("React hooks", () => {
  let server;
  let key;
  before(async () => {
    server = await startServer();
    key = await clientKey(server.url, "react");
  });
  after(async () => server?.stop());

  test("useJob with a client follows a job to COMPLETED: status, progress, result, events", async () => {
    const client = new Offload({ baseUrl: server.url, apiKey: key });
    const job = await client.submit("type1", [{ id: 1, name: "a" }, { id: 2, name: "b" }, { id: 3, name: "c" }]);
    const { value, seen, unmount } = await renderUntil(() => useJob(job.jobId, { client }), (v) => v.done);
    unmount();
    assert.equal(value.status, "COMPLETED");
    assert.equal(value.progress, 100);
    assert.equal(value.job.jobId, job.jobId);
    assert.ok(value.result !== undefined);
    assert.equal(value.error, null);
    assert.equal(value.streamError, null);
    // The whole log was replayed: seq 1 (PENDING) to the final event, in order.
    const seqs = value.events.filter((e) => e.kind !== "snapshot").map((e) => Number(e.id));
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1));
    // It rendered on the way, not only at the end.
    assert.ok(seen.some((v) => v.status === "PROCESSING" && v.progress > 0 && v.progress < 100));
  });

  test("useJob with a stream token, cut mid-way, resumes with a fresh token and misses nothing", async () => {
    const client = new Offload({ baseUrl: server.url, apiKey: key });
    const proxy = await startProxy(server.url);
    try {
      const job = await client.submit("type1", Array.from({ length: 10 }, (_, i) => ({ id: i })));
      const { token } = await client.streamToken(job.jobId);
      let refreshed = 0;
      const getStreamToken = async () => {
        refreshed += 1;
        return (await client.streamToken(job.jobId)).token;
      };
      let cut = false;
      const { value, unmount } = await renderUntil(
        () => useJob(job.jobId, { baseUrl: proxy.url, streamToken: token, getStreamToken }),
        (v) => {
          if (!cut && v.progress >= 30) {
            cut = true;
            proxy.cutAll();
          }
          return v.done;
        },
      );
      unmount();
      assert.ok(cut);
      assert.ok(refreshed >= 1, "a fresh token for the reconnection");
      assert.equal(value.status, "COMPLETED");
      const seqs = value.events.filter((e) => e.kind !== "snapshot").map((e) => Number(e.id));
      assert.deepEqual(seqs, seqs.map((_, i) => i + 1), "no event twice, none missing");
      assert.equal(value.events.filter((e) => e.kind === "progress").length, 10);
    } finally {
      await proxy.stop();
    }
  });

  test("useJob of a job that fails shows its error; of a missing job, the stream error", async () => {
    const client = new Offload({ baseUrl: server.url, apiKey: key });
    // 30 items take 3 s: over its 1 s, the only attempt is stopped and fails.
    const job = await client.submit("type1", Array.from({ length: 30 }, (_, i) => ({ id: i })), { maxAttempts: 1, timeoutSeconds: 1 });
    const failed = await renderUntil(() => useJob(job.jobId, { client }), (v) => v.done || v.streamError);
    failed.unmount();
    assert.equal(failed.value.status, "FAILED", JSON.stringify(failed.value.job));
    assert.ok(failed.value.error);
    const missing = await renderUntil(() => useJob("job_missing", { client }), (v) => v.streamError);
    missing.unmount();
    assert.equal(missing.value.streamError.status, 404);
  });

  test("useSubmit with a client submits and hands the job to useJob", async () => {
    const client = new Offload({ baseUrl: server.url, apiKey: key });
    let submitted = false;
    const { value, unmount } = await renderUntil(
      () => {
        const submit = useSubmit({ client });
        const view = useJob(submit.jobId, { client });
        React.useEffect(() => {
          if (!submitted) {
            submitted = true;
            submit.submit({ processingType: "noop", data: { via: "useSubmit" } });
          }
        }, []);
        return { submit, view };
      },
      (v) => v.view.done,
    );
    unmount();
    assert.equal(value.submit.submitting, false);
    assert.match(value.submit.jobId, /^job_/);
    assert.deepEqual(value.view.result, { via: "useSubmit" });
  });

  test("useSubmit against your own route: POSTs the input, reads {jobId, streamToken}", async () => {
    const client = new Offload({ baseUrl: server.url, apiKey: key });
    const route = async (_url, init) => {
      const input = JSON.parse(init.body);
      const job = await client.submit("noop", input);
      const { token } = await client.streamToken(job.jobId);
      return Response.json({ jobId: job.jobId, streamToken: token }, { status: 201 });
    };
    let started = false;
    const { value, unmount } = await renderUntil(
      () => {
        const submit = useSubmit({ endpoint: "/api/jobs", fetch: route });
        const view = useJob(submit.jobId, { baseUrl: server.url, streamToken: submit.streamToken ?? "" });
        React.useEffect(() => {
          if (!started) {
            started = true;
            submit.submit({ prompt: "hi" });
          }
        }, []);
        return { submit, view };
      },
      (v) => v.view.done,
    );
    unmount();
    assert.ok(value.submit.streamToken);
    assert.deepEqual(value.view.result, { prompt: "hi" });
  });
});

test("reduceJobView: tokens join, logs collect, the final event settles the job", () => {
  const job = { jobId: "job_1", status: "PROCESSING", progress: 0 };
  let view = reduceJobView(undefined, { type: "reset" });
  const step = (event) => { view = reduceJobView(view, { type: "event", event, keep: 3 }); };
  step({ id: "2", kind: "snapshot", data: job });
  step({ id: "3", kind: "token", data: { text: "Hel" } });
  step({ id: "4", kind: "token", data: { text: "lo" } });
  step({ id: "5", kind: "log", data: { stream: "stdout", line: "x" } });
  step({ id: "6", kind: "progress", data: { progress: 50 } });
  assert.equal(view.text, "Hello");
  assert.deepEqual(view.logs, [{ stream: "stdout", line: "x" }]);
  assert.equal(view.progress, 50);
  assert.deepEqual(view.events.map((e) => e.id), ["4", "5", "6"], "keeps the latest `keep` events");
  step({ id: "7", kind: "failed", data: { ...job, status: "FAILED", error: "boom", progress: 50 } });
  assert.equal(view.status, "FAILED");
  assert.equal(view.error, "boom");
  assert.equal(view.done, true);
});
