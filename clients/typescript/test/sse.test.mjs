// The SSE parser against the format of the HTML standard.
import assert from "node:assert/strict";
import { test } from "node:test";
import { SSEParser } from "../dist/index.js";

const parse = (...chunks) => {
  const parser = new SSEParser();
  const events = chunks.flatMap((c) => parser.feed(c));
  return { events, parser };
};

test("LF, CRLF and CR line ends, in any mix", () => {
  for (const end of ["\n", "\r\n", "\r"]) {
    const { events } = parse(`id: 1${end}event: progress${end}data: {"progress":5}${end}${end}`);
    assert.deepEqual(events, [{ event: "progress", data: '{"progress":5}', lastEventId: "1", hasId: true }]);
  }
  const { events } = parse("data: a\r\ndata: b\rdata: c\n\n");
  assert.equal(events[0].data, "a\nb\nc");
});

test("a stream split at every position parses the same", () => {
  const text = '\uFEFF: hello\r\nretry: 1500\r\nid: 7\r\nevent: token\r\ndata: {"text":"a"}\r\ndata:second\r\n\r\nid: 8\revent: log\rdata: x\r\r';
  const whole = parse(text).events;
  assert.equal(whole.length, 2);
  for (let cut = 0; cut <= text.length; cut++) {
    for (let cut2 = cut; cut2 <= text.length; cut2 += 7) {
      const { events, parser } = parse(text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2));
      assert.deepEqual(events, whole, `cut at ${cut}/${cut2}`);
      assert.equal(parser.retry, 1500);
    }
  }
  assert.deepEqual(whole[0], { event: "token", data: '{"text":"a"}\nsecond', lastEventId: "7", hasId: true });
  assert.deepEqual(whole[1], { event: "log", data: "x", lastEventId: "8", hasId: true });
});

test("comments, unknown fields, empty events and bad ids and retries", () => {
  const { events, parser } = parse(
    ": keep-alive\n\n",
    "foo: bar\ndata\n\n",          // a field without a colon is that field with an empty value
    "event: x\n\n",                // no data: nothing dispatched, the event name is dropped
    "id: 3\0\ndata: y\n\n",        // an id holding NUL is ignored
    "retry: 12a\ndata:z\n\n",      // only digits set the retry
    "id\ndata: after-reset\n\n",   // an empty id resets the last event ID
  );
  assert.deepEqual(events.map((e) => [e.event, e.data, e.lastEventId, e.hasId]), [
    ["message", "", "", false],
    ["message", "y", "", false],
    ["message", "z", "", false],
    ["message", "after-reset", "", true],
  ]);
  assert.equal(parser.retry, null);
});

test("the last event ID persists over events without an id", () => {
  const { events } = parse("id: 4\ndata: a\n\ndata: b\n\n");
  assert.deepEqual(events.map((e) => [e.lastEventId, e.hasId]), [["4", true], ["4", false]]);
});

test("an unfinished event waits for its blank line", () => {
  const parser = new SSEParser();
  assert.deepEqual(parser.feed("data: a\n"), []);
  assert.deepEqual(parser.feed("\n").map((e) => e.data), ["a"]);
});
