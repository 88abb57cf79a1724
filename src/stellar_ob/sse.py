"""An incremental Server-Sent Events parser over raw bytes.

Horizon streams (``Accept: text/event-stream``) are read byte for byte by this parser instead of
an SSE client library, because the stellar-sdk clients drop ``event: error`` and non-JSON data
(see DOMAIN.md, "stellar-sdk"). The parser follows the WHATWG "event stream interpretation":

* fields ``event``, ``data``, ``id`` and ``retry``; unknown fields and ``:`` comments are ignored;
* lines end with CRLF, LF or CR (a CR at the very end of a chunk may be the first half of a CRLF
  whose LF arrives in the next chunk);
* several ``data:`` lines join with ``\\n``;
* an event is dispatched only when its terminating blank line arrives, so a connection that drops
  in the middle of an event discards the partial event whole (nothing half-received is applied);
* a block without ``data`` dispatches nothing (but its ``retry``/``id`` still take effect).

``data`` is handed over as ``bytes`` so it can go straight to the C JSON scanner.

Example:

>>> p = SSEParser()
>>> p.feed(b'retry: 1000\\nevent: open\\ndata: "hello"\\n\\ndata: {"a"')
[SSEEvent(event='open', data=b'"hello"', id=None, retry=1000)]
>>> p.feed(b': 1}\\n')        # the data line is complete, the blank line is not: nothing yet
[]
>>> p.pending
True
>>> p.feed(b'\\r\\n')
[SSEEvent(event='message', data=b'{"a": 1}', id=None, retry=None)]

Cost: each byte is looked at a constant number of times (``bytes.find`` over new input only),
so feeding an event in k chunks is O(len(event) + k).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SSEEvent", "SSEParser"]

_LF = 0x0A
_CR = 0x0D
_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event.

    ``event`` is the event type (``"message"`` when no ``event:`` field was given), ``data`` the
    joined data lines, ``id`` the last event id in force when the event was dispatched (``None``
    if the stream never sent one: Horizon's object streams such as /order_book have none),
    ``retry`` the reconnection time in ms if this event's block carried a ``retry:`` field.
    """

    event: str
    data: bytes
    id: str | None = None
    retry: int | None = None


class SSEParser:
    """Feed bytes as they arrive; get back the events they complete.

    State that outlives one event: :attr:`last_event_id` (send it back as ``Last-Event-ID`` to
    resume a page stream) and :attr:`retry` (the server's latest reconnection time, ms).
    """

    __slots__ = (
        "_buf",
        "_pos",
        "_scan",
        "_cr_pending",
        "_started",
        "_data",
        "_event",
        "_block_retry",
        "last_event_id",
        "retry",
    )

    def __init__(self) -> None:
        self._buf = bytearray()
        self._pos = 0  # start of the first unprocessed line in _buf
        self._scan = 0  # bytes before this offset hold no line terminator (avoids rescans)
        self._cr_pending = False  # the previous chunk ended with CR: swallow a leading LF
        self._started = False  # BOM check done
        self._data: list[bytes] = []
        self._event = ""
        self._block_retry: int | None = None
        self.last_event_id: str | None = None
        self.retry: int | None = None

    @property
    def pending(self) -> bool:
        """True when bytes of an event that is not yet complete are buffered."""
        return bool(self._data) or bool(self._event) or len(self._buf) > self._pos

    def reset(self) -> None:
        """Forget a partial event (call on reconnect); keeps :attr:`last_event_id` and :attr:`retry`."""
        self._buf.clear()
        self._pos = self._scan = 0
        self._cr_pending = False
        self._started = False
        self._data = []
        self._event = ""
        self._block_retry = None

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[SSEEvent]:
        """Consume ``chunk`` and return the events it completed, oldest first."""
        buf = self._buf
        buf += chunk
        if not self._started:
            if len(buf) < 3 and _BOM.startswith(bytes(buf)):
                return []
            if buf.startswith(_BOM):
                del buf[:3]
            self._started = True
        events: list[SSEEvent] = []
        pos = self._pos
        n = len(buf)
        if self._cr_pending and pos < n:
            self._cr_pending = False
            if buf[pos] == _LF:
                pos += 1
                self._scan = pos
        scan = max(self._scan, pos)
        while pos < n:
            lf = buf.find(b"\n", scan)
            cr = buf.find(b"\r", scan, n if lf < 0 else lf)
            if cr >= 0:
                end = cr
                nxt = cr + 1
                if nxt < n:
                    if buf[nxt] == _LF:
                        nxt += 1
                else:
                    self._cr_pending = True
            elif lf >= 0:
                end = lf
                nxt = lf + 1
            else:
                scan = n
                break
            ev = self._line(buf, pos, end)
            if ev is not None:
                events.append(ev)
            pos = scan = nxt
        if pos:
            del buf[:pos]
            scan -= pos
            pos = 0
        self._pos = pos
        self._scan = scan
        return events

    def _line(self, buf: bytearray, start: int, end: int) -> SSEEvent | None:
        if start == end:
            return self._dispatch()
        first = buf[start]
        if first == 0x3A:  # ':' comment
            return None
        # Fast path for Horizon's big single-line payloads: no copy of the line before slicing.
        if buf.startswith(b"data:", start, end):
            vs = start + 5
            if vs < end and buf[vs] == 0x20:
                vs += 1
            self._data.append(bytes(buf[vs:end]))
            return None
        colon = buf.find(b":", start, end)
        if colon < 0:
            field = bytes(buf[start:end])
            value = b""
        else:
            field = bytes(buf[start:colon])
            vs = colon + 1
            if vs < end and buf[vs] == 0x20:
                vs += 1
            value = bytes(buf[vs:end])
        if field == b"event":
            self._event = value.decode("utf-8", "replace")
        elif field == b"data":
            self._data.append(value)
        elif field == b"id":
            if b"\x00" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif field == b"retry":
            if value and value.isdigit():
                self.retry = self._block_retry = int(value)
        return None

    def _dispatch(self) -> SSEEvent | None:
        data = self._data
        event = self._event
        retry = self._block_retry
        self._event = ""
        self._block_retry = None
        if not data:
            self._data = []
            return None
        self._data = []
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        return SSEEvent(event or "message", payload, self.last_event_id, retry)
