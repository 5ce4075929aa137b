"""Security: parameterized SQL only, injection strings through every text input, sign-in limits
and session expiry on the dashboard's server, enterprise accounts kept to their own brand and
enterprise, public pages without drafts, embargoed releases or respondent rows, no secret in the
repository, no formula smuggled into a spreadsheet.

1. No module under ncsi/ or dashboards/ builds SQL by formatting values into it (an AST scan:
   f-strings, ``%`` and ``.format`` with SQL in them; ``text()``/``execute()`` of a built
   string). The few f-strings that do build SQL are listed with why they are safe (identifiers
   and constants, never a value).
2. SQL-injection strings as brand codes and names (brand registry file), respondent ids and
   brand cells (a survey file), publisher, user names, display names and passwords (``ncsi
   user``, sign-in), query filters (``Query``, ``ncsi rankings --industry``) and dashboard
   addresses (``?brand=``, ``?enterprise=``, ``?lang=``) and the sign-in form: each is stored and
   shown verbatim as data, or refused with a clear message — and the store keeps its tables and
   rows (on SQLite and PostgreSQL for the store and the command line).
3. The dashboard's sign-in: five failures lock the account (the right password is refused until
   the lock runs out, then accepted); a session past its expiry is refused by the server-side
   check on the next run, and the page shows nothing of what it protects.
4. An enterprise account reaches no other brand's or enterprise's detail: every page, with the
   other's code in every address parameter the pages read and forced into every selector's
   session state.
5. Public pages (no sign-in), rendered against a store with a draft year and an embargoed year,
   never show those years or their numbers, nor any respondent id or enterprise id — in any
   text, table, chart or download.
6. No secret in the repository (private keys, cloud and API tokens, credentials in URLs,
   passwords assigned in code, key or store files), and the demo's passwords are made at random
   when ``make demo`` runs.
7. A brand name that looks like a spreadsheet formula stays text in every XLSX NCSI writes.
"""

from __future__ import annotations

import ast
import io
import json
import re
import subprocess
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect
from typer.testing import CliRunner

pytest.importorskip("streamlit")

from dashboards import ui  # noqa: E402
from ncsi.accounts import Accounts, AuthError, create_demo_accounts, demo_password  # noqa: E402
from ncsi.cli import app  # noqa: E402
from ncsi.query import Query  # noqa: E402
from ncsi.store import Store  # noqa: E402
from tests.pg import BACKENDS, plain_driver, scoped_postgres_url  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.test_dashboard import (  # noqa: E402,F401  (fixtures: dash, page)
    APP,
    DASH_DRAFT,
    DASH_PUBLISHED,
    TIMEOUT,
    charts_of,
    copy_store,
    dash,
    record_downloads,
    page,
    sign_in,
    texts_of,
    url_of,
    user,
)

ROOT = Path(__file__).resolve().parents[1]
ZH, EN = ui.Texts("zh"), ui.Texts("en")
runner = CliRunner()

INJECTIONS = [
    "'; DROP TABLE responses; --",
    '" OR 1=1 --',
    "Robert'); DELETE FROM users;--",
    "’ OR ’1’=’1’; DROP TABLE brands; --",          # typographic quotes
    "＇；DROP TABLE releases；－－",                    # full-width quote, semicolon, dashes
    "1; UPDATE releases SET status='draft'; --",
    "%' OR '%'='",
    "\\'; SELECT pg_sleep(5); --",
]
FORMULA = '=HYPERLINK("http://evil.example/","click")'  # a name that looks like a formula
MARKUP = "<script>alert('x')</script><img src=x onerror=alert(1)>"  # a name that is markup
TABLES = {"alembic_version", "brands", "enterprise_links", "maturity_responses", "model_fits",
          "performance", "releases", "responses", "revenues", "scores", "sessions", "surveys",
          "user_bindings", "users", "waves"}


def table_names(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


def counts(store: Store) -> dict[str, int]:
    return {name: len(rows) for name, rows in store.snapshot().items()}


# ==============================================================================================
# 1. SQL is never built by formatting values into it
# ==============================================================================================

SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|ALTER|PRAGMA|VALUES|WHERE|"
                       r"FROM|BEGIN|TRUNCATE|GRANT|ATTACH|COPY|EXECUTE)\b")
EXECUTING = {"execute", "executemany", "executescript", "exec_driver_sql", "scalar", "scalars"}
#: f-strings that build SQL, per (file, function): the names their interpolations may use, and
#: why that is safe. Every other SQL-looking f-string, and any formatting with % or .format, fails.
ALLOWED_SQL_FSTRINGS = {
    ("ncsi/migrations/versions/0001_initial.py", "_sqlite_published"): (
        {"ref"}, "trigger DDL fragment; ref is the literal 'NEW' or 'OLD' given by the code"),
    ("ncsi/migrations/versions/0001_initial.py", "_sqlite_triggers"): (
        {"IMMUTABLE_MESSAGE", "refuse", "table", "_sqlite_published"},
        "immutability-trigger DDL: table names from the constant _CHILD_TABLES, the constant "
        "refusal message; DDL cannot take bound parameters"),
    ("ncsi/migrations/versions/0001_initial.py", "_sqlite_drop"): (
        {"name"}, "DROP TRIGGER of the trigger names made from the constant _CHILD_TABLES"),
    ("ncsi/migrations/versions/0001_initial.py", "_postgresql_triggers"): (
        {"IMMUTABLE_MESSAGE", "table"},
        "trigger functions and triggers: the constant message and the constant _CHILD_TABLES"),
    ("ncsi/migrations/versions/0001_initial.py", "_postgresql_drop"): (
        {"table"}, "DROP TRIGGER on the constant _CHILD_TABLES"),
    ("ncsi/store/store.py", "_response_inserter"): (
        {"head", "row", "_ROWS_PER_STATEMENT", "quote", "table", "k", "keys"},
        "a multi-row INSERT made by repeating SQLAlchemy's own compiled INSERT (placeholders "
        "only; the values are bound by executemany), and COPY … FROM STDIN naming the responses "
        "table and its columns from the model, quoted by the dialect (the values are streamed)"),
}


def _functions(tree: ast.AST) -> dict[ast.AST, str]:
    """Every node → the name of the function it is in ("" at module level)."""
    owner: dict[ast.AST, str] = {}

    def visit(node: ast.AST, name: str) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child.name if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) \
                else name
            owner[child] = inner
            visit(child, inner)
    visit(tree, "")
    return owner


def _sql_constant(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and \
        bool(SQL_WORDS.search(node.value))


def _built_string(node: ast.AST) -> bool:
    """A string made at run time: an f-string with values, % or + on strings, .format()."""
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.FormattedValue) for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mod, ast.Add)):
        return any(isinstance(s, (ast.Constant, ast.JoinedStr)) and not (
            isinstance(s, ast.Constant) and not isinstance(s.value, str))
            for s in (node.left, node.right))
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
        node.func.attr == "format"


def sql_formatting_problems(path: Path) -> list[str]:
    rel = path.relative_to(ROOT).as_posix()
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    owner = _functions(tree)
    sql_text = {alias.asname or alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
                for alias in node.names if alias.name in ("text", "literal_column")}
    problems = []
    for node in ast.walk(tree):
        where = f"{rel}:{getattr(node, 'lineno', '?')} ({owner.get(node) or 'module'})"
        if isinstance(node, ast.JoinedStr) and _built_string(node):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if not SQL_WORDS.search(text):
                continue
            allowed = ALLOWED_SQL_FSTRINGS.get((rel, owner.get(node, "")))
            used = {n.id for v in node.values if isinstance(v, ast.FormattedValue)
                    for n in ast.walk(v.value) if isinstance(n, ast.Name)}
            if allowed is None or not used <= allowed[0]:
                problems.append(f"{where}: SQL built by an f-string from {sorted(used)}")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and \
                _sql_constant(node.left):
            problems.append(f"{where}: SQL built with %")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and \
                node.func.attr == "format" and _sql_constant(node.func.value):
            problems.append(f"{where}: SQL built with .format()")
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and (
                _sql_constant(node.left) or _sql_constant(node.right)):
            problems.append(f"{where}: SQL built with +")
        if isinstance(node, ast.Call) and node.args:
            name = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            if (name in EXECUTING or name in sql_text) and _built_string(node.args[0]):
                problems.append(f"{where}: {name}() of a string built at run time")
            is_sql_text = (isinstance(node.func, ast.Name) and node.func.id in sql_text) or (
                isinstance(node.func, ast.Attribute)
                and node.func.attr in ("text", "literal_column")
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in ("sqlalchemy", "sa"))
            if is_sql_text and not isinstance(node.args[0], ast.Constant):
                problems.append(f"{where}: text() of something other than a literal")
    return problems


def test_no_module_builds_sql_by_formatting_values():
    files = sorted([*(ROOT / "ncsi").rglob("*.py"), *(ROOT / "dashboards").rglob("*.py")])
    assert len(files) > 30
    problems = [p for f in files for p in sql_formatting_problems(f)]
    assert not problems, "\n".join(problems)


def test_the_sql_scan_finds_what_it_looks_for(tmp_path):
    """The scanner itself: each way of formatting a value into SQL is reported."""
    bad = tmp_path / "ncsi_bad.py"
    bad.write_text(
        "from sqlalchemy import text\n"
        "def f(conn, name, year):\n"
        "    conn.execute(text(f\"SELECT * FROM brands WHERE code = '{name}'\"))\n"
        "    conn.exec_driver_sql(\"DELETE FROM waves WHERE year = %d\" % year)\n"
        "    conn.execute(\"UPDATE users SET role = '{}'\".format(name))\n"
        "    sql = \"SELECT * FROM users WHERE username = '\" + name + \"'\"\n"
        "    conn.execute(text(sql))\n", encoding="utf-8")
    import tests.test_security as me
    old = me.ROOT
    me.ROOT = tmp_path
    try:
        found = sql_formatting_problems(bad)
    finally:
        me.ROOT = old
    text = "\n".join(found)
    for fragment in ("f-string", "with %", ".format()", "with +", "text() of something"):
        assert fragment in text, (fragment, text)


# ==============================================================================================
# 2. injection strings through every text input
# ==============================================================================================

#: for tests whose code path does not depend on the backend: the injected store on SQLite only
SQLITE_ONLY = pytest.mark.parametrize("injected", ["sqlite"], indirect=True)


def cli(url: str, *args, input: str | None = None):
    return runner.invoke(app, [str(a) for a in args], input=input,
                         env={"NCSI_DATABASE_URL": url, "NCSI_USER": "tester"})


def one_clear_error(result, *fragments) -> str:
    """Exit 1 with bilingual ``error:`` lines naming what is wrong, and no traceback."""
    out = result.output
    assert result.exit_code == 1, out
    assert "Traceback" not in out and out.startswith("error: "), out
    for fragment in fragments:
        assert fragment in out, (fragment, out)
    return out


def write_injected_survey(folder: Path) -> dict:
    """A generated one-industry survey whose brand codes, brand names and respondent ids are
    injection strings (one English name looks like a formula, another is markup). Returns the
    files and values."""
    from ncsi.demo_data import generate

    generate(4, folder, years=[2025], industries=["liquid_milk"], scale=1.0)
    brands = pd.read_csv(folder / "brands.csv", dtype=str, keep_default_na=False)
    codes = dict(zip(brands["brand"], INJECTIONS[:len(brands)]))
    brands["brand"] = brands["brand"].map(codes)
    brands["name_zh"] = INJECTIONS[len(brands):2 * len(brands)]
    brands["name_en"] = [FORMULA, MARKUP] + INJECTIONS[2:len(brands)]
    brands.to_csv(folder / "brands.csv", index=False)
    revenue = pd.read_csv(folder / "revenue.csv", dtype=str, keep_default_na=False)
    revenue["brand"] = revenue["brand"].map(codes)
    revenue.to_csv(folder / "revenue.csv", index=False)
    responses = folder / "responses" / "2025" / "ncsi-food.csv"
    frame = pd.read_csv(responses, dtype=str, keep_default_na=False)
    frame["brand"] = frame["brand"].map(codes)
    frame["respondent_id"] = [f"{INJECTIONS[i % len(INJECTIONS)]}#{i}" for i in range(len(frame))]
    frame.to_csv(responses, index=False)
    return {"brands": folder / "brands.csv", "revenue": folder / "revenue.csv",
            "responses": responses, "codes": list(codes.values()),
            "names_zh": list(brands["name_zh"]), "names_en": list(brands["name_en"]),
            "respondents": list(frame["respondent_id"])}


@pytest.fixture(scope="module", params=BACKENDS)
def injected(request, tmp_path_factory) -> dict:
    """A store loaded, built and published through the command line from the injected survey,
    with an analyst (display name and password injection strings) and an enterprise user bound
    to an injected brand."""
    folder = tmp_path_factory.mktemp("injected")
    survey = write_injected_survey(folder / "survey")
    url = (scoped_postgres_url(request) if request.param == "postgresql"
           else f"sqlite:///{folder / 'ncsi.db'}")
    assert cli(url, "brands", survey["brands"]).exit_code == 0
    assert cli(url, "revenue", survey["revenue"]).exit_code == 0
    done = cli(url, "ingest", survey["responses"], "--survey", "ncsi-food", "--year", 2025)
    assert done.exit_code == 0, done.output
    done = cli(url, "build", "--year", 2025, "--bootstrap", 0, "--permutations", 0)
    assert done.exit_code == 0, done.output
    done = cli(url, "publish", "--year", 2025, "--by", INJECTIONS[2])
    assert done.exit_code == 0, done.output
    done = cli(url, "user", "add", "ana", "--role", "analyst", "--name", INJECTIONS[1],
               "--password-stdin", input=INJECTIONS[0] + "\n")
    assert done.exit_code == 0, done.output
    done = cli(url, "user", "add", "owner", "--role", "enterprise", "--password-stdin",
               input=INJECTIONS[5] + "\n")
    assert done.exit_code == 0, done.output
    done = cli(url, "user", "bind", "owner", "--brand", survey["codes"][3])
    assert done.exit_code == 0, done.output
    return dict(survey, url=url, backend=request.param, passwords={"ana": INJECTIONS[0],
                                                                   "owner": INJECTIONS[5]})


def test_injection_strings_in_files_are_stored_verbatim(injected):
    store = Store(injected["url"])
    try:
        assert table_names(store) == TABLES
        brands = store.known_brands().set_index("brand")
        assert sorted(brands.index) == sorted(injected["codes"])
        for code, zh, en in zip(injected["codes"], injected["names_zh"], injected["names_en"]):
            assert (brands.at[code, "name_zh"], brands.at[code, "name_en"]) == (zh, en)
        stored = store.responses(2025, valid_only=False)
        # survey-file text cells are stored NFKC-normalized and stripped, as ncsi.ingest
        # documents (full-width quotes become ASCII ones): still data, nothing executed
        assert sorted(stored["respondent_id"]) == sorted(
            unicodedata.normalize("NFKC", r).strip() for r in injected["respondents"])
        assert any("'" in r and "＇" not in r for r in stored["respondent_id"])
        assert set(stored["brand"]) == set(injected["codes"])
        assert store.release(2025)["published_by"] == INJECTIONS[2]
        assert store.verify_release(store.release(2025)["id"])
        users = Accounts(store).users().set_index("username")
        assert users.at["ana", "display_name"] == INJECTIONS[1]
        assert users.at["owner", "brands"] == (injected["codes"][3],)
    finally:
        store.close()


def test_injection_strings_as_query_filters_find_nothing_and_harm_nothing(injected):
    store = Store(injected["url"])
    before = counts(store)
    try:
        q = Query(store)
        assert q.published_years() == [2025] and q.industries(2025) == ["liquid_milk"]
        ranking = q.ranking(2025, "liquid_milk")
        assert set(injected["codes"]) <= set(ranking["code"])
        assert set(injected["names_zh"]) <= set(ranking["name"])
        assert set(injected["names_en"]) <= set(q.ranking(2025, "liquid_milk", lang="en")["name"])
        for code in injected["codes"]:
            assert set(q.brand_scores(code)["code"]) == {code}
        for bad in INJECTIONS + ["liquid_milk' OR '1'='1", "liquid_milk; --"]:
            if bad in injected["codes"]:
                continue
            assert q.ranking(2025, bad).empty and q.history(bad).empty
            assert q.brand_scores(bad).empty and q.industry_scores(bad).empty
            assert q.trend(bad).empty and q.drivers(2025, bad) is None
            assert q.industries(2025, sector=bad) == []
            assert store.responses(2025, industry=bad).empty
            assert store.responses(2025, survey_id=bad).empty
        assert counts(store) == before and table_names(store) == TABLES
    finally:
        store.close()


def test_injection_strings_on_the_command_line(injected):
    url = injected["url"]
    store = Store(url)
    before = counts(store)
    try:
        out = cli(url, "rankings", "--year", 2025, "--format", "json", "--lang", "en")
        assert out.exit_code == 0, out.output
        rows = json.loads(out.stdout[out.stdout.index("["):])[0]["rows"]
        assert set(injected["codes"]) <= {r["code"] for r in rows}
        assert set(injected["names_en"]) <= {r["name"] for r in rows}
        for bad in INJECTIONS + ["liquid_milk' OR '1'='1"]:
            one_clear_error(cli(url, "rankings", "--year", 2025, "--industry", bad), bad)
            one_clear_error(cli(url, "rankings", "--year", 2025, "--construct", bad), bad,
                            "published constructs: ")
        # user names: refused as names; display names and passwords: data
        for bad in INJECTIONS:
            one_clear_error(cli(url, "user", "add", bad, "--role", "analyst", "--password-stdin",
                                input="long enough password\n"), "is not valid")
            one_clear_error(cli(url, "user", "add", "someone", "--role", bad,
                                "--password-stdin", input="long enough password\n"),
                            "is not one of")
            one_clear_error(cli(url, "user", "remove", bad), "there is no user")
            one_clear_error(cli(url, "user", "bind", bad, "--brand", injected["codes"][0]))
        for bad in ("' OR 1=1 --", "x'); DELETE FROM user_bindings; --"):
            one_clear_error(cli(url, "user", "bind", "owner", "--brand", bad),
                            "not in the brand registry")
            one_clear_error(cli(url, "user", "bind", "owner", "--enterprise", bad), "unknown")
        one_clear_error(cli(url, "publish", "--year", 2025, "--by", INJECTIONS[0]),
                        "already published")
        listed = cli(url, "user", "list")
        assert listed.exit_code == 0 and INJECTIONS[1] in listed.output
        assert counts(store) == before and table_names(store) == TABLES
    finally:
        store.close()


def test_injection_strings_at_sign_in(injected):
    store = Store(injected["url"])
    try:
        accounts = Accounts(store)
        assert accounts.login("ana", injected["passwords"]["ana"]).role == "analyst"
        assert accounts.login("OWNER", injected["passwords"]["owner"]).brands == (
            injected["codes"][3],)
        expected = "wrong user name or password"
        before = counts(store)
        for bad in INJECTIONS + ["ana' --", "ana'; --", "' OR '1'='1"]:
            with pytest.raises(AuthError, match=expected):  # as a name (with a real password)
                accounts.login(bad, injected["passwords"]["ana"])
        for bad in INJECTIONS[:3]:  # a wrong password of a real user (3 < the lockout limit)
            with pytest.raises(AuthError, match=expected):
                accounts.login("owner", bad)
        assert counts(store) == before  # failures of unknown users change nothing
        for bad in INJECTIONS:
            assert accounts.session(bad) is None
            with pytest.raises(AuthError, match="not signed in"):
                accounts.require(bad)
        assert accounts.login("owner", injected["passwords"]["owner"]).username == "owner"
    finally:
        store.close()


def test_bad_cells_are_refused_with_the_row_and_column_and_write_nothing(injected, tmp_path):
    store = Store(injected["url"])
    before = store.snapshot()
    try:
        frame = pd.read_csv(injected["responses"], dtype=str, keep_default_na=False)
        frame.loc[3, "industry"] = INJECTIONS[0]
        bad = tmp_path / "ncsi-food.csv"
        frame.to_csv(bad, index=False)
        one_clear_error(cli(injected["url"], "ingest", bad, "--survey", "ncsi-food", "--year",
                            2024), "row 5", "industry")
        brands = pd.read_csv(injected["brands"], dtype=str, keep_default_na=False)
        brands.loc[1, "industry"] = INJECTIONS[1]
        brands.to_csv(tmp_path / "brands.csv", index=False)
        one_clear_error(cli(injected["url"], "brands", tmp_path / "brands.csv"),
                        "unknown industry")
        one_clear_error(cli(injected["url"], "ingest", injected["responses"], "--survey",
                            INJECTIONS[0], "--year", 2024))
        assert store.snapshot() == before
    finally:
        store.close()


@SQLITE_ONLY  # the dashboard code path is the same on either backend
def test_injection_strings_in_the_dashboard(injected, page, monkeypatch):
    url = injected["url"]
    store = Store(url)
    before = counts(store)
    codes, names = injected["codes"], injected["names_zh"]
    ana = ("ana", injected["passwords"]["ana"])
    owner = ("owner", injected["passwords"]["owner"])
    try:
        # the public ranking shows the names as data; an unknown ?lang= is ignored
        monkeypatch.setenv("NCSI_DATABASE_URL", url)
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
        at.query_params["lang"] = INJECTIONS[0]
        at.run()
        assert not at.exception and at.title[0].value == ZH("rankings.title")
        shown = at.dataframe[0].value
        assert set(names) <= set(shown[ZH("table.brand")])
        # the enterprise user: its own (injected) brand; others by address refused verbatim
        at = page(url, "views/brand.py", login=owner)
        assert not at.error and at.selectbox(key="brand_choice").value == codes[3]
        for asked in (codes[1], "' OR 1=1 --", "milk_b01' OR '1'='1"):
            at = page(url, "views/brand.py", login=owner, params={"brand": asked})
            assert len(at.error) == 1 and ZH("brand.refused", brand=asked) in at.error[0].value
            assert not at.metric and not at.get("plotly_chart") and not at.dataframe
        at = page(url, "views/enterprise.py", login=owner, params={"enterprise": INJECTIONS[6]})
        assert ZH("enterprise.refused", enterprise=INJECTIONS[6]) in at.error[0].value
        # the analyst may ask for any brand, by its (injected) code
        at = page(url, "views/brand.py", login=ana, params={"brand": codes[1]})
        assert not at.error and at.selectbox(key="brand_choice").value == codes[1]
        assert names[1] in texts_of(at)
        at = page(url, "views/brand.py", login=ana, params={"brand": "' OR 1=1 --"})
        assert not at.error and at.selectbox(key="brand_choice").value in codes
        # the sign-in form
        at = page(url)
        for name, password in ((INJECTIONS[0], INJECTIONS[1]), ("ana' --", INJECTIONS[2]),
                               ("' OR '1'='1", "' OR '1'='1")):
            at = sign_in(at, name, password)
            assert not at.exception
            assert "wrong user name or password" in at.error[0].value
            assert "auth_token" not in at.session_state
        assert counts(store) == {**before, "sessions": counts(store)["sessions"]}
        assert table_names(store) == TABLES
    finally:
        store.close()


# ==============================================================================================
# 3. failed-login limit and session expiry, on the dashboard's server
# ==============================================================================================

@pytest.fixture
def dash_copy(dash, tmp_path):
    source = Store(dash["url"])
    store = copy_store(source, tmp_path / "accounts.db")
    source.close()
    yield store
    store.close()


def test_five_failed_sign_ins_lock_the_account_in_the_dashboard(dash, dash_copy, page):
    url = url_of(dash_copy)
    name, password = user(dash, "analyst")
    at = page(url)
    for k in range(5):
        at = sign_in(at, name, f"wrong password {k}")
        message = at.error[0].value
        assert ("locked until" in message) == (k == 4), message
    assert "锁定" in message and "auth_token" not in at.session_state
    at = sign_in(at, name, password)               # the right password, while locked
    assert "locked until" in at.error[0].value and "auth_token" not in at.session_state
    at.switch_page("views/analyst.py").run()
    assert ZH("auth.sign_in_first") in at.error[0].value and not at.dataframe
    # the lock runs out (its time is moved into the past): the right password works again
    with plain_driver(dash_copy) as (execute, _):
        execute("UPDATE users SET locked_until = ? WHERE username = ?",
                ((datetime.now(timezone.utc) - timedelta(seconds=1)).strftime(
                    "%Y-%m-%d %H:%M:%S.%f"), name))
    at = page(url, "views/analyst.py", login=(name, password))
    assert not at.error and at.title[0].value == ZH("analyst.title")


def test_an_expired_session_is_refused_by_the_server(dash, dash_copy, page):
    url = url_of(dash_copy)
    at = page(url, "views/analyst.py", login=user(dash, "analyst"))
    assert not at.error and at.title[0].value == ZH("analyst.title")
    # the session's time runs out between two runs
    with plain_driver(dash_copy) as (execute, _):
        execute("UPDATE sessions SET expires_at = ?",
                ((datetime.now(timezone.utc) - timedelta(seconds=1)).strftime(
                    "%Y-%m-%d %H:%M:%S.%f"),))
    # (the copied store may hold other tests' sessions: only this one is looked up and deleted)
    sessions_before = len(dash_copy.snapshot()["sessions"])
    at.run()
    assert ZH("auth.sign_in_first") in at.error[0].value
    assert not at.title and not at.dataframe and not at.get("plotly_chart")
    assert str(DASH_DRAFT) not in texts_of(at)
    assert "auth_token" not in at.session_state
    assert ZH("auth.expired") in [c.value for c in at.sidebar.caption]
    # the expired session is deleted
    assert len(dash_copy.snapshot()["sessions"]) == sessions_before - 1
    # a token issued 61 minutes ago (its sign-in an hour and more in the past) is refused too
    past = datetime.now(timezone.utc) - timedelta(minutes=61)
    token = Accounts(dash_copy, now=lambda: past).login(*user(dash, "brand-owner")).token
    at = page(url)
    at.session_state["auth_token"] = token
    at.switch_page("views/brand.py").run()
    assert ZH("auth.sign_in_first") in at.error[0].value and not at.metric


# ==============================================================================================
# 4. an enterprise account reaches only its own brand and enterprise
# ==============================================================================================

ALL_PAGES = ("views/rankings.py", "views/trends.py", "views/maturity.py", "views/methodology.py",
             "views/brand.py", "views/enterprise.py", "views/analyst.py")
PROTECTED_PAGES = ("views/brand.py", "views/enterprise.py", "views/analyst.py")
#: session-state keys of the pages' selectors and remembered choices
FORCED_STATE = ("brand_choice", "_brand_asked", "enterprise_choice", "_enterprise_asked")


def test_an_enterprise_account_reaches_no_other_brand_or_enterprise(page, dash):
    """Signed in as the enterprise user, on every page: the other brand and enterprise asked
    for by every address parameter the pages read, then forced into every selector's state.
    Public pages may rank the other brand; no page shows the other enterprise, and the
    protected pages show nothing of the other brand."""
    store = Store(dash["url"])
    other_name = Query(store).brand_name(dash["other_brand"])
    store.close()
    other = {"brand": dash["other_brand"], "enterprise": dash["other_enterprise"]}

    def seen(at, path: str) -> list[str]:
        assert not at.exception, (path, [e.value for e in at.exception])
        refusals = [e.value for e in at.error]  # they repeat the code asked for, nothing more
        shown = texts_of(at)
        for refusal in refusals:
            shown = shown.replace(refusal, "")
        shown += json.dumps(charts_of(at), ensure_ascii=False)
        shown += " ".join(str(o) for s in at.selectbox for o in s.options)
        shown += " ".join(str(s.value) for s in at.selectbox)
        forbidden = [dash["other_enterprise"], dash["other_brand"]]
        if path in PROTECTED_PAGES:
            forbidden.append(other_name)
            shown += "\n".join(refusals).replace(dash["other_brand"], "").replace(
                dash["other_enterprise"], "")
        return [x for x in forbidden if x in shown]

    at = page(dash["url"], login=user(dash, "brand-owner"))
    for path in ALL_PAGES:
        # by the address
        at.query_params.clear()
        for key, value in other.items():
            at.query_params[key] = value
        at.switch_page(path).run()
        if path in PROTECTED_PAGES:
            assert len(at.error) == 1 and ZH("auth.denied") in at.error[0].value, path
            assert not at.metric and not at.get("plotly_chart") and not at.dataframe, path
        assert not seen(at, path), (path, "address", seen(at, path))
        # by the selectors' state, forced (the address asks for nothing)
        at.query_params.clear()
        for key in FORCED_STATE:
            at.session_state[key] = other["brand" if "brand" in key else "enterprise"]
        at.run()
        if path == "views/brand.py":
            assert at.selectbox(key="brand_choice").value == dash["brand"]
        elif path == "views/enterprise.py":
            assert at.selectbox(key="enterprise_choice").value == dash["enterprise"]
        elif path == "views/analyst.py":
            assert ZH("auth.denied") in at.error[0].value and not at.dataframe
        assert not seen(at, path), (path, "state", seen(at, path))


# ==============================================================================================
# 5. public pages: no draft, no embargoed release, no respondent row
# ==============================================================================================

DRAFT_YEAR = 2031            # a draft saved into the copy (far from the calendar's dates)
EMBARGOED = DASH_DRAFT        # published into the copy under embargo


@pytest.fixture
def held_back(dash, tmp_path):
    """A copy of the dashboard store with 2025 published under an embargo until tomorrow and
    a draft of 2031 (the 2025 content saved again as a draft)."""
    source = Store(dash["url"])
    store = copy_store(source, tmp_path / "held.db")
    source.close()
    draft = store.release(DASH_DRAFT, "draft")
    store.publish(DASH_DRAFT, by="test",
                  embargo_until=datetime.now(timezone.utc) + timedelta(days=1))
    store.save_draft(DRAFT_YEAR, settings=draft["settings"], provenance=draft["provenance"],
                     fits=store.release_fits(draft["id"]),
                     scores=store.release_scores(draft["id"]), issues=draft["issues"],
                     maturity=draft["maturity"], grades=draft["grades"])
    yield store
    store.close()


def _private_tokens(store: Store) -> set[str]:
    """Respondent ids and enterprise ids: never on a public page."""
    ids: set[str] = set()
    for year in (*DASH_PUBLISHED, DASH_DRAFT):
        ids |= set(store.responses(year, valid_only=False)["respondent_id"])
        ids |= set(store.maturity_responses(year)["enterprise_id"])
    return ids


def _leaks(blob: str, private: set[str]) -> list[str]:
    """Private ids in ``blob`` and mentions of the held-back years (not inside a longer number:
    2025 in "2025年", "2025", 2025.0 — not in 0.2025 or 12025)."""
    found = sorted(set(re.findall(r"[\w\-]+", blob)) & private)
    for year in (EMBARGOED, DRAFT_YEAR):
        found += [blob[max(m.start() - 20, 0):m.end() + 20]
                  for m in re.finditer(rf"(?<![\d.]){year}(?!\d)", blob)]
    return found


def test_public_pages_never_show_a_draft_an_embargoed_release_or_a_respondent(
        held_back, page, monkeypatch):
    from dashboards import common

    stores = record_downloads(monkeypatch)
    private = _private_tokens(held_back)
    assert len(private) > 1000
    url = url_of(held_back)
    q = Query(held_back)
    assert q.published_years() == DASH_PUBLISHED and not q.embargoed().empty

    some_id = sorted(private)[0]
    assert _leaks(f"x {some_id} y", private) and _leaks(f"{EMBARGOED} 年", private)
    assert not _leaks("0.2025 12025 2024", private)
    downloads: list[str] = []

    def check(at, where: str) -> None:
        assert not at.exception, where
        blob = texts_of(at) + json.dumps(charts_of(at), ensure_ascii=False)
        blob += " ".join(str(o) for s in at.selectbox for o in s.options)
        for button in at.get("download_button"):
            name = button.proto.url.rsplit("/", 1)[-1]
            for s in stores:
                try:
                    data = s.get_file(name).content
                except Exception:
                    continue
                if data[:2] == b"PK":
                    blob += pd.read_excel(io.BytesIO(data), dtype=str).to_csv()
                    downloads.append("xlsx")
                else:
                    blob += data.decode("utf-8-sig", errors="replace")
                    downloads.append("csv")
        assert not _leaks(blob, private), (where, _leaks(blob, private)[:5])

    at = page(url)  # rankings: every industry, with a draft or embargoed year forced in
    for industry in q.industries():
        at.selectbox(key="sector").set_value(q.taxonomy.sector_of(industry).code).run()
        at.selectbox(key="industry").set_value(industry).run()
        check(at, f"rankings {industry}")
    # a held-back year forced into the year selector's state (set while another page is shown:
    # AppTest cannot send a value its rendered selector does not offer)
    for year in (EMBARGOED, DRAFT_YEAR):
        at.switch_page("views/methodology.py").run()
        at.session_state["year"] = year
        at.switch_page("views/rankings.py").run()
        assert at.selectbox(key="year").value in DASH_PUBLISHED
        check(at, f"rankings, year {year} forced")
    assert downloads.count("csv") >= len(q.industries()) and "xlsx" in downloads
    for path in ("views/trends.py", "views/maturity.py", "views/methodology.py"):
        check(page(url, path), path)
    for year in DASH_PUBLISHED:  # the whole-year download (made on click)
        data = common.year_export(url, q.published_releases(), year, "zh")
        blob = "".join(pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=str)[s].to_csv()
                       for s in pd.ExcelFile(io.BytesIO(data)).sheet_names)
        assert not _leaks(blob, private), year


# ==============================================================================================
# 6. no secret in the repository
# ==============================================================================================

SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"),
    "AWS secret key": re.compile(r"(?i)aws_?secret_?access_?key\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{40}"),
    "GitHub token": re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})"),
    "Slack token": re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "Stripe key": re.compile(r"\b[rs]k_live_[0-9a-zA-Z]{20,}"),
    "JSON web token": re.compile(
        r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "credentials in a URL": re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/:@'\"]+:([^\s/@'\"]+)@"),
    "password assigned in code": re.compile(
        r"(?i)\b[\w.]*(?:password|passwd|pwd|secret|token|api_?key|access_?key)\w*\b['\"]?"
        r"\s*(?:=|:)\s*(['\"])([^'\"\n]{4,})\1"),
}
#: placeholders allowed as the password of a URL
URL_PLACEHOLDERS = {"password", "PASSWORD", "pass", "secret", "***", "xxx", "…"}
#: (file, matched text) → why it is no secret (the texts are built from pieces so that this
#: file does not match itself)
NOT_SECRETS = {
    ("dashboards/common.py", "TOKEN_KEY = " + '"auth_token"'):
        "the name of the session-state key that holds a sign-in token, not a token",
    ("tests/test_accounts.py", "PASSWORD = " + '"correct horse battery"'):
        "the password of throwaway accounts in throwaway test databases",
}
SECRET_FILES = re.compile(r"(^|/)(\.env(\..*)?|id_[rd]sa|id_ecdsa|id_ed25519|\.netrc|\.pgpass|"
                          r"credentials(\.json)?|[^/]*\.(pem|key|p12|pfx|jks|keystore|db|sqlite|"
                          r"sqlite3))$")


def repository_files() -> list[str]:
    """The files a clone holds: ``git ls-files`` (tracked, and new files not ignored), or — no
    git — every file outside .git, .venv, data/ and caches."""
    try:
        done = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                               "--exclude-standard"], cwd=ROOT, capture_output=True,
                              timeout=60, check=True)
        names = [n for n in done.stdout.decode("utf-8").split("\0") if n]
        if names:
            return [n for n in names if (ROOT / n).is_file()]
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        pass
    skip = {".git", ".venv", "data", "__pycache__", ".pytest_cache", ".bench", "artifacts"}
    return [p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)
            and not p.relative_to(ROOT).parts[0].endswith(".egg-info")]


def secrets_in(name: str, text: str) -> list[str]:
    found = []
    for what, pattern in SECRET_PATTERNS.items():
        for m in pattern.finditer(text):
            if what == "credentials in a URL" and (m.group(1) in URL_PLACEHOLDERS or
                                                   m.group(1).startswith(("$", "<", "{"))):
                continue
            if (name, m.group(0)) in NOT_SECRETS:
                continue
            line = text.count("\n", 0, m.start()) + 1
            found.append(f"{name}:{line}: {what}: {m.group(0)[:60]}")
    return found


def test_no_secret_in_the_repository():
    files = repository_files()
    assert "ncsi/accounts.py" in files and len(files) > 50
    found = [f"{n}: a file of a kind that holds keys, credentials or data"
             for n in files if SECRET_FILES.search(n)]
    for name in files:
        data = (ROOT / name).read_bytes()
        if b"\0" in data[:8192] or len(data) > 5_000_000:
            continue  # binary or data
        found += secrets_in(name, data.decode("utf-8", errors="replace"))
    assert not found, "\n".join(found)


def test_the_secret_scan_finds_what_it_looks_for():
    # (built from pieces, so that this file holds none of them)
    sample = "\n".join([
        "-----BEGIN RSA PRIVATE " + "KEY-----",
        "aws_access_key_id = AKIA" + "IOSFODNN7EXAMPLE",
        "token = 'ghp_" + "a" * 36 + "'",
        "NCSI_DATABASE_URL=postgresql://ncsi:" + "s3cr3t-Pa55@db.example/ncsi",
        "admin_pass" + 'word = "hunter22"',
    ])
    found = "\n".join(secrets_in("sample.py", sample))
    for what in ("private key", "AWS access key id", "GitHub token", "credentials in a URL",
                 "password assigned in code"):
        assert what in found, (what, found)
    assert not secrets_in("README.md", "postgresql+psycopg://user:password@host/ncsi")
    assert SECRET_FILES.search("deploy/.env") and SECRET_FILES.search("data/ncsi.db")
    assert not SECRET_FILES.search("ncsi/store/store.py")


def test_demo_passwords_are_made_at_random_when_the_demo_runs(tmp_path):
    """The demo accounts' passwords are not in the repository: each demo run makes new ones
    (nothing derives them from a constant)."""
    from tests.test_store import brands_frame

    store = Store(f"sqlite:///{tmp_path / 'demo.db'}")
    store.upgrade()
    try:
        store.load_brands(brands_frame(), "brands.csv")
        first = [p for _, p, _ in create_demo_accounts(store, brand="B1", enterprise=None)]
        assert len(set(first)) == 3 and all(len(p) >= 20 for p in first)
        accounts = Accounts(store)
        assert accounts.login("admin", first[1]).role == "admin"
        for name in ("analyst", "admin", "brand-owner"):  # the demo made again
            accounts.remove_user(name)
        again = [p for _, p, _ in create_demo_accounts(store, brand="B1", enterprise=None)]
        assert set(again).isdisjoint(first)
        with pytest.raises(AuthError):
            accounts.login("admin", first[1])
        assert accounts.login("admin", again[1]).role == "admin"
        assert demo_password() != demo_password()
    finally:
        store.close()
    source = (ROOT / "ncsi" / "accounts.py").read_text(encoding="utf-8")
    assert "secrets.token_urlsafe" in source


# ==============================================================================================
# 7. spreadsheet formulas
# ==============================================================================================

@SQLITE_ONLY  # the files are the same from either backend
def test_a_name_like_a_formula_stays_text_in_every_xlsx(injected, tmp_path):
    from openpyxl import load_workbook

    out = cli(injected["url"], "export", "--year", 2025, "--format", "xlsx", "--out",
              tmp_path / "r.xlsx", "--lang", "en")
    assert out.exit_code == 0, out.output
    cells = [c for row in load_workbook(tmp_path / "r.xlsx")["排名 Rankings"].iter_rows()
             for c in row if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)
    q = Query(Store(injected["url"]))
    ranking = q.ranking(2025, "liquid_milk", lang="en")
    table, _ = ui.ranking_table(ranking, EN)
    data = ui.table_xlsx(table, "t", [c for c in table.columns if re.fullmatch(r"\d{4}", c)])
    cells = [c for row in load_workbook(io.BytesIO(data)).active.iter_rows() for c in row
             if c.value == FORMULA]
    assert cells and all(c.data_type == "s" for c in cells)


# ==============================================================================================
# 8. markup in names is shown as text
# ==============================================================================================

def test_no_dashboard_page_renders_raw_html():
    """Streamlit shows markdown and text escaped unless told otherwise: no page tells it so."""
    raw = re.compile(r"unsafe_allow_html\s*=\s*True|\bst\.html\(|components\.v1|"
                     r"components\.html\(")
    found = [f"{p.relative_to(ROOT)}:{n}" for p in sorted((ROOT / "dashboards").rglob("*.py"))
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if raw.search(line)]
    assert not found, found


@SQLITE_ONLY  # the report is the same from either backend
def test_markup_in_a_brand_name_is_escaped_in_the_html_report(injected, tmp_path):
    out = cli(injected["url"], "report", "--year", 2025, "--out", tmp_path / "r.html",
              "--lang", "en")
    assert out.exit_code == 0, out.output
    page_html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert MARKUP not in page_html  # no raw tag of the name anywhere: only its escaped text
    assert "<script>alert" not in page_html and "<img src=x" not in page_html
    import html as html_module
    escaped = (html_module.escape(MARKUP, quote=True), json.dumps(MARKUP)[1:-1],
               MARKUP.replace("<", "\\u003c").replace(">", "\\u003e"))
    assert any(e in page_html for e in escaped)
