"""Brand registry and revenue files: every defect named by row and column, the store unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from ncsi.cli import app
from ncsi.errors import IngestError
from ncsi.registry import read_brands_file, read_revenue_file
from ncsi.store import Store

runner = CliRunner()

BRANDS = ("brand,industry,name_zh,name_en,is_demo\n"
          "milk_a,liquid_milk,甲乳业,Jia Dairy,true\n"
          "milk_b,liquid_milk,乙乳业,Yi Dairy,true\n"
          "oil_a,edible_oil,丙粮油,Bing Oils,true\n")
REVENUE = "year,brand,revenue\n2025,milk_a,1200.5\n2025,milk_b,800\n2025,oil_a,300\n"


def _file(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_good_files(tmp_path):
    b = read_brands_file(_file(tmp_path, "b.csv", BRANDS))
    assert list(b["brand"]) == ["milk_a", "milk_b", "oil_a"] and b["is_demo"].all()
    r = read_revenue_file(_file(tmp_path, "r.csv", REVENUE))
    assert r["revenue"].tolist() == [1200.5, 800.0, 300.0] and r["year"].tolist() == [2025] * 3


@pytest.mark.parametrize("text, row, column, fragment", [
    (BRANDS.replace("oil_a,edible_oil", "oil_a,cheese"), 4, "industry", "unknown industry 'cheese'"),
    (BRANDS.replace("milk_b,", "milk_a,"), 3, "brand", "appears twice (rows 2 and 3)"),
    (BRANDS.replace("乙乳业", ""), 3, "name_zh", "empty name_zh"),
    (BRANDS.replace("brand,industry", "code,industry"), None, None, "missing required column(s) brand"),
])
def test_bad_brands_file(tmp_path, text, row, column, fragment):
    with pytest.raises(IngestError) as e:
        read_brands_file(_file(tmp_path, "b.csv", text))
    assert fragment in e.value.message and e.value.message_zh
    assert (e.value.row, e.value.column) == (row, column)


@pytest.mark.parametrize("text, row, column, fragment", [
    (REVENUE.replace("800", "-5"), 3, "revenue", "negative revenue"),
    (REVENUE.replace("800", "lots"), 3, "revenue", "is not a number"),
    (REVENUE.replace("800", "inf"), 3, "revenue", "is not a number"),
    (REVENUE.replace("2025,oil_a", "20x5,oil_a"), 4, "year", "is not a year"),
    (REVENUE + "2025,milk_a,5\n", 5, "brand", "two revenue rows for 2025"),
])
def test_bad_revenue_file(tmp_path, text, row, column, fragment):
    with pytest.raises(IngestError) as e:
        read_revenue_file(_file(tmp_path, "r.csv", text))
    assert fragment in e.value.message and e.value.message_zh
    assert (e.value.row, e.value.column) == (row, column)


def test_cli_refusals_leave_the_store_unchanged(tmp_path):
    url = f"sqlite:///{tmp_path / 'ncsi.db'}"
    env = {"NCSI_DATABASE_URL": url}
    assert runner.invoke(app, ["brands", str(_file(tmp_path, "b.csv", BRANDS))],
                         env=env).exit_code == 0
    assert runner.invoke(app, ["revenue", str(_file(tmp_path, "r.csv", REVENUE))],
                         env=env).exit_code == 0
    store = Store(url)
    before = store.snapshot()
    cases = [
        ("brands", BRANDS + "tea_a,green_tea,丁茶,Ding Tea,true\n", "row 5"),
        ("revenue", REVENUE.replace("800", "-1"), "row 3"),
        ("revenue", REVENUE + "2025,nosuch,10\n", "nosuch"),       # the store's own refusal
    ]
    for command, text, fragment in cases:
        r = runner.invoke(app, [command, str(_file(tmp_path, "x.csv", text))], env=env)
        assert r.exit_code == 1 and fragment in r.output and "Traceback" not in r.output, r.output
        assert store.snapshot() == before
