// The SDK's generated types match the OpenAPI document the server serves.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { after, before, test } from "node:test";
import { generate } from "../scripts/gen-types.mjs";
import { startServer } from "./helpers.mjs";

let server;
before(async () => { server = await startServer({ args: ["--workers", "0"] }); });
after(async () => server?.stop());

test("src/openapi.ts is what /openapi.json generates (run `node scripts/gen-types.mjs URL/openapi.json` if not)", async () => {
  const document = await (await fetch(`${server.url}/openapi.json`)).json();
  const committed = await readFile(new URL("../src/openapi.ts", import.meta.url), "utf8");
  assert.equal(committed, generate(document));
});

test("the kinds watch knows are the stream's event names", async () => {
  const document = await (await fetch(`${server.url}/openapi.json`)).json();
  const names = document.components.schemas.ServerSentEvent.properties.event.enum;
  const client = await readFile(new URL("../src/client.ts", import.meta.url), "utf8");
  const known = JSON.parse(/const KINDS = new Set\((\[[^\]]*\])\)/.exec(client)[1]);
  assert.deepEqual([...known].sort(), [...names].sort());
});
