"""SSEParser.one_data_event, the fast path the sync layer's stream reader tries first (issue 18):
on any sequence of chunks, taking ``one_data_event(chunk)`` when it answers and ``feed(chunk)``
otherwise gives the same events, the same errors and the same state as the general path alone
(``feed`` of a bytearray never takes the fast path). Seeded random streams, replayable from the
seed in the test id, built from Horizon's own events and from hostile pieces (CRs, several
fields, ids, retries, comments, a BOM, lines and events past the caps, cuts anywhere).
"""

from __future__ import annotations

import random

import pytest

from stellar_ob.sse import SSELimitError, SSEParser

PIECES = [
    b'data: {"bids":[],"asks":[]}\n\n',
    b"data: " + b"x" * 300 + b"\n\n",
    b"data:no-space\n\n",
    b"data: \n\n",
    b"data: a\r\n\r\n",
    b"data: a\rb\n\n",
    b"data: one\ndata: two\n\n",
    b'event: open\ndata: "hello"\n\n',
    b'retry: 10\nevent: close\ndata: "byebye"\n\n',
    b"id: 17\ndata: {}\n\n",
    b"id: 18\n\n",
    b": comment\n\n",
    b"retry: 99999999999999\n\n",
    b"\xef\xbb\xbf",
    b"data: " + b"y" * 2000 + b"\n\n",  # past max_line below
    b"data: z\n",
    b"\n",
    b"\r",
]


def stream(rng: random.Random) -> list[bytes]:
    """Chunks of a random stream: mostly whole pieces (one write, one read), sometimes cut."""
    raw = b"".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
    chunks: list[bytes] = []
    i = 0
    while i < len(raw):
        if rng.random() < 0.6:  # a whole piece's worth, as a write would deliver it
            j = raw.find(b"\n\n", i)
            j = len(raw) if j < 0 else j + 2
        else:
            j = i + rng.randint(1, 40)
        chunks.append(raw[i:j])
        i = j
    return chunks


def run(chunks: list[bytes], fast: bool, max_line: int | None, max_event: int | None) -> tuple:
    p = SSEParser(max_line, max_event)
    out: list = []
    for chunk in chunks:
        try:
            if fast:
                data = p.one_data_event(chunk)
                evs = [("message", data, p.last_event_id, None)] if data is not None else [
                    (e.event, e.data, e.id, e.retry) for e in p.feed(chunk)]
            else:
                evs = [(e.event, e.data, e.id, e.retry) for e in p.feed(bytearray(chunk))]
        except SSELimitError as e:
            out.append(("limit", e.limit, e.size))
            break
        out.extend(evs)
        out.append(("state", p.last_event_id, p.retry, p.pending))
    return tuple(out)


@pytest.mark.parametrize("seed", range(300))
def test_the_fast_path_changes_nothing(seed):
    rng = random.Random(seed)
    chunks = stream(rng)
    caps = rng.choice([(None, None), (1000, 5000), (200, 250), (5, 5)])
    assert run(chunks, True, *caps) == run(chunks, False, *caps), (seed, chunks, caps)


def test_the_fast_path_takes_horizons_usual_write():
    p = SSEParser(1 << 20, 1 << 22)
    p.feed(b'retry: 1000\nevent: open\ndata: "hello"\n\n')
    assert p.one_data_event(b'data: {"a":1}\n\n') == b'{"a":1}'
    assert p.one_data_event(b'data:{"a":1}\n\n') == b'{"a":1}'
    assert p.one_data_event(b"data: \n\n") == b""
    for not_one in (b"data: a\ndata: b\n\n", b"event: x\ndata: 1\n\n", b"data: 1\r\n\r\n", b"data: 1\n",
                    bytearray(b"data: 1\n\n"), b"id: 1\ndata: 1\n\n"):
        assert p.one_data_event(not_one) is None
    p.feed(b"data: part")  # a partial event buffered: the fast path must not take what follows
    assert p.one_data_event(b"data: 2\n\n") is None
    assert SSEParser().one_data_event(b"data: 1\n\n") is None  # a new stream's first bytes: the BOM check first
    q = SSEParser(max_line=10)
    q.feed(b": started\n\n")
    with pytest.raises(SSELimitError) as e:
        q.one_data_event(b"data: " + b"x" * 20 + b"\n\n")
    assert e.value.limit == "max_line"
