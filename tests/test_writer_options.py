"""Writer options (`--option NAME=VALUE`, `convert(options=...)`): Banana's customers/suppliers register."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from migrator import registry
from migrator.cli import cli
from migrator.errors import UnsupportedOperation
from migrator.pipeline import convert, verify

GARAGE = Path(__file__).parent.parent / "samples" / "winbiz" / "DAT"


def test_banana_register_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "banana"
    result = CliRunner().invoke(cli, ["convert", str(GARAGE), "--dossier", "garage", "--to", "banana", "-o", str(out),
                                      "--option", "partner_accounts=yes", "--json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["verification"]["verdict"] == "verified with declared losses"
    latest = sorted(p for p in out.iterdir() if p.is_dir())[-1]
    assert not (latest / "contacts.txt").exists()  # the partners went to the register instead
    header, *rows = (latest / "accounts.txt").read_text(encoding="utf-8").splitlines()
    columns = header.split("\t")
    register = {row["Account"]: row for row in (dict(zip(columns, r.split("\t"), strict=False)) for r in rows)
                if row.get("Gr") == "DEB"}  # fmt: skip
    assert register["C001"]["OrganisationName"] == "Müller Transport AG"
    assert register["C001"]["BankIban"] == "CH9300762011623852957"


def test_the_options_change_what_is_declared_and_verify_takes_them(tmp_path: Path) -> None:
    plain = convert(GARAGE, "banana", tmp_path / "plain", dossier="garage")
    register = convert(GARAGE, "banana", tmp_path / "register", dossier="garage",
                       options={"partner_accounts": "yes"})  # fmt: skip
    assert [p.message for p in plain.not_carried] != [p.message for p in register.not_carried]
    again = verify(GARAGE / "garage", tmp_path / "register", to_format="banana", options={"partner_accounts": "yes"})
    assert again.verification is not None and again.verification.ok
    assert [p.message for p in again.not_carried] == [p.message for p in register.not_carried]
    # the output's manifest remembers the options, so a later verify needs none
    manifest = json.loads((tmp_path / "register" / ".migrator-manifest.json").read_text(encoding="utf-8"))
    assert manifest["options"] == {"partner_accounts": "yes"}
    remembered = verify(GARAGE / "garage", tmp_path / "register", to_format="banana")
    assert [p.message for p in remembered.not_carried] == [p.message for p in register.not_carried]
    result = CliRunner().invoke(cli, ["verify", str(GARAGE / "garage"), str(tmp_path / "register"), "--to", "banana",
                                      "--json"])  # fmt: skip
    assert result.exit_code == 0 and json.loads(result.output)["verdict"] == "verified with declared losses"


@pytest.mark.parametrize(("options", "expected"), [
    ({"partner": "yes"}, "no writer option 'partner' (its options: partner_accounts)"),
    ({"partner_accounts": "maybe"}, "is yes or no, not 'maybe'"),
])  # fmt: skip
def test_a_bad_option_stops_before_anything_is_written(tmp_path: Path, options: dict, expected: str) -> None:
    with pytest.raises(UnsupportedOperation, match=expected.replace("(", r"\(").replace(")", r"\)")):
        convert(GARAGE, "banana", tmp_path / "out", dossier="garage", options=options)
    assert not (tmp_path / "out").exists()


def test_formats_without_options_refuse_any() -> None:
    assert registry.get("csv").writer_options() == {}
    assert registry.get("banana").writer_options() == {"partner_accounts": False}
    with pytest.raises(UnsupportedOperation, match="its options: none"):
        registry.get("csv").writer({"x": "1"})


def test_option_syntax_is_checked_by_the_command_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["convert", str(GARAGE), "--dossier", "garage", "--to", "banana", "-o",
                                      str(tmp_path / "o"), "--option", "partner_accounts"])  # fmt: skip
    assert result.exit_code == 2
    assert "is not NAME=VALUE" in result.output
