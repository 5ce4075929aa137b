"""The immutable model specification that every stage reads.

A model is written in lavaan syntax::

    # comments run to the end of a line
    IMAG =~ IMAG1 + IMAG2 + IMAG3      # reflective block (PLS Mode A; a common factor in CB-SEM)
    VAL  <~ VAL1 + VAL2                # composite block (PLS Mode B)
    IMAG1 ~~ IMAG2                     # residual covariance (CB-SEM only)
    SAT  ~ IMAG + EXPE + QUAL + VAL    # structural paths, predictors on the right

A statement may continue on the next line when its line ends with ``+``; ``;`` separates
statements on one line. ``parse_model`` turns the text into a :class:`ModelSpec`; every error is a
:class:`~ncsi.errors.SpecError` naming the source and line.
"""

from __future__ import annotations

import hashlib
import pathlib
import re
from dataclasses import dataclass, field
from typing import Iterable, Literal

import numpy as np

from .errors import SpecError

Mode = Literal["A", "B"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_OPERATORS = ("=~", "<~", "~~", "~")


@dataclass(frozen=True)
class Block:
    """A construct and its indicators. Mode A: reflective (``=~``); Mode B: composite (``<~``)."""

    name: str
    indicators: tuple[str, ...]
    mode: Mode = "A"
    line: int | None = None

    @property
    def reflective(self) -> bool:
        return self.mode == "A"


@dataclass(frozen=True)
class StructuralPath:
    """A structural path ``source → target`` (written ``target ~ source``)."""

    source: str
    target: str
    line: int | None = None


@dataclass(frozen=True)
class Covariance:
    """A free (residual) covariance ``a ~~ b`` between two indicators or two constructs, for
    covariance-based SEM; PLS path modelling has no such parameter and refuses it."""

    a: str
    b: str
    line: int | None = None


@dataclass(frozen=True)
class ModelSpec:
    """Constructs, their indicators and modes, and the structural paths. Immutable.

    Constructs are kept in a causal (topological) order: every construct comes after all its
    predecessors, ties broken by the order in which the blocks were written.
    """

    blocks: tuple[Block, ...]
    paths: tuple[StructuralPath, ...]
    covariances: tuple[Covariance, ...] = ()
    name: str = "model"
    source: str = "<string>"
    text: str = field(default="", repr=False, compare=False)

    # -- names -----------------------------------------------------------------------------
    @property
    def constructs(self) -> tuple[str, ...]:
        return tuple(b.name for b in self.blocks)

    @property
    def indicators(self) -> tuple[str, ...]:
        return tuple(i for b in self.blocks for i in b.indicators)

    def block(self, construct: str) -> Block:
        for b in self.blocks:
            if b.name == construct:
                return b
        raise SpecError(f"unknown construct '{construct}'", source=self.source)

    def construct_of(self, indicator: str) -> str:
        for b in self.blocks:
            if indicator in b.indicators:
                return b.name
        raise SpecError(f"unknown indicator '{indicator}'", source=self.source)

    # -- structure ---------------------------------------------------------------------------
    def predecessors(self, construct: str) -> tuple[str, ...]:
        return tuple(p.source for p in self.paths if p.target == construct)

    def successors(self, construct: str) -> tuple[str, ...]:
        return tuple(p.target for p in self.paths if p.source == construct)

    @property
    def endogenous(self) -> tuple[str, ...]:
        targets = {p.target for p in self.paths}
        return tuple(c for c in self.constructs if c in targets)

    @property
    def exogenous(self) -> tuple[str, ...]:
        targets = {p.target for p in self.paths}
        return tuple(c for c in self.constructs if c not in targets)

    def inner_matrix(self) -> np.ndarray:
        """``D[i, j] = 1`` when construct i → construct j (rows: from, columns: to)."""
        idx = {c: k for k, c in enumerate(self.constructs)}
        d = np.zeros((len(idx), len(idx)), dtype=np.int8)
        for p in self.paths:
            d[idx[p.source], idx[p.target]] = 1
        return d

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    def check_data(self, columns: Iterable[str], source: str = "the data") -> None:
        """Raise :class:`SpecError` naming every indicator absent from ``columns``."""
        have = set(columns)
        for b in self.blocks:
            missing = [i for i in b.indicators if i not in have]
            if missing:
                raise SpecError(
                    f"indicator(s) {', '.join(missing)} of construct {b.name} are absent from "
                    f"{source}; check the column names or the model file",
                    source=self.source, line=b.line,
                    message_zh=f"构念 {b.name} 的指标 {', '.join(missing)} 不在数据 {source} 中；"
                               f"请检查列名或模型文件",
                )

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "sha256": self.sha256,
            "blocks": [{"construct": b.name, "mode": b.mode, "indicators": list(b.indicators)}
                       for b in self.blocks],
            "paths": [{"from": p.source, "to": p.target} for p in self.paths],
            "covariances": [{"a": c.a, "b": c.b} for c in self.covariances],
        }


# ------------------------------------------------------------------------------------------------
# parsing
# ------------------------------------------------------------------------------------------------

def _statements(text: str) -> list[tuple[int, str]]:
    """Split text into (first line number, statement), joining lines that end with '+'."""
    out: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].split("!", 1)[0].strip()
        if pending is not None:
            start, acc = pending
            line = acc + " " + line
            lineno = start
            pending = None
        if not line:
            continue
        if line.endswith("+"):
            pending = (lineno, line)
            continue
        for part in line.split(";"):
            if part.strip():
                out.append((lineno, part.strip()))
    if pending is not None:
        raise SpecError("the statement ends with '+' but no term follows; finish or remove it",
                        line=pending[0])
    return out


def _terms(rhs: str, lineno: int, source: str) -> list[str]:
    terms = [t.strip() for t in rhs.split("+")]
    for t in terms:
        if not t:
            raise SpecError("empty term between '+' signs; remove the extra '+'",
                            source=source, line=lineno)
        if "*" in t:
            raise SpecError(f"'{t}': fixed values and labels (x*name) are not supported; "
                            f"write the plain name", source=source, line=lineno)
        if not _NAME.match(t):
            raise SpecError(f"'{t}' is not a valid name (letters, digits, '_' and '.', "
                            f"starting with a letter)", source=source, line=lineno)
    return terms


def parse_model(text: str, *, source: str = "<string>", name: str | None = None) -> ModelSpec:
    """Parse lavaan-style model text into a :class:`ModelSpec`."""
    blocks: dict[str, Block] = {}
    order: list[str] = []
    raw_paths: list[StructuralPath] = []
    raw_covs: list[Covariance] = []
    owner: dict[str, tuple[str, int]] = {}
    try:
        statements = _statements(text)
    except SpecError as exc:
        raise SpecError(exc.message.split(": ", 1)[-1], source=source, line=exc.line) from None

    for lineno, stmt in statements:
        op = next((o for o in _OPERATORS if o in stmt), None)
        if op is None:
            raise SpecError(f"'{stmt}' has no operator; use '=~' (reflective block), "
                            f"'<~' (composite block) or '~' (structural path)",
                            source=source, line=lineno)
        lhs, rhs = (s.strip() for s in stmt.split(op, 1))
        if any(o in rhs for o in ("=~", "<~", "~")):
            raise SpecError("more than one operator in one statement; put each on its own line",
                            source=source, line=lineno)
        if not lhs:
            raise SpecError(f"nothing on the left of '{op}'; name the construct",
                            source=source, line=lineno)
        if not _NAME.match(lhs):
            raise SpecError(f"'{lhs}' is not a valid construct name", source=source, line=lineno)
        if not rhs:
            what = "construct without indicators" if op in ("=~", "<~") else "path without predictors"
            raise SpecError(f"{what}: '{lhs} {op}' lists nothing on the right",
                            source=source, line=lineno)
        terms = _terms(rhs, lineno, source)
        if len(set(terms)) != len(terms):
            dup = sorted({t for t in terms if terms.count(t) > 1})
            raise SpecError(f"{', '.join(dup)} listed twice in one statement",
                            source=source, line=lineno)
        if op == "~~":
            for t_ in terms:
                raw_covs.append(Covariance(lhs, t_, lineno))
        elif op in ("=~", "<~"):
            if lhs in blocks:
                raise SpecError(f"construct {lhs} is defined twice (first on line "
                                f"{blocks[lhs].line}); list all its indicators in one statement",
                                source=source, line=lineno)
            for t in terms:
                if t in owner:
                    other, other_line = owner[t]
                    raise SpecError(f"indicator {t} is in two blocks: {other} (line {other_line}) "
                                    f"and {lhs}; an indicator measures one construct",
                                    source=source, line=lineno)
                owner[t] = (lhs, lineno)
            blocks[lhs] = Block(lhs, tuple(terms), "A" if op == "=~" else "B", lineno)
            order.append(lhs)
        else:
            for t in terms:
                raw_paths.append(StructuralPath(t, lhs, lineno))

    if not blocks:
        raise SpecError("the model defines no construct; add lines such as 'SAT =~ SAT1 + SAT2'",
                        source=source)
    for c in order:
        if c in owner:
            raise SpecError(f"'{c}' is both a construct and an indicator (of {owner[c][0]}); "
                            f"rename one of them", source=source, line=blocks[c].line)
    seen: set[tuple[str, str]] = set()
    for p in raw_paths:
        for end in (p.source, p.target):
            if end not in blocks:
                if end in owner:
                    msg = (f"'{end}' in a path is an indicator (of {owner[end][0]}), not a "
                           f"construct; paths connect constructs")
                else:
                    msg = (f"unknown construct '{end}' in a path; define it with "
                           f"'{end} =~ indicators' or fix the name")
                raise SpecError(msg, source=source, line=p.line)
        if p.source == p.target:
            raise SpecError(f"{p.target} ~ {p.source}: a construct cannot predict itself",
                            source=source, line=p.line)
        if (p.source, p.target) in seen:
            raise SpecError(f"path {p.source} → {p.target} is given twice",
                            source=source, line=p.line)
        seen.add((p.source, p.target))

    pairs: set[frozenset] = set()
    for c in raw_covs:
        for end in (c.a, c.b):
            if end not in blocks and end not in owner:
                raise SpecError(f"unknown variable '{end}' in a covariance; name an indicator "
                                f"or a construct of the model", source=source, line=c.line)
        if c.a == c.b:
            raise SpecError(f"'{c.a} ~~ {c.a}' is a variance; variances are always free — list "
                            f"only covariances of two different variables", source=source,
                            line=c.line)
        if (c.a in blocks) != (c.b in blocks):
            raise SpecError(f"'{c.a} ~~ {c.b}' joins an indicator and a construct; a covariance "
                            f"joins two indicators (residuals) or two constructs",
                            source=source, line=c.line)
        if frozenset((c.a, c.b)) in pairs:
            raise SpecError(f"covariance {c.a} ~~ {c.b} is given twice", source=source,
                            line=c.line)
        pairs.add(frozenset((c.a, c.b)))
    ordered = _topological(order, raw_paths, source)
    spec_blocks = tuple(blocks[c] for c in ordered)
    paths = tuple(sorted(raw_paths, key=lambda p: (ordered.index(p.target),
                                                    ordered.index(p.source))))
    return ModelSpec(spec_blocks, paths, tuple(raw_covs), name=name or _stem(source),
                     source=source, text=text)


def _stem(source: str) -> str:
    stem = source.rsplit("/", 1)[-1]
    return stem[:-4] if stem.endswith(".lav") else stem


def _topological(order: list[str], paths: list[StructuralPath], source: str) -> list[str]:
    preds = {c: [p.source for p in paths if p.target == c] for c in order}
    done: list[str] = []
    remaining = list(order)
    while remaining:
        ready = [c for c in remaining if all(p in done for p in preds[c])]
        if not ready:
            cycle = _find_cycle(remaining, preds)
            line = next((p.line for p in paths if p.target == cycle[1] and p.source == cycle[0]),
                        None)
            raise SpecError(f"the structural model has a cycle: {' → '.join(cycle)}; PLS path "
                            f"models must be recursive — remove one of these paths",
                            source=source, line=line)
        done.append(ready[0])
        remaining.remove(ready[0])
    return done


def _find_cycle(nodes: list[str], preds: dict[str, list[str]]) -> list[str]:
    # walk backwards along predecessors inside the unresolved set until a node repeats
    node = nodes[0]
    trail: list[str] = []
    while node not in trail:
        trail.append(node)
        node = next(p for p in preds[node] if p in nodes)
    cycle = trail[trail.index(node):] + [node]
    return list(reversed(cycle))


def load_model(path: str | pathlib.Path) -> ModelSpec:
    """Read and parse a ``.lav`` model file."""
    p = pathlib.Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("model file not found; check the path", source=str(p)) from None
    except UnicodeDecodeError:
        raise SpecError("model file is not UTF-8 text; save it as UTF-8", source=str(p)) from None
    return parse_model(text, source=str(p), name=p.stem)
