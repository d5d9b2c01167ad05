"""vCard: partners written as vCard 4.0 and read back equal; vCard 3.0 address-book exports read."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import golden
from odd_partners import ledger

from migrator import pipeline, registry
from migrator.errors import SourceError
from migrator.readers.base import ReadOptions
from migrator.readers.vcard import VcardReader, unfold
from migrator.sources import Source
from migrator.writers.vcard import VcardWriter, fold


def read(path: Path):  # type: ignore[no-untyped-def]
    return VcardReader().read(Source(path), ReadOptions())


def test_written_cards(tmp_path: Path) -> None:
    out = tmp_path / "partners.vcf"
    VcardWriter().write(ledger(), out)
    data = out.read_bytes()
    golden("vcard/odd.vcf", data)
    text = data.decode("utf-8")
    assert all(line.endswith("\r") or not line for line in text.split("\n")[:-1])  # CRLF everywhere
    assert all(len(line.encode("utf-8")) <= 75 for line in text.split("\r\n"))
    assert text.count("BEGIN:VCARD\r\nVERSION:4.0\r\n") == 6
    text = text.replace("\r\n ", "")  # unfolded
    # escaping: the note's ; , and line break; the street with its number then RFC 9554's parts
    assert "NOTE:Zahlt spät\\; immer anrufen\\,\\nnie faxen\r\n" in text
    assert "ADR;TYPE=work;CC=CH:;;Bahnhofstrasse 12a;Zürich;;8001;CH;;;;12a;Bahnhofstrasse\r\n" in text
    assert "ADR;TYPE=work;CC=CH:;;Chemin des Vignes 4;Lutry;;;CH\r\n" in text  # number inside, no postcode
    assert "ADR;TYPE=work;CC=FR:;c/o Dupont;rue de la Paix 12;Paris;;75002;FR;;;;12;rue de la Paix\r\n" in text
    assert "KIND:org\r\nFN:Müller & Söhne AG\r\nN:Müller;Hans;;;\r\nORG:Müller & Söhne AG\r\n" in text
    assert "CATEGORIES:Customer,Supplier\r\n" in text


def test_round_trip_is_equal(tmp_path: Path) -> None:
    out = tmp_path / "partners.vcf"
    VcardWriter().write(ledger(), out)
    back = read(out)
    assert back.partners.to_pylist() == ledger().partners.to_pylist()
    # the duplicate code is reported, not dropped
    assert [p.message for p in back.problems] == ["partner code '2002' is on 2 cards"]


def test_fold_never_splits_a_character() -> None:
    line = "NOTE:" + "ü" * 80  # an ü is 2 octets
    folded = fold(line)
    parts = folded.split("\r\n ")
    assert [len(p.encode("utf-8")) for p in parts] == [75, 74, 16]  # 5 + 35 ü; 37 ü (+ the space: 75); 8 ü
    assert "".join(parts) == line
    assert [text for _, text in unfold(folded)] == [line]


def test_writer_declares_everything_but_partners(garage, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    problems = VcardWriter().write(garage, tmp_path / "out.vcf")
    messages = [p.message.split(" not carried")[0] for p in problems]
    lines = garage.lines.num_rows
    assert f"{lines} journal lines" in messages
    assert f"{garage.accounts.num_rows} accounts (chart)" in messages
    assert "1 company name" in messages
    assert f"{garage.open_items.num_rows} open items" in messages
    assert not any(m.endswith(" partners") for m in messages)


def test_convert_verifies_with_declared_losses(samples: Path, tmp_path: Path) -> None:
    out = tmp_path / "garage.vcf"
    result = pipeline.convert(samples / "winbiz" / "DAT", "vcard", out, dossier="garage")
    assert result.verification is not None and result.verification.verdict == "verified with declared losses"
    assert result.reread is not None
    assert result.reread.partners.column("id").to_pylist() == result.written.partners.column("id").to_pylist()
    assert result.reread.partners.column("name").to_pylist() == result.written.partners.column("name").to_pylist()
    assert pipeline.detect(out).format == "vcard"
    assert "vcard" in [f.name for f in registry.writable()] and registry.get("vcard").reads


APPLE_30 = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:Rochat;Marie-Claire;;;\r\n"
    "FN:Marie-Claire Rochat\r\n"
    "ORG:Boulangerie Rochat SA;\r\n"
    "item1.EMAIL;type=INTERNET;type=pref:marie@rochat.example\r\n"
    "TEL;type=CELL;type=VOICE;type=pref:+41 79 555 12 34\r\n"
    "TEL;type=WORK;type=VOICE:+41 21 555 12 00\r\n"
    "item2.ADR;type=HOME;type=pref:;;Grand-Rue 5;Moudon;VD;1510;Suisse\r\n"
    "item2.X-ABADR:ch\r\n"
    "NOTE:Livraison le mardi\\, avant 7h\r\n"
    "BDAY:1980-04-12\r\n"
    "LANG:fr-CH\r\n"
    "CATEGORIES:Kunden,Bäckerei\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "N:;;;;\r\n"
    "FN:Hebetechnik AG\r\n"
    "ORG:Hebetechnik AG;\r\n"
    "X-ABShowAs:COMPANY\r\n"
    "TEL;TYPE=WORK,FAX:044 555 00 01\r\n"
    "ADR;TYPE=WORK:;;Industriestrasse 9;Zürich;;8005;Schweiz\r\n"
    "URL;type=WORK:https://hebe.example\r\n"
    "END:VCARD\r\n"
)


def test_reads_vcard_30_as_address_books_export(tmp_path: Path) -> None:
    path = tmp_path / "contacts.vcf"
    path.write_bytes(APPLE_30.encode("utf-8"))
    assert pipeline.detect(path).format == "vcard"
    back = read(path)
    marie, hebe = back.partners.to_pylist()
    assert (marie["id"], marie["kind"], marie["name"], marie["first_name"], marie["last_name"]) == (
        "1", "person", "Marie-Claire Rochat", "Marie-Claire", "Rochat")  # fmt: skip
    assert (marie["street"], marie["building_number"], marie["zip"], marie["city"]) == ("Grand-Rue 5", "", "1510",
                                                                                        "Moudon")  # fmt: skip
    assert (marie["country"], marie["language"]) == ("CH", "fr")  # "Suisse", "fr-CH"
    assert (marie["email"], marie["mobile"], marie["phone"]) == ("marie@rochat.example", "+41 79 555 12 34",
                                                                "+41 21 555 12 00")  # fmt: skip
    assert marie["notes"] == "Livraison le mardi, avant 7h"
    assert marie["roles"] == "customer"
    assert (hebe["id"], hebe["kind"], hebe["name"], hebe["fax"], hebe["country"], hebe["website"]) == (
        "2", "company", "Hebetechnik AG", "044 555 00 01", "CH", "https://hebe.example")  # fmt: skip
    messages = [(p.severity, p.row, p.message) for p in back.problems]
    assert ("info", None, "2 cards without X-MIGRATOR-CODE: numbered 1 to 2 in file order") in messages
    # what the partner table has no column for is kept with the card
    extras = back.extras["partners"].to_pylist()
    assert extras == [{"source_row": 1, "id": "1", "properties": "item2.X-ABADR:ch\nBDAY:1980-04-12"}]


def test_vcard_21_quoted_printable(tmp_path: Path) -> None:
    path = tmp_path / "old.vcf"
    path.write_bytes(b"BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:J=C3=A4ger;Fritz\n"
                     b"FN:Fritz J\xc3\xa4ger\nTEL;CELL:079 1\nADR;WORK;ENCODING=QUOTED-PRINTABLE:;;Hauptstra=\n"
                     b"=C3=9Fe 3;Basel;;4051;CH\nEND:VCARD\n")  # fmt: skip
    (fritz,) = read(path).partners.to_pylist()
    assert (fritz["last_name"], fritz["first_name"], fritz["mobile"]) == ("Jäger", "Fritz", "079 1")
    assert (fritz["street"], fritz["city"], fritz["zip"]) == ("Hauptstraße 3", "Basel", "4051")


def test_bad_files_are_problems_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.vcf"
    path.write_text("BEGIN:VCARD\nVERSION:4.0\nFN:Ohne Ende\nthis is no property\n"
                    "X-MIGRATOR-PAYMENT-TERMS:dreissig\nADR:;;Weg 1;Ort;;;Atlantis\n", encoding="utf-8")  # fmt: skip
    back = read(path)
    assert back.partners.column("name").to_pylist() == ["Ohne Ende"]
    assert back.partners.column("country").to_pylist() == ["Atlantis"]
    assert [(p.severity, p.row) for p in back.problems if p.severity != "info"] == [
        ("error", 4), ("error", 1), ("warning", 6), ("warning", 5)]  # fmt: skip
    empty = tmp_path / "empty.vcf"
    empty.write_text("NOTE:no card here\n", encoding="utf-8")
    with pytest.raises(SourceError, match="no vCard in the file"):
        read(empty)
