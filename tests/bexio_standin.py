"""A stand-in for bexio's API in the tests: a threaded HTTP server on 127.0.0.1, state in memory.

It implements the endpoints `migrator.bexio_api` uses with the shapes and rules bexio documents
(FORMATS.md): a Bearer token (401 without a valid one, 403 for a read-only token that posts), lists
paged by ``limit`` (default 500, at most 2000, else 422) and ``offset``, integer ids, 201 with the saved
object, 404 for an unknown path, 422 with ``{error_code, message, errors}`` when a body breaks a rule
(unknown account, tax or currency; ``tax_account_id`` not the line's debit or credit account; a
compound entry line with both sides or neither, or whose sides do not balance; a single entry that is
not one line with both; ``reference_nr`` over 80 or ``description`` over 255 characters; a missing
required contact or article field). Faults are injected by request number: 429 with ``Retry-After``,
503, or a connection dropped after the request was handled (a POST is saved, its answer never sent).
Invoices: ``POST /2.0/kb_invoice`` saves a draft (``kb_item_status_id`` 7) with its ``total`` (quantity ×
unit price of its positions; 422 for an unknown contact, account, tax or currency, a missing user or
position, a ``mwst_type`` other than 0, 1, 2); ``POST /2.0/kb_invoice/{id}/issue`` makes a draft
pending (8; 422 when it is not a draft, 404 for an unknown id); ``GET /2.0/kb_invoice`` lists them.
The stand-in books nothing for an invoice (bexio would: the receivable against the positions' accounts).
bexio's VAT on a line with ``tax_id`` is computed as migrator expects it (the gross amount, rounded to
the currency's ``round_factor``) only on reading back, in migrator; the stand-in keeps what it is sent.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "test-token-3f9a"
READ_ONLY = "read-only-token-77c1"
_NUMBER = "\x00n:"
_PLACEHOLDER = re.compile('"' + re.escape(json.dumps(_NUMBER)[1:-1]) + r'([^"]*)"')


def _dumps(value: Any) -> bytes:
    """JSON with Decimals as bare, exact numbers."""

    def exact(item: Any) -> Any:
        if isinstance(item, Decimal):
            return _NUMBER + str(item)
        if isinstance(item, dict):
            return {k: exact(v) for k, v in item.items()}
        if isinstance(item, list):
            return [exact(v) for v in item]
        return item

    return _PLACEHOLDER.sub(r"\1", json.dumps(exact(value), ensure_ascii=False)).encode("utf-8")


SWISS_TAXES = [  # code, rate, type, VAT account number
    ("UN81", "8.1", "sales_tax", "2200"), ("UN77", "7.7", "sales_tax", "2200"), ("UN26", "2.6", "sales_tax", "2200"),
    ("VM81", "8.1", "pre_tax_material", "1170"), ("VM77", "7.7", "pre_tax_material", "1170"),
    ("VB81", "8.1", "pre_tax_investment", "1171"), ("VB77", "7.7", "pre_tax_investment", "1171"),
]  # fmt: skip


@dataclass
class Standin:
    """bexio's state and the server answering for it (`start` gives the base URL)."""

    accounts: list[dict[str, Any]] = field(default_factory=list)
    taxes: list[dict[str, Any]] = field(default_factory=list)
    currencies: list[dict[str, Any]] = field(default_factory=list)
    entries: list[dict[str, Any]] = field(default_factory=list)
    contacts: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)
    countries: list[dict[str, Any]] = field(default_factory=list)
    languages: list[dict[str, Any]] = field(default_factory=list)
    units: list[dict[str, Any]] = field(default_factory=list)
    invoices: list[dict[str, Any]] = field(default_factory=list)
    too_many: dict[int, str] = field(default_factory=dict)
    """Request number → Retry-After value of a 429 answer."""
    unavailable: set[int] = field(default_factory=set)
    """Request numbers answered 503."""
    dropped: set[int] = field(default_factory=set)
    """Request numbers whose connection is closed after handling them, without an answer."""
    log: list[tuple[str, str, int]] = field(default_factory=list)
    """(method, path, status) of every request, in order."""
    authorizations: list[str] = field(default_factory=list)
    _next: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def new_id(self, kind: str = "") -> int:
        """The next id of a kind of object: each kind counts on its own, as in bexio (a contact and an
        entry may share an id), and ids are integers that are not positions."""
        self._next[kind] = self._next.get(kind, 0) + 1
        return self._next[kind] * 7

    def chart(self, numbers: dict[str, str]) -> None:
        """Accounts (number → name) and the Swiss VAT codes on 1170/1171/2200, CHF rounding to 0.05."""
        types = {"1": 3, "2": 4, "3": 1, "4": 2, "5": 2, "6": 2, "7": 1, "8": 2, "9": 5}
        for number, name in numbers.items():
            self.accounts.append({"id": self.new_id("/2.0/accounts"), "account_no": number, "name": name,
                                  "account_type": types.get(number[:1], 3), "account_group_id": None,
                                  "tax_id": None, "is_active": True, "is_locked": False})  # fmt: skip
        by_number = {a["account_no"]: a["id"] for a in self.accounts}
        for code, rate, kind, account in SWISS_TAXES:
            self.taxes.append({"id": self.new_id("taxes"), "uuid": f"uuid-{code}", "name": code, "code": code, "digit": None,
                               "type": kind, "account_id": by_number.get(account), "tax_settlement_type": "agreed",
                               "value": Decimal(rate), "net_tax_value": None, "start_year": 2024 if rate == "8.1"
                               else 2018, "end_year": None if rate == "8.1" else 2023, "is_active": True,
                               "display_name": f"{code} - {rate}%"})  # fmt: skip
        self.currencies += [{"id": self.new_id("currencies"), "name": "CHF", "round_factor": Decimal("0.05")},
                            {"id": self.new_id("currencies"), "name": "EUR", "round_factor": Decimal("0.01")}]  # fmt: skip
        self.countries += [{"id": self.new_id("countries"), "name": n, "name_short": c, "iso_3166_alpha2": c}
                           for c, n in (("CH", "Schweiz"), ("FR", "Frankreich"), ("DE", "Deutschland"))]  # fmt: skip
        self.languages += [{"id": self.new_id("languages"), "name": n, "iso_639_1": c}
                           for c, n in (("de", "Deutsch"), ("fr", "Französisch"), ("it", "Italienisch"),
                                        ("en", "Englisch"))]  # fmt: skip
        self.units += [{"id": self.new_id("units"), "name": n} for n in ("Stk", "h", "pce", "l", "kg")]

    # ------------------------------------------------------------------------------------------ serving
    def start(self) -> str:
        handler = _handler(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def answer(self, method: str, path: str, query: dict[str, list[str]], token: str,
               body: bytes) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
        """(status, JSON value, headers) for one request; faults are decided by the caller."""
        if token not in (TOKEN, READ_ONLY):
            return 401, {"error_code": 401, "message": "The access token is invalid", "errors": []}, {}
        if method == "POST" and token == READ_ONLY:
            return 403, {"error_code": 403, "message": "Insufficient scopes", "errors": []}, {}
        lists = {"/2.0/accounts": self.accounts, "/3.0/taxes": self.taxes, "/3.0/currencies": self.currencies,
                 "/3.0/accounting/manual_entries": self.entries, "/2.0/contact": self.contacts,
                 "/2.0/article": self.articles, "/2.0/country": self.countries, "/2.0/language": self.languages,
                 "/2.0/unit": self.units, "/2.0/kb_invoice": self.invoices}  # fmt: skip
        if method == "GET" and path == "/3.0/users/me":
            return 200, {"id": 1, "firstname": "Test", "lastname": "User", "email": "owner@example.ch"}, {}
        issue = re.fullmatch(r"/2\.0/kb_invoice/(\d+)/issue", path)
        if issue and method == "POST":
            invoice = next((i for i in self.invoices if i["id"] == int(issue.group(1))), None)
            if invoice is None:
                return 404, {"error_code": 404, "message": "Invoice not found", "errors": []}, {}
            if invoice["kb_item_status_id"] != 7:
                return 422, _error("Could not issue the invoice", ["the invoice is not a draft"]), {}
            invoice["kb_item_status_id"] = 8
            return 200, {"success": True}, {}
        if path not in lists:
            return 404, {"error_code": 404, "message": f"No route for {path}", "errors": []}, {}
        if method == "GET":
            try:
                limit = int(query.get("limit", ["500"])[0])
                offset = int(query.get("offset", ["0"])[0])
            except ValueError:
                return 422, _error("limit and offset must be integers"), {}
            if not 1 <= limit <= 2000 or offset < 0:
                return 422, _error("limit must be between 1 and 2000"), {}
            return 200, lists[path][offset : offset + limit], {}
        if method != "POST":
            return 404, _error(f"{method} not allowed"), {}
        try:
            data = json.loads(body, parse_float=Decimal)
        except ValueError:
            return 400, _error("the body is not JSON"), {}
        if not isinstance(data, dict):
            return 422, _error("expected an object"), {}
        check = {"/3.0/accounting/manual_entries": self._entry, "/2.0/contact": self._contact,
                 "/2.0/article": self._article, "/2.0/accounts": self._account,
                 "/2.0/kb_invoice": self._invoice}.get(path)  # fmt: skip
        if check is None:
            return 404, _error(f"POST not allowed on {path}"), {}
        problems = check(data)
        if problems:
            return 422, _error("Could not save the entity", problems), {}
        saved = {**data, "id": self.new_id(path)}
        if path == "/3.0/accounting/manual_entries":
            saved["entries"] = [{**line, "id": self.new_id("lines")} for line in data["entries"]]
            saved["is_locked"] = False
        if path == "/2.0/kb_invoice":
            saved["positions"] = [{**position, "id": self.new_id("positions")} for position in data["positions"]]
            saved["total"] = sum((Decimal(p.get("amount") or 0) * Decimal(p.get("unit_price") or 0)
                                  for p in data["positions"]), Decimal(0))  # fmt: skip
            saved["kb_item_status_id"] = 7
        lists[path].append(saved)
        return 201, saved, {}

    def _entry(self, data: dict[str, Any]) -> list[str]:
        problems: list[str] = []
        accounts = {a["id"] for a in self.accounts}
        taxes = {t["id"] for t in self.taxes}
        currencies = {c["id"] for c in self.currencies}
        kind, lines = data.get("type"), data.get("entries")
        if kind not in ("manual_single_entry", "manual_compound_entry", "manual_group_entry"):
            problems.append(f"type: {kind!r} is not a manual entry type")
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(data.get("date", ""))):
            problems.append("date: expected YYYY-MM-DD")
        if len(str(data.get("reference_nr") or "")) > 80:
            problems.append("reference_nr: at most 80 characters")
        if not isinstance(lines, list) or not lines:
            return [*problems, "entries: at least one line"]
        debit = credit = Decimal(0)
        for number, line in enumerate(lines, start=1):
            d, c = line.get("debit_account_id"), line.get("credit_account_id")
            amount = line.get("amount")
            if not isinstance(amount, int | Decimal) or isinstance(amount, bool) or amount <= 0:
                problems.append(f"entries.{number}.amount: a positive number")
                continue
            for side in (d, c):
                if side is not None and side not in accounts:
                    problems.append(f"entries.{number}: account {side} does not exist")
            if kind == "manual_compound_entry" and (d is None) == (c is None):
                problems.append(f"entries.{number}: a compound entry line has a debit or a credit account")
            if kind == "manual_single_entry" and (d is None or c is None):
                problems.append(f"entries.{number}: a single entry has a debit and a credit account")
            tax = line.get("tax_id")
            if tax is not None and tax not in taxes:
                problems.append(f"entries.{number}: tax {tax} does not exist")
            if tax is not None and line.get("tax_account_id") not in (d, c):
                problems.append(f"entries.{number}.tax_account_id: must be the debit or the credit account")
            if line.get("currency_id") not in currencies:
                problems.append(f"entries.{number}: currency {line.get('currency_id')} does not exist")
            if len(str(line.get("description") or "")) > 255:
                problems.append(f"entries.{number}.description: at most 255 characters")
            debit += amount if d is not None else 0
            credit += amount if c is not None else 0
        if kind == "manual_single_entry" and len(lines) != 1:
            problems.append("entries: a single entry has one line")
        if kind == "manual_compound_entry" and debit != credit:
            problems.append(f"entries: debit {debit} and credit {credit} differ")
        return problems

    def _contact(self, data: dict[str, Any]) -> list[str]:
        missing = [k for k in ("contact_type_id", "name_1", "user_id", "owner_id") if not data.get(k)]
        problems = [f"{k}: required" for k in missing]
        if data.get("contact_type_id") not in (None, 1, 2):
            problems.append("contact_type_id: 1 (company) or 2 (person)")
        if data.get("country_id") is not None and data["country_id"] not in {c["id"] for c in self.countries}:
            problems.append(f"country_id: {data['country_id']} does not exist")
        return problems

    def _article(self, data: dict[str, Any]) -> list[str]:
        missing = [k for k in ("user_id", "article_type_id", "intern_name") if not data.get(k)]
        problems = [f"{k}: required" for k in missing]
        if any(a.get("intern_code") == data.get("intern_code") for a in self.articles if data.get("intern_code")):
            problems.append(f"intern_code: {data.get('intern_code')} is already used")
        return problems

    def _invoice(self, data: dict[str, Any]) -> list[str]:
        problems = [f"{k}: required" for k in ("contact_id", "user_id") if not data.get(k)]
        if data.get("contact_id") and data["contact_id"] not in {c["id"] for c in self.contacts}:
            problems.append(f"contact_id: {data['contact_id']} does not exist")
        if data.get("currency_id") not in {c["id"] for c in self.currencies}:
            problems.append(f"currency_id: {data.get('currency_id')} does not exist")
        if data.get("mwst_type") not in (0, 1, 2):
            problems.append("mwst_type: 0, 1 or 2")
        positions = data.get("positions")
        if not isinstance(positions, list) or not positions:
            return [*problems, "positions: at least one"]
        for number, position in enumerate(positions, start=1):
            account, tax = position.get("account_id"), position.get("tax_id")
            if account is not None and account not in {a["id"] for a in self.accounts}:
                problems.append(f"positions.{number}: account {account} does not exist")
            if tax is not None and tax not in {t["id"] for t in self.taxes}:
                problems.append(f"positions.{number}: tax {tax} does not exist")
            if not isinstance(position.get("unit_price"), int | Decimal) or isinstance(
                position.get("unit_price"), bool
            ):
                problems.append(f"positions.{number}.unit_price: a number")
        return problems

    def _account(self, data: dict[str, Any]) -> list[str]:
        problems = [f"{k}: required" for k in ("account_no", "name", "account_type") if not data.get(k)]
        if any(a["account_no"] == data.get("account_no") for a in self.accounts):
            problems.append(f"account_no: {data.get('account_no')} exists")
        return problems


def _error(message: str, errors: list[str] | None = None) -> dict[str, Any]:
    return {"error_code": 422, "message": message, "errors": errors or []}


def _handler(standin: Standin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *_: Any) -> None:  # quiet
            pass

        def _serve(self, method: str) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            auth = self.headers.get("Authorization", "")
            token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else ""
            with standin._lock:
                number = len(standin.log) + 1
                standin.authorizations.append(auth)
                headers: dict[str, str] = {}
                if number in standin.too_many:
                    status, value = 429, _error("Too many requests")
                    headers = {"Retry-After": standin.too_many[number]}
                elif number in standin.unavailable:
                    status, value = 503, _error("Service unavailable")
                else:
                    status, value, headers = standin.answer(method, parts.path, parse_qs(parts.query), token, body)
                standin.log.append((method, parts.path, status))
            if number in standin.dropped:
                self.close_connection = True
                self.connection.shutdown(2)  # handled, never answered
                return
            data = _dumps(value)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for key, text in headers.items():
                self.send_header(key, text)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

    return Handler
