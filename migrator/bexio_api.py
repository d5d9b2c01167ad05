"""bexio's REST API, the part `migrator push` uses: one client, every endpoint's shape written down.

Facts (FORMATS.md, from bexio's API description as copied in gigerIT/bexio-api-client ``docs/`` and the
AMANDA-Technology/BexioApiNet models):

* Base ``https://api.bexio.com``; headers ``Accept: application/json`` and ``Authorization: Bearer
  <token>`` (a personal API token an administrator makes in bexio, or OpenID Connect). Status codes 200,
  201 (created), 304, 400, 401 (no valid token), 403 (the token may not do this), 404, 415, 422 (could
  not save: the body breaks a rule), 429 (too many requests), 500, 503. Error body
  ``{error_code, message, errors}``.
* Lists page with ``limit`` (default 500, at most 2000) and ``offset``; a page shorter than the limit
  is the last.
* ``GET /2.0/accounts`` → ``id, account_no, name, account_group_id, account_type`` (1 earnings,
  2 expenditures, 3 active, 4 passive, 5 complete), ``tax_id, is_active, is_locked``. The API names
  accounts by ``id``, never by ``account_no``.
* ``GET /3.0/taxes`` → ``id, uuid, name, code, digit, type, account_id, tax_settlement_type, value``
  (the rate), ``net_tax_value, start_year, end_year, is_active, display_name``.
* ``GET /3.0/currencies`` → ``id, name`` (ISO code), ``round_factor`` (CHF 0.05).
* ``GET|POST /3.0/accounting/manual_entries``: ``type`` (``manual_single_entry``,
  ``manual_compound_entry``: one total over several accounts, each line filling only its debit or its
  credit side), ``date``, ``reference_nr`` (≤ 80 characters), ``entries[]`` of ``debit_account_id,
  credit_account_id, amount, description`` (≤ 255), ``tax_id, tax_account_id`` (must be the line's
  debit or credit account), ``currency_id, currency_factor``; a listed entry has its ``id`` and
  ``is_locked``. The amount of a line with ``tax_id`` includes the VAT, which bexio books itself.
* ``GET|POST /2.0/contact``: ``contact_type_id`` (1 company, 2 person), ``name_1`` (company or last
  name), ``name_2`` (first name), ``user_id``, ``owner_id`` (required), ``street_name, house_number,
  address_addition, postcode, city, country_id, mail, phone_fixed, phone_mobile, url, remarks,
  language_id``.
* ``GET|POST /2.0/article``: ``user_id, article_type_id`` (1 physical, 2 service), ``intern_code,
  intern_name, intern_description, purchase_price, sale_price, currency_id, tax_income_id,
  tax_expense_id, unit_id, is_stock, stock_nr, stock_min_nr, deliverer_code, account_id,
  expense_account_id``.

* ``POST /2.0/kb_invoice``: ``contact_id, user_id, currency_id, mwst_type`` (0 VAT included, 1 excluded,
  2 exempt), ``positions[]`` of ``amount, unit_id, account_id, tax_id, text, unit_price,
  discount_in_percent, article_id``.

*Assumed*, not in FORMATS.md (named so in the README): ``GET /2.0/kb_invoice`` lists the invoices
(with ``id``, ``kb_item_status_id``, 7 for a draft, and the fields posted; ``total`` where the list
shows no positions); ``POST /2.0/kb_invoice/{id}/issue`` issues a draft (bexio then books it);
the invoice fields ``title, api_reference, is_valid_from, is_valid_to`` and a position's ``type``;
``GET /3.0/users/me`` gives the ``id`` of the token's user (contacts and invoices need a ``user_id``, contacts
an ``owner_id``); ``GET /2.0/country`` (``id, iso_3166_alpha2``),
``GET /2.0/language`` (``id, iso_639_1``) and ``GET /2.0/unit`` (``id, name``) list what contacts and
articles refer to; ``POST /2.0/accounts`` with ``account_no, name, account_type`` creates an account
(``--create-missing`` only).

Retries: 429 and 5xx, and a connection dropped or refused, are retried with exponential backoff
(0.5 s, 1 s, 2 s … at most 30 s, 6 tries), waiting as long as ``Retry-After`` says where bexio sends it.
A POST whose connection dropped may have been saved: the caller looks at bexio's list before posting
it again (`migrator.push`). 401 and 403 stop at once (`BexioAuthError`); 422 raises `BexioRejected`
with bexio's message. The token never appears in a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from migrator.errors import MigratorError
from migrator.i18n import N_

DEFAULT_URL = "https://api.bexio.com"
PAGE = 2000
"""bexio's largest page (``limit``)."""


class BexioError(MigratorError):
    """bexio answered something migrator cannot go on with (or could not be reached)."""


class BexioAuthError(BexioError):
    """401 or 403: the token is wrong, expired, or may not do this."""


@dataclass
class BexioRejected(Exception):
    """422 (or another 4xx) for one request: bexio's own message."""

    status: int
    message: str

    def __str__(self) -> str:
        return f"bexio refused it ({self.status}): {self.message}"


@dataclass
class Client:
    """A bexio API client: `get_all` for lists (paged), `post` for creating, each retried as above."""

    token: str
    base_url: str = DEFAULT_URL
    tries: int = 6
    backoff: float = 0.5  # float-ok: seconds
    timeout: float = 30.0  # float-ok: seconds
    sleep: Callable[[float], None] = time.sleep  # float-ok: seconds
    transport: httpx.BaseTransport | None = None
    retried: list[str] = field(default_factory=list)
    """One line per retry (status or error, and the wait), for the report."""
    _http: httpx.Client | None = None

    def __post_init__(self) -> None:
        if not self.token.strip():
            raise BexioAuthError("no bexio token: pass --token-file FILE or set BEXIO_TOKEN")
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token.strip()}"}
        self._http = httpx.Client(base_url=self.base_url.rstrip("/"), headers=headers, timeout=self.timeout,
                                  transport=self.transport, follow_redirects=False)  # fmt: skip

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None, content: str | None = None,
                saved: Callable[[], Any] | None = None) -> Any:  # fmt: skip
        """One call with its retries; the decoded JSON answer. Before a POST is sent again after a dropped
        connection or a 5xx answer (it may have been saved), `saved()` is asked for bexio's copy of it;
        when it gives one, that is the answer."""
        assert self._http is not None
        headers = {"Content-Type": "application/json"} if content is not None else None
        for attempt in range(1, self.tries + 1):
            wait = min(self.backoff * 2 ** (attempt - 1), 30.0)  # float-ok: seconds
            try:
                response = self._http.request(method, path, params=params, content=content, headers=headers)
            except httpx.TransportError as exc:  # refused, dropped, timed out
                if attempt == self.tries:
                    raise BexioError(f"{method} {path}: bexio could not be reached ({type(exc).__name__}) after "
                                     f"{self.tries} tries at {self.base_url}") from None  # fmt: skip
                self.retried.append(
                    N_("{request}: {reason}; tried again after {seconds} s").format(
                        request=f"{method} {path}", reason=type(exc).__name__, seconds=f"{wait:g}"
                    )
                )
                self.sleep(wait)
                if saved is not None and (found := saved()) is not None:
                    return found
                continue
            status = response.status_code
            if status in (401, 403):
                raise BexioAuthError(f"{method} {path}: bexio answered {status} ({_message(response)}): "
                                     + ("the token is not valid or has expired; make a new one in bexio"
                                        if status == 401 else "the token may not do this; check its scopes "
                                        "(accounting, contacts, articles) in bexio"))  # fmt: skip
            if status == 429 or status >= 500:
                if attempt == self.tries:
                    raise BexioError(f"{method} {path}: bexio answered {status} ({_message(response)}) "
                                     f"{self.tries} times; try again later")  # fmt: skip
                wait = max(wait, _retry_after(response))
                self.retried.append(
                    N_("{request}: {reason}; tried again after {seconds} s").format(
                        request=f"{method} {path}", reason=status, seconds=f"{wait:g}"
                    )
                )
                self.sleep(wait)
                if status != 429 and saved is not None and (found := saved()) is not None:
                    return found
                continue
            if status >= 400:
                raise BexioRejected(status, _message(response))
            try:  # amounts exact: decimals as Decimal, never binary floats
                return json.loads(response.content, parse_float=Decimal)
            except ValueError:
                raise BexioError(f"{method} {path}: bexio's answer is not JSON") from None
        raise AssertionError("unreachable")  # pragma: no cover

    def get_all(self, path: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Every item of a list, page by page (``limit`` 2000, ``offset``)."""
        items: list[dict[str, Any]] = []
        while True:
            page = self.request("GET", path, params={**(params or {}), "limit": PAGE, "offset": len(items)})
            if not isinstance(page, list):
                raise BexioError(f"GET {path}: expected a list, bexio answered {type(page).__name__}")
            items += page
            if len(page) < PAGE:
                return items

    def post(self, path: str, body: str, saved: Callable[[], Any] | None = None) -> dict[str, Any]:
        """Create one object (`body` is JSON text, its amounts exact); bexio's answer, with its ``id``
        (`saved`: see `request`)."""
        answer = self.request("POST", path, content=body, saved=saved)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise BexioError(f"POST {path}: bexio's answer has no id")
        return answer

    # the endpoints (see the module doc)
    def accounts(self) -> list[dict[str, Any]]:
        return self.get_all("/2.0/accounts")

    def taxes(self) -> list[dict[str, Any]]:
        return self.get_all("/3.0/taxes")

    def currencies(self) -> list[dict[str, Any]]:
        return self.get_all("/3.0/currencies")

    def manual_entries(self) -> list[dict[str, Any]]:
        return self.get_all("/3.0/accounting/manual_entries")

    def contacts(self) -> list[dict[str, Any]]:
        return self.get_all("/2.0/contact")

    def articles(self) -> list[dict[str, Any]]:
        return self.get_all("/2.0/article")

    def countries(self) -> list[dict[str, Any]]:
        return self.get_all("/2.0/country")

    def languages(self) -> list[dict[str, Any]]:
        return self.get_all("/2.0/language")

    def units(self) -> list[dict[str, Any]]:
        return self.get_all("/2.0/unit")

    def invoices(self) -> list[dict[str, Any]]:
        return self.get_all("/2.0/kb_invoice")

    def issue(self, invoice_id: int, saved: Callable[[], Any] | None = None) -> Any:
        """Issue draft invoice `invoice_id` (`saved`: see `request`; it finds the invoice issued already)."""
        return self.request("POST", f"/2.0/kb_invoice/{invoice_id}/issue", content="{}", saved=saved)

    def me(self) -> dict[str, Any]:
        answer = self.request("GET", "/3.0/users/me")
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), int):
            raise BexioError("GET /3.0/users/me: bexio's answer has no user id")
        return answer


def _message(response: httpx.Response) -> str:
    """bexio's error message (``message``, then ``errors``), else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict):
        parts = [str(body.get("message") or "")]
        errors = body.get("errors")
        if errors:
            parts.append(str(errors))
        return "; ".join(p for p in parts if p) or response.reason_phrase
    return str(body)[:200]


def _retry_after(response: httpx.Response) -> float:  # float-ok: seconds
    """Seconds bexio asks to wait (``Retry-After`` in seconds), 0 if it does not say."""
    value = response.headers.get("Retry-After", "")
    try:
        return min(max(float(value), 0.0), 300.0)  # float-ok: seconds
    except ValueError:
        return 0.0
