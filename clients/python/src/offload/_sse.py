from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Message:
    """One dispatched event of a ``text/event-stream``."""

    event: str
    data: str
    #: The stream's last event ID after this event.
    last_event_id: str
    #: Whether this event carried an ``id:`` field itself.
    has_id: bool


class SSEParser:
    """The event-stream format of the HTML standard: lines end with CRLF, LF or CR (also split across chunks);
    ``data`` lines join with LF; ``event``, ``id`` (ignored when it holds NUL) and ``retry`` (digits only);
    comments and unknown fields are skipped; a leading BOM is dropped; an event without data is not dispatched."""

    def __init__(self) -> None:
        self._buffer = b""
        self._started = False
        self._after_cr = False
        self._data: list[str] = []
        self._event = ""
        self._id_seen = False
        self.last_event_id = ""
        #: The reconnection time the server asked for, in milliseconds.
        self.retry: int | None = None

    def feed(self, chunk: bytes) -> list[Message]:
        if not self._started and chunk:
            self._started = True
            if chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
        if self._after_cr and chunk.startswith(b"\n"):
            chunk = chunk[1:]
        self._after_cr = False
        buffer = self._buffer + chunk
        out: list[Message] = []
        start = 0
        index = 0
        while index < len(buffer):
            byte = buffer[index]
            if byte not in (10, 13):
                index += 1
                continue
            self._line(buffer[start:index].decode("utf-8", errors="replace"), out)
            if byte == 13:
                if index + 1 < len(buffer):
                    if buffer[index + 1] == 10:
                        index += 1
                else:
                    self._after_cr = True
            index += 1
            start = index
        self._buffer = buffer[start:]
        return out

    def _line(self, line: str, out: list[Message]) -> None:
        if line == "":
            if self._data:
                out.append(Message(self._event or "message", "\n".join(self._data), self.last_event_id, self._id_seen))
            self._data = []
            self._event = ""
            self._id_seen = False
            return
        if line.startswith(":"):
            return
        field, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        elif field == "event":
            self._event = value
        elif field == "id":
            if "\0" not in value:
                self.last_event_id = value
                self._id_seen = True
        elif field == "retry" and value.isdigit():
            self.retry = int(value)
