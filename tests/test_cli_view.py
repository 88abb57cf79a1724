"""The terminal view rendered to rich's recording console at 80x24, 120x40 and 200x60, at several
book states (loading, live L2 and L3, a level that changed, a failed load, a server gone): it fits,
the title shows, bids are green and asks red, changed levels flash (issue 16)."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from rich.console import Console

from stellar_ob.cli.view import FLASH_SECONDS, Board, explain
from stellar_ob.errors import HorizonError
from stellar_ob.sync import Horizon
from stellar_ob.testing import LocalHorizon

pytestmark = pytest.mark.network

SIZES = [(80, 24), (120, 40), (200, 60)]
ANSI = re.compile(r"\x1b\[[0-9;]*m")
REVERSE = re.compile(r"\x1b\[(?:[0-9]+;)*7(?:;[0-9]+)*m")


def _draw(board: Board, width: int, height: int, now: float | None = None) -> tuple[list[str], str]:
    console = Console(record=True, width=width, height=height, force_terminal=True, color_system="standard",
                      file=open("/dev/null", "w"))
    console.print(board.render(width, height, now))
    styled = console.export_text(styles=True)
    console.file.close()
    plain = ANSI.sub("", styled)
    return plain.rstrip("\n").split("\n"), styled


def _check_fits(lines: list[str], width: int, height: int, title: str) -> None:
    assert len(lines) <= height, f"{len(lines)} lines > {height}"
    for line in lines:
        assert len(line.rstrip()) <= width, line
    assert lines[0].startswith(title)


async def _lives(server: LocalHorizon, horizon: Horizon, n: int, l3: bool = False) -> list:
    pairs = server.market_assets()[:n]
    if l3:
        return list(await asyncio.gather(*(horizon.watch_offers(b, c) for b, c in pairs)))
    return list(await asyncio.gather(*(horizon.watch(b, c, depth=50) for b, c in pairs)))


@pytest.mark.parametrize("width,height", SIZES)
async def test_l2_board_fits_and_is_coloured(width, height):
    async with LocalHorizon(markets=5, ledger_interval=None, levels=60) as server:
        async with Horizon(server.url) as horizon:
            board = Board("stellar-ob test", rows=20)
            # state 1: loading (a spinner per market)
            entries = [board.add_loading(f"M{k}") for k in range(5)]
            lines, styled = _draw(board, width, height)
            _check_fits(lines, width, height, "stellar-ob test")
            assert sum("loading M" in l for l in lines) >= 1
            # state 2: live books
            for e, live in zip(entries, await _lives(server, horizon, 5)):
                board.set_live(e, live)
            lines, styled = _draw(board, width, height)
            _check_fits(lines, width, height, "stellar-ob test")
            assert any("live" in l and "mid" in l and "bps" in l for l in lines)
            assert "\x1b[32m" in styled and "\x1b[31m" in styled  # green bids, red asks
            assert "█" in "".join(lines) or width < 100  # depth bars where there is room
            # 5 markets cannot all fit in 24 lines with 3 levels each: paged, and said so
            if height == 24:
                assert any("of 5" in l and "page" in l for l in lines)
            # state 3: a failed market among them is one line with a hint
            bad = board.add_loading("BAD")
            board.set_error(bad, HorizonError("could not load BAD from http://127.0.0.1:9 within 1 s"))
            board.pin = len(board.entries) - 1
            lines, _ = _draw(board, width, height)
            _check_fits(lines, width, height, "stellar-ob test")
            assert any("BAD" in l and "error:" in l for l in lines)
            board.pin = None


async def test_changed_level_flashes_then_stops():
    async with LocalHorizon(markets=1, ledger_interval=None, levels=30) as server:
        async with Horizon(server.url) as horizon:
            board = Board("t", rows=10)
            e = board.add_loading("M")
            [live] = await _lives(server, horizon, 1)
            board.set_live(e, live)
            now = time.monotonic()
            _, first = _draw(board, 120, 40, now)
            assert not REVERSE.search(first)  # nothing changed yet: no reverse video
            seen = board.version
            for _ in range(20):  # ledgers until a shown level changes
                server.close_ledger()
                t0 = time.monotonic()
                while board.version == seen and time.monotonic() - t0 < 5:
                    await asyncio.sleep(0.01)
                seen = board.version
                now = time.monotonic()
                _, styled = _draw(board, 120, 40, now)
                if REVERSE.search(styled):
                    break
            else:
                pytest.fail("no level flashed after 20 ledgers")
            assert board.flashing(now)
            _, later = _draw(board, 120, 40, now + FLASH_SECONDS + 0.1)
            assert not REVERSE.search(later)
            assert not board.flashing(now + FLASH_SECONDS + 0.1)


@pytest.mark.parametrize("width,height", SIZES)
async def test_l3_board_fits_with_offer_ids_where_there_is_room(width, height):
    async with LocalHorizon(markets=2, ledger_interval=None, levels=30) as server:
        async with Horizon(server.url) as horizon:
            board = Board("stellar-ob l3", rows=15)
            for k, live in enumerate(await _lives(server, horizon, 2, l3=True)):
                board.set_live(board.add_loading(f"M{k}"), live)
            lines, styled = _draw(board, width, height)
            _check_fits(lines, width, height, "stellar-ob l3")
            text = "\n".join(lines)
            assert "fills" in text and "drift" in text and "offers" in text
            if width >= 100:
                assert "bid id" in text and "ask id" in text
            assert "\x1b[32m" in styled and "\x1b[31m" in styled


async def test_server_gone_shows_reconnecting_with_why():
    async with LocalHorizon(markets=1, ledger_interval=None) as server:
        async with Horizon(server.url, backoff_base=0.5, backoff_cap=1.0) as horizon:
            board = Board("t", rows=5)
            [live] = await _lives(server, horizon, 1)
            board.set_live(board.add_loading("M"), live)
            await server.stop()
            t0 = time.monotonic()
            while str(live.status) == "live" and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.05)
            t0 = time.monotonic()
            while live.last_error is None and time.monotonic() - t0 < 10:
                await asyncio.sleep(0.05)
            lines, styled = _draw(board, 80, 24)
            head = next(l for l in lines if l.startswith(live.name))
            assert "reconnecting" in head
            assert "\x1b[33m" in styled or "\x1b[1;33m" in styled  # yellow


def test_explain_gives_one_line_without_reprs():
    import aiohttp
    from aiohttp.client_reqrep import ConnectionKey

    key = ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
    inner = aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    err = HorizonError("could not load XLM/USD from http://127.0.0.1:9 within 1 s: " + repr(inner))
    err.__cause__ = inner
    reason, hint = explain(err)
    assert "\n" not in reason and "ConnectionKey" not in reason and "Connection refused" in reason
    assert "URL" in hint


async def test_l3_marks_an_accounts_offers_and_their_queue_position():
    async with LocalHorizon(markets=1, ledger_interval=None, levels=30) as server:
        async with Horizon(server.url) as horizon:
            [live] = await _lives(server, horizon, 1, l3=True)
            asks = live.offers("ask")
            account = asks[1].seller
            assert account and account.startswith("G")
            board = Board("t", rows=10, account=account)
            board.set_live(board.add_loading("M"), live)
            lines, styled = _draw(board, 120, 40)
            _check_fits(lines, 120, 40, "t")
            line = next(l for l in lines if l.startswith("your offers"))
            expected = [k + 1 for k, o in enumerate(asks) if o.seller == account]
            assert f"asks at #{expected[0]}" in line and 2 in expected
            assert f"{asks[1].offer_id}*" in "\n".join(lines)  # marked in the table


async def test_interactive_view_redraws_only_on_change_and_uses_the_alternate_screen():
    import io

    from stellar_ob.cli.view import run_view

    async with LocalHorizon(markets=1, ledger_interval=None, levels=20) as server:
        async with Horizon(server.url) as horizon:
            board = Board("t", rows=5)
            [live] = await _lives(server, horizon, 1)
            board.set_live(board.add_loading("M"), live)
            draws = []
            real = board.render
            board.render = lambda w, h, now=None: (draws.append(now), real(w, h, now))[1]  # type: ignore[method-assign]
            out = io.StringIO()
            console = Console(file=out, width=80, height=24, force_terminal=True, color_system="standard")
            stop = asyncio.Event()
            # a quiet book for 2.5 s: 25 ticks of 0.1 s, but a redraw only for the clock (once a second)
            await run_view(board, duration=2.5, interactive=True, stop=stop, console=console)
            assert 1 <= len(draws) <= 4, len(draws)
            assert "\x1b[?1049h" in out.getvalue() and "\x1b[?1049l" in out.getvalue()  # alternate screen in/out
            # updates make redraws
            draws.clear()
            stop2 = asyncio.Event()
            task = asyncio.ensure_future(run_view(board, duration=None, interactive=True, stop=stop2, console=console))
            for _ in range(10):
                seen = board.version
                server.close_ledger()
                t0 = time.monotonic()
                while board.version == seen and time.monotonic() - t0 < 10:  # the update reached the board
                    await asyncio.sleep(0.01)
                await asyncio.sleep(0.15)  # more than one tick of the view
            stop2.set()
            await task
            assert len(draws) > 4, len(draws)
