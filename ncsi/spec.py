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


def _error(message: str, message_zh: str, *, source: str, line: int | None = None) -> SpecError:
    """A SpecError whose English and Chinese texts both name the source and the line."""
    where_zh = f"{source}，第 {line} 行" if line is not None else source
    return SpecError(message, source=source, line=line, message_zh=f"{where_zh}：{message_zh}")


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
        raise _error(f"unknown construct '{construct}'; the model's constructs are "
                     f"{', '.join(self.constructs)}",
                     f"未知构念“{construct}”；模型的构念为 {'、'.join(self.constructs)}",
                     source=self.source)

    def construct_of(self, indicator: str) -> str:
        for b in self.blocks:
            if indicator in b.indicators:
                return b.name
        raise _error(f"unknown indicator '{indicator}'; it is in no block of the model",
                     f"未知指标“{indicator}”；它不属于模型的任何构念", source=self.source)

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
                raise _error(
                    f"indicator(s) {', '.join(missing)} of construct {b.name} are absent from "
                    f"{source}; check the column names or the model file",
                    f"构念 {b.name} 的指标 {'、'.join(missing)} 不在数据 {source} 中；"
                    f"请检查列名或模型文件",
                    source=self.source, line=b.line)

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

def _statements(text: str, source: str = "<string>") -> list[tuple[int, str]]:
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
        raise _error("the statement ends with '+' but no term follows; finish or remove it",
                     "语句以“+”结尾，但后面没有任何项；请补全或删除",
                     source=source, line=pending[0])
    return out


def _terms(rhs: str, lineno: int, source: str) -> list[str]:
    terms = [t.strip() for t in rhs.split("+")]
    for t in terms:
        if not t:
            raise _error("empty term between '+' signs; remove the extra '+'",
                         "两个“+”之间没有内容；请删除多余的“+”", source=source, line=lineno)
        if "*" in t:
            raise _error(f"'{t}': fixed values and labels (x*name) are not supported; "
                         f"write the plain name",
                         f"“{t}”：不支持固定值和标签（x*名称）；请只写名称", source=source, line=lineno)
        if not _NAME.match(t):
            raise _error(f"'{t}' is not a valid name (letters, digits, '_' and '.', "
                         f"starting with a letter); rename it",
                         f"“{t}”不是有效的名称（只能用字母、数字、“_”和“.”，并以字母开头）；请改名",
                         source=source, line=lineno)
    return terms


def parse_model(text: str, *, source: str = "<string>", name: str | None = None) -> ModelSpec:
    """Parse lavaan-style model text into a :class:`ModelSpec`."""
    blocks: dict[str, Block] = {}
    order: list[str] = []
    raw_paths: list[StructuralPath] = []
    raw_covs: list[Covariance] = []
    owner: dict[str, tuple[str, int]] = {}
    statements = _statements(text, source)

    for lineno, stmt in statements:
        op = next((o for o in _OPERATORS if o in stmt), None)
        if op is None:
            raise _error(f"'{stmt}' has no operator; use '=~' (reflective block), "
                         f"'<~' (composite block) or '~' (structural path)",
                         f"“{stmt}”没有运算符；请使用“=~”（反映型构念）、“<~”（组合型构念）"
                         f"或“~”（结构路径）", source=source, line=lineno)
        lhs, rhs = (s.strip() for s in stmt.split(op, 1))
        if any(o in rhs for o in ("=~", "<~", "~")):
            raise _error("more than one operator in one statement; put each on its own line",
                         "一条语句中有多个运算符；请每行只写一条语句", source=source, line=lineno)
        if not lhs:
            raise _error(f"nothing on the left of '{op}'; name the construct",
                         f"“{op}”左侧没有内容；请写出构念名称", source=source, line=lineno)
        if not _NAME.match(lhs):
            raise _error(f"'{lhs}' is not a valid construct name (letters, digits, '_' and '.', "
                         f"starting with a letter); rename it",
                         f"“{lhs}”不是有效的构念名称（只能用字母、数字、“_”和“.”，并以字母开头）；请改名",
                         source=source, line=lineno)
        if not rhs:
            block = op in ("=~", "<~")
            what = "construct without indicators" if block else "path without predictors"
            what_zh = "构念没有指标" if block else "路径没有预测变量"
            raise _error(f"{what}: '{lhs} {op}' lists nothing on the right; list "
                         f"{'its indicators' if block else 'the predictors'} joined by '+'",
                         f"{what_zh}：“{lhs} {op}”右侧为空；请列出"
                         f"{'其指标' if block else '预测构念'}，以“+”连接",
                         source=source, line=lineno)
        terms = _terms(rhs, lineno, source)
        if len(set(terms)) != len(terms):
            dup = sorted({t for t in terms if terms.count(t) > 1})
            raise _error(f"{', '.join(dup)} listed twice in one statement; list each once",
                         f"{'、'.join(dup)} 在同一语句中出现两次；每项只列一次",
                         source=source, line=lineno)
        if op == "~~":
            for t_ in terms:
                raw_covs.append(Covariance(lhs, t_, lineno))
        elif op in ("=~", "<~"):
            if lhs in blocks:
                raise _error(f"construct {lhs} is defined twice (first on line "
                             f"{blocks[lhs].line}); list all its indicators in one statement",
                             f"构念 {lhs} 定义了两次（第一次在第 {blocks[lhs].line} 行）；"
                             f"请在一条语句中列出其全部指标", source=source, line=lineno)
            for t in terms:
                if t in owner:
                    other, other_line = owner[t]
                    raise _error(f"indicator {t} is in two blocks: {other} (line {other_line}) "
                                 f"and {lhs}; an indicator measures one construct — keep it in "
                                 f"one block",
                                 f"指标 {t} 同时属于两个构念：{other}（第 {other_line} 行）和 {lhs}；"
                                 f"一个指标只测量一个构念——请只保留在一个构念中",
                                 source=source, line=lineno)
                owner[t] = (lhs, lineno)
            blocks[lhs] = Block(lhs, tuple(terms), "A" if op == "=~" else "B", lineno)
            order.append(lhs)
        else:
            for t in terms:
                raw_paths.append(StructuralPath(t, lhs, lineno))

    if not blocks:
        raise _error("the model defines no construct; add lines such as 'SAT =~ SAT1 + SAT2'",
                     "模型没有定义任何构念；请添加如“SAT =~ SAT1 + SAT2”的行", source=source)
    for c in order:
        if c in owner:
            raise _error(f"'{c}' is both a construct and an indicator (of {owner[c][0]}, line "
                         f"{owner[c][1]}); rename one of them",
                         f"“{c}”既是构念又是指标（属于 {owner[c][0]}，第 {owner[c][1]} 行）；"
                         f"请将其中一个改名", source=source, line=blocks[c].line)
    seen: set[tuple[str, str]] = set()
    for p in raw_paths:
        for end in (p.source, p.target):
            if end not in blocks:
                if end in owner:
                    msg = (f"'{end}' in a path is an indicator (of {owner[end][0]}), not a "
                           f"construct; paths connect constructs — write {owner[end][0]}")
                    msg_zh = (f"“{end}”是指标（属于 {owner[end][0]}），不是构念；路径只能连接构念"
                              f"——请改写为 {owner[end][0]}")
                else:
                    msg = (f"unknown construct '{end}' in a path; define it with "
                           f"'{end} =~ indicators' or fix the name")
                    msg_zh = (f"路径中的构念“{end}”未定义；请用“{end} =~ 指标”定义它，或更正名称")
                raise _error(msg, msg_zh, source=source, line=p.line)
        if p.source == p.target:
            raise _error(f"{p.target} ~ {p.source}: a construct cannot predict itself; remove "
                         f"{p.source} from the right-hand side",
                         f"{p.target} ~ {p.source}：构念不能预测自身；请从右侧删除 {p.source}",
                         source=source, line=p.line)
        if (p.source, p.target) in seen:
            raise _error(f"path {p.source} → {p.target} is given twice; keep one",
                         f"路径 {p.source} → {p.target} 重复出现；请只保留一条",
                         source=source, line=p.line)
        seen.add((p.source, p.target))

    pairs: set[frozenset] = set()
    for c in raw_covs:
        for end in (c.a, c.b):
            if end not in blocks and end not in owner:
                raise _error(f"unknown variable '{end}' in a covariance; name an indicator "
                             f"or a construct of the model",
                             f"协方差中的变量“{end}”未知；请写模型中的指标或构念",
                             source=source, line=c.line)
        if c.a == c.b:
            raise _error(f"'{c.a} ~~ {c.a}' is a variance; variances are always free — list "
                         f"only covariances of two different variables",
                         f"“{c.a} ~~ {c.a}”是方差；方差总是自由估计——只需列出两个不同变量的协方差",
                         source=source, line=c.line)
        if (c.a in blocks) != (c.b in blocks):
            raise _error(f"'{c.a} ~~ {c.b}' joins an indicator and a construct; a covariance "
                         f"joins two indicators (residuals) or two constructs",
                         f"“{c.a} ~~ {c.b}”连接了指标和构念；协方差只能连接两个指标（残差）或两个构念",
                         source=source, line=c.line)
        if frozenset((c.a, c.b)) in pairs:
            raise _error(f"covariance {c.a} ~~ {c.b} is given twice; keep one",
                         f"协方差 {c.a} ~~ {c.b} 重复出现；请只保留一条", source=source,
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
            lines = [next((p.line for p in paths if p.source == a and p.target == b), None)
                     for a, b in zip(cycle, cycle[1:])]
            line = lines[0]
            listed = ", ".join(str(n) for n in sorted({n for n in lines if n is not None}))
            raise _error(f"the structural model has a cycle: {' → '.join(cycle)} (paths on "
                         f"line(s) {listed}); PLS path models must be recursive — remove one of "
                         f"these paths",
                         f"结构模型存在循环：{' → '.join(cycle)}（路径位于第 {listed} 行）；"
                         f"PLS 路径模型必须是递归的——请删除其中一条路径",
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
        raise _error("model file not found; check the path", "找不到模型文件；请检查路径",
                     source=str(p)) from None
    except IsADirectoryError:
        raise _error("is a folder, not a model file; give the path of a .lav file",
                     "是文件夹而不是模型文件；请给出 .lav 文件的路径", source=str(p)) from None
    except UnicodeDecodeError as exc:
        line = p.read_bytes()[:exc.start].count(b"\n") + 1
        raise _error("model file is not UTF-8 text; save it as UTF-8",
                     "模型文件不是 UTF-8 文本；请另存为 UTF-8 编码", source=str(p),
                     line=line) from None
    except OSError as exc:
        raise _error(f"model file cannot be read ({exc.strerror or exc}); check the path and "
                     f"its permissions", f"无法读取模型文件（{exc.strerror or exc}）；请检查路径和权限",
                     source=str(p)) from None
    return parse_model(text, source=str(p), name=p.stem)
