"""The release workflow on a real store built from the small generated survey: publishing with a
publisher and an embargo, the embargo in the query layer, score flags passed through, and
`ncsi release list/show/diff` (the CLI on the same store, through NCSI_DATABASE_URL).

Every test runs on SQLite and on PostgreSQL (tests/pg.py). The template store (2024 published,
2025 a draft) is built once per module and backend; every test works on its own copy (of the
file, or a database created from the template database), so publishing in one test never leaks
into another. No mocks.
"""

from __future__ import annotations

import getpass
import json
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from ncsi.cli import app
from ncsi.errors import ReleaseError
from ncsi.query import Query
from ncsi.store import Store
from ncsi.store.review import LEVELS, describe_release, diff_draft, flatten
from tests.pg import BACKENDS, scoped_postgres_url

runner = CliRunner()
PUBLISHED, DRAFT = 2024, 2025
BEIJING = timezone(timedelta(hours=8))
FAR = datetime(2099, 3, 15, 9, 0, tzinfo=BEIJING)            # 2099-03-15 01:00 UTC
INVARIANCE = {"invariance": {"ok": False, "reason": "loadings differ across brands"}}


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@dataclass(frozen=True)
class Template:
    backend: str
    url: str  # the SQLite file's or the PostgreSQL database's URL


@pytest.fixture(scope="module", params=BACKENDS)
def template_db(request, small_survey, tmp_path_factory):
    from ncsi.demo import load_survey_folder
    from ncsi.release import build_year

    if request.param == "postgresql":
        url = scoped_postgres_url(request)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('workflow') / 'template.db'}"
    store = Store(url)
    store.upgrade()
    load_survey_folder(store, small_survey)
    build_year(store, PUBLISHED)
    store.publish(PUBLISHED, by="first-editor")
    build_year(store, DRAFT)
    store.close()  # no connection left: PostgreSQL copies only an unused template database
    return Template(request.param, url)


@pytest.fixture
def store(template_db, tmp_path, monkeypatch, request):
    """A copy of the template store, which the CLI uses too (NCSI_DATABASE_URL)."""
    if template_db.backend == "postgresql":
        copy = request.getfixturevalue("postgres_databases")
        url = copy(template=make_url(template_db.url).database)
    else:
        db = tmp_path / "ncsi.db"
        shutil.copy(make_url(template_db.url).database, db)
        url = f"sqlite:///{db}"
    monkeypatch.setenv("NCSI_DATABASE_URL", url)
    monkeypatch.setenv("NCSI_USER", "tester")
    s = Store(url)
    s.upgrade()
    yield s
    s.close()


def resave_draft_with_flags(store, year=DRAFT):
    """Save the year's draft again with flags on two rows (what the pipeline will write)."""
    draft = store.release(year, status="draft")
    scores = store.release_scores(draft["id"])
    brand = scores[(scores["level"] == "brand") & (scores["parent"] == "liquid_milk")
                   & (scores["construct"] == "SAT")].index[0]
    industry = scores[(scores["level"] == "industry") & (scores["code"] == "liquid_milk")
                      & (scores["construct"] == "SAT")].index[0]
    scores["flags"] = None
    scores.at[brand, "flags"] = INVARIANCE
    scores.at[industry, "flags"] = {"invariance": {"ok": True, "reason": None}}
    fits = [{k: v for k, v in f.items() if k != "id"} for f in store.release_fits(draft["id"])]
    store.save_draft(year, settings=draft["settings"], provenance=draft["provenance"],
                     fits=fits, scores=scores, issues=draft["issues"])
    return scores.loc[brand, "code"]


# --- publish --------------------------------------------------------------------------------

def test_cli_publish_records_publisher_embargo_and_prints_the_hash(store):
    before = Query(store).published_releases()
    r = run("publish", "--year", DRAFT, "--embargo-until", "2099-03-15T09:00+08:00",
            "--by", "编辑 王")
    assert r.exit_code == 0, r.output
    rel = store.release(DRAFT)
    assert rel["published_by"] == "编辑 王"
    assert rel["embargo_until"] == FAR and rel["embargo_until"].hour == 1
    assert f"release {rel['id']} for {DRAFT} published by 编辑 王" in r.output
    assert rel["content_sha256"] in r.output and store.verify_release(rel["id"])
    assert "2099-03-15 01:00 UTC" in r.output and "2099-03-15T09:00:00+08:00" in r.output
    assert "禁发" in r.output
    # under embargo: the public query layer and `ncsi rankings` do not show it
    assert Query(store).published_releases() == before
    r = run("rankings", "--year", DRAFT, "--format", "json")
    assert r.exit_code == 1 and "under embargo until 2099-03-15" in r.output


def test_cli_publish_default_publisher(store, monkeypatch):
    r = run("publish", "--year", DRAFT)
    assert r.exit_code == 0, r.output
    assert store.release(DRAFT)["published_by"] == "tester"  # NCSI_USER
    assert "embargo: none" in r.output and store.release(DRAFT)["embargo_until"] is None
    assert "Traceback" not in r.output


def test_cli_publish_default_publisher_is_the_login_name(store, monkeypatch):
    monkeypatch.delenv("NCSI_USER")
    assert run("publish", "--year", DRAFT).exit_code == 0
    assert store.release(DRAFT)["published_by"] == getpass.getuser()


@pytest.mark.parametrize("value, fragment", [
    ("2099-03-15T09:00", "has no time zone"),
    ("15/03/2099", "is not a date and time"),
    ("2020-03-15T09:00+08:00", "not in the future"),
])
def test_cli_publish_refuses_a_bad_embargo_and_writes_nothing(store, value, fragment):
    before = store.snapshot()
    r = run("publish", "--year", DRAFT, "--embargo-until", value)
    assert r.exit_code == 1, r.output
    assert fragment in r.output and "Traceback" not in r.output
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 2 and all(line.startswith("error: ") for line in lines)  # en + zh
    assert store.snapshot() == before


# --- embargo and flags in the query layer ----------------------------------------------------

def test_embargoed_release_is_invisible_until_it_lifts(store):
    industry = "liquid_milk"
    public = Query(store)
    history_before = public.history(industry)
    store.publish(DRAFT, by="editor", embargo_until=FAR)
    rid = store.release(DRAFT)["id"]

    q = Query(store)
    assert q.published_years() == [PUBLISHED]
    assert q.published_releases() == public.published_releases()
    assert q.industries(DRAFT) == [] and q.industry_years(industry) == [PUBLISHED]
    assert q.ranking(DRAFT, industry).empty
    assert set(q.history(industry)["year"]) == {PUBLISHED}
    pd.testing.assert_frame_equal(q.history(industry), history_before)
    assert set(q.trend(industry)["year"]) == {PUBLISHED}
    assert (q.scores()["year"] == PUBLISHED).all()
    embargoed = q.embargoed()
    assert embargoed[["year", "id"]].values.tolist() == [[DRAFT, rid]]
    assert embargoed.loc[0, "embargo_until"] == pd.Timestamp(FAR)

    # the publisher's preview
    preview = Query(store, include_embargoed=True)
    assert preview.published_years() == [PUBLISHED, DRAFT]
    assert not preview.ranking(DRAFT, industry).empty
    assert (DRAFT, rid) in preview.published_releases()

    # the moment it lifts, a new read shows it (the dashboard keys its Query on this tuple)
    just_before = Query(store, now=FAR - timedelta(seconds=1))
    at = Query(store, now=FAR)
    assert just_before.published_years() == [PUBLISHED]
    assert at.published_years() == [PUBLISHED, DRAFT] and at.embargoed().empty
    assert at.published_releases() != just_before.published_releases()
    assert just_before.published_releases() == public.published_releases()
    assert at.published_releases() == preview.published_releases()
    pd.testing.assert_frame_equal(at.ranking(DRAFT, industry),
                                  preview.ranking(DRAFT, industry))
    with pytest.raises(ValueError, match="time zone"):
        Query(store, now=datetime(2099, 1, 1))


def test_release_without_embargo_is_visible_at_once(store):
    store.publish(DRAFT)
    assert Query(store).published_years() == [PUBLISHED, DRAFT]
    assert Query(store).embargoed().empty


def test_flags_pass_through_history_trend_and_ranking(store):
    brand = resave_draft_with_flags(store)
    store.publish(DRAFT)
    q = Query(store)
    h = q.history("liquid_milk")
    current = h[h["year"] == DRAFT].set_index(["level", "code"])["flags"]
    assert current[("brand", brand)] == INVARIANCE
    assert current[("industry", "liquid_milk")] == {"invariance": {"ok": True, "reason": None}}
    stored = store.published_scores().set_index(["year", "level", "code", "construct"])["flags"]
    for row in h.itertuples(index=False):
        assert row.flags == stored[(row.year, row.level, row.code, row.construct)]
    trend = q.trend("liquid_milk")
    assert list(trend.columns) == ["year", "level", "code", "name", "index", "ci_low",
                                   "ci_high", "n", "flags"]
    plain = q.ranking(DRAFT, "liquid_milk")
    assert "flags" not in plain.columns  # unchanged unless asked for
    flagged = q.ranking(DRAFT, "liquid_milk", flags=True)
    assert list(flagged.columns) == list(plain.columns) + ["flags"]
    pd.testing.assert_frame_equal(flagged.drop(columns="flags"), plain)
    by_code = dict(zip(flagged["code"], flagged["flags"]))
    assert by_code[brand] == INVARIANCE
    assert sum(f is not None for f in by_code.values()) == 2
    shown = q.display_rows(flagged).set_index("code")["comparable"]
    assert shown[brand].startswith("✗" if not INVARIANCE["invariance"]["ok"] else "✓")
    assert (shown.drop([brand, "liquid_milk"]) == "").all()
    # the stored flags are part of the published content
    assert store.verify_release(store.release(DRAFT)["id"])


# --- ncsi release list / show ----------------------------------------------------------------

def test_release_list(store):
    store.publish(DRAFT, by="editor", embargo_until=FAR)
    build_draft_2026 = store.release_scores(store.release(DRAFT)["id"])
    store.save_draft(2026, settings={}, provenance={}, fits=[], scores=build_draft_2026,
                     issues=[])
    r = run("release", "list")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    rows = {line.split()[0]: line for line in lines if line[:4].isdigit()}
    assert set(rows) == {"2024", "2025", "2026"}
    listing = store.releases().set_index("year")
    assert "first-editor" in rows["2024"] and listing.loc[2024, "content_sha256"][:12] in rows[
        "2024"]
    assert "2099-03-15 01:00 *" in rows["2025"] and "editor" in rows["2025"]
    assert "draft" in rows["2026"]
    assert any("embargo in force" in line for line in lines)
    r = run("release", "list", "--json")
    records = json.loads(r.stdout)
    assert [(x["year"], x["status"]) for x in records] == [
        (2024, "published"), (2025, "published"), (2026, "draft")]
    assert records[1]["embargo_until"] == "2099-03-15T01:00:00+00:00"
    assert records[1]["embargo_in_force"] is True and records[0]["embargo_in_force"] is False
    assert records[2]["content_sha256"] is None and records[2]["published_at"] is None


def test_release_list_on_an_empty_store(store_url, monkeypatch):
    monkeypatch.setenv("NCSI_DATABASE_URL", store_url)
    r = run("release", "list")
    assert r.exit_code == 0 and "no releases yet" in r.output
    assert json.loads(run("release", "list", "--json").stdout) == []


def test_describe_release(store):
    d = describe_release(store, PUBLISHED)
    rel = store.release(PUBLISHED)
    assert (d["year"], d["status"], d["id"]) == (PUBLISHED, "published", rel["id"])
    assert d["verified"] is True and d["content_sha256"] == rel["content_sha256"]
    assert d["published_by"] == "first-editor" and d["embargo_until"] is None
    assert d["settings"] == rel["settings"]
    assert d["code"]["ncsi_version"] and "git_commit" in d["code"]
    assert set(d["questionnaires"]) == set(rel["provenance"]["questionnaires"])
    assert all(len(q["model_sha256"]) == 64 for q in d["questionnaires"].values())
    waves = store.waves(PUBLISHED)
    assert sorted(w["source_sha256"] for w in d["waves"]) == sorted(waves["source_sha256"])
    assert d["versions"]["consumption_weights"]["version"]
    expected_seeds = {f"settings.{k}": v for k, v in flatten(rel["settings"]).items()
                      if "seed" in k.rsplit(".", 1)[-1].lower()}
    assert expected_seeds.items() <= d["seeds"].items()  # e.g. the bootstrap's seed
    assert all("seed" in k.lower() for k in d["seeds"])
    scores = store.release_scores(rel["id"])
    assert d["score_rows"] == {lvl: int((scores["level"] == lvl).sum()) for lvl in LEVELS}
    assert d["score_rows"]["nation"] > 0
    assert d["flagged_score_rows"] == int(scores["flags"].map(lambda f: f is not None).sum())
    assert {f["industry"] for f in d["fits"]} == {"liquid_milk", "edible_oil", "sportswear",
                                                   "residential"}
    assert all(f["status"] == "ok" for f in d["fits"])
    json.dumps(d)  # JSON-ready as it is
    draft = describe_release(store, DRAFT, status="draft")
    assert draft["status"] == "draft" and draft["verified"] is None
    assert draft["content_sha256"] is None and draft["published_at"] is None


def test_describe_release_finds_seeds(store):
    draft = store.release(DRAFT, status="draft")
    scores = store.release_scores(draft["id"])
    store.save_draft(DRAFT, settings={**draft["settings"], "bootstrap": {"n": 200, "seed": 7}},
                     provenance={**draft["provenance"], "seeds": [1, 2]}, fits=[],
                     scores=scores, issues=[])
    d = describe_release(store, DRAFT, status="draft")
    assert {"settings.bootstrap.seed": 7, "provenance.seeds[0]": 1,
            "provenance.seeds[1]": 2}.items() <= d["seeds"].items()


def test_cli_release_show(store):
    resave_draft_with_flags(store)
    r = run("release", "show", "--year", PUBLISHED)
    assert r.exit_code == 0, r.output
    rel = store.release(PUBLISHED)
    out = r.output
    assert f"release {rel['id']}: {PUBLISHED} published" in out
    assert "first-editor" in out and rel["content_sha256"] in out and "verified" in out
    for text in ("settings / 设置", "provenance / 来源", "issues / 问题", "model fits / 模型估计",
                 "score rows / 得分行数", "questionnaire ncsi-food", "wave ", "seeds",
                 "ncsi_version", "git_commit", "consumption_weights", "liquid_milk",
                 "scheme: path"):
        assert text in out, text
    r = run("release", "show", "--year", DRAFT, "--draft")
    assert r.exit_code == 0, r.output
    assert f"{DRAFT} draft" in r.output and "2 with flags" in r.output
    r = run("release", "show", "--year", DRAFT, "--draft", "--json")
    d = json.loads(r.stdout)
    assert d == json.loads(json.dumps(describe_release(store, DRAFT, status="draft")))
    assert d["flagged_score_rows"] == 2


@pytest.mark.parametrize("args, fragments", [
    (("--year", DRAFT), ["no published release for 2025", "--draft"]),
    (("--year", PUBLISHED, "--draft"), ["no draft release for 2024", "already published"]),
    (("--year", 1999), ["no published release for 1999", "ncsi build --year 1999"]),
    (("--year", 1999, "--draft"), ["no draft release for 1999", "ncsi build --year 1999"]),
])
def test_cli_release_show_says_what_to_do(store, args, fragments):
    r = run("release", "show", *args)
    assert r.exit_code == 1
    for fragment in fragments:
        assert fragment in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 2


# --- ncsi release diff ------------------------------------------------------------------------

def test_diff_draft_against_the_latest_published(store):
    diff = diff_draft(store, DRAFT)
    assert diff.construct == "SAT"
    assert diff.base["year"] == PUBLISHED and diff.draft["year"] == DRAFT
    old = store.release_scores(store.release(PUBLISHED)["id"])
    new = store.release_scores(store.release(DRAFT, status="draft")["id"])
    key = ["level", "code"]
    expected = pd.merge(old[old.construct == "SAT"][key + ["index"]],
                        new[new.construct == "SAT"][key + ["index"]], on=key, how="outer",
                        suffixes=("_old", "_new"))
    got = diff.scores
    assert len(got) == len(expected)
    merged = got.merge(expected, on=key, validate="one_to_one")
    np.testing.assert_allclose(merged["old"], merged["index_old"])
    np.testing.assert_allclose(merged["new"], merged["index_new"])
    np.testing.assert_allclose(merged["difference"], merged["index_new"] - merged["index_old"])
    # ordered by level, then by |difference|, largest first, missing differences last
    order = [LEVELS.index(lvl) for lvl in got["level"]]
    assert order == sorted(order) and set(got["level"]) == set(LEVELS)
    for _, part in got.groupby("level"):
        size = part["difference"].abs().tolist()
        known = [x for x in size if not np.isnan(x)]
        assert known == sorted(known, reverse=True)
        assert all(np.isnan(x) for x in size[len(known):])
    assert diff.settings == []  # built with the same settings
    changed = {c["key"] for c in diff.provenance}
    assert "built_at" in changed and any(k.startswith("waves[") for k in changed)
    assert not any(k.startswith("questionnaires") for k in changed)
    # another construct
    loy = diff_draft(store, DRAFT, construct="LOY")
    assert loy.construct == "LOY" and len(loy.scores) == len(got)
    assert not np.allclose(loy.scores["new"].dropna().sort_values(),
                           got["new"].dropna().sort_values())


def test_cli_release_diff(store):
    r = run("release", "diff", "--year", DRAFT)
    assert r.exit_code == 0, r.output
    out = r.output
    base = store.release(PUBLISHED)
    assert f"{DRAFT} draft" in out and f"vs published {PUBLISHED}" in out
    assert base["content_sha256"][:12] in out and "construct SAT" in out
    positions = [out.index(f"\n{level} (") for level in LEVELS]
    assert positions == sorted(positions)
    assert "settings / 设置: identical" in out and "provenance / 来源:" in out
    assert "built_at:" in out
    diff = diff_draft(store, DRAFT)
    top = diff.scores[diff.scores["level"] == "brand"].iloc[0]
    assert f"{top['difference']:+.2f}" in out
    r = run("release", "diff", "--year", DRAFT, "--construct", "LOY", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["construct"] == "LOY" and d["base"]["year"] == PUBLISHED
    assert len(d["scores"]) == len(diff.scores)
    assert {"level", "code", "parent", "old", "new", "difference"} == set(d["scores"][0])
    assert "NaN" not in r.stdout


def test_diff_settings_and_provenance_changes_are_listed(store):
    draft = store.release(DRAFT, status="draft")
    scores = store.release_scores(draft["id"])
    settings = {**draft["settings"], "scheme": "centroid"}
    provenance = json.loads(json.dumps(draft["provenance"]))
    sid = sorted(provenance["questionnaires"])[0]
    provenance["questionnaires"][sid]["model_sha256"] = "0" * 64
    store.save_draft(DRAFT, settings=settings, provenance=provenance, fits=[], scores=scores,
                     issues=[])
    diff = diff_draft(store, DRAFT)
    assert {"key": "scheme", "old": "path", "new": "centroid"} in diff.settings
    assert f"questionnaires.{sid}.model_sha256" in {c["key"] for c in diff.provenance}
    r = run("release", "diff", "--year", DRAFT)
    assert "scheme: path → centroid" in r.output and "1 key(s) differ" in r.output


def test_diff_against_an_older_year_when_years_are_skipped(store):
    """A draft of 2027 with 2025 published (and nothing in 2026) is compared with 2025."""
    draft = store.release(DRAFT, status="draft")
    scores = store.release_scores(draft["id"])
    store.publish(DRAFT, embargo_until=FAR)  # embargoed releases are compared too
    store.save_draft(2027, settings=draft["settings"], provenance=draft["provenance"],
                     fits=[], scores=scores, issues=[])
    diff = diff_draft(store, 2027)
    assert diff.base["year"] == DRAFT
    assert np.allclose(diff.scores["difference"].fillna(0), 0)  # same scores


@pytest.mark.parametrize("case, fragments", [
    ("no draft", ["no draft release for 2024", "already published"]),
    ("no draft at all", ["no draft release for 2031", "ncsi build --year 2031"]),
    ("nothing published", ["nothing published to compare the 2020 draft with"]),
    ("unknown construct", ["construct 'NOPE' has no scores", "SAT"]),
])
def test_cli_release_diff_says_what_to_do(store, case, fragments):
    year, extra = {"no draft": (PUBLISHED, []), "no draft at all": (2031, []),
                   "nothing published": (2020, []),
                   "unknown construct": (DRAFT, ["--construct", "NOPE"])}[case]
    if case == "nothing published":
        draft = store.release(DRAFT, status="draft")
        store.save_draft(2020, settings={}, provenance={}, fits=[],
                         scores=store.release_scores(draft["id"]), issues=[])
    before = store.snapshot()
    r = run("release", "diff", "--year", year, *extra)
    assert r.exit_code == 1, r.output
    for fragment in fragments:
        assert fragment in r.output
    assert "Traceback" not in r.output and len(r.output.strip().splitlines()) == 2
    assert store.snapshot() == before
    with pytest.raises(ReleaseError):
        diff_draft(store, year, construct="NOPE" if extra else None)


def test_flatten():
    assert flatten({"a": {"b": 1, "c": [1, {"d": 2}]}, "e": {}, "f": []}) == {
        "a.b": 1, "a.c[0]": 1, "a.c[1].d": 2, "e": {}, "f": []}
