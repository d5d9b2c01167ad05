"""The import guide of every format migrator writes (issue 17): in English, French and German, beside a
folder output as README.txt, printed by `migrator guide` for a one-file output, in the web page's zip."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import migrator
from migrator import guides, i18n
from migrator.errors import UnknownFormat, UnsupportedOperation
from migrator.registry import FORMATS

ROOT = Path(__file__).resolve().parent.parent
GARAGE = ROOT / "samples" / "garage" / "journal.csv"
WRITERS = [f.name for f in FORMATS if f.writes]


@pytest.mark.parametrize("name", WRITERS)
def test_every_writer_format_has_a_guide_in_english_french_and_german(name: str) -> None:
    with i18n.using("en"):
        english = guides.text(name)
    with i18n.using("fr_CH"):
        french = guides.text(name)
    with i18n.using("de_CH"):
        german = guides.text(name)
    assert "1. " in english and "not carried" in english  # numbered steps, and what was not carried
    assert french != english and german != english
    assert "Ce qui n'a pas été repris, et le contrôle" in french
    assert "Was nicht übernommen wurde, und die Prüfung" in german
    assert "ß" not in german  # Swiss German writes ss


def test_a_format_is_found_whatever_its_accents_case_or_spaces() -> None:
    assert guides.lookup("Crésus") == "cresus"
    assert guides.lookup("Run my Accounts") == "runmyaccounts"
    assert guides.lookup("DATEV") == "datev"
    with pytest.raises(UnknownFormat, match="unknown format 'sage'"):
        guides.lookup("sage")
    with pytest.raises(UnsupportedOperation, match="camt053"):  # read only: nothing to import
        guides.lookup("camt053")


def test_migrator_guide_cresus_prints_german(run_cli) -> None:
    done = run_cli("guide", "crésus", "--lang", "de")
    assert done.exit_code == 0, done.output
    assert done.stdout.startswith("In Crésus Finanzbuchhaltung importieren\n")
    assert "die Datei enthält weder Konten noch Gruppen noch MWST-Codes" in done.stdout
    assert "Buchungen CLOSING-<year>" in done.stdout
    french = run_cli("--lang", "fr", "guide", "infoniqa")
    assert "3. Importez le fichier avec Extras > Buchungen importieren." in french.stdout
    unknown = run_cli("guide", "sage")
    assert unknown.exit_code == 2 and "unknown format 'sage'" in unknown.stderr


def test_convert_names_the_guide_command_for_a_one_file_output_only(run_cli, tmp_path: Path) -> None:
    done = run_cli("--lang", "de", "convert", GARAGE, "--to", "cresus", "-o", tmp_path / "g.txt")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[-1] == "wie importieren: migrator guide cresus --lang de"
    english = run_cli("convert", GARAGE, "--to", "fec", "-o", tmp_path / "g.fec.txt")
    assert english.stdout.splitlines()[-1].endswith("migrator guide fec")
    for args in (["--to", "cresus", "-o", tmp_path / "q.txt", "--json"], ["--to", "cresus", "-o", "-"],
                 ["--to", "datev", "-o", tmp_path / "folder"]):  # fmt: skip
        said = run_cli("convert", GARAGE, *args)
        assert said.exit_code == 0, said.output
        assert "migrator guide" not in said.stdout + said.stderr, args
    quiet = run_cli("--quiet", "convert", GARAGE, "--to", "cresus", "-o", tmp_path / "quiet.txt")
    assert quiet.exit_code == 0 and "migrator guide" not in quiet.stdout


@pytest.mark.parametrize(("target", "french", "german"), [
    ("runmyaccounts", "Importer dans Run my Accounts\n", "In Run my Accounts importieren\n"),
    ("datev", "Importer dans DATEV\n", "In DATEV importieren\n"),
    ("csvfolder", "Dossier CSV canonique\n", "Kanonischer CSV-Ordner\n"),
])  # fmt: skip
def test_a_folder_output_carries_its_guide_in_the_user_language(target: str, french: str, german: str,
                                                               tmp_path: Path) -> None:  # fmt: skip
    for lang, title in (("fr_CH", french), ("de_CH", german), ("en", None)):
        out = tmp_path / lang
        with i18n.using(lang):
            migrator.convert(GARAGE, target, out)
        readme = (out / "README.txt").read_text("utf-8")
        if title:
            assert readme.startswith(title)
        else:
            with i18n.using("en"):
                assert readme == guides.text(target)


def test_the_web_zip_holds_the_guide_of_the_chosen_target(tmp_path: Path) -> None:
    from migrator.web.app import Job, _zip

    job = Job("j1", tmp_path, GARAGE, "journal.csv", target="cresus", lang="fr_CH")
    job.out.mkdir()
    job.output = job.out / "cresus.txt"
    migrator.convert(GARAGE, "cresus", job.output, report=job.out / "report.html")
    with zipfile.ZipFile(_zip(job)) as zf:
        assert set(zf.namelist()) == {"output/cresus.txt", "README.txt", "report.html"}
        assert zf.read("README.txt").decode("utf-8").startswith("Importer dans Crésus Comptabilité\n")
        assert zf.read("output/cresus.txt") == job.output.read_bytes()


def test_a_winbiz_folder_without_document_import_files_still_carries_a_guide(tmp_path: Path) -> None:
    """The garage postings have no partners, items or open items: Winbiz gets entries and chart only, and
    the short Winbiz guide beside them, with Windows line ends like Winbiz's own README."""
    with i18n.using("de_CH"):
        migrator.convert(GARAGE, "winbiz", tmp_path / "wb")
    names = sorted(p.name for p in (tmp_path / "wb").iterdir() if not p.name.startswith("."))
    assert names == ["README.txt", "ecritures.csv", "plan.csv"]
    readme = (tmp_path / "wb" / "README.txt").read_bytes().decode("utf-8")
    assert readme.startswith("In Winbiz importieren\r\n=====")
    assert "Tools > Import, export > DocumentImport: zuerst die Adressen" in readme.replace("\r\n   ", " ")
    assert "\n" not in readme.replace("\r\n", "")


def test_the_web_zip_of_a_folder_output_holds_the_readme_written_beside_its_files(tmp_path: Path) -> None:
    from migrator.web.app import Job, _zip

    job = Job("j2", tmp_path, GARAGE, "journal.csv", target="runmyaccounts", lang="de_CH")
    job.out.mkdir()
    job.output = job.out / "runmyaccounts"
    with i18n.using("de_CH"):
        migrator.convert(GARAGE, "runmyaccounts", job.output, report=job.out / "report.html")
    with zipfile.ZipFile(_zip(job)) as zf:
        assert {"README.txt", "output/README.txt", "output/journal.csv", "output/chart.csv"} <= set(zf.namelist())
        assert zf.read("README.txt") == (job.output / "README.txt").read_bytes()
        assert zf.read("README.txt").decode("utf-8").startswith("In Run my Accounts importieren\n")
