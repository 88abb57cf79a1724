"""Parser for the XDR language (RFC 4506) as the Stellar definition files (.x) use it.

Produces a flat table of named definitions: constants, typedefs, enums, structs and unions.
Anonymous structs/unions/enums declared inline (a struct field ``union switch (int v) {...} ext;``)
get a synthesized name ``Parent_field`` and are registered like top-level types, so code
generation only ever deals with named types.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ---- shapes: what a declaration looks like on the wire ------------------------------------------


@dataclass(frozen=True)
class Prim:
    kind: str  # int, uint, hyper, uhyper, bool, float, double


@dataclass(frozen=True)
class Opaque:
    fixed: bool
    size: int | None  # None: unbounded var-length (<>)


@dataclass(frozen=True)
class String:
    size: int | None


@dataclass(frozen=True)
class Array:
    fixed: bool
    size: int | None
    elem: "Shape"


@dataclass(frozen=True)
class Optional:
    elem: "Shape"


@dataclass(frozen=True)
class Ref:
    name: str  # a struct, union, enum or typedef name


@dataclass(frozen=True)
class Void:
    pass


Shape = Prim | Opaque | String | Array | Optional | Ref | Void


@dataclass
class Field:
    name: str
    shape: Shape


@dataclass
class Enum:
    name: str
    values: list[tuple[str, int]]


@dataclass
class Struct:
    name: str
    fields: list[Field]


@dataclass
class Arm:
    cases: list[int]  # discriminant values
    case_names: list[str]
    decl: Field  # shape Void for a void arm


@dataclass
class Union:
    name: str
    disc: Field
    arms: list[Arm]
    default: Field | None = None


@dataclass
class Typedef:
    name: str
    shape: Shape


@dataclass
class Spec:
    consts: dict[str, int] = field(default_factory=dict)
    enum_values: dict[str, int] = field(default_factory=dict)  # every enumerator, globally
    types: dict[str, Enum | Struct | Union | Typedef] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)  # definition order
    files: list[str] = field(default_factory=list)

    def add(self, t: Enum | Struct | Union | Typedef) -> None:
        if t.name in self.types:
            raise XdrSyntaxError(f"type {t.name} defined twice")
        self.types[t.name] = t
        self.order.append(t.name)


class XdrSyntaxError(Exception):
    pass


_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<lcomment>//[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<pass>^%[^\n]*)
  | (?P<num>-?(?:0[xX][0-9a-fA-F]+|[0-9]+))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[{}()\[\]<>;,:=*])
    """,
    re.VERBOSE | re.DOTALL | re.MULTILINE,
)


def tokenize(text: str) -> list[str]:
    out = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            line = text.count("\n", 0, pos) + 1
            raise XdrSyntaxError(f"line {line}: unexpected character {text[pos]!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "lcomment", "bcomment", "pass"):
            continue
        out.append(m.group())
    return out


class _Parser:
    def __init__(self, tokens: list[str], spec: Spec) -> None:
        self.t = tokens
        self.i = 0
        self.spec = spec

    # -- token helpers
    def peek(self, k: int = 0) -> str | None:
        j = self.i + k
        return self.t[j] if j < len(self.t) else None

    def take(self, want: str | None = None) -> str:
        if self.i >= len(self.t):
            raise XdrSyntaxError(f"unexpected end of input (wanted {want!r})")
        tok = self.t[self.i]
        if want is not None and tok != want:
            ctx = " ".join(self.t[max(0, self.i - 8) : self.i + 3])
            raise XdrSyntaxError(f"expected {want!r}, got {tok!r} near: {ctx}")
        self.i += 1
        return tok

    def ident(self) -> str:
        tok = self.take()
        if not re.match(r"[A-Za-z_]", tok):
            raise XdrSyntaxError(f"expected an identifier, got {tok!r}")
        return tok

    def value(self) -> int:
        tok = self.take()
        if re.match(r"-?[0-9]", tok):
            return int(tok, 0)
        if tok in self.spec.consts:
            return self.spec.consts[tok]
        if tok in self.spec.enum_values:
            return self.spec.enum_values[tok]
        raise XdrSyntaxError(f"unknown constant {tok!r}")

    # -- grammar
    def spec_file(self) -> None:
        while self.peek() is not None:
            if self.peek() == "namespace":
                self.take()
                self.ident()
                self.take("{")
                while self.peek() != "}":
                    self.definition()
                self.take("}")
            else:
                self.definition()

    def definition(self) -> None:
        kw = self.take()
        if kw == "const":
            name = self.ident()
            self.take("=")
            self.spec.consts[name] = self.value()
        elif kw == "typedef":
            f = self.declaration(parent=None)
            self.spec.add(Typedef(f.name, f.shape))
        elif kw == "enum":
            name = self.ident()
            self.spec.add(self.enum_body(name))
        elif kw == "struct":
            name = self.ident()
            self.spec.add(self.struct_body(name))
        elif kw == "union":
            name = self.ident()
            self.spec.add(self.union_body(name))
        else:
            raise XdrSyntaxError(f"unexpected {kw!r} at top level")
        self.take(";")

    def enum_body(self, name: str) -> Enum:
        self.take("{")
        values = []
        while True:
            ident = self.ident()
            self.take("=")
            v = self.value()
            if ident in self.spec.enum_values:
                raise XdrSyntaxError(f"enumerator {ident} defined twice")
            self.spec.enum_values[ident] = v
            values.append((ident, v))
            if self.peek() == ",":
                self.take()
                continue
            break
        self.take("}")
        return Enum(name, values)

    def struct_body(self, name: str) -> Struct:
        self.take("{")
        fields = []
        while self.peek() != "}":
            fields.append(self.declaration(parent=name))
            self.take(";")
        self.take("}")
        return Struct(name, fields)

    def union_body(self, name: str) -> Union:
        self.take("switch")
        self.take("(")
        disc = self.declaration(parent=name)
        self.take(")")
        self.take("{")
        arms: list[Arm] = []
        default = None
        while self.peek() != "}":
            if self.peek() == "default":
                self.take()
                self.take(":")
                default = self.declaration(parent=name)
                self.take(";")
                continue
            cases, names = [], []
            while self.peek() == "case":
                self.take()
                tok = self.peek()
                names.append(tok)
                cases.append(self.value())
                self.take(":")
            if not cases:
                raise XdrSyntaxError(f"union {name}: expected 'case' or 'default', got {self.peek()!r}")
            decl = self.declaration(parent=name)
            self.take(";")
            arms.append(Arm(cases, names, decl))
        self.take("}")
        seen: set[int] = set()
        for a in arms:
            for c in a.cases:
                if c in seen:
                    raise XdrSyntaxError(f"union {name}: case {c} twice")
                seen.add(c)
        return Union(name, disc, arms, default)

    def type_spec(self, parent: str | None, fname_hint: str) -> Shape:
        tok = self.take()
        if tok == "unsigned":
            nxt = self.peek()
            if nxt == "int":
                self.take()
                return Prim("uint")
            if nxt == "hyper":
                self.take()
                return Prim("uhyper")
            return Prim("uint")
        if tok in ("int", "hyper", "bool", "float", "double"):
            return Prim(tok)
        if tok in ("struct", "union", "enum"):
            # Inline definition: the name is fixed once the field name is known (see declaration).
            anon = f"{parent}_{fname_hint}" if parent else fname_hint
            if tok == "struct":
                self.spec.add(self.struct_body(anon))
            elif tok == "union":
                self.spec.add(self.union_body(anon))
            else:
                self.spec.add(self.enum_body(anon))
            return Ref(anon)
        if re.match(r"[A-Za-z_]", tok):
            return Ref(tok)
        raise XdrSyntaxError(f"expected a type, got {tok!r}")

    def _field_name_ahead(self) -> str:
        """The field name of an inline struct/union/enum: the identifier after its closing brace."""
        depth = 0
        j = self.i
        while j < len(self.t):
            tok = self.t[j]
            if tok == "{":
                depth += 1
            elif tok == "}":
                depth -= 1
                if depth == 0:
                    nxt = self.t[j + 1]
                    if nxt == "*":
                        nxt = self.t[j + 2]
                    return nxt
            j += 1
        raise XdrSyntaxError("unterminated inline definition")

    def declaration(self, parent: str | None) -> Field:
        if self.peek() == "void":
            self.take()
            return Field("", Void())
        if self.peek() == "opaque":
            self.take()
            name = self.ident()
            if self.peek() == "[":
                self.take()
                n = self.value()
                self.take("]")
                return Field(name, Opaque(True, n))
            self.take("<")
            n = None if self.peek() == ">" else self.value()
            self.take(">")
            return Field(name, Opaque(False, n))
        if self.peek() == "string":
            self.take()
            name = self.ident()
            self.take("<")
            n = None if self.peek() == ">" else self.value()
            self.take(">")
            return Field(name, String(n))
        hint = ""
        if self.peek() in ("struct", "union", "enum") and self.peek(1) in ("{", "switch"):
            save = self.i
            self.i += 1
            hint = self._field_name_ahead()
            self.i = save
        base = self.type_spec(parent, hint)
        if self.peek() == "*":
            self.take()
            name = self.ident()
            return Field(name, Optional(base))
        name = self.ident()
        if self.peek() == "[":
            self.take()
            n = self.value()
            self.take("]")
            return Field(name, Array(True, n, base))
        if self.peek() == "<":
            self.take()
            n = None if self.peek() == ">" else self.value()
            self.take(">")
            return Field(name, Array(False, n, base))
        return Field(name, base)


# Files in dependency order (each only uses types of files before it, except forward struct refs).
XDR_FILES = [
    "Stellar-types.x",
    "Stellar-SCP.x",
    "Stellar-contract.x",
    "Stellar-contract-config-setting.x",
    "Stellar-contract-env-meta.x",
    "Stellar-contract-meta.x",
    "Stellar-contract-spec.x",
    "Stellar-ledger-entries.x",
    "Stellar-transaction.x",
    "Stellar-ledger.x",
    "Stellar-overlay.x",
    "Stellar-internal.x",
    "Stellar-exporter.x",
]


def parse_files(paths: list[tuple[str, str]]) -> Spec:
    """paths: (display name, text) in order."""
    spec = Spec()
    for name, text in paths:
        # py-stellar-base's copies rename the keyword-like field 'from' to 'from_'; names do not
        # change the wire format, so both spellings parse to the same code.
        text = re.sub(r"\bfrom_;", "from;", text)
        spec.files.append(name)
        _Parser(tokenize(text), spec).spec_file()
    # every Ref must resolve
    for t in spec.types.values():
        for s in _shapes_of(t):
            for r in _refs(s):
                if r not in spec.types:
                    raise XdrSyntaxError(f"{t.name}: unknown type {r}")
    return spec


def _shapes_of(t: Enum | Struct | Union | Typedef) -> list[Shape]:
    if isinstance(t, Struct):
        return [f.shape for f in t.fields]
    if isinstance(t, Union):
        out = [t.disc.shape] + [a.decl.shape for a in t.arms]
        if t.default is not None:
            out.append(t.default.shape)
        return out
    if isinstance(t, Typedef):
        return [t.shape]
    return []


def _refs(s: Shape) -> list[str]:
    if isinstance(s, Ref):
        return [s.name]
    if isinstance(s, (Array, Optional)):
        return _refs(s.elem)
    return []


def type_refs(t: Enum | Struct | Union | Typedef) -> list[str]:
    out: list[str] = []
    for s in _shapes_of(t):
        out.extend(_refs(s))
    return out
