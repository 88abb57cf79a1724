"""The SSE parser: Horizon's framing, every line ending, partial chunks, dropped connections."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stellar_ob.errors import StreamError
from stellar_ob.sse import MAX_RETRY_MS, SSEEvent, SSELimitError, SSEParser

HORIZON_STREAM = (
    b'retry: 1000\nevent: open\ndata: "hello"\n\n'
    b'data: {"bids":[],"asks":[]}\n\n'
    b'data: {"bids":[{"price_r":{"n":1,"d":2},"price":"0.5000000","amount":"1.0000000"}],"asks":[]}\n\n'
    b'retry: 10\nevent: close\ndata: "byebye"\n\n'
)


def feed_all(parser: SSEParser, chunks) -> list[SSEEvent]:
    out: list[SSEEvent] = []
    for c in chunks:
        out.extend(parser.feed(c))
    return out


def reference(stream: bytes) -> list[SSEEvent]:
    """A slow, obviously-correct WHATWG interpretation of a complete stream."""
    if stream.startswith(b"\xef\xbb\xbf"):
        stream = stream[3:]
    lines = re.split(rb"\r\n|\r|\n", stream)
    lines = lines[:-1]  # the text after the last terminator is not a line yet
    out = []
    data: list[bytes] = []
    event = b""
    retry = None
    last_id = None
    for line in lines:
        if line == b"":
            if data:
                out.append(SSEEvent((event or b"message").decode(), b"\n".join(data), last_id, retry))
            data, event, retry = [], b"", None
            continue
        if line.startswith(b":"):
            continue
        field, sep, value = line.partition(b":")
        if sep and value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            event = value
        elif field == b"id" and b"\0" not in value:
            last_id = value.decode()
        elif field == b"retry" and value.isdigit():
            retry = int(value)
    return out


def test_horizon_object_stream_framing():
    p = SSEParser()
    evs = p.feed(HORIZON_STREAM)
    assert [e.event for e in evs] == ["open", "message", "message", "close"]
    assert evs[0] == SSEEvent("open", b'"hello"', None, 1000)
    assert evs[-1] == SSEEvent("close", b'"byebye"', None, 10)
    assert all(e.id is None for e in evs)  # object streams carry no id
    assert p.retry == 10
    assert not p.pending


def test_page_stream_ids_and_error_event():
    p = SSEParser()
    evs = p.feed(b"id: 123-1\ndata: {}\n\nid: 123-2\ndata: {}\n\nevent: error\ndata: Rate limit exceeded\n\n")
    assert [e.id for e in evs] == ["123-1", "123-2", "123-2"]
    assert evs[2].event == "error" and evs[2].data == b"Rate limit exceeded"
    assert p.last_event_id == "123-2"


def test_byte_by_byte_equals_one_chunk():
    one = SSEParser().feed(HORIZON_STREAM)
    p = SSEParser()
    assert feed_all(p, [HORIZON_STREAM[i : i + 1] for i in range(len(HORIZON_STREAM))]) == one


def test_crlf_cr_lf_and_split_crlf():
    for eol in (b"\r\n", b"\r", b"\n"):
        s = HORIZON_STREAM.replace(b"\n", eol)
        assert SSEParser().feed(s) == SSEParser().feed(HORIZON_STREAM)
    # CR at the end of one chunk, LF at the start of the next: one line ending, not two
    p = SSEParser()
    assert p.feed(b"data: a\r") == []
    assert p.feed(b"\ndata: b\r\n\r\n") == [SSEEvent("message", b"a\nb")]


def test_multiline_data_comments_unknown_fields():
    p = SSEParser()
    evs = p.feed(b": keepalive\nfoo: bar\ndata: line1\ndata\ndata:line3\nretry: x1\n\n")
    assert evs == [SSEEvent("message", b"line1\n\nline3")]
    assert p.retry is None


def test_block_without_data_dispatches_nothing_but_sets_retry():
    p = SSEParser()
    assert p.feed(b"retry: 500\nevent: ping\n\n") == []
    assert p.retry == 500
    assert p.feed(b"data: x\n\n") == [SSEEvent("message", b"x")]  # event type was reset


def test_dropped_connection_mid_event_discards_it_whole():
    p = SSEParser()
    evs = p.feed(b'data: {"bids":[],"asks":[]}\n\ndata: {"bids":[{"price_r"')
    assert len(evs) == 1
    assert p.pending
    p.reset()  # the connection dropped: the client reconnects with a fresh buffer
    assert not p.pending
    # a complete data line whose blank line never came is discarded too
    p.feed(b"data: {}\n")
    p.reset()
    assert p.feed(b"data: next\n\n") == [SSEEvent("message", b"next")]


def test_bom_split_across_chunks():
    p = SSEParser()
    assert p.feed(b"\xef") == []
    assert p.feed(b"\xbb\xbfdata: x\n\n") == [SSEEvent("message", b"x")]


def test_large_event_in_many_chunks_is_linear():
    payload = b"x" * 200_000
    stream = b"data: " + payload + b"\n\n"
    p = SSEParser()
    evs = feed_all(p, [stream[i : i + 1000] for i in range(0, len(stream), 1000)])
    assert evs == [SSEEvent("message", payload)]


_pieces = st.sampled_from(
    [b"data: ", b"data:", b"data", b"event: ", b"id: ", b"retry: ", b"retry: 7", b":", b" ",
     b"\n", b"\r", b"\r\n", b"abc", b"{}", b"\x00", b"close", b"\xef\xbb\xbf", b"12"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=40), st.lists(st.integers(1, 7), min_size=1, max_size=20))
def test_any_chunking_matches_reference(pieces, sizes):
    stream = b"".join(pieces)
    chunks, i, k = [], 0, 0
    while i < len(stream):
        n = sizes[k % len(sizes)]
        chunks.append(stream[i : i + n])
        i += n
        k += 1
    assert feed_all(SSEParser(), chunks) == reference(stream)


# ---- caps (issue 10): memory stays bounded whatever the server sends -----------------------------------


def test_an_endless_line_is_refused_at_the_cap():
    p = SSEParser(max_line=1000, max_event=10_000)
    p.feed(b"data: " + b"x" * 900)
    with pytest.raises(SSELimitError) as ei:
        p.feed(b"x" * 200)  # still no line end: 1,106 bytes buffered
    assert ei.value.limit == "max_line" and ei.value.cap == 1000 and ei.value.size > 1000
    assert isinstance(ei.value, StreamError)


def test_a_long_complete_line_in_one_chunk_is_refused():
    with pytest.raises(SSELimitError):
        SSEParser(max_line=100).feed(b"data: " + b"y" * 200 + b"\n\n")


def test_endless_data_lines_without_a_blank_line_are_refused_at_the_event_cap():
    p = SSEParser(max_line=1000, max_event=5000)
    line = b"data: " + b"z" * 990 + b"\n"
    for _ in range(5):
        assert p.feed(line) == []
    with pytest.raises(SSELimitError) as ei:
        p.feed(line)
    assert ei.value.limit == "max_event"


def test_events_at_the_caps_are_fine_and_the_event_size_restarts():
    p = SSEParser(max_line=106, max_event=250)
    line = b"data: " + b"a" * 100 + b"\n"
    evs = p.feed(line + line + b"\n" + line + line + b"\n")
    assert [len(e.data) for e in evs] == [201, 201]  # two lines joined by \n, twice: the count restarts


def test_comments_do_not_count_towards_an_event_but_a_comment_line_is_still_a_line():
    p = SSEParser(max_line=100, max_event=100)
    assert p.feed(b": " + b"c" * 90 + b"\n" * 1) == []
    assert p.feed((b": ping\n") * 1000) == []
    with pytest.raises(SSELimitError):
        p.feed(b":" + b"c" * 200)


def test_retry_of_thousands_of_digits_is_capped_not_an_error():
    p = SSEParser()
    evs = p.feed(b"retry: " + b"9" * 5000 + b'\nevent: open\ndata: "hello"\n\n')
    assert p.retry == MAX_RETRY_MS and evs[0].retry == MAX_RETRY_MS
    p.feed(b"retry: 4294967296\n\n")  # ten digits, past the cap
    assert p.retry == MAX_RETRY_MS
    p.feed("retry: \u00b2\n\n".encode())  # not an ASCII digit: ignored
    assert p.retry == MAX_RETRY_MS
    p.feed(b"retry: 0\n\n")
    assert p.retry == 0


def test_module_doctests():
    import doctest

    import stellar_ob.sse

    assert doctest.testmod(stellar_ob.sse).failed == 0


@settings(max_examples=200, deadline=None)
@given(st.lists(_pieces, max_size=40), st.lists(st.integers(1, 7), min_size=1, max_size=20),
       st.integers(1, 30), st.integers(1, 60))
def test_caps_either_change_nothing_or_raise(pieces, sizes, max_line, max_event):
    """With caps, the parser yields exactly the reference events up to the point where a line or an
    event passes a cap, and then raises SSELimitError (never a partial or different event)."""
    stream = b"".join(pieces)
    chunks, i, k = [], 0, 0
    while i < len(stream):
        n = sizes[k % len(sizes)]
        chunks.append(stream[i : i + n])
        i += n
        k += 1
    expected = reference(stream)
    p = SSEParser(max_line=max_line, max_event=max_event)
    got: list[SSEEvent] = []
    try:
        for c in chunks:
            got.extend(p.feed(c))
    except SSELimitError:
        assert got == expected[: len(got)]
        return
    assert got == expected
    assert all(len(e.data) <= max_event for e in got)


# ---- the one-event fast path (issue 18): a chunk that is exactly ``data: ...\n\n`` --------------------

_event_data = st.lists(st.sampled_from([b"x", b" ", b"{}", b"\x00", b"data:", b":", b"\r", b"\n", b"\xff"]),
                       max_size=12).map(b"".join)
_blocks = st.one_of(
    _event_data.map(lambda d: b"data: " + d + b"\n\n"),        # the fast path's shape (if no CR/LF inside)
    _event_data.map(lambda d: b"data:" + d + b"\n\n"),
    _event_data.map(lambda d: b"data: " + d + b"\r\n\r\n"),
    _event_data.map(lambda d: b"id: 7\ndata: " + d + b"\n\n"),
    _event_data.map(lambda d: b"retry: 5\n" + b"data: " + d + b"\n\n"),
    _event_data.map(lambda d: b"data: " + d + b"\n"),           # half an event: the next block completes it
    st.just(b": comment\n"), st.just(b"event: open\n"), st.just(b"\n"),
)


def _feed_states(chunks, as_type, **caps):
    p = SSEParser(**caps)
    out: list = []
    try:
        for c in chunks:
            out.append(p.feed(as_type(c)))
            out.append((p.pending, p.last_event_id, p.retry))
    except SSELimitError as e:
        out.append(("limit", e.limit, e.cap, e.size))
    return out


@settings(max_examples=400, deadline=None)
@given(st.lists(_blocks, max_size=12), st.one_of(st.none(), st.integers(1, 30)), st.one_of(st.none(), st.integers(0, 20)))
def test_whole_event_chunks_take_the_fast_path_with_the_same_result(blocks, max_line, max_event):
    """One chunk per block (so whole ``data:`` events arrive as one bytes chunk, the fast path):
    the events, the state after each chunk and any cap error equal the general path's (the same
    chunks as bytearrays, which never take the fast path) and, without caps, the reference."""
    chunks = [b'retry: 1000\nevent: open\ndata: "hello"\n\n'] + blocks
    fast = _feed_states(chunks, bytes, max_line=max_line, max_event=max_event)
    general = _feed_states(chunks, bytearray, max_line=max_line, max_event=max_event)
    assert fast == general
    if max_line is None and max_event is None:
        events = [ev for item in fast if isinstance(item, list) for ev in item]
        assert events == reference(b"".join(chunks))


def test_fast_path_caps_at_the_boundary():
    payload = b"y" * 50
    chunk = b"data: " + payload + b"\n\n"
    line = len(chunk) - 2
    for as_type in (bytes, bytearray):
        ok = SSEParser(max_line=line, max_event=len(payload))
        ok.feed(as_type(b"\n"))  # past the BOM check
        assert ok.feed(as_type(chunk)) == [SSEEvent("message", payload)] and not ok.pending
        for caps, limit in (({"max_line": line - 1}, "max_line"), ({"max_event": len(payload) - 1}, "max_event")):
            p = SSEParser(**caps)
            p.feed(as_type(b"\n"))
            with pytest.raises(SSELimitError) as e:
                p.feed(as_type(chunk))
            assert e.value.limit == limit and e.value.size == (line if limit == "max_line" else len(payload))
