"""Performance regression gate: instruction counts of the C core under callgrind, vs a baseline.

    python -m bench.gate                # build, count, compare with bench/gate_baseline.json
    python -m bench.gate --update       # rewrite the baseline (after an intended change)
    python -m bench.gate --tolerance 0.03

Wall time on a shared 2-core CI machine moves by tens of percent from run to run; instruction
counts do not. This builds the C core with the repository's own CMakeLists.txt (Release, Python
bindings off) into bench/gate/gate_driver.c, a program with fixed, seeded workloads (set_level,
insert+remove, apply_diff of 1/10/100 changes, a 200+200 snapshot, a 50-level quote, top-20
copies, a whole /order_book document applied as apply_horizon does, an /offers page parse, add +
remove in a 10,000-offer book, simulate across 50 and 1000 offers). Each workload runs under
``valgrind --tool=callgrind --toggle-collect=gate_run``, so only the workload's loop is counted,
never the setup.

The border is counted too: bench/gate/binding_driver.py calls the installed compiled extension
from Python (``py_*`` workloads: set_level, apply_diff, apply_horizon, simulate) with this
interpreter (``--python``). A Python process cannot toggle collection around a loop, so each runs
twice under callgrind, with N1 and N2 iterations; (total(N2) - total(N1)) / (N2 - N1) is one
operation through the border (argument checks, conversions, the C call, the result objects), the
interpreter's start, the imports and the setup cancelling out. ``--c-only`` skips them.

Instructions per operation are compared with bench/gate_baseline.json:

- more than ``tolerance`` (default +5%, stored in the baseline) above the baseline fails
  (exit 1): a real slowdown of the core;
- more than ``tolerance`` below passes with a note: refresh the baseline with --update so the
  gain is kept;
- a workload missing from the driver fails; a new one passes with a note.

Counts depend on the compiler (the baseline records which one): when the toolchain changes,
rerun with --update in the same commit. Needs cmake, a C compiler and valgrind
(``apt-get install -y valgrind``). Exit 2 when one of them is missing or the build fails.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

BENCH_DIR = Path(__file__).resolve().parent
GATE_DIR = BENCH_DIR / "gate"
BASELINE = BENCH_DIR / "gate_baseline.json"
DEFAULT_TOLERANCE = 0.05
BINDING_DRIVER = GATE_DIR / "binding_driver.py"
#: Iterations of the two callgrind runs of each binding workload (their difference is measured).
BINDING_RUNS = (200, 1200)


class GateError(Exception):
    """The gate could not measure (missing tool, failed build or run): exit 2."""


def _run(cmd: List[str], **kw) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, **kw)
    except FileNotFoundError as exc:
        raise GateError(f"{cmd[0]} not found: {exc}") from None


def build(build_dir: Path) -> Path:
    """Configure and build the driver; returns its path."""
    if shutil.which("cmake") is None:
        raise GateError("cmake not found (pip install cmake, or apt-get install cmake)")
    conf = _run(["cmake", "-S", str(GATE_DIR), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release"])
    if conf.returncode:
        raise GateError(f"cmake configure failed:\n{conf.stdout}\n{conf.stderr}")
    out = _run(["cmake", "--build", str(build_dir), "--target", "gate_driver", "-j", str(os.cpu_count() or 1)])
    if out.returncode:
        raise GateError(f"build failed:\n{out.stdout}\n{out.stderr}")
    exe = build_dir / "gate_driver"
    if not exe.is_file():
        raise GateError(f"no {exe} after the build")
    return exe


def toolchain(build_dir: Path) -> Dict[str, str]:
    """The compiler CMake chose and valgrind's version: counts are only comparable across the same."""
    cache = (build_dir / "CMakeCache.txt").read_text() if (build_dir / "CMakeCache.txt").is_file() else ""
    m = re.search(r"^CMAKE_C_COMPILER:\w+=(.*)$", cache, re.M)
    cc = m.group(1) if m else "cc"
    version = _run([cc, "--version"]).stdout.splitlines()[:1]
    vg = _run(["valgrind", "--version"]).stdout.strip()
    return {"cc": version[0] if version else cc, "valgrind": vg}


def workloads(exe: Path) -> List[tuple]:
    out = _run([str(exe), "--list"])
    if out.returncode:
        raise GateError(f"{exe} --list failed: {out.stderr}")
    return [(name, int(it), int(ops)) for name, it, ops in (line.split() for line in out.stdout.splitlines())]


def _callgrind(args: List[str], what: str, valgrind: str, env: Optional[Dict[str, str]] = None) -> int:
    """Instructions callgrind counts in one run (``args``: callgrind options, then the command)."""
    with tempfile.TemporaryDirectory() as tmp:
        out_file = Path(tmp) / "callgrind.out"
        proc = _run([valgrind, "--tool=callgrind", f"--callgrind-out-file={out_file}"] + args, env=env)
        if proc.returncode or not out_file.is_file():
            raise GateError(f"callgrind run of {what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        m = re.search(r"^(?:summary|totals):\s*(\d+)", out_file.read_text(), re.M)
        if not m:
            raise GateError(f"no instruction total in callgrind output for {what}")
        return int(m.group(1))


def count(exe: Path, name: str, valgrind: str = "valgrind") -> int:
    """Instructions executed inside gate_run() for one workload."""
    return _callgrind(["--toggle-collect=gate_run", str(exe), name], name, valgrind)


def measure(exe: Path, valgrind: str = "valgrind") -> Dict[str, Dict[str, float]]:
    if shutil.which(valgrind) is None:
        raise GateError(f"{valgrind} not found (apt-get install -y valgrind)")
    result = {}
    for name, iterations, ops in workloads(exe):
        total = count(exe, name, valgrind)
        result[name] = {"instructions": total, "ops": iterations * ops,
                        "per_op": round(total / (iterations * ops), 1)}
    return result


def _binding_env() -> Dict[str, str]:
    env = dict(os.environ, PYTHONHASHSEED="0")
    env.pop("STELLAR_OB_PURE", None)
    return env


def binding_workloads(python: str) -> List[tuple]:
    out = _run([python, str(BINDING_DRIVER), "--list"], env=_binding_env())
    if out.returncode:
        raise GateError(f"{BINDING_DRIVER.name} --list failed: {out.stderr}")
    return [(name, int(ops)) for name, ops in (line.split() for line in out.stdout.splitlines())]


def count_process(cmd: List[str], valgrind: str = "valgrind") -> int:
    """Instructions executed by a whole process under callgrind."""
    return _callgrind(cmd, " ".join(cmd[1:]), valgrind, env=_binding_env())


def measure_binding(python: str, valgrind: str = "valgrind") -> Dict[str, Dict[str, float]]:
    """Instructions per operation of each binding workload: the difference of two runs."""
    if shutil.which(valgrind) is None:
        raise GateError(f"{valgrind} not found (apt-get install -y valgrind)")
    n1, n2 = BINDING_RUNS
    result = {}
    for name, ops in binding_workloads(python):
        t1 = count_process([python, str(BINDING_DRIVER), name, str(n1)], valgrind)
        t2 = count_process([python, str(BINDING_DRIVER), name, str(n2)], valgrind)
        total = t2 - t1
        result[name] = {"instructions": total, "ops": (n2 - n1) * ops, "per_op": round(total / ((n2 - n1) * ops), 1)}
    return result


def python_toolchain(python: str) -> str:
    """The interpreter's version (the py_* counts depend on it, as the C ones on the compiler)."""
    out = _run([python, "-c", "import sys; print(sys.implementation.name, sys.version.split()[0])"])
    return out.stdout.strip() or python


def compare(now: Dict[str, Dict[str, float]], baseline: Dict, tolerance: float) -> tuple[List[str], bool]:
    """Table lines and whether the gate passes."""
    base = baseline.get("workloads", {})
    lines = [f"{'workload':30s} {'baseline/op':>13s} {'now/op':>13s} {'change':>8s}  verdict"]
    ok = True
    for name in list(base) + [n for n in now if n not in base]:
        b, n = base.get(name), now.get(name)
        if n is None:
            lines.append(f"{name:30s} {b['per_op']:13,.1f} {'-':>13s} {'':>8s}  FAIL: workload missing from the driver")
            ok = False
            continue
        if b is None:
            lines.append(f"{name:30s} {'-':>13s} {n['per_op']:13,.1f} {'':>8s}  new (run --update to record it)")
            continue
        change = n["per_op"] / b["per_op"] - 1
        if change > tolerance:
            verdict = f"FAIL: slower than the baseline by more than {tolerance:.0%}"
            ok = False
        elif change < -tolerance:
            verdict = "faster (run --update to keep the gain)"
        else:
            verdict = "ok"
        lines.append(f"{name:30s} {b['per_op']:13,.1f} {n['per_op']:13,.1f} {change:+8.2%}  {verdict}")
    return lines, ok


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--update", action="store_true", help="write the counts as the new baseline")
    ap.add_argument("--tolerance", type=float, help=f"allowed growth per op (default: the baseline's, {DEFAULT_TOLERANCE})")
    ap.add_argument("--baseline", type=Path, default=BASELINE)
    ap.add_argument("--build-dir", type=Path, default=BENCH_DIR / "out" / "gate-build")
    ap.add_argument("--valgrind", default="valgrind")
    ap.add_argument("--json", type=Path, help="also write the measured counts here")
    ap.add_argument("--python", default=sys.executable,
                    help="the interpreter whose installed stellar_ob the py_* workloads call (default: this one)")
    ap.add_argument("--c-only", action="store_true", help="only the C workloads (not the py_* ones)")
    args = ap.parse_args(argv)
    if args.update and args.c_only:
        ap.error("--update records every workload: not with --c-only")
    try:
        exe = build(args.build_dir)
        tools = toolchain(args.build_dir)
        now = measure(exe, args.valgrind)
        if not args.c_only:
            now.update(measure_binding(args.python, args.valgrind))
            tools["python"] = python_toolchain(args.python)
    except GateError as exc:
        print(f"gate: cannot measure: {exc}", file=sys.stderr)
        return 2
    if args.json:
        args.json.write_text(json.dumps({"toolchain": tools, "workloads": now}, indent=2) + "\n")
    baseline = json.loads(args.baseline.read_text()) if args.baseline.is_file() else {}
    tolerance = args.tolerance if args.tolerance is not None else baseline.get("tolerance", DEFAULT_TOLERANCE)
    if args.update:
        doc = {
            "about": "Instructions per operation of bench/gate/gate_driver.c workloads and of the py_* "
                     "workloads of bench/gate/binding_driver.py (Python through the compiled extension) "
                     "under callgrind (python -m bench.gate). A run more than `tolerance` above any of "
                     "them fails.",
            "tolerance": tolerance,
            "toolchain": tools,
            "workloads": now,
        }
        args.baseline.write_text(json.dumps(doc, indent=2) + "\n")
        for name, n in now.items():
            print(f"{name:30s} {n['per_op']:13,.1f} instructions/op")
        print(f"wrote {args.baseline}")
        return 0
    if not baseline:
        print(f"gate: no baseline at {args.baseline}; run python -m bench.gate --update", file=sys.stderr)
        return 2
    if args.c_only:
        baseline["workloads"] = {k: v for k, v in baseline.get("workloads", {}).items() if not k.startswith("py_")}
        tools["python"] = baseline.get("toolchain", {}).get("python", "")
    if baseline.get("toolchain") and baseline["toolchain"] != tools:
        print(f"note: toolchain differs from the baseline's ({baseline['toolchain']} vs {tools}); "
              "counts may shift: refresh the baseline with --update if this is intended")
    lines, ok = compare(now, baseline, tolerance)
    print("\n".join(lines))
    print(f"gate: {'PASS' if ok else 'FAIL'} (tolerance +{tolerance:.0%} instructions per op, callgrind)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
