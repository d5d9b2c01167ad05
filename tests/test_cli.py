"""The command line: every command has help, errors are one clear line with the right exit code."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from migrator.cli import cli

COMMANDS = sorted(cli.commands)


def test_every_command_has_help_with_an_example(run_cli) -> None:  # type: ignore[no-untyped-def]
    for name in COMMANDS:
        command = cli.commands[name]
        result = run_cli(name, "--help")
        assert result.exit_code == 0, name
        assert command.help and command.help.strip(), f"{name} has no help"
        if not hasattr(command, "commands"):
            assert "Example" in result.output, f"{name} --help has no example"


def test_top_level_help_documents_exit_codes(run_cli) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("--help")
    assert result.exit_code == 0
    for code in ("0", "1", "2", "3", "4"):
        assert f"  {code}  " in result.output


def test_formats_lists_the_registry(run_cli) -> None:  # type: ignore[no-untyped-def]
    from migrator.registry import formats

    result = run_cli("formats")
    assert result.exit_code == 0
    for fmt in formats():
        assert fmt.name in result.output


def test_readme_formats_table_is_in_sync(run_cli) -> None:  # type: ignore[no-untyped-def]
    table = run_cli("formats", "--markdown").output.strip()
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert table in readme, "README's formats table is stale: paste `migrator formats --markdown` into it"


def test_detect(run_cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("detect", samples / "garage" / "journal.csv")
    assert result.exit_code == 0
    assert "csv (confidence" in result.output and "encoding utf-8" in result.output
    data = json.loads(run_cli("detect", "--json", samples / "garage" / "journal.csv").output)
    assert data["format"] == "csv"


def test_detect_unknown_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 4)
    result = run_cli("detect", junk)
    assert result.exit_code == 2
    assert "no reader recognises this file" in result.stderr
    assert "Traceback" not in result.output + result.stderr


def test_inspect_json_has_the_documented_keys(run_cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("inspect", samples / "garage" / "journal.csv", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {"format", "encoding", "company", "counts", "trial_balance", "years", "problems"} <= set(data)
    assert data["counts"] == {
        "accounts": 19,
        "entries": 23,
        "lines": 75,
        "partners": 0,
        "open_items": 0,
        "items": 0,
        "documents": 0,
        "vat_codes": 5,
        "groups": 0,  # the canonical CSV has no group tree
    }
    # By hand from samples/garage.py: the 2023 opening books cash at 2'500.00 and the counter sale adds 538.50;
    # the 2024 opening carries 3'038.50 and the 2024 counter sale adds 864.80.
    first, second = data["years"]
    assert (first["start"], first["end"]) == ("2023-01-01", "2023-12-31")
    assert first["opening"]["1000"] == "2500.00"
    assert first["movements"]["1000"] == "538.50"
    assert first["closing"]["1000"] == "3038.50"
    assert second["opening"]["1000"] == "3038.50"
    assert second["closing"]["1000"] == "3903.30"
    assert data["trial_balance"]["1000"] == "6941.80"
    assert all(set(p) == {"severity", "file", "row", "message"} for p in data["problems"])


def test_inspect_human_output(run_cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("inspect", samples / "garage" / "journal.csv")
    assert result.exit_code == 0
    assert "entries:   23" in result.output
    assert "encoding utf-8" in result.output


def test_convert_and_verify(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out.csv"
    report = tmp_path / "report.json"
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", out, "--report", report)
    assert result.exit_code == 0, result.stderr
    assert "verified" in result.output
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["verdict"]["ok"] is True
    assert data["counts"]["before"]["lines"] == data["counts"]["after"]["lines"] == 75
    assert data["target"]["files"][0]["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    result = run_cli("verify", samples / "garage" / "journal.csv", out)
    assert result.exit_code == 0
    assert "holds the same books" in result.output


def test_verify_finds_a_changed_amount(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    changed = tmp_path / "changed.csv"
    text = (samples / "garage" / "journal.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace('"6900","45.60"', '"6900","45.70"').replace('"1020","-45.60"', '"1020","-45.70"'),
                       encoding="utf-8")  # fmt: skip
    result = run_cli("verify", samples / "garage" / "journal.csv", changed)
    assert result.exit_code == 4
    assert "2023-01-01–2023-12-31 account 6900: debit 45.60 before, 45.70 after" in result.stderr
    assert "- B23-099 2023-12-31: 6900 45.60, 1020 -45.60" in result.stderr


def test_convert_with_errors_writes_nothing(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "bad.csv"
    source.write_text("entry,line,date,doc,description,account,amount,currency\n1,1,2024-01-01,A,x,1000,10.00,CHF\n"
                      "1,2,2024-01-01,A,x,3200,-9.00,CHF\n", encoding="utf-8")  # fmt: skip
    out = tmp_path / "out.csv"
    result = run_cli("convert", source, "--to", "csv", "-o", out)
    assert result.exit_code == 3
    assert "entry 1 does not balance: 1.00 more debit" in result.stderr
    assert f"{source}, row 2" in result.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [source]
    allowed = run_cli("convert", source, "--to", "csv", "-o", out, "--allow-problems")
    assert allowed.exit_code == 0 and out.exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["convert", "{src}", "--to", "nope", "-o", "{tmp}/x"], 2, "unknown format 'nope'"),
        (["convert", "{src}", "-o", "{tmp}/x"], 2, "Missing option '--to'"),
        (["inspect", "{tmp}/missing.csv"], 2, "does not exist"),
        (["inspect", "{src}", "--from", "nope"], 2, "unknown format"),
        (["convert", "{src}", "--to", "csv", "-o", "{tmp}"], 2, "is a folder"),
    ],
)
def test_bad_arguments(run_cli, samples: Path, tmp_path: Path, args: list[str], code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    filled = [a.format(src=samples / "garage" / "journal.csv", tmp=tmp_path) for a in args]
    result = run_cli(*filled)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("random.csv", bytes(range(256)) * 8),
        ("truncated.csv", b"entry,line,date,doc,description,account,amount,currency\n1,1,2024-01-01,A,\"unterminated"),
        ("empty.csv", b""),
        ("latin1.csv", "entry,line,date,doc,description,account,amount,currency\n1,1,2024-01-01,A,Müller,1000,1.00,CHF\n"
                       "1,2,2024-01-01,A,Müller,3200,-1.00,CHF\n".encode("cp1252")),
    ],
)  # fmt: skip
def test_bad_inputs_give_a_message_and_no_output(run_cli, tmp_path: Path, name: str, content: bytes) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / name
    source.write_bytes(content)
    out = tmp_path / "out" / "result.csv"
    result = run_cli("convert", source, "--from", "csv", "--to", "csv", "-o", out, "--encoding", "utf-8")
    assert result.exit_code == 2, result.output
    assert str(source) in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_wrong_encoding_is_explained(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "latin1.csv"
    source.write_bytes("entry,line,date,doc,description,account,amount,currency\n1,1,2024-01-01,A,Müller,1000,1.00,CHF\n"
                       "1,2,2024-01-01,A,Müller,3200,-1.00,CHF\n".encode("cp1252"))  # fmt: skip
    result = run_cli("inspect", source, "--encoding", "utf-8")
    assert result.exit_code == 2
    assert "not valid utf-8" in result.stderr and "--encoding" in result.stderr
    assert run_cli("inspect", source).exit_code == 0  # detected as Windows-1252


def test_inputs_are_never_modified(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = samples / "garage" / "journal.csv"
    before = hashlib.sha256(source.read_bytes()).hexdigest()
    run_cli("convert", source, "--to", "csv", "-o", tmp_path / "x.csv")
    run_cli("inspect", source, "--json")
    run_cli("verify", source, tmp_path / "x.csv")
    assert hashlib.sha256(source.read_bytes()).hexdigest() == before


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    from click.testing import CliRunner

    junk = tmp_path / "junk.csv"
    junk.write_text("nothing useful\n")
    result = CliRunner().invoke(cli, ["--debug", "inspect", str(junk), "--from", "csv"])
    assert result.exception is not None  # re-raised for the traceback


def test_inspect_lists_the_companies_of_a_winbiz_installation(run_cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("inspect", samples / "winbiz" / "DAT")
    assert result.exit_code == 0
    assert "holds 2 companies" in result.output
    assert "--dossier garage" in result.output and "Garage du Lac Sàrl" in result.output
    listed = json.loads(run_cli("inspect", samples / "winbiz" / "DAT", "--json").output)
    assert {d["dossier"] for d in listed["dossiers"]} == {"boulangerie", "garage"}
    chosen = json.loads(run_cli("inspect", samples / "winbiz" / "DAT", "--dossier", "garage", "--json").output)
    assert chosen["company"]["name"] == "Garage du Lac Sàrl"


def test_only_the_chosen_company_files_are_listed_as_sources(samples: Path) -> None:
    from migrator.pipeline import read

    ledger = read(samples / "winbiz" / "DAT", dossier="garage")
    paths = [f.path for f in ledger.company.source_files]
    assert paths and all("/garage/" in p for p in paths)
    assert not any("boulangerie" in p for p in paths)


def test_year_keeps_one_fiscal_year_for_any_format(run_cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    data = json.loads(run_cli("inspect", samples / "garage" / "journal.csv", "--year", "2024", "--json").output)
    assert [y["start"] for y in data["years"]] == ["2024-01-01"]
    # By hand from samples/garage.py: 2024 has its opening entry and 9 entries.
    assert data["counts"]["entries"] == 10
    assert data["years"][0]["opening"]["1000"] == "3038.50"
    missing = run_cli("inspect", samples / "garage" / "journal.csv", "--year", "2019")
    assert missing.exit_code == 2 and "no fiscal year starts in 2019; the books hold: 2023, 2024" in missing.stderr


def test_the_command_exits_with_its_code_and_everything_said(tmp_path: Path) -> None:
    """`main` leaves without the interpreter's teardown: the exit code and the output must survive it."""
    import subprocess
    import sys

    listed = subprocess.run([sys.executable, "-m", "migrator.cli", "formats"], capture_output=True, text=True)
    assert listed.returncode == 0
    assert listed.stdout.count("\n") > 15 and "sqlite" in listed.stdout
    missing = subprocess.run([sys.executable, "-m", "migrator.cli", "convert", str(tmp_path / "none.csv"), "--to",
                              "csv", "-o", str(tmp_path / "out.csv")], capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 2
    assert "does not exist" in missing.stderr


@pytest.mark.parametrize("during", ["writing", "verifying"])
def test_an_interruption_says_what_it_left(run_cli, samples: Path, tmp_path: Path, monkeypatch, during: str) -> None:  # type: ignore[no-untyped-def]
    from migrator import pipeline
    from migrator.writers.csv import CsvWriter

    if during == "writing":

        def write(self: CsvWriter, ledger: object, target: Path) -> list[object]:
            target.write_text("half")
            raise KeyboardInterrupt

        monkeypatch.setattr(CsvWriter, "write", write)
    else:
        real = pipeline.read

        def read(*args, **kwargs):  # type: ignore[no-untyped-def]
            if kwargs.get("for_verification"):
                raise KeyboardInterrupt
            return real(*args, **kwargs)

        monkeypatch.setattr(pipeline, "read", read)
    out = tmp_path / "out.csv"
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", out)
    assert result.exit_code == 130
    if during == "writing":
        assert "nothing half-written was left behind" in result.stderr
        assert list(tmp_path.iterdir()) == []
    else:
        assert "interrupted while verifying: the output is complete but not verified" in result.stderr
        assert out.exists()


def test_python_dash_m_migrator_is_the_command(tmp_path: Path) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "migrator", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("migrator, version ")


def test_output_dash_writes_a_one_file_format_to_stdout(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", "-")
    assert result.exit_code == 0, result.stderr
    assert not (Path.cwd() / "-").exists()
    reference = tmp_path / "ref.csv"
    assert run_cli("convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", reference).exit_code == 0
    assert result.stdout_bytes == reference.read_bytes()
    assert "read csv: 23 entries" in result.stderr and "verified" in result.stderr  # every message on stderr


def test_output_dash_refuses_folder_formats_clearly(run_cli, samples: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "bexio", "-o", "-")
    assert result.exit_code == 2
    assert "bexio writes a folder of files, and -o - takes only formats that write one file" in result.stderr
    assert result.stdout == ""


def test_convert_json(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    result = run_cli("convert", samples / "garage" / "journal.csv", "--to", "xlsx", "-o", tmp_path / "g.xlsx", "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["source_format"] == "csv" and data["target_format"] == "xlsx"
    assert data["counts"]["entries"] == 23 and data["counts"]["lines"] == 75
    assert data["verification"]["verdict"] == "verified" and data["verification"]["ok"] is True
    assert [p["severity"] for p in data["problems"]] == ["warning"]


def test_verify_and_formats_json(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "g.csv"
    assert run_cli("convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", out).exit_code == 0
    verified = run_cli("verify", samples / "garage" / "journal.csv", out, "--json")
    assert verified.exit_code == 0 and json.loads(verified.stdout)["verdict"] == "verified"
    listed = {f["name"]: f for f in json.loads(run_cli("formats", "--json").stdout)}
    assert listed["bexio"]["writes"] and listed["bexio"]["output"] == "folder" and listed["csv"]["reads"]


def test_bulk_json(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "clients"
    root.mkdir()
    (root / "garage.csv").write_bytes((samples / "garage" / "journal.csv").read_bytes())
    (root / "notes.bin").write_bytes(b"\x00\x01 not books")
    planned = json.loads(run_cli("bulk", root, "--to", "csv", "-o", tmp_path / "out", "--dry-run", "--json").stdout)
    assert [c["name"] for c in planned["clients"]] == ["garage"] and planned["dry_run"]
    result = run_cli("bulk", root, "--to", "csv", "-o", tmp_path / "out", "--jobs", "1", "--json")
    data = json.loads(result.stdout)
    assert [(c["name"], c["status"], c["counts"]["entries"]) for c in data["clients"]] == [("garage", "ok", 23)]
    assert data["ok"] is (result.exit_code == 0)


def test_quiet_says_only_what_went_wrong(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    quiet = run_cli("-q", "convert", samples / "garage" / "journal.csv", "--to", "csv", "-o", tmp_path / "q.csv")
    assert quiet.exit_code == 0 and quiet.output == ""
    failing = run_cli("--quiet", "convert", tmp_path / "nothing.csv", "--to", "csv", "-o", tmp_path / "n.csv")
    assert failing.exit_code == 2 and "nothing.csv" in failing.stderr


def test_a_library_error_gets_the_command_lines_hint(run_cli, samples: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import migrator

    with pytest.raises(migrator.SourceError) as raised:
        migrator.read(samples / "winbiz" / "DAT")
    assert "--" not in str(raised.value) and raised.value.option == "dossier"
    result = run_cli("convert", samples / "winbiz" / "DAT", "--to", "csv", "-o", tmp_path / "x.csv")
    assert result.exit_code == 2 and "choose one (--dossier NAME" in result.stderr


def test_shell_completion_is_click_s_own(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "_MIGRATOR_COMPLETE": "bash_source"}
    script = subprocess.run([sys.executable, "-c", "from migrator.cli import main; main()"], capture_output=True,
                            text=True, env=env, timeout=120)  # fmt: skip
    assert "_migrator_completion" in script.stdout and "complete -o nosort -F" in script.stdout
