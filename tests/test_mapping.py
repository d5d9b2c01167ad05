"""Account and VAT maps: rule precedence, overlaps, unmapped accounts, VAT translation, shipped maps, suggest.

Expected balances are added by hand from samples/garage.py (its entries are listed there line by line).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.compute as pc
import pytest

from migrator import pipeline
from migrator.errors import UnmappedAccounts
from migrator.mapping import (
    MAPPINGS,
    Chart,
    ChartAccount,
    MappingError,
    apply_mapping,
    load_chart,
    load_mapping,
    normalise,
    suggest,
)
from migrator.reconcile import trial_balance, vat_totals

# The accounts FORMATS.md names as typical of the Swiss SME chart.
TYPICAL = ("1000", "1020", "1100", "1170", "1171", "2000", "2200", "2201", "2800", "2970", "3200", "3400", "4200",
           "5000", "6000", "6500", "6570", "6800", "6900")  # fmt: skip
SHIPPED = sorted(p for p in MAPPINGS.iterdir() if p.is_dir() and ((p / "accounts.csv").is_file()))


def write(folder: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(text.encode(encoding))
    return path


# ------------------------------------------------------------------------------------------ shipped


def test_the_kmu_chart() -> None:
    chart = load_chart(MAPPINGS / "kmu" / "chart.csv")
    assert 80 <= len(chart.accounts) <= 150
    for code in TYPICAL:
        assert code in chart.accounts, code
    for account in chart.accounts.values():
        assert len(account.names) == 2, f"{account.code} needs a French and a German name"
        assert account.type in ("asset", "liability", "equity", "income", "expense", "")
        assert account.parent in chart.groups, f"{account.code}: parent {account.parent!r} is not a group"
        assert account.code[:1] == account.parent[:1]
    assert chart.accounts["1000"].names == ("Caisse", "Kasse")
    assert chart.accounts["6800"].type == "expense" and chart.accounts["2800"].type == "equity"


@pytest.mark.parametrize("folder", SHIPPED, ids=lambda p: p.name)
def test_every_shipped_map_is_complete_for_its_source_chart(folder: Path) -> None:
    mapping = load_mapping(folder)  # raises on overlapping rules
    source = folder / "source_chart.csv"
    chart = load_chart(source if source.is_file() else MAPPINGS / "kmu" / "chart.csv")
    missing = [code for code in chart.accounts if mapping.account(code) is None]
    assert not missing, f"{folder.name} does not cover {missing}"
    if (folder / "chart.csv").is_file():
        target = load_chart(folder / "chart.csv")
        for code in chart.accounts:
            target_code = mapping.account(code).target  # type: ignore[union-attr]
            if mapping.account(code).rule.target != "*":  # type: ignore[union-attr]
                assert target_code in target.accounts, f"{folder.name}: {code} → {target_code} not in chart.csv"


def test_shipped_maps_are_found() -> None:
    assert {"winbiz-kmu", "bexio-kmu", "banana-kmu", "infoniqa-kmu", "cresus-kmu", "winbiz-bexio"} <= {
        p.name for p in SHIPPED
    }


def test_the_demo_map_covers_the_garage_and_changes_its_chart(garage) -> None:  # type: ignore[no-untyped-def]
    mapped = apply_mapping(garage, load_mapping("winbiz-bexio"))
    balances = trial_balance(mapped)
    # 6800 Amortissements 3'500.00 → bexio 6920; 6900 Frais bancaires 45.60 → bexio 6800; 2270 → 2271.
    assert balances["6920"] == 350000
    assert balances["6800"] == 4560
    assert balances["2271"] == -65000 - 65000 - 68000
    assert "6900" not in balances and "2270" not in balances
    names = dict(
        zip(mapped.accounts.column("code").to_pylist(), mapped.accounts.column("name").to_pylist(), strict=True)
    )
    assert names["2271"] == "Kontokorrent AHV, IV, EO, ALV"
    assert names["1000"] == "Kasse"
    assert sum(balances.values()) == 0


# ---------------------------------------------------------------------------------------- the rules


def test_exact_beats_range_beats_prefix(tmp_path: Path) -> None:
    write(tmp_path, "accounts.csv", "source,target\n4*,4900\n4000-4999,4400\n4200,4000\n")
    mapping = load_mapping(tmp_path / "accounts.csv")
    assert mapping.account("4200").target == "4000"  # type: ignore[union-attr]
    assert mapping.account("4300").target == "4400"  # type: ignore[union-attr]
    assert mapping.account("41000").target == "4900"  # type: ignore[union-attr]  (outside the range)
    assert mapping.account("4A").target == "4900"  # type: ignore[union-attr]
    assert mapping.account("5000") is None


def test_star_target_keeps_the_code(tmp_path: Path) -> None:
    write(tmp_path, "accounts.csv", "source,target\n1000-1999,*\n")
    mapping = load_mapping(tmp_path / "accounts.csv")
    assert mapping.account("1020").target == "1020"  # type: ignore[union-attr]
    assert "1000-1999 → same number" in mapping.account("1020").describe()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("rules", "rows"),
    [
        ("4000-4999,4400\n4500-5500,4500\n", ("row 2", "row 3")),
        ("5*,5000\n52*,5200\n", ("row 2", "row 3")),
        ("1000,1000\n2000,2000\n1000,1010\n", ("row 2", "row 4")),
    ],
    ids=["ranges", "prefixes", "exact"],
)
def test_overlapping_rules_of_one_kind_name_both_rows(tmp_path: Path, rules: str, rows: tuple[str, str]) -> None:
    write(tmp_path, "accounts.csv", "source,target\n" + rules)
    with pytest.raises(MappingError) as caught:
        load_mapping(tmp_path)
    message = str(caught.value)
    assert "overlaps" in message
    for row in rows:
        assert f"accounts.csv {row}" in message


def test_rules_of_different_kinds_may_overlap(tmp_path: Path) -> None:
    write(tmp_path, "accounts.csv", "source,target\n4200,4000\n4000-4999,4400\n4*,4900\n")
    assert len(load_mapping(tmp_path).accounts.rules) == 3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("source,target\n4000,\n", "row 2: 4000 has no target"),
        ("source,target\n4999-4000,4000\n", "runs backwards"),
        ("source,target\n4*00,4000\n", "is not a code"),
        ("code,name\n4000,x\n", "needs the columns source and target"),
    ],
)
def test_bad_rows_are_named(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, "accounts.csv", text)
    with pytest.raises(MappingError, match=message):
        load_mapping(tmp_path / "accounts.csv")


def test_excel_csv_with_semicolons_bom_and_windows_1252(tmp_path: Path) -> None:
    text = "Source;Target;Target_name;Comment\r\n1000;1001;Caisse principale;\r\n# a comment;;;\r\n;;;\r\n2*;*;;Créanciers\r\n"
    write(tmp_path / "bom", "accounts.csv", "\ufeff" + text)
    write(tmp_path / "ansi", "accounts.csv", text, encoding="cp1252")
    for folder in ("bom", "ansi"):
        mapping = load_mapping(tmp_path / folder)
        assert [r.source for r in mapping.accounts.rules] == ["1000", "2*"]
        assert mapping.accounts.rules[0].target_name == "Caisse principale"
        assert mapping.accounts.rules[1].comment == "Créanciers"
        assert mapping.accounts.rules[1].row == 5


def test_map_given_as_file_folder_or_name(tmp_path: Path) -> None:
    write(tmp_path / "mine", "accounts.csv", "source,target\n1*,1000\n")
    assert load_mapping(tmp_path / "mine").name == "mine"
    assert load_mapping(tmp_path / "mine" / "accounts.csv").accounts.rules[0].target == "1000"
    assert load_mapping("winbiz-bexio").vat
    with pytest.raises(MappingError, match="no map of that name"):
        load_mapping("no-such-map")


# ------------------------------------------------------------------------------------------ applying


def test_many_to_one_regroups_exactly_and_keeps_line_sources(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "accounts.csv", "source,target,target_name\n1170,1176,Impôt préalable\n1171,1176,Impôt préalable\n"
                                    "1000-9999,*,\n")  # fmt: skip
    mapped = apply_mapping(garage, load_mapping(tmp_path))
    balances = trial_balance(mapped)
    # 1170: 154.00 + 154.00 (2024 opening) + 243.00 + 121.50; 1171: 972.00.
    assert balances["1176"] == 67250 + 97200
    assert "1170" not in balances and "1171" not in balances
    assert mapped.lines.num_rows == garage.lines.num_rows == 75
    for column in ("source_file", "source_row", "entry", "line", "amount"):
        assert mapped.lines.column(column).equals(garage.lines.column(column)), column
    codes = mapped.accounts.column("code").to_pylist()
    assert codes.count("1176") == 1 and len(codes) == 18
    row = mapped.accounts.filter(pc.equal(mapped.accounts.column("code"), "1176")).to_pylist()[0]
    assert row["name"] == "Impôt préalable" and row["type"] == "asset"
    # VAT codes point at the new account.
    vat_accounts = dict(
        zip(mapped.vat_codes.column("code").to_pylist(), mapped.vat_codes.column("account").to_pylist(), strict=True)
    )
    assert vat_accounts["M81"] == "1176" and vat_accounts["I81"] == "1176"


def test_unmapped_accounts_stop_the_run_and_are_listed(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "accounts.csv", "source,target\n1000-5999,*\n6000,6000\n")
    with pytest.raises(UnmappedAccounts) as caught:
        apply_mapping(garage, load_mapping(tmp_path))
    message = str(caught.value)
    # 6800: one line of 3'500.00 (2023-12-31); 6900: one line of 45.60 (2023-12-31).
    assert "2 accounts with lines but no rule" in message
    assert "6800 Amortissements: 1 line, balance 3500.00" in message
    assert "6900 Frais bancaires: 1 line, balance 45.60" in message
    assert caught.value.exit_code == 3


def test_unmapped_accounts_through_the_cli_write_nothing(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rules = write(tmp_path, "partial.csv", "source,target\n1000-2999,*\n")
    out, report = tmp_path / "out.csv", tmp_path / "report.html"
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", out, "--map", rules,
                     "--report", report)  # fmt: skip
    assert result.exit_code == 3
    assert "3200 Ventes de pièces" in result.output and "nothing was written" in result.output
    assert not out.exists() and not report.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["partial.csv"]


def test_vat_codes_are_translated(garage) -> None:  # type: ignore[no-untyped-def]
    mapped = apply_mapping(garage, load_mapping("winbiz-bexio"))
    used = set(pc.unique(mapped.lines.column("vat_code")).to_pylist()) - {""}
    assert used == {"UN77", "UN81", "VM77", "VM81", "VB81"}
    # V81 in 2024: R24-001, C24-050 and R24-002, a base line and a VAT line each.
    assert pc.sum(pc.equal(mapped.lines.column("vat_code"), "UN81")).as_py() == 6
    totals = vat_totals(mapped)
    assert totals["UN81"]["base"] == -(200000 + 80000 + 400000)
    assert totals["UN81"]["vat"] == -(16200 + 6480 + 32400)
    assert set(mapped.vat_codes.column("code").to_pylist()) == used
    defaults = dict(
        zip(mapped.accounts.column("code").to_pylist(), mapped.accounts.column("vat_code").to_pylist(), strict=True)
    )
    assert defaults["3400"] == "UN81" and defaults["4200"] == "VM81"


def test_vat_code_without_rule_is_kept_with_a_warning(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    write(tmp_path, "vat.csv", "source,target\nV81,UN81\n")
    mapped = apply_mapping(garage, load_mapping(tmp_path))  # no accounts.csv: accounts keep their codes
    assert trial_balance(mapped) == trial_balance(garage)
    used = set(pc.unique(mapped.lines.column("vat_code")).to_pylist()) - {""}
    assert used == {"UN81", "V77", "M77", "M81", "I81"}
    assert any("VAT code M81: no rule" in p.message for p in mapped.problems)


def test_convert_with_a_map_through_the_cli(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "bexio.csv"
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", out, "--map", "winbiz-bexio")
    assert result.exit_code == 0, result.output
    balances = trial_balance(pipeline.read(out))
    assert balances["6920"] == 350000 and balances["6800"] == 4560


# ------------------------------------------------------------------------------------------- suggest


def test_names_ignore_accents_case_and_word_order() -> None:
    assert normalise("Débiteurs clients") == normalise("CLIENTS debiteurs") == {"debiteurs", "clients"}


def test_suggest_number_then_name_then_class() -> None:
    chart = Chart({
        "1000": ChartAccount("1000", "Caisse", names=("Caisse", "Kasse")),
        "1100": ChartAccount("1100", "Débiteurs clients", names=("Débiteurs clients",)),
        "6100": ChartAccount("6100", "Entretien", names=("Entretien",)),
        "6900": ChartAccount("6900", "Charges financières", names=("Charges financières",)),
    })  # fmt: skip
    rows = {s.source: s for s in suggest([("1000", "Kasse"), ("1105", "clients DEBITEURS"), ("6123", "Frais divers"),
                                          ("6900", "Loyer"), ("8000", "Hors exploitation")], chart)}  # fmt: skip
    assert (rows["1000"].target, rows["1000"].how, rows["1000"].review) == ("1000", "same number", False)
    assert (rows["1105"].target, rows["1105"].how, rows["1105"].review) == ("1100", "same name", False)
    assert (rows["6123"].target, rows["6123"].review) == ("6100", True)
    assert rows["6123"].how.startswith("same class 6")
    assert (rows["6900"].target, rows["6900"].review) == ("6900", True)
    assert "names differ" in rows["6900"].how
    assert (rows["8000"].target, rows["8000"].review) == ("", True)


def test_suggest_on_the_sample_charts(run_cli, samples: Path, tmp_path: Path, garage) -> None:  # type: ignore[no-untyped-def]
    draft = tmp_path / "garage-bexio.csv"
    result = run_cli("mapping", "suggest", samples / "garage" / "journal.csv", "--to", "winbiz-bexio", "-o", draft)
    assert result.exit_code == 0, result.output
    assert "19 accounts" in result.output
    assert draft.read_bytes().startswith(b"\xef\xbb\xbf")
    mapping = load_mapping(draft)
    rows = {r.source: r for r in mapping.accounts.rules}
    assert rows["1000"].target == "1000" and rows["1000"].target_name == "Kasse"
    # bexio has no 2270; the nearest account of class 2 sharing the most digits is 2271.
    assert rows["2270"].target == "2271" and "same class 2" in rows["2270"].comment
    mapped = apply_mapping(garage, mapping)  # the draft is complete for the garage
    assert sum(trial_balance(mapped).values()) == 0
    kmu = tmp_path / "garage-kmu.csv"
    assert run_cli("mapping", "suggest", samples / "garage" / "journal.csv", "--to", "kmu", "-o", kmu).exit_code == 0
    text = kmu.read_text(encoding="utf-8-sig")
    assert "1000,Caisse,1000,Caisse,same number," in text
    assert "2200,TVA due,2200,TVA due,same number," in text


def test_suggest_against_books_migrator_reads(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    draft = tmp_path / "self.csv"
    journal = samples / "garage" / "journal.csv"
    assert run_cli("mapping", "suggest", journal, "--to", journal, "-o", draft).exit_code == 0
    rules = load_mapping(draft).accounts.rules
    assert len(rules) == 19 and all(r.source == r.target for r in rules)


def test_mapping_commands_have_help(run_cli) -> None:  # type: ignore[no-untyped-def]
    assert run_cli("mapping", "--help").exit_code == 0
    result = run_cli("mapping", "suggest", "--help")
    assert result.exit_code == 0 and "Example" in result.output


def test_items_and_documents_follow_the_map(tmp_path: Path) -> None:
    """Articles' revenue and expense accounts, invoices' accounts and the lines' accounts and VAT codes
    move with the map as the journal does, so that a target gets no account of the old chart."""
    from migrator.pipeline import read

    garage = read(Path(__file__).parent.parent / "samples" / "winbiz" / "DAT", dossier="garage")
    write(tmp_path, "accounts.csv", "source,target\n3200,3000\n3400,3400\n4200,4000\n1100,1105\n2000,2005\n0-9999,*\n")
    write(tmp_path, "vat.csv", "source,target\nV81,UN81\nV77,UN77\n*,*\n")
    mapped = apply_mapping(garage, load_mapping(tmp_path))
    tyre = next(r for r in mapped.items.to_pylist() if r["code"] == "PNEU-H")
    assert (tyre["revenue_account"], tyre["expense_account"], tyre["sale_vat_code"]) == ("3000", "4000", "UN81")
    before = garage.document_lines.to_pylist()
    after = mapped.document_lines.to_pylist()
    moved = {"3200": "3000", "4200": "4000"}
    assert [r["account"] for r in after] == [moved.get(r["account"], r["account"]) for r in before]
    assert {r["vat_code"] for r in after} >= {"UN77"} and "V77" not in {r["vat_code"] for r in after}
    assert {r["account"] for r in mapped.documents.to_pylist()} == {"1105", "2005"}
    assert {r["account"] for r in mapped.open_items.to_pylist()} == {"1105", "2005"}
