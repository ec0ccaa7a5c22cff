// verifyWebhook against a real delivery from the server.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, test } from "node:test";
import { Offload, verifyWebhook } from "../dist/index.js";
import { ADMIN_KEY, WEBHOOK_SECRET, startServer } from "./helpers.mjs";

let server;
before(async () => { server = await startServer(); });
after(async () => server?.stop());

test("a delivery's signature verifies with the secret, and nothing else does", async () => {
  let deliver;
  const delivered = new Promise((resolve) => { deliver = resolve; });
  const receiver = http.createServer((request, response) => {
    const chunks = [];
    request.on("data", (c) => chunks.push(c));
    request.on("end", () => {
      response.writeHead(200).end();
      deliver({ body: Buffer.concat(chunks), signature: request.headers["x-offload-signature"], jobId: request.headers["x-offload-job-id"] });
    });
  });
  await new Promise((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  try {
    const offload = new Offload({ baseUrl: server.url, apiKey: ADMIN_KEY });
    const job = await offload.submit("noop", { hello: "world" }, {
      webhookUrl: `http://127.0.0.1:${receiver.address().port}/hooks/offload`,
    });
    const { body, signature, jobId } = await delivered;
    assert.equal(jobId, job.jobId);
    assert.match(signature, /^sha256=[0-9a-f]{64}$/);
    const text = body.toString("utf8");
    assert.equal(JSON.parse(text).status, "COMPLETED");

    assert.equal(await verifyWebhook(text, signature, WEBHOOK_SECRET), true);
    assert.equal(await verifyWebhook(new Uint8Array(body), signature, WEBHOOK_SECRET), true);
    assert.equal(await verifyWebhook(body.buffer.slice(body.byteOffset, body.byteOffset + body.length), signature, WEBHOOK_SECRET), true);
    assert.equal(await verifyWebhook(text + " ", signature, WEBHOOK_SECRET), false, "a changed body");
    assert.equal(await verifyWebhook(text, signature, WEBHOOK_SECRET + "x"), false, "another secret");
    const flipped = signature.slice(0, -1) + (signature.endsWith("0") ? "1" : "0");
    assert.equal(await verifyWebhook(text, flipped, WEBHOOK_SECRET), false, "a changed signature");
    for (const bad of [null, undefined, "", "sha256=", "sha1=" + "0".repeat(40), signature.slice(7), signature + "00"]) {
      assert.equal(await verifyWebhook(text, bad, WEBHOOK_SECRET), false, `header ${bad}`);
    }
  } finally {
    await new Promise((resolve) => receiver.close(resolve));
  }
});
