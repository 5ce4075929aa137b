"""Property and fuzz tests (issue "Reliability under bad input, faults and concurrent use",
point 6) of the model-syntax parser and the ingest validators, with hypothesis.

(a) ``ncsi.spec``: random valid models, written in lavaan syntax with random layout (comments,
    continuation lines, ';', spacing, statement order), parse to the model they describe, and
    the parsed model written out again parses to the same model; random and mutated text never
    raises anything but ``SpecError`` — bilingual, naming the source and, where it gives a line,
    a line of the text.
(b) ``ncsi.ingest``: random cells (numbers in and out of range, missing codes, decimals, text,
    unicode, blanks, NaN, infinities, huge integers, booleans) put into an otherwise valid
    survey frame are accepted or refused exactly as the questionnaire says — an ``IngestError``
    whose problems name precisely the bad cells' rows and columns — and never raise anything
    else; random damage to a CSV file's bytes ends in a stored wave or an ``IngestError``; the
    revenue reader likewise.
"""

from __future__ import annotations

import math
import os
import string
import tempfile
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ncsi.errors import IngestError, NCSIError, SpecError
from ncsi.ingest import ingest_file, read_survey_file, validate
from ncsi.instruments import load_questionnaire, load_taxonomy
from ncsi.registry import read_brands_file, read_revenue_file
from ncsi.spec import ModelSpec, load_model, parse_model

FIXTURE = Path(__file__).parent / "data" / "bad" / "fixture"
#: Examples per property; NCSI_FUZZ_EXAMPLES=5000 for a deeper search than the suite's.
EXAMPLES = int(os.environ.get("NCSI_FUZZ_EXAMPLES", "150"))
FAST = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ------------------------------------------------------------------------------------------------
# (a) the model-syntax parser
# ------------------------------------------------------------------------------------------------

_FIRST = string.ascii_letters
_REST = string.ascii_letters + string.digits + "_"
names = st.builds(lambda a, b: a + b, st.sampled_from(_FIRST),
                  st.text(_REST, max_size=5)).filter(lambda n: n.lower() not in ("nan",))


@st.composite
def models(draw) -> dict:
    """A valid model as plain data: blocks (name, indicators, mode), acyclic paths, covariances
    of indicators."""
    pool = draw(st.lists(names, min_size=3, max_size=30, unique=True))
    k = draw(st.integers(1, min(6, len(pool) // 2)))
    constructs, rest = pool[:k], pool[k:]
    assume(len(rest) >= k)
    cuts = sorted(draw(st.lists(st.integers(1, len(rest) - 1), max_size=k - 1, unique=True))) \
        if k > 1 and len(rest) > 1 else []
    groups = [rest[a:b] for a, b in zip([0] + cuts, cuts + [len(rest)])]
    assume(len(groups) == k and all(groups))
    blocks = [(c, tuple(g[:4]), draw(st.sampled_from("AB"))) for c, g in zip(constructs, groups)]
    order = draw(st.permutations(constructs))                  # a causal order
    paths = sorted({(order[i], order[j]) for i in range(k) for j in range(i + 1, k)
                    if draw(st.booleans())})
    indicators = [i for _, ind, _ in blocks for i in ind]
    covs = []
    if len(indicators) >= 2 and draw(st.booleans()):
        a, b = draw(st.lists(st.sampled_from(indicators), min_size=2, max_size=2, unique=True))
        covs.append((a, b))
    return {"blocks": blocks, "paths": paths, "covariances": covs}


@st.composite
def layouts(draw, model: dict) -> str:
    """``model`` in lavaan syntax with a random (legal) layout."""
    stmts: list[list[str]] = []                       # statements as lists of terms
    for name, ind, mode in model["blocks"]:
        stmts.append([f"{name} {'=~' if mode == 'A' else '<~'}", *ind])
    targets: dict[str, list[str]] = {}
    for src, dst in model["paths"]:
        targets.setdefault(dst, []).append(src)
    for dst, srcs in targets.items():
        stmts.append([f"{dst} ~", *srcs])
    for a, b in model["covariances"]:
        stmts.append([f"{a} ~~", b])
    stmts = draw(st.permutations(stmts))
    space = st.sampled_from([" ", "  ", "\t", " \t "])
    lines: list[str] = []
    for s in stmts:
        head, terms = s[0], s[1:]
        text = head + draw(space) + terms[0]
        for t in terms[1:]:
            if draw(st.integers(0, 4)) == 0:          # continue on the next line after '+'
                lines.append(text + draw(space) + "+")
                text = draw(space) + t
            else:
                text += draw(space) + "+" + draw(space) + t
        if draw(st.booleans()):
            text += draw(space) + draw(st.sampled_from(["# note", "! lavaan comment", "#"]))
        if lines and draw(st.integers(0, 3)) == 0 and not lines[-1].rstrip().endswith("+") \
                and "#" not in lines[-1] and "!" not in lines[-1]:
            lines[-1] += ";" + draw(space) + text       # two statements on one line
        else:
            lines.append(text)
        if draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", "   ", "# a comment line"])))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def structure(spec: ModelSpec) -> dict:
    return {"blocks": sorted((b.name, b.indicators, b.mode) for b in spec.blocks),
            "paths": sorted((p.source, p.target) for p in spec.paths),
            "covariances": sorted(tuple(sorted((c.a, c.b))) for c in spec.covariances)}


def render(spec: ModelSpec) -> str:
    """A parsed model written out again in lavaan syntax."""
    out = [f"{b.name} {'=~' if b.mode == 'A' else '<~'} {' + '.join(b.indicators)}"
           for b in spec.blocks]
    for c in spec.constructs:
        if spec.predecessors(c):
            out.append(f"{c} ~ {' + '.join(spec.predecessors(c))}")
    out += [f"{c.a} ~~ {c.b}" for c in spec.covariances]
    return "\n".join(out) + "\n"


@FAST
@given(st.data())
def test_random_valid_models_parse_to_what_they_say_and_round_trip(data):
    model = data.draw(models())
    text = data.draw(layouts(model))
    spec = parse_model(text, source="fuzz.lav")
    want = {"blocks": sorted(model["blocks"]), "paths": sorted(model["paths"]),
            "covariances": sorted(tuple(sorted(c)) for c in model["covariances"])}
    assert structure(spec) == want, text
    # causal order: every predecessor before its target; lines point at the text
    order = {c: k for k, c in enumerate(spec.constructs)}
    assert all(order[p.source] < order[p.target] for p in spec.paths)
    n_lines = len(text.splitlines())
    assert all(1 <= b.line <= n_lines for b in spec.blocks)
    assert all(1 <= p.line <= n_lines for p in spec.paths)
    # written out again, it is the same model
    again = parse_model(render(spec), source="again.lav")
    assert structure(again) == structure(spec)
    assert again.constructs == spec.constructs
    assert (again.inner_matrix() == spec.inner_matrix()).all()


def _check_spec_error(exc: SpecError, text: str, source: str) -> None:
    assert exc.message.startswith(source), exc.message
    assert exc.message_zh and exc.message_zh.startswith(source), exc.message_zh
    if exc.line is not None:
        assert 1 <= exc.line <= max(1, len(text.splitlines())), (exc.line, text)
        assert f"{source}, line {exc.line}:" in exc.message
        assert f"第 {exc.line} 行" in exc.message_zh


#: Characters that matter to the parser, and some that do not.
_SYNTAX = "=~<+;#!*\n ABCabc123._-~~\t()"


@FAST
@given(st.text(alphabet=st.sampled_from(list(_SYNTAX)) | st.characters(), max_size=200))
def test_garbage_raises_only_spec_errors(text):
    try:
        spec = parse_model(text, source="junk.lav")
    except SpecError as exc:
        _check_spec_error(exc, text, "junk.lav")
    else:
        assert isinstance(spec, ModelSpec) and spec.blocks


_VALID = (FIXTURE.parent / "make_corpus.py").read_text(encoding="utf-8").split(
    'MODEL = """\\\n', 1)[1].split('"""', 1)[0]


@st.composite
def mutated(draw) -> str:
    """The food model with a few random edits (insert, delete, replace, duplicate a line)."""
    text = _VALID
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "replace", "line"]))
        at = draw(st.integers(0, len(text)))
        if kind == "insert":
            text = text[:at] + draw(st.text(st.sampled_from(list(_SYNTAX)), min_size=1,
                                            max_size=4)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 6)):]
        elif kind == "replace" and at < len(text):
            text = text[:at] + draw(st.sampled_from(list(_SYNTAX))) + text[at + 1:]
        else:
            lines = text.splitlines()
            k = draw(st.integers(0, len(lines) - 1))
            lines.insert(draw(st.integers(0, len(lines))), lines[k])
            text = "\n".join(lines)
    return text


@FAST
@given(mutated())
def test_mutated_models_parse_or_raise_a_located_spec_error(text):
    try:
        parse_model(text, source="mutant.lav")
    except SpecError as exc:
        _check_spec_error(exc, text, "mutant.lav")


@settings(max_examples=max(EXAMPLES // 2, 10), deadline=None)
@given(st.binary(max_size=300) | mutated().map(lambda t: t.encode("utf-8")))
def test_model_files_of_any_bytes_load_or_raise_spec_errors(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.lav"
        path.write_bytes(raw)
        try:
            load_model(path)
        except SpecError as exc:
            text = raw.decode("utf-8", errors="replace")
            _check_spec_error(exc, text, str(path))


# ------------------------------------------------------------------------------------------------
# (b) the ingest validators
# ------------------------------------------------------------------------------------------------

Q = load_questionnaire("ncsi-food")
TAXONOMY = load_taxonomy()
BRANDS = read_brands_file(FIXTURE / "brands.csv")
BASE = read_survey_file(FIXTURE / "ncsi-food-2024.csv").head(30).reset_index(drop=True)
ITEMS = list(Q.item_codes)
LO, HI = Q.scale_min, Q.scale_max
CODES = set(Q.missing_codes)


def _as_number(v) -> tuple[str, float]:
    """What a cell is, by the questionnaire's definition: ("empty", nan), ("number", x) or
    ("bad", nan) — written independently of ncsi.ingest, for the generated kinds of cell."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "empty", math.nan
    if isinstance(v, (bool, np.bool_)):
        return "bad", math.nan
    if isinstance(v, (int, np.integer)):
        return ("number", float(v)) if abs(int(v)) < 10 ** 300 else ("bad", math.nan)
    if isinstance(v, (float, np.floating)):
        return ("number", float(v)) if math.isfinite(v) else ("bad", math.nan)
    s = unicodedata.normalize("NFKC", v).strip()
    if not s:
        return "empty", math.nan
    try:
        x = float(s)
    except ValueError:
        return "bad", math.nan
    if not all(c.isdecimal() or c in "+-.eE" for c in s) or not math.isfinite(x):
        return "bad", math.nan
    return "number", x


def item_ok(v) -> bool:
    kind, x = _as_number(v)
    return kind == "empty" or (kind == "number" and x.is_integer()
                               and (LO <= x <= HI or int(x) in CODES))


def weight_ok(v) -> bool:
    kind, x = _as_number(v)
    return kind == "number" and x > 0


def age_ok(v) -> bool:
    kind, x = _as_number(v)
    return kind == "empty" or (kind == "number" and x.is_integer() and 15 <= x <= 100)


def duration_ok(v) -> bool:
    kind, x = _as_number(v)
    return kind == "number" and x >= 0


ORACLE = {**{c: item_ok for c in ITEMS}, "weight": weight_ok, "age": age_ok,
          "duration_sec": duration_ok}

_FULL_WIDTH = str.maketrans("0123456789.-+", "０１２３４５６７８９．－＋")
whole = st.integers(-120, 130) | st.sampled_from([98, 99, 97, 0, 1, 10, 11, 100])
text_numbers = st.one_of(
    whole.map(str),
    whole.map(lambda k: f"  {k}\t"),
    whole.map(lambda k: f"{k}.0"),
    whole.map(lambda k: f"{k}.5"),
    whole.map(lambda k: str(k).translate(_FULL_WIDTH)),
    st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6).map(repr),
    st.sampled_from(["1e1", "1E1", "+7", ".5", "7.", "1e400", "-1e400", "inf", "-Infinity",
                     "nan", "NaN", "∞", "1_0", "0x10", "7,5", "seven", "九", "—", "N/A"]),
)
text_cells = st.one_of(
    text_numbers,
    st.sampled_from(["", " ", "\t", "\u3000"]),
    st.text(max_size=12),
)
object_cells = st.one_of(
    whole, whole.map(float), whole.map(lambda k: k + 0.5), whole.map(np.int64),
    whole.map(np.float64),
    st.sampled_from([None, math.nan, math.inf, -math.inf, True, False, 10 ** 30, -(10 ** 30),
                     10 ** 400, 2 ** 63, np.nan]),
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    text_cells,
)
checked_columns = st.sampled_from(ITEMS + ["weight", "age", "duration_sec"])


def _run(df: pd.DataFrame):
    return validate(df, Q, TAXONOMY, BRANDS, file="fuzz.csv", year=2025)


def _check(df: pd.DataFrame, cells: dict[tuple[int, str], object]) -> None:
    """Validate ``df`` whose ``cells`` (frame row, column) were changed: refused exactly when a
    changed cell is bad by the oracle, with one problem at each bad cell and none elsewhere."""
    bad = {(r + 2, c) for (r, c), v in cells.items() if not ORACLE[c](v)}
    try:
        wave = _run(df)
    except IngestError as exc:
        named = {(p["row"], p["column"]) for p in exc.problems if p["row"] is not None}
        whole = [p for p in exc.problems if p["row"] is None]
        assert not whole, whole
        assert named == bad, (named, bad, exc.message)
        first = min(bad)
        assert f"row {first[0]}" in exc.message and exc.message_zh, exc.message
        assert exc.n_problems == len(bad)
    except NCSIError as exc:  # pragma: no cover - any other refusal is a bug here
        raise AssertionError(f"{type(exc).__name__}: {exc}") from exc
    else:
        assert not bad, (bad, cells)
        assert len(wave.responses) == len(df)


@FAST
@given(st.dictionaries(st.tuples(st.integers(0, len(BASE) - 1), checked_columns), text_cells,
                       min_size=1, max_size=6))
def test_random_text_cells_are_refused_exactly_where_bad(cells):
    df = BASE.copy()
    for (r, c), v in cells.items():
        df.loc[r, c] = v
    _check(df, cells)


@FAST
@given(st.dictionaries(st.tuples(st.integers(0, len(BASE) - 1), checked_columns), object_cells,
                       min_size=1, max_size=6))
def test_random_typed_cells_are_refused_exactly_where_bad(cells):
    """As Excel, SPSS or Parquet give them: numbers, NaN, None, booleans, huge integers."""
    df = BASE.astype(object)
    for (r, c), v in cells.items():
        df.at[r, c] = v
    _check(df, cells)


@FAST
@given(st.dictionaries(
    st.tuples(st.integers(0, len(BASE) - 1),
              st.sampled_from(["respondent_id", "industry", "brand", "region", "gender"])),
    st.one_of(st.text(max_size=15), st.sampled_from(["", " ", "liquid_milk", "edible_oil",
                                                     "sportswear", "dairy", "液态奶", "milk_b01",
                                                     "oil_b01", "milk_b99"]),
              st.sampled_from(list(BASE["respondent_id"][:5]))),
    min_size=1, max_size=5))
def test_random_text_columns_never_blame_untouched_cells(cells):
    """Ids, industries, brands, regions, genders: accepted, or refused naming only the changed
    rows (a repeated id: the changed row or the row it repeats)."""
    df = BASE.copy()
    for (r, c), v in cells.items():
        df.loc[r, c] = v
    rows = {r + 2 for r, _ in cells}
    ids = df["respondent_id"].astype(str).str.strip()
    try:
        _run(df)
    except IngestError as exc:
        for p in exc.problems:
            assert p["row"] is not None, p
            if p["column"] == "respondent_id" and p["row"] not in rows:
                same = ids[ids == ids.iloc[p["row"] - 2]].index + 2
                assert rows & set(same), (p, rows)
            else:
                assert p["row"] in rows, (p, rows)
            assert p["column"] in {c for _, c in cells} | {"brand"}, (p, cells)
        assert exc.message_zh


unicode_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=10)


@settings(max_examples=max(EXAMPLES // 2, 10), deadline=None)
@given(st.dictionaries(st.tuples(st.integers(0, 11), st.sampled_from(list(BASE.columns))),
                       unicode_text | text_cells, min_size=1, max_size=6))
def test_a_csv_file_is_judged_as_its_frame_is(cells):
    """Random text (any Unicode, quotes, line breaks) written to a CSV file: ingesting the file
    in chunks gives the verdict that validating its frame at once gives — the same problems,
    or the same stored rows."""
    df = BASE.head(12).copy()
    for (r, c), v in cells.items():
        df.loc[r, c] = v
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "cells.csv"
        df.to_csv(path, index=False, encoding="utf-8")
        whole = chunked = None
        try:
            frame = read_survey_file(path)
            whole = validate(frame, Q, TAXONOMY, BRANDS, file=path, year=2025)
        except IngestError as exc:
            whole = exc
        try:
            chunked = ingest_file(path, "ncsi-food", 2025, _Store(), chunk_rows=5)
        except IngestError as exc:
            chunked = exc
    if isinstance(whole, IngestError):
        assert isinstance(chunked, IngestError), whole.message
        assert chunked.message == whole.message
        assert getattr(chunked, "problems", None) == getattr(whole, "problems", None)
    else:
        assert not isinstance(chunked, IngestError), chunked.message
        assert chunked.report == whole.report


class _Store:
    """What ingest_file needs of a store, and no database."""

    def __init__(self):
        self.rows = 0

    def known_brands(self):
        return BRANDS

    def release(self, year, status="published"):
        return None

    def register_survey(self, q):
        pass

    def add_wave(self, *, responses, **kw):
        self.rows = sum(len(f) for f in responses)
        return 1


_CSV = (FIXTURE / "ncsi-food-2024.csv").read_bytes()
_CSV = b"\n".join(_CSV.split(b"\n")[:12]) + b"\n"          # header + 11 respondents


@st.composite
def damaged_csv(draw) -> bytes:
    raw = _CSV
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(raw)))
        kind = draw(st.sampled_from(["insert", "delete", "truncate"]))
        if kind == "insert":
            junk = draw(st.sampled_from([b",", b'"', b"\n", b"\r", b";", b"\t", b"\x00",
                                         b"\xff\xfe", b"\xef\xbb\xbf", "液".encode("gbk"),
                                         "満".encode("utf-8")]) | st.binary(min_size=1,
                                                                             max_size=3))
            raw = raw[:at] + junk + raw[at:]
        elif kind == "delete":
            raw = raw[:at] + raw[at + draw(st.integers(1, 8)):]
        else:
            raw = raw[:at]
    return raw


@settings(max_examples=EXAMPLES, deadline=None)
@given(damaged_csv())
def test_damaged_csv_files_are_stored_or_refused_with_an_ingest_error(raw):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "damaged.csv"
        path.write_bytes(raw)
        store = _Store()
        try:
            wave = ingest_file(path, "ncsi-food", 2025, store, chunk_rows=4)
        except IngestError as exc:
            assert exc.message.startswith(str(path)) and exc.message_zh, exc.message
            assert exc.message_zh.startswith(str(path)), exc.message_zh
        else:
            assert store.rows == wave.report["n_rows"] > 0


@FAST
@given(st.lists(st.tuples(st.sampled_from(["year", "brand", "revenue"]),
                          st.integers(0, 2), text_cells), min_size=1, max_size=3))
def test_revenue_files_are_read_or_refused_with_an_ingest_error(edits):
    rows = [["2025", "milk_b01", "1200.5"], ["2025", "milk_b02", "800"], ["2024", "oil_b01", "3"]]
    for column, r, v in edits:
        rows[r][["year", "brand", "revenue"].index(column)] = v
    df = pd.DataFrame(rows, columns=["year", "brand", "revenue"])
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "revenue.csv"
        df.to_csv(path, index=False)
        try:
            out = read_revenue_file(path)
        except IngestError as exc:
            assert exc.row is None or 2 <= exc.row <= 4, exc.message
            assert exc.message_zh and exc.message_zh.startswith(str(path)), exc.message_zh
        else:
            assert (out["revenue"] >= 0).all() and out["year"].between(1990, 2100).all()
            assert not out.duplicated(["year", "brand"]).any()


EDGES = {"1e400": "1e400", "10**400": 10 ** 400, "-10**400": -(10 ** 400), "fullwidth-99": "９９",
         "fullwidth-minus-3": "－3", "nbsp-7": "\u00a07\u00a0"}


@pytest.mark.parametrize("value", list(EDGES.values()), ids=list(EDGES))
def test_edge_cells_the_fuzzer_found_worth_pinning(value):
    """Cells that once crashed or were misread stay handled: refused or accepted by the oracle."""
    df = BASE.astype(object)
    df.at[3, "SAT2"] = value
    _check(df, {(3, "SAT2"): value})
