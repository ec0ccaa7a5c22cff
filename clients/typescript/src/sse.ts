/** One dispatched event of a `text/event-stream`. */
export interface ServerSentMessage {
  event: string;
  data: string;
  /** The last event ID after this event (the stream's, which persists across events). */
  lastEventId: string;
  /** Whether this event carried an `id:` field itself. */
  hasId: boolean;
}

/**
 * The event-stream format of the HTML standard: lines end with CRLF, LF or CR (also split across chunks);
 * `data` lines join with LF; `event`, `id` (ignored when it holds NUL) and `retry` (digits only) fields;
 * comments (`:`) and unknown fields are skipped; a leading BOM is dropped; an event with no data is not
 * dispatched.
 */
export class SSEParser {
  private buffer = "";
  private started = false;
  private data: string[] = [];
  private event = "";
  private idSeen = false;
  /** The last chunk ended on a CR: an LF first in the next one belongs to it. */
  private afterCR = false;
  /** The stream's last event ID. */
  lastEventId = "";
  /** The reconnection time the server asked for, in milliseconds. */
  retry: number | null = null;

  /** Feeds decoded text; answers the events it completed. */
  feed(text: string): ServerSentMessage[] {
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    this.buffer += text;
    const out: ServerSentMessage[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer.charCodeAt(i);
      if (c === 10 && this.afterCR && i === start) {
        // The LF of a CRLF whose CR ended the previous chunk.
        this.afterCR = false;
        start = i + 1;
        continue;
      }
      this.afterCR = false;
      if (c !== 10 && c !== 13) continue;
      this.line(this.buffer.slice(start, i), out);
      if (c === 13) {
        if (i + 1 < this.buffer.length) {
          if (this.buffer.charCodeAt(i + 1) === 10) i++;
        } else {
          this.afterCR = true;
        }
      }
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  private line(line: string, out: ServerSentMessage[]): void {
    if (line === "") {
      if (this.data.length > 0) {
        out.push({ event: this.event || "message", data: this.data.join("\n"), lastEventId: this.lastEventId, hasId: this.idSeen });
      }
      this.data = [];
      this.event = "";
      this.idSeen = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data": this.data.push(value); break;
      case "event": this.event = value; break;
      case "id":
        if (!value.includes("\0")) {
          this.lastEventId = value;
          this.idSeen = true;
        }
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
    }
  }
}
