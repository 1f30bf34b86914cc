"""Pages are bilingual: Simplified Chinese by default, English through Django i18n.

The catalog checks read src/tenderhall/locale/zh_Hans/LC_MESSAGES: every entry of the .po is
translated, and the compiled .mo holds exactly the same translations, so a .mo that was not
recompiled after the .po changed fails here (file dates are not compared: git does not keep them).
"""

from __future__ import annotations

import ast
import gettext
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

LOGIN = "/accounts/login/"
MESSAGES_DIR = Path(settings.LOCALE_PATHS[0]) / "zh_Hans" / "LC_MESSAGES"
PO_PATH = MESSAGES_DIR / "django.po"
MO_PATH = MESSAGES_DIR / "django.mo"
SOURCE_DIR = Path(settings.BASE_DIR)


# --- pages ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_login_page_is_chinese_by_default(client: Client) -> None:
    response = client.get(LOGIN)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html
    assert "Sign in" not in html


@pytest.mark.django_db
def test_login_page_follows_accept_language_en(client: Client) -> None:
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "登录" not in html


@pytest.mark.django_db
def test_language_switch_sets_cookie_and_next_page_is_english(client: Client) -> None:
    response = client.post("/i18n/setlang/", {"language": "en", "next": LOGIN})
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"

    html = client.get(LOGIN).content.decode()
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "登录" not in html

    # The cookie wins over the browser's preference, and switching back works the same way.
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": LOGIN})
    html = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in html
    assert "登录" in html


# --- the catalog ------------------------------------------------------------------------------


@dataclass
class PoEntry:
    line: int
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    def catalog_keys(self) -> dict[object, str]:
        """The keys ``gettext.GNUTranslations`` files this entry under, with their translations."""
        msgid = self.msgid if self.msgctxt is None else f"{self.msgctxt}\x04{self.msgid}"
        if self.msgid_plural is None:
            return {msgid: self.msgstr.get(0, "")}
        return {(msgid, n): text for n, text in self.msgstr.items()}


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(".*")\s*$')
_CONTINUATION = re.compile(r'^(".*")\s*$')


def parse_po(path: Path) -> list[PoEntry]:
    """A small .po reader: entries, their flags and their (possibly multi-line) strings.

    Obsolete entries (``#~``) are skipped, as msgfmt skips them.
    """
    entries: list[PoEntry] = []
    entry: PoEntry | None = None
    flags: set[str] = set()
    target: tuple[str, int] | None = None  # which string a continuation line extends

    def finish() -> None:
        nonlocal entry
        if entry is not None:
            entries.append(entry)
        entry = None

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
            target = None
            continue
        if line.startswith("#~"):
            continue
        if line.startswith("#,"):
            finish()
            flags |= {flag.strip() for flag in line[2:].split(",") if flag.strip()}
            continue
        if line.startswith("#"):
            if entry is not None and entry.msgstr:
                finish()
            continue
        if match := _KEYWORD.match(line):
            keyword, index, literal = match.groups()
            text = ast.literal_eval(literal)
            if keyword in ("msgctxt", "msgid") and (entry is None or entry.msgstr):
                finish()
            if entry is None:
                entry = PoEntry(line=number, flags=flags)
                flags = set()
            if keyword == "msgctxt":
                entry.msgctxt, target = text, ("msgctxt", 0)
            elif keyword == "msgid":
                entry.msgid, target = text, ("msgid", 0)
            elif keyword == "msgid_plural":
                entry.msgid_plural, target = text, ("msgid_plural", 0)
            else:
                n = int(index or 0)
                entry.msgstr[n], target = text, ("msgstr", n)
            continue
        if (match := _CONTINUATION.match(line)) and entry is not None and target is not None:
            text = ast.literal_eval(match.group(1))
            name, n = target
            if name == "msgstr":
                entry.msgstr[n] += text
            else:
                setattr(entry, name, (getattr(entry, name) or "") + text)
            continue
        raise AssertionError(f"{path}:{number}: cannot read this line: {raw!r}")
    finish()
    return entries


def _placeholders(text: str) -> list[str]:
    return sorted(re.findall(r"%(?:\(\w+\))?[sdif]|\{\w*\}", text))


@pytest.fixture(scope="module")
def po_entries() -> list[PoEntry]:
    assert PO_PATH.exists(), f"{PO_PATH} is missing: run makemessages -l zh_Hans"
    entries = parse_po(PO_PATH)
    assert entries and entries[0].msgid == "", "the .po has no header entry"
    return entries


def test_po_is_fully_translated(po_entries: list[PoEntry]) -> None:
    header, *messages = po_entries
    assert "fuzzy" not in header.flags, "the .po header is still marked fuzzy"
    assert "charset=UTF-8" in header.msgstr.get(0, "")
    assert len(messages) > 100  # the catalog was read, not silently empty
    problems = []
    for entry in messages:
        where = f"django.po:{entry.line} {entry.msgid!r}"
        if "fuzzy" in entry.flags:
            problems.append(f"{where}: fuzzy")
        forms = entry.msgstr or {0: ""}
        if not all(text.strip() for text in forms.values()):
            problems.append(f"{where}: not translated")
        for n, text in forms.items():
            # A plural form is checked against the plural msgid (Chinese has one form, for every count).
            source = (
                entry.msgid_plural
                if (entry.msgid_plural is not None and n > 0)
                or (entry.msgid_plural is not None and len(forms) == 1)
                else entry.msgid
            )
            if text and _placeholders(text) != _placeholders(source):
                problems.append(f"{where}: placeholders differ in {text!r}")
    assert not problems, "\n".join(problems)


def test_mo_matches_po(po_entries: list[PoEntry]) -> None:
    assert MO_PATH.exists(), f"{MO_PATH} is missing: run compilemessages"
    with MO_PATH.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog = dict(compiled._catalog)  # type: ignore[attr-defined]  # the only way to see all entries
    catalog.pop("", None)  # the header

    expected: dict[object, str] = {}
    for entry in po_entries[1:]:
        expected.update(entry.catalog_keys())
    stale = sorted(
        f"{key!r}: .po says {text!r}, .mo says {catalog.get(key)!r}"
        for key, text in expected.items()
        if catalog.get(key) != text
    )
    extra = sorted(repr(key) for key in catalog.keys() - expected.keys())
    assert not stale and not extra, "django.mo is stale: run compilemessages\n" + "\n".join(
        stale + [f"only in .mo: {k}" for k in extra]
    )


# --- the sources ------------------------------------------------------------------------------

_TEMPLATE_STRING = re.compile(r"""\{%\s*(?:translate|trans)\s+("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')""")
_PYTHON_STRING = re.compile(
    r"""(?<![\w.])(?:_|gettext|gettext_lazy|gettext_noop)\(\s*("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')\s*[,)]"""
)


def _source_strings() -> dict[str, str]:
    """Strings marked with a single literal in the templates and Python files, with a place."""
    found: dict[str, str] = {}
    for path in sorted(SOURCE_DIR.rglob("*")):
        if "migrations" in path.parts or path.suffix not in (".html", ".py"):
            continue
        pattern = _TEMPLATE_STRING if path.suffix == ".html" else _PYTHON_STRING
        text = path.read_text(encoding="utf-8")
        for match in pattern.finditer(text):
            literal = match.group(1)
            # Django writes a template's % as %% in the msgid (it is a format string there).
            value = literal[1:-1].replace("%", "%%") if path.suffix == ".html" else ast.literal_eval(literal)
            place = f"{path.relative_to(SOURCE_DIR)}:{text.count(chr(10), 0, match.start()) + 1}"
            found.setdefault(value, place)
    return found


def test_every_marked_string_is_in_the_po(po_entries: list[PoEntry]) -> None:
    """A string marked in a template or in Python but never extracted would show in English only."""
    known = {entry.msgid for entry in po_entries}
    marked = _source_strings()
    assert len(marked) > 50  # the scan found the sources
    missing = sorted(f"{place}: {msgid!r}" for msgid, place in marked.items() if msgid not in known)
    assert not missing, "run makemessages -l zh_Hans and translate:\n" + "\n".join(missing)
