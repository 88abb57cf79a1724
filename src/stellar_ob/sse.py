"""An incremental Server-Sent Events parser over raw bytes.

Horizon streams (``Accept: text/event-stream``) are read byte for byte by this parser instead of
an SSE client library, because the stellar-sdk clients drop ``event: error`` and non-JSON data
(see the Stellar page of the docs, :ref:`stellar-sdk`). The parser follows the WHATWG "event stream interpretation":

* fields ``event``, ``data``, ``id`` and ``retry``; unknown fields and ``:`` comments are ignored;
* lines end with CRLF, LF or CR (a CR at the very end of a chunk may be the first half of a CRLF
  whose LF arrives in the next chunk);
* several ``data:`` lines join with ``\\n``;
* an event is dispatched only when its terminating blank line arrives, so a connection that drops
  in the middle of an event discards the partial event whole (nothing half-received is applied);
* a block without ``data`` dispatches nothing (but its ``retry``/``id`` still take effect);
* ``retry:`` is ASCII digits only; a value past :data:`MAX_RETRY_MS` is read as that (a server
  may send any number of digits, and the reconnection time is capped by the caller anyway).

Memory is bounded: ``max_line`` caps a line (an endless ``data:`` line with no newline) and
``max_event`` the joined data of one event (endless ``data:`` lines with no blank line). Past a
cap, :meth:`SSEParser.feed` raises :class:`SSELimitError` and the parser is spent: the caller
drops the connection (the partial event is never dispatched) and reconnects with a new parser.

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

from stellar_ob.errors import StreamError

__all__ = ["SSEEvent", "SSEParser", "SSELimitError", "MAX_RETRY_MS"]

#: the largest ``retry:`` value kept (ms, about 24.8 days); longer digit strings read as this
MAX_RETRY_MS = 2**31 - 1

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


class SSELimitError(StreamError):
    """A stream line or event went past the parser's cap (``limit`` names which: ``"max_line"``
    or ``"max_event"``; ``size`` is how many bytes were buffered when it was noticed)."""

    def __init__(self, limit: str, cap: int, size: int) -> None:
        self.limit = limit
        self.cap = cap
        self.size = size
        what = "a line" if limit == "max_line" else "an event"
        super().__init__(f"{what} of the stream is over {cap:,} bytes ({size:,} buffered, no end in sight)")


class SSEParser:
    """Feed bytes as they arrive; get back the events they complete.

    State that outlives one event: :attr:`last_event_id` (send it back as ``Last-Event-ID`` to
    resume a page stream) and :attr:`retry` (the server's latest reconnection time, ms).
    ``max_line`` / ``max_event`` (bytes, ``None`` = unbounded) cap what one line and one event's
    data may buffer; past either, :meth:`feed` raises :class:`SSELimitError`.

    >>> SSEParser(max_line=16).feed(b"data: " + b"x" * 20)
    Traceback (most recent call last):
    ...
    stellar_ob.sse.SSELimitError: a line of the stream is over 16 bytes (26 buffered, no end in sight)
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
        "_size",
        "max_line",
        "max_event",
        "last_event_id",
        "retry",
    )

    def __init__(self, max_line: int | None = None, max_event: int | None = None) -> None:
        self.max_line = max_line
        self.max_event = max_event
        self._size = 0  # bytes of data joined so far in the current event
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
        self._size = 0
        self._event = ""
        self._block_retry = None

    def one_data_event(self, chunk: bytes | bytearray | memoryview) -> bytes | None:
        """The fast path of :meth:`feed`: when nothing is buffered and ``chunk`` is exactly one
        event of one data line (``data: <payload>\\n\\n``), that event's data, with no
        :class:`SSEEvent` made (its type is ``"message"``, its id :attr:`last_event_id`, no
        retry); None when the chunk is anything else (then call :meth:`feed`, which has not been
        touched). Raises :class:`SSELimitError` as :meth:`feed` would.

        Horizon's object streams write each event whole, and on loopback one write is usually one
        read. The result, the caps and the state after are those of the general path; anything
        else (a CR anywhere, another field, a second line, a partial event before it) is None.

        >>> p = SSEParser()
        >>> p.feed(b": hello\\n\\n")
        []
        >>> p.one_data_event(b'data: {"a": 1}\\n\\n'), p.one_data_event(b'event: x\\ndata: 1\\n\\n')
        (b'{"a": 1}', None)
        """
        if (type(chunk) is bytes and self._started and not self._buf and not self._data and not self._event
                and self._block_retry is None and not self._cr_pending and chunk.startswith(b"data:")
                and chunk.endswith(b"\n\n")):
            end = len(chunk) - 2
            if chunk.find(b"\n", 5, end) < 0 and chunk.find(b"\r", 5, end) < 0:
                if self.max_line is not None and end > self.max_line:
                    raise SSELimitError("max_line", self.max_line, end)
                vs = 6 if end > 5 and chunk[5] == 0x20 else 5
                if self.max_event is not None and end - vs > self.max_event:
                    raise SSELimitError("max_event", self.max_event, end - vs)
                return chunk[vs:end]
        return None

    def feed(self, chunk: bytes | bytearray | memoryview) -> list[SSEEvent]:
        """Consume ``chunk`` and return the events it completed, oldest first (raises
        :class:`SSELimitError` when a cap is passed)."""
        data = self.one_data_event(chunk)
        if data is not None:
            return [SSEEvent("message", data, self.last_event_id, None)]
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
        max_line = self.max_line
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
            if max_line is not None and end - pos > max_line:
                raise SSELimitError("max_line", max_line, end - pos)
            ev = self._line(buf, pos, end)
            if ev is not None:
                events.append(ev)
            pos = scan = nxt
        if pos:
            del buf[:pos]
            scan -= pos
            pos = 0
        if max_line is not None and len(buf) > max_line:  # the line so far, with no end yet
            raise SSELimitError("max_line", max_line, len(buf))
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
            self._add_data(bytes(buf[vs:end]))
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
            self._add_data(value)
        elif field == b"id":
            if b"\x00" not in value:
                self.last_event_id = value.decode("utf-8", "replace")
        elif field == b"retry":
            if value and value.isdigit():  # bytes.isdigit(): ASCII 0-9 only
                # int() of thousands of digits is slow (and refused past 4300): cap on length
                self.retry = self._block_retry = int(value) if len(value) <= 10 else MAX_RETRY_MS
                if self.retry > MAX_RETRY_MS:
                    self.retry = self._block_retry = MAX_RETRY_MS
        return None

    def _add_data(self, value: bytes) -> None:
        data = self._data
        self._size += len(value) + (1 if data else 0)
        if self.max_event is not None and self._size > self.max_event:
            raise SSELimitError("max_event", self.max_event, self._size)
        data.append(value)

    def _dispatch(self) -> SSEEvent | None:
        data = self._data
        event = self._event
        retry = self._block_retry
        self._event = ""
        self._block_retry = None
        self._size = 0
        if not data:
            self._data = []
            return None
        self._data = []
        payload = data[0] if len(data) == 1 else b"\n".join(data)
        return SSEEvent(event or "message", payload, self.last_event_id, retry)
