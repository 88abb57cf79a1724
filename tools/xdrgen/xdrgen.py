"""Generate bounds-checked C skip and decode functions from the Stellar XDR definitions (.x).

Usage (from the repository root)::

    python tools/xdrgen/xdrgen.py --from-sdk [--out csrc/xdr] [--check]
    python tools/xdrgen/xdrgen.py --xdr-dir DIR [--out csrc/xdr] [--check]

--from-sdk reads the definitions the installed stellar-sdk was generated from (x_from_sdk.py; the
committed output comes from stellar-sdk SDK_VERSION); --xdr-dir reads the thirteen Stellar-*.x files
of a stellar/stellar-xdr checkout. The output is csrc/xdr/stellar_xdr_gen.h and .c; --check compares
instead of writing (exit 1 on any difference). tools/xdrgen/README.md says which definitions.

For every type T the generator emits ``int sob_xdr_skip_T(sob_xdr_cur *c)``: it steps over one
encoded T, checking everything the XDR rules and the definitions say (enum values, union arms,
bool and optional flags, declared maximum lengths, lengths against the remaining input, zero
padding, nesting of recursive types). For the types the ledger decoder reads (DECODE_ROOTS and
what they contain) it also emits a C struct ``sob_xdr_T`` and ``int sob_xdr_decode_T(c, out)``;
inside those, whatever is variable-length, recursive or an arm not listed in ARM_LIMITS is
validated the same way and kept as a span (offset and length in the input).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from xdrparse import (  # noqa: E402
    XDR_FILES,
    Array,
    Enum,
    Opaque,
    Optional,
    Prim,
    Ref,
    Spec,
    String,
    Struct,
    Typedef,
    Union,
    Void,
    parse_files,
    type_refs,
)

# Where the definitions come from (written into the generated files' header).
SDK_VERSION = "16.1.1"
XDR_REPO = "stellar/stellar-xdr"
# The protocol-28 commit stellar/rs-stellar-xdr pins; its generated types are the same set as
# stellar-sdk 16.1.1's (py-stellar-base does not record its stellar-xdr commit in the package).
XDR_COMMIT = "8d1c926a5e5d9167d0fc7327b5dad06dc1ec4fd7"

# Types decoded into C structs (with everything they contain, within the limits below).
DECODE_ROOTS = ["LedgerEntry", "LedgerKey", "ClaimAtom", "LedgerHeaderHistoryEntry"]

# Union arms decoded into structs; the other arms are validated and kept as spans.
_TRACKED = ["ACCOUNT", "TRUSTLINE", "OFFER", "LIQUIDITY_POOL"]
ARM_LIMITS = {"LedgerEntry_data": _TRACKED, "LedgerKey": _TRACKED}

UINT32_MAX = 0xFFFFFFFF

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch", "typedef",
    "union", "unsigned", "void", "volatile", "while", "bool", "u",
}


def cname(field_name: str) -> str:
    return field_name + "_" if field_name in C_KEYWORDS else field_name


PRIM_SIZE = {"int": 4, "uint": 4, "hyper": 8, "uhyper": 8, "float": 4, "double": 8}
PRIM_CTYPE = {
    "int": "int32_t", "uint": "uint32_t", "hyper": "int64_t", "uhyper": "uint64_t",
    "bool": "uint8_t", "float": "float", "double": "double",
}


class Gen:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self._blob: dict[str, int | None] = {}
        self._min: dict[str, int] = {}
        self.recursive = self._find_recursive()
        self.decoded: list[str] = []  # decode closure, dependency order
        self._tmp = 0

    # ---- type facts ---------------------------------------------------------------------------
    def resolve(self, s):
        """Follow typedefs: the shape a Ref to a typedef stands for (other Refs stay)."""
        while isinstance(s, Ref) and isinstance(self.spec.types[s.name], Typedef):
            s = self.spec.types[s.name].shape
        return s

    def _find_recursive(self) -> set[str]:
        # Tarjan's SCC over named types; a type is recursive if its SCC has a cycle.
        graph = {n: type_refs(t) for n, t in self.spec.types.items()}
        index: dict[str, int] = {}
        low: dict[str, int] = {}
        stack: list[str] = []
        on: set[str] = set()
        out: set[str] = set()
        counter = [0]
        sys.setrecursionlimit(10000)

        def visit(v: str) -> None:
            index[v] = low[v] = counter[0]
            counter[0] += 1
            stack.append(v)
            on.add(v)
            for w in graph[v]:
                if w not in index:
                    visit(w)
                    low[v] = min(low[v], low[w])
                elif w in on:
                    low[v] = min(low[v], index[w])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1 or v in graph[v]:
                    out.update(comp)

        for n in self.spec.order:
            if n not in index:
                visit(n)
        return out

    def blob_size(self, s) -> int | None:
        """Size if every encoding of s is valid bytes of one fixed size (skip by length), else None."""
        s = self.resolve(s)
        if isinstance(s, Prim):
            return PRIM_SIZE.get(s.kind)  # bool: None (must be 0 or 1)
        if isinstance(s, Opaque):
            return s.size if s.fixed and s.size % 4 == 0 else None
        if isinstance(s, Array) and s.fixed:
            e = self.blob_size(s.elem)
            return None if e is None else e * s.size
        if isinstance(s, Ref):
            t = self.spec.types[s.name]
            if isinstance(t, Struct):
                if s.name not in self._blob:
                    self._blob[s.name] = None  # guard (recursive structs are never blobs)
                    total = 0
                    for f in t.fields:
                        b = self.blob_size(f.shape)
                        if b is None:
                            total = None
                            break
                        total += b
                    self._blob[s.name] = total
                return self._blob[s.name]
        return None

    def min_size(self, s) -> int:
        s = self.resolve(s)
        if isinstance(s, Void):
            return 0
        if isinstance(s, Prim):
            return PRIM_SIZE.get(s.kind, 4)
        if isinstance(s, Opaque):
            return (s.size + 3) // 4 * 4 if s.fixed else 4
        if isinstance(s, (String, Optional)):
            return 4
        if isinstance(s, Array):
            return s.size * self.min_size(s.elem) if s.fixed else 4
        t = self.spec.types[s.name]
        if s.name not in self._min:
            self._min[s.name] = 4  # recursion only goes through var arrays / optionals
            if isinstance(t, Enum):
                m = 4
            elif isinstance(t, Struct):
                m = sum(self.min_size(f.shape) for f in t.fields)
            else:
                arms = [self.min_size(a.decl.shape) for a in t.arms]
                if t.default is not None:
                    arms.append(self.min_size(t.default.shape))
                m = 4 + min(arms)
            self._min[s.name] = m
        return self._min[s.name]

    def kind_of(self, s):
        s = self.resolve(s)
        if isinstance(s, Ref):
            return self.spec.types[s.name]
        return s

    def tmp(self, prefix: str) -> str:
        self._tmp += 1
        return f"{prefix}{self._tmp}"

    # ---- skip code ----------------------------------------------------------------------------
    def skip_code(self, s, ind: str) -> list[str]:
        """C statements that step over one encoded s (returning -1 on error)."""
        raw = s
        s = self.resolve(s)
        b = self.blob_size(s)
        if b is not None:
            return [f"{ind}if (sob_xdr_skip(c, {b})) return -1;"] if b else []
        if isinstance(s, Void):
            return []
        if isinstance(s, Prim):  # bool
            return [f"{ind}if (sob_xdr_skip_bool(c)) return -1;"]
        if isinstance(s, Opaque):
            if s.fixed:
                return [f"{ind}if (sob_xdr_skip_opaque_fixed(c, {s.size})) return -1;"]
            mx = UINT32_MAX if s.size is None else s.size
            return [f"{ind}if (sob_xdr_skip_opaque_var(c, {mx}u)) return -1;"]
        if isinstance(s, String):
            mx = UINT32_MAX if s.size is None else s.size
            return [f"{ind}if (sob_xdr_skip_string(c, {mx}u)) return -1;"]
        if isinstance(s, Optional):
            f = self.tmp("f")
            return [
                f"{ind}{{",
                f"{ind}    uint32_t {f} = 0;",
                f"{ind}    if (sob_xdr_optional(c, &{f})) return -1;",
                f"{ind}    if ({f}) {{",
                *self.skip_code(s.elem, ind + "        "),
                f"{ind}    }}",
                f"{ind}}}",
            ]
        if isinstance(s, Array):
            eb = self.blob_size(s.elem)
            i = self.tmp("i")
            if s.fixed:
                return [
                    f"{ind}for (uint32_t {i} = 0; {i} < {s.size}u; {i}++) {{",
                    *self.skip_code(s.elem, ind + "    "),
                    f"{ind}}}",
                ]
            n = self.tmp("n")
            mx = UINT32_MAX if s.size is None else s.size
            ms = max(1, self.min_size(s.elem))
            out = [
                f"{ind}{{",
                f"{ind}    uint32_t {n} = 0;",
                f"{ind}    if (sob_xdr_array_len(c, {mx}u, {ms}u, &{n})) return -1;",
            ]
            if eb is not None:
                out.append(f"{ind}    c->p += (size_t){n} * {eb}u; /* checked by sob_xdr_array_len */")
            else:
                out += [
                    f"{ind}    for (uint32_t {i} = 0; {i} < {n}; {i}++) {{",
                    *self.skip_code(s.elem, ind + "        "),
                    f"{ind}    }}",
                ]
            out.append(f"{ind}}}")
            return out
        assert isinstance(s, Ref), raw
        return [f"{ind}if (sob_xdr_skip_{s.name}(c)) return -1;"]

    def skip_fields(self, fields, ind: str) -> list[str]:
        """Struct fields in order, consecutive fixed-size runs merged into one bounds check."""
        out: list[str] = []
        run = 0
        for f in fields:
            b = self.blob_size(f.shape)
            if b is not None:
                run += b
                continue
            if run:
                out.append(f"{ind}if (sob_xdr_skip(c, {run})) return -1;")
                run = 0
            out += self.skip_code(f.shape, ind)
        if run:
            out.append(f"{ind}if (sob_xdr_skip(c, {run})) return -1;")
        return out

    def skip_function(self, name: str) -> list[str]:
        t = self.spec.types[name]
        self._tmp = 0
        rec = name in self.recursive
        body: list[str] = []
        if isinstance(t, Enum):
            return [
                f"int sob_xdr_skip_{name}(sob_xdr_cur *c) {{",
                "    const uint8_t *at = c->p;",
                "    uint32_t v = 0;",
                "    if (sob_xdr_u32(c, &v)) return -1;",
                f"    if (!sob_xdr_valid_{name}((int32_t)v)) return sob_xdr_fail(c, at, \"{name}: value not in the enum\");",
                "    return 0;",
                "}",
            ]
        if rec:
            body.append("    if (sob_xdr_enter(c)) return -1;")
        if isinstance(t, Typedef):
            body += self.skip_code(t.shape, "    ")
        elif isinstance(t, Struct):
            body += self.skip_fields(t.fields, "    ")
        else:
            body += self.union_switch(t, "    ", decode=False)
        if rec:
            body.append("    c->depth--;")
        return [f"int sob_xdr_skip_{name}(sob_xdr_cur *c) {{", *body, "    return 0;", "}"]

    def disc_info(self, u: Union):
        d = self.kind_of(u.disc.shape)
        if isinstance(d, Enum):
            return "enum", d.name
        if isinstance(d, Prim) and d.kind in ("int", "uint", "bool"):
            return d.kind, None
        raise ValueError(f"union {u.name}: unsupported discriminant {u.disc.shape}")

    def union_switch(self, u: Union, ind: str, decode: bool) -> list[str]:
        kind, enum_name = self.disc_info(u)
        out = [
            f"{ind}const uint8_t *at = c->p;",
            f"{ind}uint32_t d = 0;",
            f"{ind}if (sob_xdr_u32(c, &d)) return -1;",
        ]
        if decode:
            out.append(f"{ind}out->{cname(u.disc.name)} = ({self.disc_ctype(u)})d;")
        out.append(f"{ind}switch ((int32_t)d) {{")
        for a in u.arms:
            labels = " ".join(f"case {v}:" for v in a.cases)
            names = ", ".join(a.case_names)
            out.append(f"{ind}{labels} /* {names} */")
            out += self.arm_code(u, a.decl, ind + "    ", decode)
            out.append(f"{ind}    break;")
        out.append(f"{ind}default:")
        if u.default is not None:
            if kind == "enum":
                out.append(
                    f"{ind}    if (!sob_xdr_valid_{enum_name}((int32_t)d)) return sob_xdr_fail(c, at, \"{u.name}: discriminant not in the enum\");"
                )
            elif kind == "bool":
                out.append(f"{ind}    if (d > 1) return sob_xdr_fail(c, at, \"{u.name}: bool discriminant not 0 or 1\");")
            out += self.arm_code(u, u.default, ind + "    ", decode)
            out.append(f"{ind}    break;")
        else:
            out.append(f"{ind}    return sob_xdr_fail(c, at, \"{u.name}: unknown union arm\");")
        out.append(f"{ind}}}")
        return out

    def arm_code(self, u: Union, decl, ind: str, decode: bool) -> list[str]:
        if isinstance(decl.shape, Void):
            return []
        if not decode:
            return self.skip_code(decl.shape, ind)
        return self.decode_field(decl, f"out->u.{cname(decl.name)}", ind, self.arm_decoded(u, decl))

    # ---- decode closure -----------------------------------------------------------------------
    def arm_decoded(self, u: Union, decl) -> bool:
        allowed = ARM_LIMITS.get(u.name)
        if allowed is None:
            return True
        for a in u.arms:
            if a.decl is decl:
                return any(n in allowed for n in a.case_names)
        return False  # default arm of a limited union

    def inline_decodable(self, s, top: bool = True) -> bool:
        """Can a field of shape s be held in a fixed-size C member?"""
        s = self.resolve(s)
        if isinstance(s, Prim):
            return True
        if isinstance(s, Opaque):
            return s.fixed
        if isinstance(s, String):
            return False
        if isinstance(s, Array):
            return s.fixed and self.inline_decodable(s.elem, top=False)
        if isinstance(s, Optional):
            return top and self.inline_decodable(s.elem, top=False)
        if isinstance(s, Void):
            return True
        t = self.spec.types[s.name]
        if isinstance(t, Enum):
            return True
        return s.name not in self.recursive

    def compute_closure(self) -> None:
        seen: set[str] = set()
        order: list[str] = []

        def shape_deps(s) -> list[str]:
            s = self.resolve(s)
            if isinstance(s, (Array, Optional)):
                return shape_deps(s.elem)
            if isinstance(s, Ref) and isinstance(self.spec.types[s.name], (Struct, Union)):
                return [s.name]
            return []

        def visit(name: str) -> None:
            if name in seen:
                return
            seen.add(name)
            t = self.spec.types[name]
            decls = []
            if isinstance(t, Struct):
                decls = [(f, True) for f in t.fields]
            elif isinstance(t, Union):
                decls = [(a.decl, self.arm_decoded(t, a.decl)) for a in t.arms]
                if t.default is not None:
                    decls.append((t.default, self.arm_decoded(t, t.default)))
            for f, allowed in decls:
                if allowed and self.inline_decodable(f.shape):
                    for dep in shape_deps(f.shape):
                        visit(dep)
            order.append(name)

        for r in DECODE_ROOTS:
            visit(r)
        self.decoded = order

    # ---- decode code --------------------------------------------------------------------------
    def disc_ctype(self, u: Union) -> str:
        kind, _ = self.disc_info(u)
        return {"enum": "int32_t", "int": "int32_t", "uint": "uint32_t", "bool": "uint8_t"}[kind]

    def c_decl(self, s, name: str) -> str:
        """C declaration of a member named `name` holding a decodable s."""
        s = self.resolve(s)
        if isinstance(s, Prim):
            return f"{PRIM_CTYPE[s.kind]} {name}"
        if isinstance(s, Opaque):
            return f"uint8_t {name}[{s.size}]"
        if isinstance(s, Array):
            return self.c_decl(s.elem, f"{name}[{s.size}]")
        t = self.spec.types[s.name]
        if isinstance(t, Enum):
            return f"int32_t {name}"
        return f"sob_xdr_{s.name} {name}"

    def member_decls(self, f, allowed: bool) -> list[str]:
        if isinstance(f.shape, Void):
            return []
        n = cname(f.name)
        if not allowed or not self.inline_decodable(f.shape):
            return [f"sob_xdr_span {n};"]
        s = self.resolve(f.shape)
        if isinstance(s, Optional):
            return [f"uint8_t has_{n};", self.c_decl(s.elem, n) + ";"]
        return [self.c_decl(s, n) + ";"]

    def struct_def(self, name: str) -> list[str]:
        t = self.spec.types[name]
        out = [f"struct sob_xdr_{name} {{"]
        if isinstance(t, Struct):
            for f in t.fields:
                out += ["    " + m for m in self.member_decls(f, True)]
        else:
            out.append(f"    {self.disc_ctype(t)} {cname(t.disc.name)};")
            members = []
            for a in t.arms:
                members += self.member_decls(a.decl, self.arm_decoded(t, a.decl))
            if t.default is not None:
                members += self.member_decls(t.default, self.arm_decoded(t, t.default))
            if members:
                out.append("    union {")
                out += ["        " + m for m in members]
                out.append("    } u;")
        out.append("};")
        return out

    def decode_field(self, f, target: str, ind: str, allowed: bool = True) -> list[str]:
        if not allowed or not self.inline_decodable(f.shape):
            s0 = self.tmp("s")
            return [
                f"{ind}{{",
                f"{ind}    const uint8_t *{s0} = c->p;",
                *self.skip_code(f.shape, ind + "    "),
                f"{ind}    {target}.off = (uint32_t)({s0} - c->base);",
                f"{ind}    {target}.len = (uint32_t)(c->p - {s0});",
                f"{ind}}}",
            ]
        s = self.resolve(f.shape)
        if isinstance(s, Optional):
            flag = self.tmp("f")
            cut = max(target.rfind("->") + 2, target.rfind(".") + 1)
            has_target = f"{target[:cut]}has_{target[cut:]}"
            return [
                f"{ind}{{",
                f"{ind}    uint32_t {flag} = 0;",
                f"{ind}    if (sob_xdr_optional(c, &{flag})) return -1;",
                f"{ind}    {has_target} = (uint8_t){flag};",
                f"{ind}    if ({flag}) {{",
                *self.decode_value(s.elem, target, ind + "        "),
                f"{ind}    }}",
                f"{ind}}}",
            ]
        return self.decode_value(s, target, ind)

    def decode_value(self, s, target: str, ind: str) -> list[str]:
        s = self.resolve(s)
        if isinstance(s, Prim):
            if s.kind in ("int", "uint", "bool", "float"):
                v = self.tmp("v")
                out = [f"{ind}{{", f"{ind}    uint32_t {v} = 0;", f"{ind}    if (sob_xdr_u32(c, &{v})) return -1;"]
                if s.kind == "bool":
                    out.append(f"{ind}    if ({v} > 1) return sob_xdr_fail(c, c->p - 4, \"bool not 0 or 1\");")
                if s.kind == "float":
                    out.append(f"{ind}    memcpy(&{target}, &{v}, 4);")
                else:
                    out.append(f"{ind}    {target} = ({PRIM_CTYPE[s.kind]}){v};")
                out.append(f"{ind}}}")
                return out
            v = self.tmp("v")
            out = [f"{ind}{{", f"{ind}    uint64_t {v} = 0;", f"{ind}    if (sob_xdr_u64(c, &{v})) return -1;"]
            if s.kind == "double":
                out.append(f"{ind}    memcpy(&{target}, &{v}, 8);")
            else:
                out.append(f"{ind}    {target} = ({PRIM_CTYPE[s.kind]}){v};")
            out.append(f"{ind}}}")
            return out
        if isinstance(s, Opaque):
            return [f"{ind}if (sob_xdr_opaque_fixed(c, {target}, {s.size})) return -1;"]
        if isinstance(s, Array):
            i = self.tmp("i")
            return [
                f"{ind}for (uint32_t {i} = 0; {i} < {s.size}u; {i}++) {{",
                *self.decode_value(s.elem, f"{target}[{i}]", ind + "    "),
                f"{ind}}}",
            ]
        t = self.spec.types[s.name]
        if isinstance(t, Enum):
            v = self.tmp("v")
            return [
                f"{ind}{{",
                f"{ind}    uint32_t {v} = 0;",
                f"{ind}    if (sob_xdr_u32(c, &{v})) return -1;",
                f"{ind}    if (!sob_xdr_valid_{t.name}((int32_t){v})) return sob_xdr_fail(c, c->p - 4, \"{t.name}: value not in the enum\");",
                f"{ind}    {target} = (int32_t){v};",
                f"{ind}}}",
            ]
        return [f"{ind}if (sob_xdr_decode_{s.name}(c, &{target})) return -1;"]

    def decode_function(self, name: str) -> list[str]:
        t = self.spec.types[name]
        self._tmp = 0
        body: list[str] = []
        if isinstance(t, Struct):
            for f in t.fields:
                body += self.decode_field(f, f"out->{cname(f.name)}", "    ")
        else:
            body += self.union_switch(t, "    ", decode=True)
        return [f"int sob_xdr_decode_{name}(sob_xdr_cur *c, sob_xdr_{name} *out) {{", *body, "    return 0;", "}"]

    # ---- files --------------------------------------------------------------------------------
    def valid_function(self, e: Enum) -> list[str]:
        vals = sorted({v for _, v in e.values})
        if vals == list(range(vals[0], vals[-1] + 1)):
            if vals[0] == 0:
                cond = f"v >= 0 && v <= {vals[-1]}"
            else:
                cond = f"v >= {vals[0]} && v <= {vals[-1]}"
            return [f"static inline int sob_xdr_valid_{e.name}(int32_t v) {{ return {cond}; }}"]
        out = [f"static inline int sob_xdr_valid_{e.name}(int32_t v) {{", "    switch (v) {"]
        out.append("    " + " ".join(f"case {v}:" for v in vals))
        out += ["        return 1;", "    default:", "        return 0;", "    }", "}"]
        return out


def generate(spec: Spec, digests: list[tuple[str, str]], origin: str) -> tuple[str, str]:
    g = Gen(spec)
    g.compute_closure()
    src_lines = [f" *   {name}  sha256 {d}" for name, d in digests]
    banner = [
        "/* Generated by tools/xdrgen/xdrgen.py: do not edit. Regenerate as tools/xdrgen/README.md says.",
        " *",
        f" * Source: {origin}",
        *src_lines,
        f" * {len(spec.types)} types ({sum(isinstance(t, Struct) for t in spec.types.values())} structs, "
        f"{sum(isinstance(t, Union) for t in spec.types.values())} unions, "
        f"{sum(isinstance(t, Enum) for t in spec.types.values())} enums, "
        f"{sum(isinstance(t, Typedef) for t in spec.types.values())} typedefs); "
        f"{len(g.decoded)} decoded into structs; recursive: {', '.join(sorted(g.recursive))}.",
        " */",
    ]
    h: list[str] = banner + [
        "#ifndef SOB_STELLAR_XDR_GEN_H",
        "#define SOB_STELLAR_XDR_GEN_H",
        "",
        '#include "sob_xdr.h"',
        "",
        "/* ---- constants ---- */",
    ]
    for k, v in spec.consts.items():
        h.append(f"#define SOB_XDR_CONST_{k} {v}")
    h += ["", "/* ---- enumerators ---- */"]
    for name in spec.order:
        t = spec.types[name]
        if isinstance(t, Enum):
            h.append(f"/* {name} */")
            for ident, v in t.values:
                h.append(f"#define SOB_XDR_{ident} ({v})")
    h += ["", "/* ---- minimum encoded size of each type (bytes) ---- */"]
    for name in spec.order:
        h.append(f"#define SOB_XDR_MINSIZE_{name} {g.min_size(Ref(name))}u")
    h += ["", "/* ---- enum membership ---- */"]
    for name in spec.order:
        t = spec.types[name]
        if isinstance(t, Enum):
            h += g.valid_function(t)
    h += ["", "/* ---- decoded types (only the types the ledger decoder reads) ---- */"]
    for name in g.decoded:
        h.append(f"typedef struct sob_xdr_{name} sob_xdr_{name};")
    for name in g.decoded:
        h += g.struct_def(name)
    h += ["", "/* ---- skip: step over one encoded value, fully validated; 0 or -1 (c->reason, c->err_off) ---- */"]
    for name in spec.order:
        h.append(f"int sob_xdr_skip_{name}(sob_xdr_cur *c);")
    h += ["", "/* ---- decode into the structs above; same checks as skip ---- */"]
    for name in g.decoded:
        h.append(f"int sob_xdr_decode_{name}(sob_xdr_cur *c, sob_xdr_{name} *out);")
    h += ["", "#endif", ""]

    c: list[str] = banner + ['#include "stellar_xdr_gen.h"', "", "#include <string.h>", ""]
    for name in spec.order:
        c += g.skip_function(name)
        c.append("")
    for name in g.decoded:
        c += g.decode_function(name)
        c.append("")
    return "\n".join(h), "\n".join(c)


def load(xdr_dir: str) -> tuple[Spec, list[tuple[str, str]]]:
    files, digests = [], []
    for name in XDR_FILES:
        path = os.path.join(xdr_dir, name)
        with open(path, "rb") as fh:
            raw = fh.read()
        # Digest of the text with py-stellar-base's 'from_' rename undone, so either copy matches.
        text = raw.decode("utf-8")
        norm = text.replace("from_;", "from;")
        digests.append((name, hashlib.sha256(norm.encode("utf-8")).hexdigest()))
        files.append((name, text))
    return parse_files(files), digests


def load_from_sdk() -> tuple[Spec, list[tuple[str, str]], str]:
    from x_from_sdk import definitions, sdk_xdr_dir

    xdr_dir, version = sdk_xdr_dir()
    text = definitions(xdr_dir)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    origin = (f"the XDR definitions of stellar-sdk {version} (PyPI), read from its classes by "
              f"tools/xdrgen/x_from_sdk.py;\n *   = {XDR_REPO} protocol 28 (the type set of commit {XDR_COMMIT})")
    return parse_files([("stellar-sdk.x", text)]), [(f"stellar-sdk {version} definitions", digest)], origin


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--from-sdk", action="store_true", help="read the installed stellar-sdk's definitions")
    ap.add_argument("--xdr-dir", default=os.environ.get("STELLAR_XDR_DIR"), help="directory of the .x files")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "csrc", "xdr"))
    ap.add_argument("--check", action="store_true", help="compare with the files in --out instead of writing")
    args = ap.parse_args(argv)
    if args.from_sdk:
        spec, digests, origin = load_from_sdk()
    elif args.xdr_dir:
        spec, digests = load(args.xdr_dir)
        origin = f"the Stellar-*.x files of {XDR_REPO} in {os.path.basename(os.path.abspath(args.xdr_dir))}"
    else:
        ap.error("--from-sdk or --xdr-dir (or STELLAR_XDR_DIR) is required")
    h, c = generate(spec, digests, origin)
    outputs = {"stellar_xdr_gen.h": h, "stellar_xdr_gen.c": c}
    bad = 0
    for fname, text in outputs.items():
        path = os.path.join(args.out, fname)
        if args.check:
            try:
                with open(path, encoding="utf-8") as fh:
                    cur = fh.read()
            except FileNotFoundError:
                cur = None
            if cur != text:
                print(f"{path}: differs from the generator's output", file=sys.stderr)
                bad = 1
        else:
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
    return bad


if __name__ == "__main__":
    raise SystemExit(main())
