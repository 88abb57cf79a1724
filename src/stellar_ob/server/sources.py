"""Where the served DexBook's ledgers come from, and :func:`run`."""

from __future__ import annotations

import asyncio
from typing import Any, Optional, Sequence

from aiohttp import web

from ..ledger import DexBook
from .app import ServerState, build_app
from ..errors import ArgumentError

__all__ = ["run", "apply_files", "follow_rpc", "follow_simulated"]


def apply_files(dex: DexBook, files: Sequence[str]) -> int:
    """Apply every ledger of ``files`` in order (the first one may start anywhere). Returns the
    number of ledgers applied."""
    from ..ledger.files import open_ledgers

    n = 0
    for path in files:
        reader = open_ledgers(path)
        for _update in dex.replay(reader, resync=(dex.ledger_seq == 0)):
            n += 1
    return n


async def follow_rpc(dex: DexBook, state: ServerState, url: str, *, start: Optional[int] = None) -> None:
    """Apply the RPC's ledgers as they close, forever (cancel the task to stop)."""
    from ..ledger import LedgerStream, Rpc

    async with Rpc(url) as rpc:
        async with LedgerStream(rpc, start) as stream:
            async for item in stream:
                seq, meta = item
                await state.apply_async(meta, resync=(dex.ledger_seq == 0 or seq != dex.ledger_seq + 1))
                stream.ack(seq)
                state.notify()


def follow_simulated(dex: DexBook, state: ServerState, stack: Any) -> None:
    """Apply every ledger the LocalStack's market closes (register before it starts)."""

    def on_ledger(seq: int, meta: bytes) -> None:
        state.apply(meta, resync=(dex.ledger_seq == 0))
        try:
            state.notify()
        except RuntimeError:  # closed outside a running loop (before start): nothing streams yet
            pass

    stack.market.add_listener(on_ledger)


async def run(source: str, *, url: Optional[str] = None, files: Sequence[str] = (), host: str = "127.0.0.1",
              port: int = 8000, markets: int = 20, seed: int = 1, ledger_interval: float = 1.0,
              duration: Optional[float] = None, ready: Optional[Any] = None) -> None:
    """Serve until cancelled (or ``duration`` seconds). ``source``: "replay" (``files``), "rpc"
    (``url``) or "simulated" (``markets``, ``seed``, ``ledger_interval``). ``ready(url)`` is called
    once the server listens."""
    dex = DexBook()
    state = ServerState(dex)
    tasks = []
    stack = None
    if source == "replay":
        if not files:
            raise ArgumentError("--from replay needs FILES")
        apply_files(dex, files)
    elif source == "rpc":
        if not url:
            raise ArgumentError("--from rpc needs a URL")
    elif source == "simulated":
        from ..testing import LocalStack

        stack = LocalStack(markets=markets, seed=seed, ledger_interval=ledger_interval)
        follow_simulated(dex, state, stack)
    else:
        raise ArgumentError(f"source must be 'replay', 'rpc' or 'simulated', got {source!r}")
    runner = web.AppRunner(build_app(dex, state=state))
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        if stack is not None:
            await stack.start()
        if source == "rpc":
            tasks.append(asyncio.ensure_future(follow_rpc(dex, state, url)))  # type: ignore[arg-type]
        if ready is not None:
            bound = runner.addresses[0]
            ready(f"http://{bound[0]}:{bound[1]}")
        if duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(duration)
    finally:
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if stack is not None:
            await stack.stop()
        await runner.cleanup()
