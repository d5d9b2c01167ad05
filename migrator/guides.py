"""The step-by-step import guide of every format migrator writes, in the user's language (issue 17).

A folder output carries its guide as ``README.txt`` beside the files (bexio, Banana and Winbiz write
their own, more detailed one); a one-file output cannot, so ``migrator guide FORMAT`` prints it and the
web page puts it in its download. The facts come from ``../shared/FORMATS.md``: where it gives no
menu path, the guide says in plain words what to look for instead of naming one.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

from migrator.errors import UnknownFormat, UnsupportedOperation
from migrator.i18n import N_, guide

README = "README.txt"
"""The name of the guide beside a folder output (and in the web page's download)."""

GUIDES: dict[str, str] = {
    "bexio": N_("""Importing into bexio
====================

The folder holds a README.md with the details of your files. In short:
1. Chart of accounts: import Kontenplan.xlsx with bexio's chart import (an Excel file). Check the
   columns Kontoart and MWST-Typ against bexio's template first.
2. Contacts: import Kontakte.xlsx with bexio's contact import. Categories, sectors, salutations,
   countries and languages must already exist in bexio (at most 2,000 contacts per import).
3. Products: import Produkte.xlsx with bexio's product import (one bad row rejects the whole file).
4. Entries: bexio has no file import for entries. `migrator push SOURCE --to bexio` posts them for
   you; by hand, README.md says how to fill in bexio's ids in manual_entries.json.
5. Open invoices (invoices.json, where the books have open customer invoices): bexio has no file
   import for invoices; only `migrator push` creates and issues them. By hand, create each one in
   bexio from invoices.json (or type it), issue it, and post its entry "OP-Übertrag <number>" of
   manual_entries.json with it; without the invoices, leave those entries out (README.md).
"""),
    "banana": N_("""Importing into Banana Accounting
================================

The folder holds a README.txt with the details of your files. In short, in a Banana file of the
fiscal year:
1. Import accounts.txt, then vatcodes.txt (Actions > Import into accounting > Text file with
   column headers).
2. Set the VAT rounding of the file (File > File and accounting properties > VAT) as fileinfo.txt
   says.
3. Import transactions.txt the same way, then contacts.txt and items.txt where the folder has them.
"""),
    "winbiz": N_("""Importing into Winbiz
=====================

1. Chart of accounts and entries: ecritures.csv and plan.csv. Import the entries with Tools >
   Import, export > EntriesImport, and choose not to import the first record (a header).
2. Addresses, articles and open invoices (the bizexdoc_*.csv files, where there are some): Tools >
   Import, export > DocumentImport: the addresses first, then the articles, then the open invoices
   (each open invoice names its address by code).
The files are ';'-separated and Windows-1252; Winbiz takes them as they are.
"""),
    "cresus": N_("""Importing into Crésus Comptabilité
==================================

The file is Crésus's journal import text: one booking per line, TAB-separated, Windows-1252,
without a header. It holds bookings only.
1. In Crésus, open or create the accounting file with the same chart of accounts (same account
   numbers): the file holds no accounts, groups or VAT codes.
2. Set the base currency and the fiscal years of the books in Crésus.
3. Import the file with Crésus's command for importing entries from a text file (Crésus's help
   says where it is in your version).
4. VAT: the VAT is already booked as lines of its own; the file carries no VAT codes, so Crésus
   computes no VAT again. Set the VAT codes of your accounts in Crésus for new entries.
5. Books of several years come in one file: entries CLOSING-<year> (and ADJUST-<year>, where the
   report lists one) are migrator's year-end closings, bringing income and expenses to zero.
"""),
    "infoniqa": N_("""Importing into Infoniqa ONE 50 (Sage 50)
========================================

The file is in the layout Infoniqa exports its journal: ',', Windows-1252, one row per booking
side, the VAT code of each line in SId (USN81, VSM81…).
1. In Infoniqa, open or create the company with the same chart of accounts (same account numbers)
   and the VAT codes the file uses: the file holds bookings only.
2. Set the base currency and the fiscal years.
3. Import the file with Extras > Buchungen importieren.
4. Books of several years come in one file: entries CLOSING-<year> (and ADJUST-<year>, where the
   report lists one) are migrator's year-end closings; Infoniqa carries the balances into the next
   year itself.
"""),
    "runmyaccounts": N_("""Importing into Run my Accounts
==============================

Files: journal.csv (the general ledger import), chart.csv (the chart of accounts), and
customers.csv and vendors.csv where the books have partners. They are ISO-8859-1, ','-separated,
with a header line.
1. In your user settings, set the date format to dd.mm.yyyy and numbers as 1234.50 (the files are
   written so; Run my Accounts reads dates and numbers as your settings say). The client's currency
   must be the books' base currency.
2. Import chart.csv first (headings H, accounts A). Check the column link: it decides in which
   screens an account appears (bank, debtors, creditors, VAT).
3. Import customers.csv and vendors.csv, where there are some.
4. Import journal.csv with the general ledger import. Rows with the same reference form one entry;
   Run my Accounts refuses an entry whose debits and credits differ.
5. The import has no VAT columns: the VAT is booked as ordinary lines. Entries CLOSING-<year> (and
   ADJUST-<year>, where the report lists one) are migrator's year-end closings.
"""),
    "abacus": N_("""Importing into Abacus
=====================

The file is an AbaConnect "FIBU - XML Buchungen" file (financial accounting, entries).
1. In Abacus, the client (Mandant) must exist with the same chart of accounts (same account
   numbers) and its tax codes: the file holds bookings only.
2. The file names client (Mandant) 1: change it to the client's number before importing, in every
   Mandant and Client element (a text editor can replace them all).
3. TaxCode holds the books' VAT codes (or T00, T01… where a code was longer than 3 characters, as
   the report lists them): map them to the client's Abacus tax codes.
4. Import the file with Abacus's AbaConnect import of financial-accounting entries ("XML
   Buchungen").
5. Entries CLOSING-<year> (and ADJUST-<year>, where the report lists one) are migrator's year-end
   closings.
"""),
    "datev": N_("""Importing into DATEV
====================

Files: EXTF_Kontenbeschriftungen.csv (the account names) and one EXTF_Buchungsstapel_<year>.csv per
fiscal year (the bookings). DATEV's own format: ';', Windows-1252, first line the EXTF header.
1. In DATEV (or at your tax adviser), the client must exist with the same account numbers and
   account length.
2. Import EXTF_Kontenbeschriftungen.csv first, then each Buchungsstapel in the order of the years,
   with DATEV's import of EXTF files.
3. DATEV books no compound entries: each compound entry is written as several bookings of one
   account against another. Column Beleginfo keeps the entry's number.
4. VAT is written as plain bookings without BU-Schlüssel, so DATEV computes no VAT again.
5. Customers and suppliers (Debitoren/Kreditoren) are not written.
"""),
    "saft": N_("""SAF-T Financial file
====================

An audit file (SAF-T Financial, Norway 1.30, after OECD SAF-T 2.0): the whole ledger in one XML file
for an auditor or a tax authority, not for an accounting program's daily use.
1. Give the file to whoever asked for it; any XML viewer opens it.
2. It can be checked against the official 1.30 XSD.
3. Books of several years come in one file: entries CLOSING-<year> are migrator's year-end
   closings. `migrator convert --year YEAR` writes the file of one fiscal year.
"""),
    "fec": N_("""FEC, Fichier des écritures comptables
=====================================

The file the French tax administration asks for: one line per booking line, the 18 columns in their
legal order, a header line, tab-separated, UTF-8.
1. Name the file <SIREN>FEC<closing date yyyymmdd>.txt, for example 123456789FEC20241231.txt.
2. Give it to the administration or to your accountant.
3. To look at it, open it in a spreadsheet as text: tab as separator, UTF-8.
"""),
    "sie": N_("""SIE 4 file
==========

The Swedish exchange format: the whole ledger in one text file (CP437) that Swedish accounting
programs import.
1. In the new program, look for its import of SIE files and choose this file.
2. Opening balances come as #IB of each year. VAT codes, customers and suppliers are not in the file
   (SIE has no field for them): set them up in the program.
"""),
    "gnucash": N_("""GnuCash book
============

The file is a GnuCash book (compressed XML), the file GnuCash itself saves and opens.
1. Open it in GnuCash like any other book file.
2. Accounts sit under their groups; VAT codes are tax tables.
3. Books of several years are one book: entries CLOSING-<year> are migrator's year-end closings,
   as GnuCash's own Close Book would make them.
"""),
    "hledger": N_("""hledger journal
===============

Plain-text double-entry books.
1. Check them: hledger -f FILE check
2. Balances: hledger -f FILE balance (-B for base currency; -e DATE for the balances before DATE).
3. Books of several years run on: entries CLOSING-<year> are migrator's year-end closings.
"""),
    "beancount": N_("""Beancount ledger
================

Plain-text double-entry books for Beancount (version 2 or 3).
1. Check them: bean-check FILE
2. Query them with bean-query.
3. Account names are written without accents (Débiteurs becomes Debiteurs). Books of several years
   run on: entries CLOSING-<year> are migrator's year-end closings.
"""),
    "sqlite": N_("""SQLite archive
==============

The whole ledger in one SQLite file, nothing left out: one table per kind of data (accounts, lines,
partners, documents…), plus the company, the fiscal years and the fingerprints of the source files.
1. Open it with any SQLite tool, for example: sqlite3 FILE
2. .tables lists the tables; .schema shows each column with its meaning (table schema_doc too).
3. Amounts are whole cents (debit positive), dates yyyy-mm-dd.
4. migrator reads it back: migrator convert FILE --to FORMAT -o OUTPUT.
"""),
    "xlsx": N_("""Excel workbook
==============

One sheet per kind of data (company, accounts, journal, trial balance, VAT, partners, open items…),
for reading and checking in Excel or LibreOffice.
1. Open it in Excel or LibreOffice Calc.
2. To convert it again later (migrator convert FILE --to FORMAT), keep the sheets' names and their
   header rows as they are.
"""),
    "csv": N_("""Postings CSV
============

One row per booking line: UTF-8, ',' as separator, dates yyyy-mm-dd, amounts with '.' (debit
positive, credit negative).
1. In a spreadsheet, open it as text with UTF-8 and the comma as separator.
2. It holds the journal only (no addresses, no chart's groups): for a complete copy, use xlsx or
   sqlite.
"""),
    "csvfolder": N_("""Canonical CSV folder
====================

journal.csv (one row per booking line) and one CSV file per other kind of data (accounts.csv,
vat_codes.csv, partners.csv, items.csv, documents.csv…), each with a header of its columns: UTF-8,
',' as separator, dates yyyy-mm-dd, amounts with '.'.
1. Open any of them in a spreadsheet as text with UTF-8 and the comma as separator, or load them
   into a database.
2. migrator reads the folder back: migrator convert FOLDER --to FORMAT -o OUTPUT.
"""),
    "vcard": N_("""vCard address book
==================

The customers and suppliers as one vCard 4.0 file (UTF-8), one card per partner; nothing of the
accounts or the journal.
1. Import the file into your address book or e-mail program with its import of vCard (.vcf) files.
2. Cards carry the categories Customer and Supplier. The partner's code, VAT number, IBAN and terms
   are in X-MIGRATOR-* fields, which other programs keep or ignore.
"""),
}  # fmt: skip
"""The guide of each format, in English, marked for translation."""

CHECK = N_("""What was not carried, and checking
----------------------------------
`migrator convert` listed, in lines starting with "not carried", what this format cannot hold;
the report (--report, or report.html in the web page's download) lists them too. Carry those by
hand if you need them. Then compare the trial balance the program shows with the report: every
account's closing balance at the end of each fiscal year must be the same.
""")


def _plain(name: str) -> str:
    """`name` without accents, case, spaces or dashes: ``Crésus`` → ``cresus``, ``Run my Accounts`` →
    ``runmyaccounts``."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if c.isalnum() and not unicodedata.combining(c)).lower()


def lookup(name: str) -> str:
    """The registry name of the format `name` stands for (accents, case and spaces do not matter)."""
    from migrator.registry import formats

    wanted = _plain(name)
    for fmt in formats():
        if _plain(fmt.name) == wanted:
            if not fmt.writes:
                raise UnsupportedOperation(f"format {fmt.name!r} can be read but not written: it has no import guide")
            return fmt.name
    known = ", ".join(f.name for f in formats() if f.writes)
    raise UnknownFormat(f"unknown format {name!r}; formats with an import guide: {known}")


def text(name: str) -> str:
    """The import guide of format `name` (as `lookup` takes it) in the current language."""
    return guide(GUIDES[lookup(name)]) + "\n" + guide(CHECK)


def write(name: str, folder: Path, newline: str = "\n") -> None:
    """Put the guide of format `name` beside a folder output, as ``README.txt`` (UTF-8, lines ending in
    `newline`)."""
    (folder / README).write_text(text(name), "utf-8", newline=newline)
