"""`migrator push SOURCE --to bexio`: post the books to bexio over its API, then prove them by reading back.

1. The source is read, mapped and validated as `convert` does (errors stop everything) and carried
   into a continuous ledger (`years.continuous`), as the bexio writer gets it.
2. bexio's accounts, taxes and currencies are fetched (`migrator.bexio_api`); every account number,
   VAT code and currency the entries use is mapped to bexio's id. Anything missing stops the push
   before anything is posted, naming each and what to create in bexio (``--create-missing`` creates
   the missing accounts; VAT codes and currencies are bexio settings the owner activates).
3. The entries are the bexio writer's (`writers.bexio.entry_bodies`, VAT rounded to the base
   currency's ``round_factor``) with ids in place of numbers. Each gets a stable key, a fingerprint
   of what bexio stores (date, reference, lines) and its occurrence number among identical entries.
   A local journal (JSON lines: key and bexio id, flushed after every post) and bexio's own list of
   manual entries are checked before each post, so a second run or a ``--resume`` after a crash never
   posts anything twice; a POST whose connection dropped is looked up in bexio's list before it is
   sent again. A refused entry (422) is reported with bexio's message and the source row.
4. Open customer invoices (`writers.bexio.open_invoices`) are created as bexio invoices
   (``POST /2.0/kb_invoice``) after the contacts, articles and entries (their offset entries are among
   the entries), then issued (``POST /2.0/kb_invoice/{id}/issue``, *assumed* endpoint), each step in the
   journal under the invoice's fingerprint, so a rerun or ``--resume`` never creates one twice (a
   crash between creating and issuing is resumed by issuing). The transition account is checked with
   the other accounts (``--create-missing`` creates it); a customer neither among the contacts posted
   nor in bexio stops the push.
5. Everything posted is read back from bexio (the entries of the journal, the invoices) into a Ledger
   (`readers.bexio.api_ledger`) and compared with the books as `convert` compares (per fiscal year
   and account, per entry as bexio keeps it, per VAT code, open items), with the same report.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from migrator import bexio_api, pipeline, registry, years
from migrator.errors import MigratorError, ProblemsFound
from migrator.i18n import N_
from migrator.model import Ledger, Problem, years_of
from migrator.money import format_cents
from migrator.parsing import exact_cents
from migrator.reconcile import compare
from migrator.validate import validate
from migrator.writers import bexio as writer
from migrator.writers.base import lost

ENTRIES = "/3.0/accounting/manual_entries"
INVOICES = "/2.0/kb_invoice"


class PushStopped(MigratorError):
    """Something the books need is missing in bexio: nothing was posted."""

    exit_code = 3


class JournalInUse(MigratorError):
    """A journal of an earlier push exists and ``--resume`` was not given."""


@dataclass
class Planned:
    """One entry to post: its body with ids, its key, and where it came from."""

    body: dict[str, Any]
    key: str
    first: dict[str, Any]


@dataclass
class PushResult:
    conversion: pipeline.Conversion
    planned: list[Planned]
    posted: int = 0
    already: int = 0
    """Entries found in the journal or bexio's list: not posted again."""
    created: list[str] = field(default_factory=list)
    rejected: list[Problem] = field(default_factory=list)
    retried: list[str] = field(default_factory=list)
    contacts: int = 0
    contacts_already: int = 0
    articles: int = 0
    articles_already: int = 0
    invoices: int = 0
    """Open invoices created (`issued` counts those issued; both may differ after a crash)."""
    invoices_already: int = 0
    issued: int = 0
    others: int = 0
    """Manual entries in bexio that this push did not post (not compared)."""
    dry_run: bool = False
    summary: list[str] = field(default_factory=list)


def fingerprint(body: dict[str, Any]) -> str:
    """A stable key of a manual entry as bexio stores it (ids, date, reference, lines), whether built
    for posting or listed by bexio (amounts compared as decimals, ``1292.4`` = ``1292.40``)."""

    def number(value: Any) -> str:
        return format(Decimal(str(value)).normalize(), "f") if value is not None else ""

    lines = sorted(
        json.dumps([line.get("debit_account_id"), line.get("credit_account_id"), number(line.get("amount")),
                    line.get("tax_id"), line.get("tax_account_id"), line.get("currency_id"),
                    number(line.get("currency_factor")), line.get("description") or ""], ensure_ascii=False)
        for line in body.get("entries") or []
    )  # fmt: skip
    text = json.dumps([body.get("type"), body.get("date"), body.get("reference_nr") or "", lines], ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


class Journal:
    """What this push posted: one JSON line per object (key, bexio id), flushed and synced at once."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.ids: dict[str, int] = {}
        if path.exists() and path.stat().st_size:
            if not resume:
                raise JournalInUse(f"{path}: an earlier push left this journal; add --resume to go on with it "
                                   "(nothing is posted twice), or name another with --journal")  # fmt: skip
            lines = path.read_text("utf-8").splitlines()
            for number, text in enumerate(lines, start=1):
                try:
                    item = json.loads(text)
                    self.ids[str(item["key"])] = int(item["id"])
                except (ValueError, KeyError, TypeError):
                    if number < len(lines):  # only a last line cut by a crash is skipped
                        raise MigratorError(f"{path}, line {number}: not a push journal line") from None

    def ids_of(self, kind: str) -> set[int]:
        """bexio's ids of one kind of object (``entry``, ``contact``, ``article``): each kind has its own ids."""
        return {bexio_id for key, bexio_id in self.ids.items() if key.startswith(kind + ":")}

    def record(self, key: str, bexio_id: int, what: str) -> None:
        self.ids[key] = bexio_id
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"key": key, "id": bexio_id, "what": what}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def _read(source: Any, from_format: str | None, encoding: str | None, year: int | None, dossier: str | None,
          mapping: Any) -> tuple[Ledger, Ledger, Any, list[Problem], dict[str, str]]:  # fmt: skip
    """The books as `convert` reads them: (source, mapped with bexio's VAT codes, mapping, problems, the VAT
    codes translated); errors stop."""
    original = pipeline.read(source, from_format, encoding=encoding, year=year, dossier=dossier)
    ledger, applied, moves = pipeline.mapped_for(original, "bexio", mapping)  # as `convert` does
    problems = list(ledger.problems) + validate(ledger)
    if any(p.severity == "error" for p in problems):
        raise ProblemsFound(problems, "the books have errors; nothing was posted")
    return original, ledger, applied, problems, moves


def _ids(items: list[dict[str, Any]], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        if item.get("is_active", True) is not False:
            out.setdefault(str(item.get(key)), int(item["id"]))
    return out


def push(
    source: Any,
    *,
    token: str,
    api_url: str = bexio_api.DEFAULT_URL,
    mapping: Any = None,
    from_format: str | None = None,
    encoding: str | None = None,
    year: int | None = None,
    dossier: str | None = None,
    journal: Any = "bexio-push.jsonl",
    resume: bool = False,
    create_missing: bool = False,
    dry_run: bool = False,
    report: Any = None,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
    client: bexio_api.Client | None = None,
    open_items_account: str = writer.TRANSITION_ACCOUNT,
) -> PushResult:
    """Post `source`'s books to bexio and verify them by reading back (see the module doc)."""
    step_note = progress or (lambda _message: None)
    _check_outputs(source, Path(str(journal)), report, force)
    step_note("reading")
    original, ledger, applied, problems, moves = _read(source, from_format, encoding, year, dossier, mapping)
    carried, year_problems = years.continuous(ledger)
    api = client or bexio_api.Client(token, api_url)
    try:
        step_note("fetching bexio's accounts, taxes and currencies")
        accounts, taxes, currencies = api.accounts(), api.taxes(), api.currencies()
        base = ledger.company.base_currency or "CHF"
        factors = {str(c["name"]): c.get("round_factor") for c in currencies}
        step = exact_cents(Decimal(str(factors[base]))) if factors.get(base) else writer.rounding_of(base)
        bodies, body_problems = writer.entry_bodies(carried, step)
        open_plan, open_problems = writer.open_invoices(carried, open_items_account)
        bodies += [(invoice.offset, invoice.first) for invoice in open_plan]
        not_carried = [*year_problems, *body_problems, *writer.declared(carried, contacts=True), *open_problems,
                       *writer.item_losses(carried, files=False)]  # fmt: skip
        not_carried += lost("groups", carried.groups.num_rows, "not posted: bexio's account groups are part of "
                            "its chart, set up in bexio")  # fmt: skip
        account_ids, tax_ids, currency_ids = _ids(accounts, "account_no"), _ids(taxes, "code"), _ids(currencies, "name")
        missing = _missing(carried, bodies, account_ids, tax_ids, currency_ids, taxes, step, open_items_account)
        partners, items = carried.partners.to_pylist(), carried.items.to_pylist()
        lists: dict[str, list[dict[str, Any]]] = {}
        if partners:
            lists["countries"], lists["languages"] = api.countries(), api.languages()
        if items:
            lists["units"] = api.units()
        contact_bodies = [writer.contact_body(p) for p in partners]
        plan = writer.vat_plan(carried, "bexio")
        article_bodies = [writer.article_body(i, plan, base) for i in items]
        refs = {"countries": _ids(lists.get("countries", []), "iso_3166_alpha2"),
                "languages": _ids(lists.get("languages", []), "iso_639_1"), "units": _ids(lists.get("units", []), "name"),
                "accounts": account_ids, "taxes": tax_ids, "currencies": currency_ids}  # fmt: skip
        _missing_business(contact_bodies, article_bodies, refs, carried, missing)
        in_bexio = _missing_customers(api, open_plan, contact_bodies, missing)
        result_summary = _summary(carried, bodies, missing)
        result_summary[1:1] = [N_("contacts: {count}").format(count=len(contact_bodies)),
                               N_("articles: {count}").format(count=len(article_bodies)),
                               N_("open invoices: {count}").format(count=len(open_plan))]  # fmt: skip
        result_summary[4:4] = ["  " + N_("{number} of {date}, customer {partner}: {amount}").format(
            number=i.item["id"], date=i.body["is_valid_from"], partner=i.item["partner"],
            amount=format_cents(i.item["open_amount"])) for i in open_plan]  # fmt: skip
        if dry_run:
            conversion = pipeline.Conversion(original, ledger, "bexio", Path(str(journal)), problems, not_carried,
                                             mapping=applied, vat_codes=moves)  # fmt: skip
            return PushResult(conversion, [], dry_run=True, summary=result_summary)
        book = Journal(Path(str(journal)), resume)
        created: list[str] = []
        if missing["accounts"] and create_missing:
            for number, (name, kind) in sorted(missing["accounts"].items()):
                answer = api.post("/2.0/accounts", writer.dumps({"account_no": number, "name": name or number,
                                                                 "account_type": kind}))  # fmt: skip
                account_ids[number] = int(answer["id"])
                created.append(N_("account {number} {name}").format(number=number, name=name))
            missing["accounts"] = {}
        if any(missing.values()):
            raise PushStopped(_missing_text(missing))
        planned = _plan(bodies, account_ids, tax_ids, currency_ids)
        step_note("posting")
        conversion = pipeline.Conversion(original, ledger, "bexio", Path(str(journal)), problems, not_carried,
                                         mapping=applied, vat_codes=moves)  # fmt: skip
        result = PushResult(conversion, planned, created=created)
        user, contact_ids = 0, dict(in_bexio)
        if contact_bodies or article_bodies or open_plan:
            user = int(api.me()["id"])
        if contact_bodies or article_bodies:
            contact_ids.update(_post_contacts(api, contact_bodies, refs, user, book, result))
            _post_articles(api, article_bodies, refs, contact_ids, user, book, result)
        _post_entries(api, planned, book, result)
        payable = [i for i in open_plan if i.body["contact_id"] in contact_ids]  # a refused contact: none
        for invoice in open_plan:
            if invoice not in payable:
                result.rejected.append(Problem("error", N_("open invoice {number}: not created: its customer {partner} "
                                                           "was not posted").format(number=invoice.item["id"],
                                                                                    partner=invoice.item["partner"])))  # fmt: skip
        if open_plan:
            step_note("creating and issuing the open invoices")
            _post_invoices(api, _plan_invoices(payable, account_ids, currency_ids, contact_ids, user), book, result)
        step_note("reading back from bexio")
        listed = api.manual_entries()
        mine = [e for e in listed if e.get("id") in book.ids_of("entry")]
        result.others = len(listed) - len(mine)
        from migrator.readers.bexio import api_ledger

        every_contact = api.contacts() if contact_bodies or open_plan else []
        contacts = [c for c in every_contact if c.get("id") in book.ids_of("contact")]
        articles = [a for a in (api.articles() if article_bodies else []) if a.get("id") in book.ids_of("article")]
        invoices = [i for i in (api.invoices() if open_plan else []) if i.get("id") in book.ids_of("invoice")]
        back = api_ledger(mine, api.accounts(), api.taxes(), currencies, base=base, step=step,
                          name=f"bexio {api_url}{ENTRIES}", codes=frozenset(ledger.accounts.column("code").to_pylist()),
                          contacts=contacts, articles=articles, lists=lists, invoices=invoices,
                          contact_numbers={c["id"]: str(c.get("nr") or "") for c in every_contact})  # fmt: skip
        result.retried = list(api.retried)
    finally:
        if client is None:
            api.close()
    conversion = result.conversion
    conversion.reread = back
    conversion.compared = years.per_year(back, years_of(ledger))
    conversion.verification = compare(ledger, conversion.compared, registry.get("bexio").keeps,
                                      declared=not_carried, kept=_kept(step))  # fmt: skip
    if result.others:
        conversion.verification.notes.append(f"bexio holds {result.others} other manual entries this push did not "
                                             "post; they were not compared")  # fmt: skip
    if report is not None:
        from migrator.report import write_report

        write_report(conversion, Path(report), sources=[source], others=[journal], force=force)
    return result


def _check_outputs(source: Any, journal: Path, report: Any, force: bool) -> None:
    """The journal and the report never lie on or inside the source (nor are they one path); the report
    replaces only an earlier migrator report, with `force` (`migrator.outputs`). Checked before anything
    is read or posted."""
    from migrator import outputs

    where = Path(str(source)).resolve()
    place = journal.resolve()
    if place == where or where in place.parents or (report is not None and Path(report).resolve() == place):
        raise MigratorError(f"{journal}: the push journal may not be the source, lie inside it or be the report")
    if report is not None:
        outputs.check(report, folder=False, sources=[source], others=[journal], force=force)


def _kept(step: int) -> Callable[[Ledger], Ledger]:
    def kept(ledger: Ledger) -> Ledger:
        carried = years.as_kept(ledger)
        return carried.replace(lines=writer.kept_lines(carried, step))

    kept.__doc__ = writer.BexioWriter.as_kept.__doc__
    return kept


def _missing(
    ledger: Ledger, bodies: list[tuple[dict[str, Any], dict[str, Any]]], accounts: dict[str, int],
    taxes: dict[str, int], currencies: dict[str, int], tax_list: list[dict[str, Any]], step: int,
    transition: str = "",
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """What the entries name that bexio does not have: accounts (number → name, bexio account_type; the
    `transition` account of open invoices named as the writer names it), VAT codes (code → rate) and
    currencies."""
    names = {a["code"]: a for a in ledger.accounts.to_pylist()}
    if transition:
        names.setdefault(transition, {"name": writer.TRANSITION_NAME, "type": ""})
    plan = writer.vat_plan(ledger, "bexio")
    rates = {plan.codes.get(code, code): rate for code, rate in plan.rates.items()}
    missing: dict[str, dict[str, Any]] = {"accounts": {}, "taxes": {}, "currencies": {}, "rates": {},
                                          "tax_accounts": {}, "countries": {}, "languages": {}, "units": {},
                                          "contacts": {}}  # fmt: skip
    bexio_rates = {str(t["code"]): Decimal(str(t.get("value"))) for t in tax_list if t.get("value") is not None}
    numbers: dict[Any, str] = {v: k for k, v in accounts.items()}
    vat_accounts = {str(t["code"]): numbers.get(t.get("account_id"), "") for t in tax_list}
    booked_on = {plan.codes.get(code, code): account for code, account in plan.accounts.items()}
    for body, _ in bodies:
        for line in body["entries"]:
            for side in ("debit_account_id", "credit_account_id", "tax_account_id"):
                number = line.get(side)
                if number and number not in accounts:
                    missing["accounts"][number] = _to_create(names, number)
            code = line.get("tax_id")
            if code and code not in taxes:
                missing["taxes"][code] = rates.get(code, "")
            elif code and code in bexio_rates and code in rates and bexio_rates[code] != rates[code]:
                missing["rates"][code] = (bexio_rates[code], rates[code])
            elif code and code in vat_accounts and vat_accounts[code] != booked_on.get(code, vat_accounts[code]):
                missing["tax_accounts"][code] = (vat_accounts[code] or "no account", booked_on[code])
            if line.get("currency_id") not in currencies:
                missing["currencies"][line.get("currency_id")] = ""
    return missing


_ACCOUNT_TYPES = {"Ertrag": 1, "Aufwand": 2, "Aktiv": 3, "Passiv": 4, "Abschluss": 5}
"""bexio's ``account_type`` of each Kontoart (what ``POST /2.0/accounts`` takes)."""


def _to_create(names: dict[str, dict[str, Any]], number: str) -> tuple[str, int]:
    """A missing account as it would be created in bexio: its name in the books and bexio's account type."""
    account = names.get(number, {})
    return account.get("name", ""), _ACCOUNT_TYPES[writer.kontoart(account.get("type", ""), number)]


def _missing_customers(api: bexio_api.Client, invoices: list[writer.OpenInvoice], contacts: list[dict[str, Any]],
                       missing: dict[str, dict[str, Any]]) -> dict[str, int]:  # fmt: skip
    """Add to `missing` the customers of open invoices that are neither among the `contacts` to post nor a
    contact number in bexio; the bexio ids of those found in bexio (its list is fetched only for them)."""
    posted = {body["nr"] for body in contacts}
    others = {i.body["contact_id"]: i.item["id"] for i in invoices if i.body["contact_id"] not in posted}
    if not others:
        return {}
    listed = {str(c.get("nr")): int(c["id"]) for c in api.contacts() if c.get("nr")}
    for code, number in others.items():
        if code not in listed:
            missing["contacts"][code] = number
    return {code: listed[code] for code in others if code in listed}


def _missing_business(contacts: list[dict[str, Any]], articles: list[dict[str, Any]], refs: dict[str, dict[str, int]],
                      ledger: Ledger, missing: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    """Add to `missing` the countries, languages and units the contacts and articles name that bexio's
    lists lack, and the accounts, VAT codes and currencies of articles."""
    names = {a["code"]: a for a in ledger.accounts.to_pylist()}
    for body in contacts:
        for key, what in (("country_id", "countries"), ("language_id", "languages")):
            if body[key] and body[key] not in refs[what]:
                missing[what].setdefault(body[key], body["nr"])
    for body in articles:
        if body["unit_id"] and body["unit_id"] not in refs["units"]:
            missing["units"].setdefault(body["unit_id"], body["intern_code"])
        for key in ("account_id", "expense_account_id"):
            number = body[key]
            if number and number not in refs["accounts"]:
                missing["accounts"][number] = _to_create(names, number)
        for key in ("tax_income_id", "tax_expense_id"):
            if body[key] and body[key] not in refs["taxes"]:
                missing["taxes"].setdefault(body[key], "")
        if body["currency_id"] not in refs["currencies"]:
            missing["currencies"][body["currency_id"]] = ""


def _post_contacts(api: bexio_api.Client, bodies: list[dict[str, Any]], refs: dict[str, dict[str, int]], user: int,
                   book: Journal, result: PushResult) -> dict[str, int]:  # fmt: skip
    """Post each contact not yet in the journal nor in bexio's list (by contact number); the bexio id
    of every partner code."""
    known = book.ids_of("contact")
    listed = {str(c.get("nr")): int(c["id"]) for c in api.contacts() if c.get("nr") and c.get("id") not in known}
    ids: dict[str, int] = {}
    for body in bodies:
        key = f"contact:{body['nr']}"
        if key not in book.ids and body["nr"] in listed:
            book.record(key, listed[body["nr"]], "contact (found in bexio)")
        if key in book.ids:
            ids[body["nr"]] = book.ids[key]
            result.contacts_already += 1
            continue
        mapped = {**body, "user_id": user, "owner_id": user,
                  "country_id": refs["countries"].get(body["country_id"]) if body["country_id"] else None,
                  "language_id": refs["languages"].get(body["language_id"]) if body["language_id"] else None}  # fmt: skip

        def saved(nr: str = body["nr"]) -> dict[str, Any] | None:
            return next((c for c in api.contacts() if str(c.get("nr")) == nr), None)

        try:
            answer = api.post("/2.0/contact", writer.dumps(mapped), saved=saved)
        except bexio_api.BexioRejected as exc:
            result.rejected.append(Problem("error", N_("contact {code} ({name}): not posted: {reason}")
                                           .format(code=body["nr"], name=body["name_1"], reason=exc)))  # fmt: skip
            continue
        book.record(key, int(answer["id"]), f"contact {body['nr']}")
        ids[body["nr"]] = int(answer["id"])
        result.contacts += 1
    return ids


def _post_articles(api: bexio_api.Client, bodies: list[dict[str, Any]], refs: dict[str, dict[str, int]],
                   contacts: dict[str, int], user: int, book: Journal, result: PushResult) -> None:  # fmt: skip
    """Post each article not yet in the journal nor in bexio's list (by ``intern_code``)."""
    known = book.ids_of("article")
    listed = {str(a.get("intern_code")): int(a["id"]) for a in api.articles()
              if a.get("intern_code") and a.get("id") not in known}  # fmt: skip
    for body in bodies:
        code = body["intern_code"]
        key = f"article:{code}"
        if key not in book.ids and code in listed:
            book.record(key, listed[code], "article (found in bexio)")
        if key in book.ids:
            result.articles_already += 1
            continue
        ids = {k: refs[what].get(body[k]) if body[k] else None
               for k, what in (("tax_income_id", "taxes"), ("tax_expense_id", "taxes"), ("unit_id", "units"),
                               ("currency_id", "currencies"), ("account_id", "accounts"),
                               ("expense_account_id", "accounts"))}  # fmt: skip
        mapped = {**body, **ids, "user_id": user, "contact_id": contacts.get(body["contact_id"] or "")}

        def saved(code: str = code) -> dict[str, Any] | None:
            return next((a for a in api.articles() if str(a.get("intern_code")) == code), None)

        try:
            answer = api.post("/2.0/article", writer.dumps(mapped), saved=saved)
        except bexio_api.BexioRejected as exc:
            result.rejected.append(Problem("error", N_("article {code} ({name}): not posted: {reason}")
                                           .format(code=code, name=body["intern_name"], reason=exc)))  # fmt: skip
            continue
        book.record(key, int(answer["id"]), f"article {code}")
        result.articles += 1


def _missing_text(missing: dict[str, dict[str, Any]]) -> str:
    parts = []
    for number, (name, _) in sorted(missing["accounts"].items()):
        parts.append(
            N_(
                "account {number} {name}: create it in bexio's chart of accounts (or push with --create-missing)"
            ).format(number=number, name=name)
        )
    for code, rate in sorted(missing["taxes"].items()):
        parts.append(N_("VAT code {code} ({rate} %): activate it in bexio's VAT settings, or map it with --map")
                     .format(code=code, rate=rate))  # fmt: skip
    for code, (theirs, ours) in sorted(missing["rates"].items()):
        parts.append(N_("VAT code {code} is {theirs} % in bexio and {ours} % in the books: map it with --map")
                     .format(code=code, theirs=theirs, ours=ours))  # fmt: skip
    for code, (theirs, ours) in sorted(missing["tax_accounts"].items()):
        parts.append(N_("VAT code {code} books its VAT to {theirs} in bexio and to {ours} in the books: set its "
                        "account in bexio's VAT settings, or map the account with --map")
                     .format(code=code, theirs=theirs, ours=ours))  # fmt: skip
    for code in sorted(missing["currencies"]):
        parts.append(N_("currency {code}: add it in bexio's currency settings").format(code=code))
    for what, template in (
        ("countries", N_("country {code} (contact {who}): not in bexio's list of countries")),
        ("languages", N_("language {code} (contact {who}): not in bexio's list of languages")),
    ):
        for code, who in sorted(missing[what].items()):
            parts.append(template.format(code=code, who=who))
    for code, number in sorted(missing["contacts"].items()):
        parts.append(N_("customer {code} (open invoice {number}): neither among the partners of the books nor a "
                        "contact number in bexio").format(code=code, number=number))  # fmt: skip
    for name, who in sorted(missing["units"].items()):
        parts.append(
            N_("unit {name} (article {who}): create it in bexio's settings (units)").format(name=name, who=who)
        )
    heading = N_("{count} thing(s) the books need are missing in bexio; nothing was posted:").format(count=len(parts))
    return "\n  ".join([heading, *parts])


def _summary(ledger: Ledger, bodies: list[tuple[dict[str, Any], dict[str, Any]]],
             missing: dict[str, dict[str, Any]]) -> list[str]:  # fmt: skip
    """What a push would do: counts and totals (the dry run prints these)."""
    kinds = Counter(body["type"] for body, _ in bodies)
    out = [N_("manual entries: {count} ({single} single, {compound} compound)").format(
        count=len(bodies), single=kinds["manual_single_entry"], compound=kinds["manual_compound_entry"])]  # fmt: skip
    for span in years_of(ledger):
        debit = sum(a for a, d in zip(ledger.lines.column("amount").to_pylist(), ledger.lines.column("date").to_pylist(),
                                      strict=True) if a > 0 and span.contains(d))  # fmt: skip
        out.append("  " + N_("{start} to {end}: debit total {total}").format(
            start=span.start.isoformat(), end=span.end.isoformat(), total=format_cents(debit)))  # fmt: skip
    for what in (
        "accounts",
        "taxes",
        "currencies",
        "rates",
        "tax_accounts",
        "countries",
        "languages",
        "units",
        "contacts",
    ):
        if missing[what]:
            out.append(N_("missing in bexio ({what}): {items}").format(
                what=what, items=", ".join(str(k) for k in sorted(missing[what]))))  # fmt: skip
    return out


def _plan(bodies: list[tuple[dict[str, Any], dict[str, Any]]], accounts: dict[str, int], taxes: dict[str, int],
          currencies: dict[str, int]) -> list[Planned]:  # fmt: skip
    """The bodies with bexio's ids, each with its key (fingerprint and occurrence number)."""
    seen: Counter[str] = Counter()
    out = []
    for body, first in bodies:
        lines = []
        for line in body["entries"]:
            lines.append({**line, **{side: accounts[line[side]] if line.get(side) else None
                                     for side in ("debit_account_id", "credit_account_id", "tax_account_id")},
                          "tax_id": taxes[line["tax_id"]] if line.get("tax_id") else None,
                          "currency_id": currencies[line["currency_id"]]})  # fmt: skip
        mapped = {**body, "reference_nr": (body.get("reference_nr") or "")[:80], "entries": lines}
        plain = json.loads(writer.dumps(mapped), parse_float=Decimal)
        print_ = fingerprint(plain)
        seen[print_] += 1
        out.append(Planned(mapped, f"entry:{print_}:{seen[print_]}", first))
    return out


def _unjournaled(listed: list[dict[str, Any]], key: Callable[[dict[str, Any]], str], print_: str,
                 journaled: set[int]) -> dict[str, Any] | None:  # fmt: skip
    """The first object of bexio's list `listed` whose fingerprint (`key`) is `print_` and that the journal
    does not hold yet: a POST bexio saved though its answer was lost."""
    return next((o for o in listed if key(o) == print_ and o.get("id") not in journaled), None)


def _post_entries(api: bexio_api.Client, planned: list[Planned], book: Journal, result: PushResult) -> None:
    """Post each planned entry not yet in the journal nor in bexio's list (see the module doc)."""
    listed = api.manual_entries()
    in_bexio: dict[str, list[int]] = {}
    known = book.ids_of("entry")
    for entry in listed:
        if entry.get("id") not in known:
            in_bexio.setdefault(fingerprint(entry), []).append(int(entry["id"]))
    for item in planned:
        if item.key in book.ids:
            result.already += 1
            continue
        print_ = item.key.split(":")[1]
        if in_bexio.get(print_):
            book.record(item.key, in_bexio[print_].pop(0), "entry (found in bexio)")
            result.already += 1
            continue
        text = writer.dumps(item.body)

        def saved(print_: str = print_) -> dict[str, Any] | None:
            return _unjournaled(api.manual_entries(), fingerprint, print_, book.ids_of("entry"))

        try:
            answer = api.post(ENTRIES, text, saved=saved)
        except bexio_api.BexioRejected as exc:
            first = item.first
            message = N_("entry {voucher} of {date}: not posted: {reason}").format(
                voucher=first["doc"] or first["entry"], date=first["date"], reason=exc
            )
            result.rejected.append(Problem("error", message, first["source_file"], first["source_row"]))
            continue
        book.record(item.key, int(answer["id"]), f"entry {item.body.get('reference_nr') or ''}")
        result.posted += 1


@dataclass
class PlannedInvoice:
    """One open invoice to create and issue: its body with ids, its key, and the invoice as planned."""

    body: dict[str, Any]
    key: str
    invoice: writer.OpenInvoice


def invoice_fingerprint(body: dict[str, Any]) -> str:
    """A stable key of a bexio invoice as posted or as bexio lists it: contact, number (``api_reference``),
    dates, currency, VAT type and total (the positions' quantity × unit price, else bexio's ``total``)."""
    positions = body.get("positions")
    if positions:
        total = sum((Decimal(str(p.get("amount", 1))) * Decimal(str(p.get("unit_price"))) for p in positions),
                    Decimal(0))  # fmt: skip
    else:
        total = Decimal(str(body.get("total") or 0))
    text = json.dumps([body.get("contact_id"), body.get("api_reference") or "", body.get("is_valid_from"),
                       body.get("is_valid_to"), body.get("currency_id"), body.get("mwst_type"),
                       format(total.normalize(), "f")], ensure_ascii=False)  # fmt: skip
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _plan_invoices(invoices: list[writer.OpenInvoice], accounts: dict[str, int], currencies: dict[str, int],
                   contacts: dict[str, int], user: int) -> list[PlannedInvoice]:  # fmt: skip
    """The invoice bodies with bexio's ids, each with its key (fingerprint and occurrence number)."""
    seen: Counter[str] = Counter()
    out = []
    for invoice in invoices:
        body = invoice.body
        mapped = {**body, "contact_id": contacts[body["contact_id"]], "user_id": user,
                  "currency_id": currencies[body["currency_id"]],
                  "positions": [{**p, "account_id": accounts[p["account_id"]]} for p in body["positions"]]}  # fmt: skip
        print_ = invoice_fingerprint(json.loads(writer.dumps(mapped), parse_float=Decimal))
        seen[print_] += 1
        out.append(PlannedInvoice(mapped, f"invoice:{print_}:{seen[print_]}", invoice))
    return out


def _post_invoices(api: bexio_api.Client, planned: list[PlannedInvoice], book: Journal, result: PushResult) -> None:
    """Create each planned invoice not yet in the journal nor in bexio's list, then issue each one still a
    draft. The journal records the creation (``invoice:…``) and the issuing (``issued:…``) apart, so a
    crash between them is resumed by issuing, never by creating again."""
    listed = api.invoices()
    known = book.ids_of("invoice")
    status = {int(i["id"]): i.get("kb_item_status_id") for i in listed}
    in_bexio: dict[str, list[int]] = {}
    for invoice in listed:
        if invoice.get("id") not in known:
            in_bexio.setdefault(invoice_fingerprint(invoice), []).append(int(invoice["id"]))
    for item in planned:
        print_ = item.key.split(":")[1]
        number = item.invoice.item["id"]
        if item.key in book.ids:
            result.invoices_already += 1
        elif in_bexio.get(print_):
            book.record(item.key, in_bexio[print_].pop(0), f"invoice {number} (found in bexio)")
            result.invoices_already += 1
        else:

            def saved(print_: str = print_) -> dict[str, Any] | None:
                return _unjournaled(api.invoices(), invoice_fingerprint, print_, book.ids_of("invoice"))

            try:
                answer = api.post(INVOICES, writer.dumps(item.body), saved=saved)
            except bexio_api.BexioRejected as exc:
                result.rejected.append(Problem("error", N_("open invoice {number}: not created: {reason}").format(
                    number=number, reason=exc)))  # fmt: skip
                continue
            book.record(item.key, int(answer["id"]), f"invoice {number}")
            status[int(answer["id"])] = answer.get("kb_item_status_id", writer.DRAFT)
            result.invoices += 1
        issued = "issued:" + item.key.split(":", 1)[1]
        invoice_id = book.ids[item.key]
        if issued in book.ids:
            continue
        if status.get(invoice_id, writer.DRAFT) != writer.DRAFT:
            book.record(issued, invoice_id, f"invoice {number} issued (found in bexio)")
            continue

        def done(invoice_id: int = invoice_id) -> dict[str, Any] | None:
            now = next((i for i in api.invoices() if i.get("id") == invoice_id), None)
            return now if now is not None and now.get("kb_item_status_id") != writer.DRAFT else None

        try:
            api.issue(invoice_id, saved=done)
        except bexio_api.BexioRejected as exc:
            result.rejected.append(Problem("error", N_("open invoice {number}: created, not issued: {reason}").format(
                number=number, reason=exc)))  # fmt: skip
            continue
        book.record(issued, invoice_id, f"invoice {number} issued")
        result.issued += 1
        result.created.append(N_("open invoice {number} of {partner}, {amount} (issued)").format(
            number=number, partner=item.invoice.item["partner"],
            amount=format_cents(item.invoice.item["open_amount"])))  # fmt: skip


__all__ = ["PushResult", "PushStopped", "fingerprint", "invoice_fingerprint", "push"]
