"""`tenderhall timeline`: the statutory timeline on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tenderhall.core.calendar import bundled_year_data, calendar_year_load


def _run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("timeline", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def stored_2026(db: None) -> None:
    calendar_year_load(acting_user=None, year=2026, data=bundled_year_data(2026))


@pytest.fixture
def holidays_file(tmp_path: Path) -> Path:
    path = tmp_path / "holidays.json"
    data = bundled_year_data(2026)
    path.write_text(
        json.dumps({"holidays": data["holidays"], "workdays": data["workdays"]}), encoding="utf-8"
    )
    return path


def test_table_with_stored_calendar(stored_2026: None) -> None:
    out, err = _run("--procedure", "open", "--docs-issued", "2026-09-28", "--sale-end", "2026-10-08")
    for text in (
        "招标文件发售期 / Tender documents sale period",
        "条例 Art 16",
        "投标文件编制期（等标期） / Bid preparation period",
        "法 Art 24",
        "法 Art 23, 条例 Art 21",
        "条例 Art 22",
        "OK 符合",
    ):
        assert text in out
    sale_row = next(line for line in out.splitlines() if "Tender documents sale period" in line)
    assert "2026-10-08" in sale_row  # the fifth day is in 国庆: only known from the stored calendar
    assert "earliest lawful deadline 最早合法截止日: 2026-10-18" in out
    assert err == ""


def test_json_output(stored_2026: None) -> None:
    out, _ = _run(
        "--procedure",
        "competitive_negotiation",
        "--docs-issued",
        "2026-02-13",
        "--deadline",
        "2026-02-25",
        "--json",
    )
    data = json.loads(out)
    assert data["procedure"] == "competitive_negotiation"
    assert data["earliest_deadline"] == "2026-02-25"  # 02-14 (make-up Saturday) counts
    assert data["complies"] is True
    assert [r["article"] for r in data["rules"]] == ["74号令 Art 29", "74号令 Art 29"]


@pytest.mark.django_db
def test_holidays_file_instead_of_stored_calendar(holidays_file: Path) -> None:
    # The database calendar is empty here: without the file 02-14 would be a plain Saturday.
    args = ("--procedure", "inquiry", "--docs-issued", "2026-02-13", "--json")
    stored, err = _run(*args)
    assert json.loads(stored)["earliest_deadline"] == "2026-02-18"
    assert "no public holidays for 2026" in err
    from_file, err = _run(*args, "--holidays", str(holidays_file))
    assert json.loads(from_file)["earliest_deadline"] == "2026-02-25"
    assert err == ""


def test_non_compliant_deadline_exits_with_the_broken_rule(holidays_file: Path) -> None:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "timeline",
            "--procedure",
            "open",
            "--docs-issued",
            "2026-03-02",
            "--deadline",
            "2026-03-20",
            "--holidays",
            str(holidays_file),
            stdout=out,
            stderr=err,
        )
    message = str(caught.value)
    assert "bid_preparation_period" in message and "法 Art 24" in message
    assert "2026-03-20" in message and "2026-03-22" in message
    assert "\n" not in message
    assert "FAIL 不符合" in out.getvalue()  # the table is printed first


def test_non_compliant_json_still_printed(holidays_file: Path) -> None:
    out = StringIO()
    with pytest.raises(CommandError, match="docs_sale_period"):
        call_command(
            "timeline",
            "--procedure",
            "invited",
            "--docs-issued",
            "2026-03-02",
            "--sale-end",
            "2026-03-06",
            "--holidays",
            str(holidays_file),
            "--json",
            stdout=out,
            stderr=StringIO(),
        )
    assert json.loads(out.getvalue())["complies"] is False


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('{"holidays": ["2026-13-01"]}', "not a real calendar date"),
        (
            '{"holidays": ["2026-10-01"], "workdays": ["2026-10-01"]}',
            "both as a holiday and as a working day",
        ),
        ('{"holidays": [], "extra": 1}', "unknown key"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_bad_holidays_file(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(CommandError, match=problem) as caught:
        _run("--procedure", "open", "--docs-issued", "2026-03-02", "--holidays", str(path))
    assert str(path) in str(caught.value)


def test_missing_holidays_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="cannot read holiday file"):
        _run("--procedure", "open", "--docs-issued", "2026-03-02", "--holidays", str(tmp_path / "none.json"))


@pytest.mark.parametrize(
    "args",
    [
        ("--procedure", "auction", "--docs-issued", "2026-03-02"),
        ("--procedure", "open", "--docs-issued", "2026-02-30"),
        ("--procedure", "open", "--docs-issued", "2026-03-02", "--deadline", "soon"),
        ("--procedure", "open"),
    ],
)
def test_bad_arguments(args: tuple[str, ...], holidays_file: Path) -> None:
    with pytest.raises(CommandError):
        _run(*args, "--holidays", str(holidays_file))


def test_exit_status_from_the_command_line(holidays_file: Path) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    args = [sys.executable, "-m", "django", "timeline", "--procedure", "open", "--docs-issued", "2026-03-02"]
    args += ["--holidays", str(holidays_file)]
    ok = subprocess.run(
        [*args, "--deadline", "2026-03-22"], capture_output=True, text=True, env=env, check=False
    )
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(
        [*args, "--deadline", "2026-03-21"], capture_output=True, text=True, env=env, check=False
    )
    assert bad.returncode == 1
    assert "FAIL" in bad.stdout
    assert (
        bad.stderr.strip()
        .splitlines()[-1]
        .startswith("CommandError: does not comply: bid_preparation_period")
    )
