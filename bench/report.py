"""Run the benchmark suite and write bench/REPORT.md, the ratio chart and the SLO table.

    python -m bench.report                 # full run (~5 min on 2 cores), from the repository root
    python -m bench.report --quick         # short rounds (~1 min): same tables, noisier numbers
    python -m bench.report --from-json bench/out/bench.json   # re-render without re-running

Runs ``pytest bench/ --benchmark-only --benchmark-json`` (every bench_*.py there, whoever wrote
it), plus bench/bench_sync.py for the sync latency, then writes:

- bench/REPORT.md (committed: the last numbers): per operation a table of median, p99 and how
  many times faster our compiled core is than each other implementation *measured in the same
  run*; a summary table; the SLO table (our numbers against the issues' targets and the seed SLOs);
  the last on-demand load scenario results found in the output directory.
- <out>/ratios.png and bench/ratios.png (committed): the same ratios as a chart.
- bench/rss.png (committed): the client's RSS over time in the last on-demand soaks that record it
  (endurance-24h, ledger-soak, endurance), one line a scenario.
- <out>/bench.json: pytest-benchmark's JSON (p99 added, raw rounds dropped by bench/conftest.py).

Ratios, not absolute times, are what carries from one machine to another; medians and p99 are
per call (per change where a call replays many, as the table says).
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
REPORT = BENCH_DIR / "REPORT.md"
CHART = BENCH_DIR / "ratios.png"
RSS_CHART = BENCH_DIR / "rss.png"

REFERENCE = "c"
ORDER = ("c", "py", "bmoscon", "hummingbot", "json+float", "orjson+float", "orjson")
LABELS = {
    "c": "stellar_ob (C core)",
    "py": "stellar_ob (pure Python)",
    "bmoscon": "bmoscon order-book (float keys)",
    "hummingbot": "Hummingbot OrderBook",
    "json+float": "json.loads + float dicts",
    "orjson+float": "orjson.loads + float dicts",
    "orjson": "orjson.loads alone",
    "harness": "pytest-benchmark + one Python call",
}


@dataclass
class Result:
    module: str
    func: str
    impl: str
    group: str
    median: Optional[float]  # seconds per call
    p99: Optional[float]
    rounds: int
    iterations: int
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def per_call(self) -> int:
        return int(self.extra.get("changes_per_call") or 1)


@dataclass
class Target:
    what: str
    target: str
    module: str  # bench file stem ("" for results from elsewhere)
    func: str
    impl: str = "c"
    stat: str = "median"  # median | p99 | per_change | rss_mib | ratio:<impl> | sync_p50 | sync_p99 | load:<scenario>:<key>
    limit: float = 0.0  # seconds, MiB or a minimum ratio
    note: str = ""


# The targets from the issues (medians unless said) and the seed SLOs.
TARGETS: List[Target] = [
    Target("set_level on an existing price", "<= 80 ns", "bench_core", "test_set_level_existing", limit=80e-9),
    Target("insert a new price + read best bid/ask", "<= 150 ns", "bench_core", "test_insert_or_remove_best_x1000",
           stat="per_change", limit=150e-9,
           note="1,000 alternating inserts / removes, each + best bid/ask, per timed call"),
    Target("the same, one operation per timed call", "<= 150 ns", "bench_core", "test_insert_or_remove_best",
           limit=150e-9, note="includes the harness's per-call cost (see the harness floor row)"),
    Target("insert + best bid/ask + remove, one call", "<= 300 ns", "bench_core", "test_insert_best_remove",
           limit=300e-9, note="two changes and a read per call: twice the target above"),
    Target("apply_diff of 100 changes", "<= 3 us", "bench_core", "test_apply_diff_100", limit=3e-6,
           note="+ a best bid/ask read"),
    Target("apply_diff of 100 changes at depth 10,000 vs Hummingbot", ">= 2x faster", "bench_core",
           "test_apply_diff_100_deep", stat="ratio:hummingbot", limit=2.0,
           note="uniform positions (issue 18's deep books)"),
    Target("apply_snapshot 200+200 from numpy", "<= 5 us", "bench_core", "test_apply_snapshot_200x200", limit=5e-6,
           note="+ a best bid/ask read"),
    Target("quote_buy across 50 levels", "<= 1 us", "bench_core", "test_quote_buy_50_levels", limit=1e-6),
    Target("to_numpy top 20 per side", "<= 1 us", "bench_core", "test_to_numpy_top20", limit=1e-6,
           note="both sides in one call"),
    Target("1,000 books of 200+200 levels", "<= 16 MiB", "bench_memory", "test_memory_1000_books",
           stat="rss_mib", limit=16.0, note="RSS above the interpreter's baseline"),
    Target("apply_horizon of a changed 200+200 book", "<= 25 us", "bench_core", "test_apply_horizon_200x200",
           limit=25e-6),
    Target("apply_horizon vs orjson.loads alone", ">= 5x faster", "bench_core", "test_apply_horizon_200x200",
           stat="ratio:orjson", limit=5.0),
    Target("apply_horizon vs json.loads + float dicts", ">= 10x faster", "bench_core", "test_apply_horizon_200x200",
           stat="ratio:json+float", limit=10.0),
    Target("/offers page of 200 records", "<= 40 us", "bench_core", "test_offers_page_200", limit=40e-6),
    Target("simulate across 50 offers", "<= 2 us", "bench_offers", "test_simulate_50_offers", limit=2e-6),
    Target("simulate across 1000 offers", "<= 40 us", "bench_offers", "test_simulate_1000_offers", limit=40e-6),
    Target("OfferBook add or remove of one offer, 10,000-offer book", "<= 200 ns each", "bench_offers",
           "test_add_remove_in_10000_offer_book", limit=400e-9,
           note="one timed call = one add + one remove (+ harness floor): limit 2 x 200 ns"),
    Target("sync: event to caller, p50", "<= 300 us", "", "bench_sync", stat="sync_p50", limit=300e-6),
    Target("sync: event to caller, p99", "<= 2 ms", "", "bench_sync", stat="sync_p99", limit=2e-3),
    # seed SLOs
    Target("SLO: incremental update", "< 10 ms", "bench_core", "test_apply_diff_100", stat="p99", limit=10e-3,
           note="p99 of a 100-change apply_diff"),
    Target("SLO: incremental update from Horizon", "< 10 ms", "bench_core", "test_apply_horizon_200x200",
           stat="p99", limit=10e-3, note="p99 of a whole changed 200+200 document"),
    Target("SLO: full refresh", "< 100 ms", "bench_core", "test_apply_snapshot_200x200", stat="p99", limit=100e-3,
           note="p99, 200+200 levels"),
    Target("SLO: 1,000 markets under 250 MB RSS", "< 250 MB", "", "steady", stat="load:steady:rss_max_mb", limit=250.0,
           note="python -m bench.load_scenarios steady"),
    Target("SLO: memory < 250 MB steady for 24 h", "slope <= 2 MB/h, 24 h < 250 MB", "", "endurance",
           stat="load:endurance:slope_mb_per_h",
           limit=2.0, note="python -m bench.load_scenarios endurance (30 min soak, extrapolated)"),
    # issue 18 (same run, against the incumbents)
    Target("apply_diff of 100 changes, depth 200 (issue 18)", "<= 1.2 us", "bench_core", "test_apply_diff_100",
           limit=1.2e-6, note="+ a best bid/ask read"),
    Target("apply_snapshot from 200+200 tuples vs bmoscon (issue 18)", ">= 2x faster", "bench_core",
           "test_apply_snapshot_200x200_rows", stat="ratio:bmoscon", limit=2.0),
    # issue 19 and issue 14: on-demand load scenarios (bench/out/load/*.json)
    Target("24 h of ledgers compressed: every book live after each outage", "<= 5 s after the return", "",
           "endurance-24h", stat="load:endurance-24h:recovery_seconds", limit=5.0,
           note="python -m bench.load_scenarios endurance-24h (72 min, 1,000 markets)"),
    Target("24 h of ledgers compressed: RSS flat", "slope <= 2 MB/h, 24 h < 250 MB", "", "endurance-24h",
           stat="load:endurance-24h:slope_mb_per_h", limit=2.0, note="python -m bench.load_scenarios endurance-24h"),
    Target("ledger available -> update at the caller, 10,000 markets", "p99 <= 50 ms", "", "ledger",
           stat="load:ledger:latency_ms", limit=50.0, note="python -m bench.load_scenarios ledger"),
    Target("ledger available -> update at the caller: client CPU", "<= 5% of a core", "", "ledger",
           stat="load:ledger:client_cpu_share", limit=0.05, note="python -m bench.load_scenarios ledger"),
    Target("ledger source, 30-minute soak: RSS flat", "slope <= 2 MB/h", "", "ledger-soak",
           stat="load:ledger-soak:slope_mb_per_h", limit=2.0, note="python -m bench.load_scenarios ledger-soak"),
    Target("ledger source, 30-minute soak: update at the caller", "p99 <= 50 ms", "", "ledger-soak",
           stat="load:ledger-soak:latency_ms", limit=50.0, note="python -m bench.load_scenarios ledger-soak"),
    Target("SLO: 50+ pairs", ">= 50 markets current", "", "spike", stat="load:spike:markets", limit=50,
           note="python -m bench.load_scenarios spike"),
    Target("SLO: 1000+ active orders", "simulate 1000 offers", "bench_offers", "test_simulate_1000_offers",
           limit=10e-3, note="< 10 ms per 1000-offer crossing"),
]


# ---------------------------------------------------------------------------------------------
# running


def run_suite(out: Path, quick: bool, pytest_args: Sequence[str]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path = out / "bench.json"
    cmd = [sys.executable, "-m", "pytest", str(BENCH_DIR), "-p", "no:cacheprovider", "--benchmark-only", "-q",
           f"--benchmark-json={path}", "--benchmark-sort=name"]
    if quick:
        cmd += ["--benchmark-max-time=0.05", "--benchmark-min-rounds=5", "--benchmark-warmup-iterations=1000"]
    cmd += list(pytest_args)
    print("+", " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=REPO)
    if not path.is_file():
        raise SystemExit(f"pytest wrote no {path} (exit {proc.returncode})")
    if proc.returncode not in (0, 1):  # 1: a test failed; still report what was measured
        raise SystemExit(f"pytest failed to run (exit {proc.returncode})")
    return path


def run_sync(rounds: int) -> Optional[Dict[str, float]]:
    """bench/bench_sync.py's p50/p99 (seconds), or None if it cannot run here."""
    script = BENCH_DIR / "bench_sync.py"
    if not script.is_file():
        return None
    print(f"+ {sys.executable} {script} --rounds {rounds}", flush=True)
    try:
        proc = subprocess.run([sys.executable, str(script), "--rounds", str(rounds)], capture_output=True, text=True,
                              timeout=600, cwd=REPO)
    except subprocess.TimeoutExpired:
        return None
    found = dict(re.findall(r"(p50|p99)\s+([0-9.]+) us", proc.stdout))
    if "p50" not in found or "p99" not in found:
        print(proc.stdout, proc.stderr, file=sys.stderr)
        return None
    return {"p50": float(found["p50"]) * 1e-6, "p99": float(found["p99"]) * 1e-6, "rounds": rounds}


def load_results(path: Path) -> tuple[List[Result], Dict[str, Any]]:
    doc = json.loads(path.read_text())
    results = []
    for b in doc.get("benchmarks", []):
        fullname = b.get("fullname", b["name"])
        module = Path(fullname.split("::")[0]).stem
        func = b["name"].split("[")[0]
        impl = b.get("param")
        if not isinstance(impl, str):
            m = re.search(r"\[(.*)\]$", b["name"])
            impl = m.group(1) if m else "harness"
        st = b.get("stats") or {}
        results.append(Result(module, func, impl, b.get("group") or _title(func), st.get("median"), st.get("p99"),
                              int(st.get("rounds") or 0), int(st.get("iterations") or 0), b.get("extra_info") or {}))
    meta = {"machine_info": doc.get("machine_info", {}), "datetime": doc.get("datetime"),
            "version": doc.get("version"), "commit_info": doc.get("commit_info") or {}}
    return results, meta


def _title(func: str) -> str:
    return func.removeprefix("test_").replace("_", " ")


# ---------------------------------------------------------------------------------------------
# formatting


def fmt_time(s: Optional[float]) -> str:
    if s is None or s != s:
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.2f} us" if s < 1e-5 else f"{s * 1e6:.1f} us"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_ratio(r: Optional[float]) -> str:
    if r is None or r != r:
        return "-"
    if r < 1:
        return f"{r:.2g}x (slower)"
    return f"{r:.1f}x" if r < 100 else f"{r:.0f}x"


def _impl_key(impl: str) -> tuple:
    return (ORDER.index(impl) if impl in ORDER else len(ORDER), impl)


def groups(results: List[Result]) -> Dict[tuple, List[Result]]:
    """(module, func) -> results, in the order the suite ran them."""
    out: Dict[tuple, List[Result]] = {}
    for r in results:
        out.setdefault((r.module, r.func), []).append(r)
    for rs in out.values():
        rs.sort(key=lambda r: _impl_key(r.impl))
    return out


def is_memory(rs: List[Result]) -> bool:
    return any("rss_mib" in r.extra for r in rs)


def ratio(rs: List[Result], impl: str, stat: str = "median") -> Optional[float]:
    """How many times faster the reference (C core) is than ``impl`` (its time / ours)."""
    by = {r.impl: r for r in rs}
    ref, other = by.get(REFERENCE), by.get(impl)
    if ref is None or other is None:
        return None
    a, b = getattr(ref, stat), getattr(other, stat)
    if not a or not b:
        return None
    return b / a


def operation_table(rs: List[Result]) -> List[str]:
    per_change = any(r.per_call > 1 for r in rs)
    head = "| implementation | median | p99 |" + (" median per change |" if per_change else "") + \
        " rounds x iterations | C core is faster by |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rs:
        cells = [LABELS.get(r.impl, r.impl), fmt_time(r.median), fmt_time(r.p99)]
        if per_change:
            cells.append(fmt_time(r.median / r.per_call if r.median else None))
        cells.append(f"{r.rounds:,} x {r.iterations:,}")
        cells.append("(reference)" if r.impl == REFERENCE else fmt_ratio(ratio(rs, r.impl)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def memory_table(rs: List[Result]) -> List[str]:
    lines = ["| implementation | RSS above baseline | malloc in use | interpreter baseline RSS | C core is smaller by |",
             "|---|---|---|---|---|"]
    ref = next((r for r in rs if r.impl == REFERENCE), None)
    for r in rs:
        e = r.extra
        by = "(reference)" if r.impl == REFERENCE else (
            fmt_ratio(e["rss_mib"] / ref.extra["rss_mib"]) if ref and ref.extra.get("rss_mib") else "-")
        mal = e.get("malloc_mib")
        lines.append(f"| {LABELS.get(r.impl, r.impl)} | {e['rss_mib']:.1f} MiB | "
                     f"{'-' if mal is None else f'{mal:.1f} MiB'} | {e.get('baseline_rss_mib', 0):.0f} MiB | {by} |")
    return lines


def summary_table(gs: Dict[tuple, List[Result]]) -> List[str]:
    impls = [i for i in ORDER if i != REFERENCE and any(r.impl == i for rs in gs.values() for r in rs)]
    lines = ["| operation | C core median | " + " | ".join(i for i in impls) + " |",
             "|---|---|" + "---|" * len(impls)]
    for rs in gs.values():
        if is_memory(rs):
            ref = next((r for r in rs if r.impl == REFERENCE), None)
            cells = [f"{ref.extra['rss_mib']:.1f} MiB" if ref else "-"]
            for i in impls:
                o = next((r for r in rs if r.impl == i), None)
                cells.append(fmt_ratio(o.extra["rss_mib"] / ref.extra["rss_mib"]) if o and ref else "")
        else:
            ref = next((r for r in rs if r.impl == REFERENCE), None)
            cells = [fmt_time(ref.median) if ref else f"({fmt_time(rs[0].median)})"]
            cells += [fmt_ratio(ratio(rs, i)) if any(r.impl == i for r in rs) else "" for i in impls]
        lines.append(f"| {rs[0].group} | " + " | ".join(cells) + " |")
    return lines


def _find(gs: Dict[tuple, List[Result]], t: Target) -> Optional[Result]:
    for r in gs.get((t.module, t.func), []):
        if r.impl == t.impl:
            return r
    return None


def slo_rows(gs: Dict[tuple, List[Result]], sync: Optional[Dict[str, float]],
             loads: Dict[str, Dict[str, Any]]) -> List[tuple]:
    """(what, target, measured, status, note) per target; status is PASS, MISS or 'not run'."""
    rows = []
    for t in TARGETS:
        measured, ok = None, None
        if t.stat.startswith("sync_"):
            if sync:
                v = sync[t.stat[5:]]
                measured, ok = fmt_time(v), v <= t.limit
        elif t.stat.startswith("load:"):
            _, scenario, key = t.stat.split(":")
            res = loads.get(scenario)
            if res and key in res:
                v = res[key]
                if key == "slope_mb_per_h":
                    projected = res.get("rss_24h_projected_mb")
                    ok = v is not None and v <= t.limit and (projected is None or projected < 250.0)
                    if res.get("slope_judged") is False:  # a soak under 30 minutes: shown, not judged
                        ok = None
                    measured = (f"{v:+.2f} MB/h" if v is not None else "-") + (
                        f", {projected:.0f} MB at 24 h" if projected is not None else "")
                elif key == "recovery_seconds":
                    worst = max(v) if v else None
                    ok = worst is not None and worst <= t.limit
                    measured = f"max {worst:.2f} s of {len(v)} outages ({', '.join(f'{x:g}' for x in v)} s)" if v else "-"
                elif key == "latency_ms":
                    ok = v["p99"] <= t.limit
                    measured = f"p99 {v['p99']:.1f} ms (p50 {v['p50']:.1f}) over {res.get('ledgers')} ledgers"
                elif key == "client_cpu_share":
                    ok = v <= t.limit
                    measured = f"{v * 100:.1f}% ({res.get('markets')} markets, {res.get('ledgers')} ledgers)"
                elif key == "markets":
                    measured, ok = f"{v} markets, {res.get('stale_books', 0)} stale", bool(res.get("ok")) and v >= t.limit
                else:
                    n = res.get("markets", 0)
                    measured, ok = f"{v:.0f} MB max ({n} markets)", (v < t.limit) if n >= 1000 else None
        else:
            r = _find(gs, t)
            if r is not None:
                if t.stat == "rss_mib":
                    v = r.extra.get("rss_mib")
                    measured, ok = f"{v:.1f} MiB", v <= t.limit
                elif t.stat.startswith("ratio:"):
                    v = ratio(gs[(t.module, t.func)], t.stat.split(":", 1)[1])
                    if v is not None:
                        measured, ok = f"{v:.1f}x", v >= t.limit
                elif t.stat == "per_change":
                    v = r.median / r.per_call if r.median is not None else None
                    if v is not None:
                        measured, ok = f"{fmt_time(v)} per operation", v <= t.limit
                else:
                    v = getattr(r, t.stat)
                    if v is not None:
                        measured, ok = fmt_time(v), v <= t.limit
        status = "not run" if ok is None else ("PASS" if ok else "MISS")
        rows.append((t.what, t.target, measured or "-", status, t.note))
    return rows


LOAD_FIGURES = (
    ("markets", "markets", ""), ("ledgers", "ledgers", ""), ("changes_judged", "changes judged", ""),
    ("changes_missed", "missed", ""), ("latency_p50_ms", "close->caller p50", " ms"),
    ("latency_p99_ms", "p99", " ms"), ("latency_max_ms", "max", " ms"), ("mismatched_books", "books wrong at end", ""),
    ("rss_max_mb", "RSS max", " MB"), ("slope_mb_per_h", "RSS slope", " MB/h"),
    ("rss_24h_projected_mb", "RSS at 24 h (projected)", " MB"), ("restarts", "restarts", ""),
    ("recovery_seconds", "reloaded after", " s"), ("requests_per_second_down", "requests/s while down", ""), ("reconnects", "reconnects", ""), ("errors", "errors", ""),
    ("cpu_percent", "client CPU", "%"),
    ("outage_targets_met", "issue 19's targets met", ""), ("changes_late", "missed but came late", ""), ("changes_never", "missed, never came", ""),
    ("downtimes", "outages", " s"), ("server_cpu_percent", "local Horizon CPU", "%"),
    ("gc_pause_p99_ms", "GC pause p99", " ms"), ("changes", "market changes", ""),
    ("sampled_books_wrong", "sampled books wrong", ""), ("latency_ms", "ledger->caller", " ms"),
    ("rss_first_mb", "RSS first", " MB"), ("rss_last_mb", "RSS last", " MB"),
)


def _figure(v: Any) -> str:
    if isinstance(v, dict):
        return "/".join(f"{k} {x:.1f}" if isinstance(x, float) else f"{k} {x}" for k, x in v.items())
    if isinstance(v, list):
        return "[" + ", ".join(f"{x:g}" if isinstance(x, (int, float)) else str(x) for x in v) + "]"
    return f"{v:g}" if isinstance(v, float) else str(v)


def load_scenario_results(out: Path) -> Dict[str, Dict[str, Any]]:
    found = {}
    for p in sorted((out / "load").glob("*.json")) if (out / "load").is_dir() else []:
        try:
            res = json.loads(p.read_text())
        except ValueError:
            continue
        found[res.get("scenario", p.stem)] = res
    return found


def chart(gs: Dict[tuple, List[Result]], paths: Sequence[Path]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
        return False
    rows = []  # (operation, impl, ratio)
    for rs in gs.values():
        if is_memory(rs):
            ref = next((r for r in rs if r.impl == REFERENCE), None)
            for r in rs:
                if ref and r.impl != REFERENCE and ref.extra.get("rss_mib"):
                    rows.append((rs[0].group, r.impl, r.extra["rss_mib"] / ref.extra["rss_mib"]))
            continue
        for r in rs:
            v = ratio(rs, r.impl) if r.impl != REFERENCE else None
            if v:
                rows.append((rs[0].group, r.impl, v))
    if not rows:
        return False
    ops = list(dict.fromkeys(op for op, _, _ in rows))
    impls = [i for i in ORDER if any(i == r[1] for r in rows)] + sorted({r[1] for r in rows} - set(ORDER))
    colors = dict(zip(impls, ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
                              "#8c8c8c"]))
    height = 0.8 / max(1, len(impls))
    fig, ax = plt.subplots(figsize=(11, 0.5 * len(ops) + 2.0))
    for k, impl in enumerate(impls):
        ys, xs = [], []
        for i, op in enumerate(ops):
            v = next((x for o, m, x in rows if o == op and m == impl), None)
            if v:
                ys.append(i + k * height - 0.4 + height / 2)
                xs.append(v)
        ax.barh(ys, xs, height=height, label=LABELS.get(impl, impl), color=colors.get(impl))
    ax.set_xscale("log")
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(ops)))
    ax.set_yticklabels(ops, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("implementation's median time (or memory) / the C core's, same run (log scale; > 1: the C core wins)",
                  fontsize=9)
    ax.legend(fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(p, dpi=110)
    plt.close(fig)
    return True


def rss_chart(loads: Dict[str, Dict[str, Any]], path: Path) -> bool:
    """RSS over the run of each load scenario with ``rss_samples`` ((time, MB, ...) rows); False
    when there is none or matplotlib is missing."""
    runs = {name: res["rss_samples"] for name, res in loads.items()
            if len(res.get("rss_samples") or []) >= 3 and name in ("endurance-24h", "ledger-soak", "endurance")}
    if not runs:
        return False
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(10, 4))
    for name, samples in runs.items():
        t0 = samples[0][0]
        res = loads[name]
        ax.plot([(p[0] - t0) / 60 for p in samples], [p[1] for p in samples], linewidth=1.2,
                label=f"{name} ({res.get('markets')} markets, {res.get('when', '?')})")
    ax.set_xlabel("minutes into the run")
    ax.set_ylabel("client RSS (MB)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def render(results: List[Result], meta: Dict[str, Any], sync: Optional[Dict[str, float]],
           loads: Dict[str, Dict[str, Any]], quick: bool, command: str, chart_ok: bool,
           rss_chart_ok: bool = False) -> str:
    gs = groups(results)
    mi = meta.get("machine_info", {})
    cpu = (mi.get("cpu") or {}).get("brand_raw") or mi.get("processor") or platform.processor()
    ci = meta.get("commit_info") or {}
    if ci.get("id") and ci["id"] != "unversioned":  # the commit the benchmarks ran on
        commit, dirty = ci["id"][:7], " (+ uncommitted changes)" if ci.get("dirty") else ""
    else:
        commit = _git("rev-parse", "--short", "HEAD")
        dirty = " (+ uncommitted changes)" if _git("status", "--porcelain", "--untracked-files=no") else ""
    lines = [
        "# stellar_ob benchmarks: side by side with the incumbents",
        "",
        f"Last run: {meta.get('datetime') or _dt.datetime.now(_dt.timezone.utc).isoformat()} - commit {commit}{dirty} - "
        f"Python {mi.get('python_version', platform.python_version())} on {cpu}, {os.cpu_count()} cores"
        f"{' - QUICK mode (short rounds: indicative only)' if quick else ''}.",
        "",
        f"Reproduce: `{command}` (needs `pip install .[bench]`; Hummingbot: see below). "
        "Every number below comes from that one run: ratios compare implementations measured on the same "
        "machine minutes apart, so they carry from one machine to another far better than the absolute times.",
        "",
        "How it is measured: pytest-benchmark, warm-up on, garbage collector off while timing, for every "
        "implementation alike; the same seeded books (200 levels a side, 90% of changes in the top 20) and "
        "the real Horizon fixtures; each implementation gets its natural input prepared before timing. "
        "Where an operation changes the book, the body also reads the best bid and ask, because bmoscon's "
        "book sorts lazily on the first read after a change. The median and p99 are of rounds; a round is "
        "the mean of `iterations` calls. \"C core is faster by\" = that implementation's median / the C "
        "core's median in the same run.",
        "",
    ]
    if chart_ok:
        lines += ["![ratios](ratios.png)", ""]
    lines += ["## Summary: how many times faster (or smaller) the C core is", ""]
    lines += summary_table(gs)
    lines += ["", "Empty cell: that implementation has no such operation (no incumbent has stellar-core's exact "
              "per-offer crossing, so simulate and add/remove compare C with our own twin only).", ""]
    lines += ["## SLO table", "", "| requirement | target | measured (C core) | status | how |", "|---|---|---|---|---|"]
    for what, target, measured, status, note in slo_rows(gs, sync, loads):
        lines.append(f"| {what} | {target} | {measured} | {status} | {note} |")
    lines += ["", "Targets are medians unless the row says p99. Times include the harness floor (the \"harness floor\" operation "
              "below: pytest-benchmark's loop plus one call of a Python function) wherever the timed body is a Python "
              "closure. `not run`: the figure comes from an on-demand run (`python -m bench.load_scenarios ...`, "
              "`python bench/bench_sync.py`) that this report did not find.", ""]
    lines += ["## Per operation", ""]
    for (module, func), rs in gs.items():
        lines += [f"### {rs[0].group}", "", f"`bench/{module}.py::{func}`", ""]
        lines += memory_table(rs) if is_memory(rs) else operation_table(rs)
        lines.append("")
    if sync:
        lines += ["### sync: server write -> caller callback (bench/bench_sync.py)", "",
                  "| implementation | p50 | p99 | rounds |", "|---|---|---|---|",
                  f"| stellar_ob (C core) | {fmt_time(sync['p50'])} | {fmt_time(sync['p99'])} | {sync['rounds']} |", ""]
    if loads:
        lines += ["## Load scenarios (last on-demand runs)", "", "| scenario | when | result | figures |",
                  "|---|---|---|---|"]
        for name, res in loads.items():
            figures = ", ".join(f"{label} {_figure(res[k])}{unit}" for k, label, unit in LOAD_FIGURES
                                if res.get(k) is not None)
            lines.append(f"| {name} | {res.get('when', '?')} | {'OK' if res.get('ok') else 'MISSED'} | {figures} |")
        lines.append("")
        if rss_chart_ok:
            lines += ["Client RSS over time in the soaks above (a sample a ledger):", "", "![RSS over time](rss.png)", ""]
    gate = BENCH_DIR / "gate_baseline.json"
    if gate.is_file():
        base = json.loads(gate.read_text())
        lines += ["## Regression gate (CI)", "",
                  f"`python -m bench.gate` counts the instructions of fixed C-core workloads under callgrind "
                  f"(bench/gate/gate_driver.c) and fails when one grows more than {base.get('tolerance', 0.05):.0%} "
                  f"over bench/gate_baseline.json; counts do not move with machine load. Baseline "
                  f"({base.get('toolchain', {}).get('cc', '?')}):", "",
                  "| workload | instructions per op |", "|---|---|"]
        lines += [f"| {name} | {w['per_op']:,.0f} |" for name, w in base.get("workloads", {}).items()]
        lines.append("")
    skipped = [i for i in ORDER if all(r.impl != i for r in results)]
    lines += [
        "## Implementations",
        "",
        "- **stellar_ob (C core)**: `stellar_ob.book._book` / `stellar_ob.offers._offers`; exact int32 n/d prices, int stroops.",
        "- **stellar_ob (pure Python)**: the twin, `STELLAR_OB_PURE=1`; the same results.",
        "- **bmoscon order-book** (`pip install order-book`): a C sorted dict per side keyed by float price; "
        "reads re-sort lazily after a change.",
        "- **Hummingbot OrderBook** (`hummingbot.core.data_type.order_book`): Cython over C++ std::set of "
        "double prices. Installed with `pip install --no-deps hummingbot` (builds its Cython extensions, ~4 "
        "minutes on 2 cores) plus `pandas hexbytes cachetools ujson` for its imports; skipped with the reason "
        "where it is not installed.",
        "- **json.loads / orjson.loads + float dicts**: the parse paths people use today (stellar-sdk "
        "decodes with json.loads), feeding `float(price) -> float(amount)` into the bmoscon book; they compute "
        "no diff while `apply_horizon` returns one.",
        "- **orjson.loads alone**: the floor under any JSON-based path.",
        "",
    ]
    if skipped:
        lines += [f"Not measured in this run: {', '.join(skipped)} (not installed here).", ""]
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short rounds (CI smoke of the report itself)")
    ap.add_argument("--out", type=Path, default=BENCH_DIR / "out", help="where bench.json and ratios.png go")
    ap.add_argument("--from-json", type=Path, help="render from an existing pytest-benchmark JSON")
    ap.add_argument("--report", type=Path, default=REPORT, help="the Markdown file to write")
    ap.add_argument("--sync-rounds", type=int, default=1000, help="0 skips bench_sync.py")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    args = ap.parse_args(argv)
    command = "python -m bench.report" + (" --quick" if args.quick else "")
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.from_json or run_suite(args.out, args.quick, args.pytest_args)
    results, meta = load_results(path)
    sync_file = args.out / "sync.json"
    if args.from_json and sync_file.is_file():  # re-rendering: the sync figures of the run that made the JSON
        sync = json.loads(sync_file.read_text())
    else:
        sync = run_sync(args.sync_rounds if not args.quick else min(args.sync_rounds, 300)) if args.sync_rounds else None
        if sync:
            sync_file.write_text(json.dumps(sync) + "\n")
    loads = load_scenario_results(args.out)
    chart_ok = chart(groups(results), [args.out / "ratios.png", CHART])
    rss_ok = rss_chart(loads, RSS_CHART)
    text = render(results, meta, sync, loads, args.quick, command, chart_ok, rss_ok)
    args.report.write_text(text + "\n")
    print(f"wrote {args.report}" + (f", {CHART} and {args.out / 'ratios.png'}" if chart_ok else ""))
    misses = [r for r in slo_rows(groups(results), sync, loads) if r[3] == "MISS"]
    for what, target, measured, _, _ in misses:
        print(f"MISS: {what}: {measured} (target {target})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
