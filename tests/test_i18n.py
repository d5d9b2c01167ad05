"""Translations: every message has French and German, the catalogs shipped are compiled from the
sources, the command line speaks the environment's language, and data files never change with it."""

from __future__ import annotations

import datetime as dt
import gettext
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from migrator import i18n

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "migrator" / "locale"
PLACEHOLDER = re.compile(r"\{[a-z_]+(?:![rs])?\}|%\([a-z_]+\)s")


def _catalog(lang: str):
    with (LOCALE / lang / "LC_MESSAGES" / "migrator.po").open("rb") as f:
        return read_po(f)


def _extracted(tmp_path: Path) -> set[str]:
    """The message ids in the code and templates now, as `make locale` extracts them."""
    pot = tmp_path / "now.pot"
    subprocess.run([str(Path(sys.executable).parent / "pybabel"), "--quiet", "extract", "-F", "babel.cfg", "-k", "N_", "-k", "_h",
                    "-k", "ngettext:1,2", "--no-location", "--omit-header", "-o", str(pot), "."],
                   check=True, cwd=ROOT, timeout=300)  # fmt: skip
    with pot.open("rb") as f:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(f) if m.id}


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_every_message_in_the_code_has_a_translation(lang: str, tmp_path: Path) -> None:
    catalog = _catalog(lang)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id if isinstance(message.id, str) else message.id[0]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if all(strings) and not message.fuzzy:
            translated[key] = message
    missing = sorted(_extracted(tmp_path) - set(translated))
    assert not missing, f"{lang}: no translation for {missing[:10]} (run `make locale` and translate)"


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_translations_keep_every_placeholder(lang: str) -> None:
    for message in _catalog(lang):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for text in strings:
            assert set(PLACEHOLDER.findall(text)) == wanted, (lang, message.id, text)


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_the_shipped_mo_file_is_compiled_from_the_po_file(lang: str) -> None:
    compiled = gettext.GNUTranslations((LOCALE / lang / "LC_MESSAGES" / "migrator.mo").open("rb"))
    for message in _catalog(lang):
        if message.id and isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, message.id


def test_language_comes_from_the_environment_in_posix_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "de_CH.UTF-8")
    monkeypatch.delenv("MIGRATOR_LANG", raising=False)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    assert i18n.from_environment() == "de_CH"
    monkeypatch.setenv("LC_MESSAGES", "fr_CH.UTF-8")
    assert i18n.from_environment() == "fr_CH"
    monkeypatch.setenv("LC_ALL", "C")
    assert i18n.from_environment() == "en"


def test_accept_language_picks_the_best_language_migrator_speaks() -> None:
    assert i18n.from_accept_language("es-ES,es;q=0.9,de-CH;q=0.8,fr;q=0.7") == "de_CH"
    assert i18n.from_accept_language("fr;q=0.5, de;q=0.9") == "de"
    assert i18n.from_accept_language("ja, zh;q=0.8", fallback="en") == "en"
    assert i18n.from_accept_language("") == "en"


def test_numbers_and_dates_follow_the_locale() -> None:
    day = dt.date(2024, 12, 31)
    with i18n.using("de_CH"):
        assert (i18n.money(123450), i18n.money(-100), i18n.date(day)) == ("1'234.50", "-1.00", "31.12.2024")
    with i18n.using("fr_CH"):
        assert (i18n.money(123456789), i18n.date(day)) == ("1'234'567.89", "31.12.2024")
    with i18n.using("de_DE"):
        assert (i18n.money(123450), i18n.date(day)) == ("1.234,50", "31.12.2024")
    with i18n.using("fr_FR"):
        assert (i18n.money(123450).replace("\u202f", " "), i18n.date(day)) == ("1 234,50", "31/12/2024")
    with i18n.using("en"):
        assert (i18n.money(123450), i18n.date(day), i18n.count(12345)) == ("1,234.50", "2024-12-31", "12,345")


def _run(args: list[str], lang: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANGUAGE", "MIGRATOR_LANG"))}
    env["LANG"] = lang
    return subprocess.run([sys.executable, "-m", "migrator", *args], capture_output=True, text=True, cwd=cwd, env=env,
                          timeout=300)  # fmt: skip


def test_the_command_line_speaks_french_with_a_swiss_french_lang(tmp_path: Path) -> None:
    done = _run(["convert", str(ROOT / "samples/garage/journal.csv"), "--to", "xlsx", "-o", "out.xlsx"],
                "fr_CH.UTF-8", tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "lu csv : 23 écritures, 75 lignes, 19 comptes" in done.stdout
    assert "écrit xlsx : out.xlsx" in done.stdout
    assert "vérifié" in done.stdout and "verified" not in done.stdout
    refused = _run(["convert", str(ROOT / "samples/garage/journal.csv"), "--to", "bexio", "-o", "-"], "fr_CH.UTF-8",
                   tmp_path)  # fmt: skip
    assert refused.returncode == 2
    assert "Erreur : bexio écrit un dossier de fichiers" in refused.stderr and "Utilisation :" in refused.stderr
    german = _run(["--help"], "de_CH.UTF-8", tmp_path)
    assert "Aufruf:" in german.stdout and "Exit-Codes:" in german.stdout


def test_lang_option_overrides_the_environment(tmp_path: Path) -> None:
    done = _run(["--lang", "de", "convert", str(ROOT / "samples/garage/journal.csv"), "--to", "csv", "-o", "o.csv"],
                "fr_CH.UTF-8", tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "csv gelesen: 23 Buchungen, 75 Zeilen, 19 Konten" in done.stdout


def _content(path: Path) -> bytes | dict[str, bytes]:
    """A file's bytes; a workbook's members but its creation time (docProps/core.xml), which differs by run."""
    if path.suffix != ".xlsx":
        return path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


@pytest.mark.parametrize("target", ["csv", "hledger", "bexio"])
def test_data_files_are_byte_for_byte_the_same_in_every_language(target: str, tmp_path: Path) -> None:
    written: dict[str, dict[str, bytes | dict[str, bytes]]] = {}
    for lang in ("en_US.UTF-8", "fr_CH.UTF-8", "de_CH.UTF-8"):
        out = tmp_path / lang / "out"
        out.parent.mkdir()
        done = _run(["convert", str(ROOT / "samples/garage/journal.csv"), "--to", target, "-o", str(out)], lang,
                    tmp_path)  # fmt: skip
        assert done.returncode == 0, done.stderr
        files = sorted(p for p in out.rglob("*") if p.is_file()) if out.is_dir() else [out]
        # The README beside a folder output is the import guide, written for a person in their language.
        written[lang] = {p.relative_to(out.parent).as_posix(): _content(p) for p in files
                         if not p.name.startswith(("README", ".migrator"))}  # fmt: skip
    english = written["en_US.UTF-8"]
    assert english
    assert written["fr_CH.UTF-8"] == english
    assert written["de_CH.UTF-8"] == english


def test_a_finished_message_is_shown_translated_and_its_data_stay_english() -> None:
    from migrator.model import Problem

    loss = ("open items: 2 before, 0 after (missing: F24-202, R24-002) (declared: 2 open items not carried by this "
            "format: left out)")  # fmt: skip
    with i18n.using("fr_CH"):
        assert i18n.shown(loss) == ("postes ouverts : 2 avant, 0 après (manquants : F24-202, R24-002) (déclaré : 2 postes "
                                    "ouverts non repris par ce format : laissés de côté)")  # fmt: skip
        found = Problem("error", "entry 17 does not balance: 0.05 more debit", "journal.csv", 12)
        assert i18n.problem(found) == (
            "erreur : journal.csv, ligne 12 : l'écriture 17 n'est pas équilibrée : 0.05 de plus au débit"
        )
        assert i18n.shown("a message no template made") == "a message no template made"
    with i18n.using("de_CH"):
        assert i18n.shown("account 4711 is not in the chart of accounts (3 lines)") == (
            "Konto 4711 ist nicht im Kontenplan (3 Zeilen)"
        )
        # A list of several differences joined by ';' is translated difference by difference, never taken for
        # one "before/after" message; the columns are named as a person reads them.
        joined = "partners: 2 field(s) differ: C1 street: 'A' before, 'B' after; C2 city: 'X' before, 'Y' after"
        assert i18n.shown(joined) == (
            "Partner: 2 Feld(er) unterschiedlich: C1 Strasse: 'A' vorher, 'B' nachher; C2 Ort: 'X' vorher, 'Y' nachher"
        )
    with i18n.using("en"):
        assert i18n.shown(loss) == loss
    assert found.message == "entry 17 does not balance: 0.05 more debit"


def test_validation_problems_stay_english_in_the_data_whatever_the_language(tmp_path: Path) -> None:
    import migrator

    journal = tmp_path / "journal.csv"
    journal.write_text("date,entry,account,amount\n2024-01-05,1,1000,10.00\n2024-01-05,1,3200,-9.95\n", "utf-8")
    with i18n.using("fr_CH"):
        problems = migrator.validate(migrator.read(journal))
    assert "entry 1 does not balance: 0.05 more debit" in [p.message for p in problems]


CALL = re.compile(r"""\b(?:_|_h|N_)\((?P<q>["'])(?P<text>(?:(?!(?P=q)).|\\.)*?)(?P=q)\)""")


@pytest.mark.parametrize("lang", ["fr", "de"])
def test_messages_inside_f_strings_are_translated_too(lang: str) -> None:
    """Babel on Python 3.11 does not look into f-strings: every one-line literal marked anywhere is checked here."""
    known = {m.id for m in _catalog(lang) if m.id and isinstance(m.id, str) and m.string}
    missing = set()
    for path in (ROOT / "migrator").rglob("*.py"):
        for found in CALL.finditer(path.read_text(encoding="utf-8")):
            text = found.group("text").encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
            if text and text not in known:
                missing.add(f"{path.name}: {text}")
    assert not missing, sorted(missing)[:20]


def test_the_import_guide_beside_the_files_speaks_the_user_language(tmp_path: Path) -> None:
    done = _run(["convert", str(ROOT / "samples/garage/journal.csv"), "--to", "bexio", "-o", "fr"], "fr_CH.UTF-8",
                tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    guide = (tmp_path / "fr" / "README.md").read_text(encoding="utf-8")
    assert guide.startswith("# Fichiers d'importation bexio écrits par migrator\n")
    assert "(23 écritures)" in guide
    done = _run(["--lang", "de", "convert", str(ROOT / "samples/garage/journal.csv"), "--to", "banana", "-o", "de"],
                "C.UTF-8", tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Banana-Buchhaltung: Importdateien von migrator" in (tmp_path / "de" / "README.txt").read_text(
        encoding="utf-8"
    )
    english = _run(
        ["convert", str(ROOT / "samples/garage/journal.csv"), "--to", "bexio", "-o", "en"], "C.UTF-8", tmp_path
    )
    assert english.returncode == 0
    assert (
        (tmp_path / "en" / "README.md")
        .read_text(encoding="utf-8")
        .startswith("# bexio import files written by migrator")
    )


@pytest.mark.slow
def test_the_wheel_carries_the_compiled_catalogs_and_the_web_page(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
                    str(ROOT)], check=True, capture_output=True, timeout=300)  # fmt: skip
    [wheel] = tmp_path.glob("migrator-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for lang in ("fr", "de"):
        assert f"migrator/locale/{lang}/LC_MESSAGES/migrator.mo" in names
    for part in ("templates/base.html", "templates/result.html", "static/style.css", "static/drop.js", "app.py"):
        assert f"migrator/web/{part}" in names


def test_command_help_speaks_german(tmp_path: Path) -> None:
    done = _run(["convert", "--help"], "de_CH.UTF-8", tmp_path)
    assert done.returncode == 0
    assert "Die Buchhaltung in SOURCE nach FORMAT konvertieren" in done.stdout
    assert "Zielformat (siehe `migrator formats`).  [erforderlich]" in done.stdout
    assert "Beispiel:" in done.stdout and "Optionen:" in done.stdout


def test_amounts_days_and_counts_inside_a_message_follow_the_locale() -> None:
    with i18n.using("fr_CH"):
        assert i18n.shown("entry 17 does not balance: 1234.05 more credit") == (
            "l'écriture 17 n'est pas équilibrée : 1'234.05 de plus au crédit"
        )
        assert i18n.shown("12345 more entries do not balance") == "12'345 écritures de plus ne sont pas équilibrées"
    with i18n.using("de_DE"):
        assert i18n.shown("no fiscal year starts in 2021; the books hold: 2023, 2024") == (
            "kein Geschäftsjahr beginnt 2021; die Buchhaltung enthält: 2023, 2024"
        )
        assert "am 01.03.2024" in i18n.shown(
            "VAT code V81 has rate 7.6 %, not a standard Swiss rate on 2024-03-01 (8.1 %): fine for the net tax "
            "rate method or old books; carried as it is"
        )
        assert i18n.shown("entry 3 does not balance: 1234.05 more debit") == (
            "Buchung 3 ist nicht ausgeglichen: 1.234,05 mehr im Soll"
        )


def test_lang_reaches_the_clients_of_a_bulk_run(tmp_path: Path) -> None:
    root = tmp_path / "clients"
    root.mkdir()
    (root / "garage.csv").write_bytes((ROOT / "samples" / "garage" / "journal.csv").read_bytes())
    done = _run(["--lang", "fr", "bulk", str(root), "--to", "csv", "-o", str(tmp_path / "out"), "--jobs", "1"],
                "C.UTF-8", tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1 clients sur 1 convertis" in done.stdout
    report = next((tmp_path / "out").rglob("*.html"))
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*.html")]
    assert any("<h1>Rapport de rapprochement</h1>" in page for page in pages), report
    assert any("Vue d&#x27;ensemble de la migration groupée" in page for page in pages)


def _data_files(out: Path) -> dict[str, bytes | dict[str, bytes]]:
    """The data files of an output (its import guide, README, and manifest aside), each as `_content` gives
    it; a DATEV header's creation time (field 6 of its first line) blanked, as it differs by run."""
    files = sorted(p for p in out.rglob("*") if p.is_file()) if out.is_dir() else [out]
    found: dict[str, bytes | dict[str, bytes]] = {}
    for path in files:
        if path.name.startswith(("README", ".migrator")):
            continue
        content = _content(path)
        if path.name.startswith("EXTF_") and isinstance(content, bytes):
            head, _, rest = content.partition(b"\r\n")
            fields = head.split(b";")
            content = b";".join([*fields[:5], b"", *fields[6:]]) + b"\r\n" + rest
        found[path.relative_to(out).as_posix() if out.is_dir() else path.name] = content
    return found


WRITERS = [f.name for f in __import__("migrator.registry", fromlist=["FORMATS"]).FORMATS if f.writes]


@pytest.mark.parametrize("target", WRITERS)
def test_every_writer_writes_the_same_data_files_in_every_language(target: str, tmp_path: Path) -> None:
    """The Winbiz garage (partners, items, documents, two years) through every writer in English, French and
    German: the data files are the same bytes; only the import guide beside them changes language."""
    import migrator
    from migrator.registry import get

    kind = get(target)
    name = target + (kind.extensions[0] if kind.output == "file" and kind.extensions else "")
    written, guides = {}, {}
    for lang in ("en", "fr_CH", "de_CH"):
        out = tmp_path / lang / name
        out.parent.mkdir()
        with i18n.using(lang):
            migrator.convert(ROOT / "samples" / "winbiz" / "DAT", target, out, dossier="garage", allow_problems=True)
        written[lang] = _data_files(out)
        guides[lang] = sorted(p.read_text(encoding="utf-8") for p in out.glob("README*")) if out.is_dir() else []
    assert written["en"]
    assert written["fr_CH"] == written["en"]
    assert written["de_CH"] == written["en"]
    if guides["en"]:  # an import guide is written in the language of the person, never twice the English one
        assert guides["fr_CH"] != guides["en"] and guides["de_CH"] != guides["en"]


ENGLISH = re.compile(r"\b(?:the|not carried|left out|written|their|which|has no|kept)\b")


@pytest.mark.parametrize(("lang", "prefix", "title", "layout"), [
    ("de_CH.UTF-8", "nicht übernommen: ", "Banana-Buchhaltung: Importdateien von migrator",
     "Ein Ordner pro Geschäftsjahr (2023, 2024), jeder für seine eigene Banana-Datei."),
    ("fr_CH.UTF-8", "non repris : ", None, "Un dossier par exercice (2023, 2024), chacun pour son propre fichier Banana."),
])  # fmt: skip
def test_a_winbiz_dossier_to_banana_speaks_the_user_language(lang: str, prefix: str, title: str | None, layout: str,
                                                              tmp_path: Path) -> None:  # fmt: skip
    done = _run(["convert", str(ROOT / "samples/winbiz/DAT"), "--dossier", "garage", "--to", "banana", "-o", "out"],
                lang, tmp_path)  # fmt: skip
    assert done.returncode == 0, done.stderr
    said = done.stdout + done.stderr
    carried = [line for line in said.splitlines() if line.startswith(prefix)]
    # Banana's two opening entries a year, the partners and items it cannot hold, company, open items, documents.
    assert len(carried) == 8, said
    assert not [line for line in carried if ENGLISH.search(line)], carried
    assert "not carried" not in said and "before," not in said
    guide = (tmp_path / "out" / "README.txt").read_text(encoding="utf-8")
    if title:
        assert guide.startswith(title)
    assert layout in guide
    assert ("5. Kontakte: 2024/contacts.txt" if lang.startswith("de") else "5. Contacts : 2024/contacts.txt") in guide
    assert "Actions > Import into accounting" in guide  # Banana's menus as its English version names them
    assert not ENGLISH.search(guide.replace("Text file with column headers", "").replace("VAT/Sales tax rounding", ""))


def test_every_writer_rule_quoted_by_verification_is_translated() -> None:
    """Verification's note quotes the first line of the writer's `as_kept` docstring: each is a message of
    `i18n.KEPT_RULES` (so it is extracted and translated) and shows in French and German."""
    from migrator.registry import FORMATS

    for kind in FORMATS:
        if not kind.writes:
            continue
        hook = getattr(kind.writer(), "as_kept", None)
        if not callable(hook) or not hook.__doc__:
            continue
        rule = hook.__doc__.strip().splitlines()[0]
        assert rule in i18n.KEPT_RULES, (kind.name, rule)
        for lang in ("fr_CH", "de_CH"):
            with i18n.using(lang):
                assert i18n.shown(rule) != rule, (kind.name, lang)
    with i18n.using("de_CH"):
        note = "entries and VAT codes compared as banana keeps them: " + i18n.KEPT_RULES[0]
        assert i18n.shown(note) == ("Buchungen und MWST-Codes verglichen, wie banana sie führt: die Eröffnungsbuchungen "
                                    "jedes Geschäftsjahres zu einem Eröffnungssaldo pro Konto zusammengefasst.")  # fmt: skip


def test_shown_keeps_quotes_repeats_and_braces_and_refuses_loose_matches() -> None:
    with i18n.using("fr_CH"):
        # {candidate} then {candidate!r}: the second one is the same code in quotes
        assert i18n.shown("address 11: it has no code; kept with the derived code '11'") == (
            "adresse 11 : pas de code ; le code dérivé '11' lui est attribué"
        )
        # "{{ }}" in a template is "{ }" in the message it makes
        assert i18n.shown("#TRANS outside a voucher (#VER … { }): not booked") == (
            "#TRANS hors d'une pièce (#VER … { }) : non comptabilisé"
        )
    with i18n.using("de_CH"):
        # "{name} {text!r} is not {get}" wants a quoted text: a sentence of another module is not taken for it
        other = "the 2024 opening is not booked on top of 2023: the closing entry CLOSING-2023 carries the balances"
        assert i18n.shown(other) == other
        assert i18n.shown("date '31.02.2024' is not a date (yyyy-mm-dd, dd.mm.yyyy, dd.mm.yy, yyyymmdd)") == (
            "Datum '31.02.2024': erwartet wurde ein Datum (JJJJ-MM-TT, TT.MM.JJJJ, TT.MM.JJ, JJJJMMTT)"
        )
        # bexio's list of fields, each with its count
        assert i18n.shown("3 partner fields not carried by this format: a bexio contact has no field for them "
                          "here: iban (2), inactive flag (1)") == (
            "3 Partnerfelder von diesem Format nicht übernommen: ein bexio-Kontakt hat hier kein Feld dafür: "
            "IBAN (2), Inaktiv-Kennzeichen (1)"
        )  # fmt: skip
