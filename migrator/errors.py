"""Errors raised on misuse. Data problems are values (`migrator.model.Problem`), not exceptions.

Each error inherits both `MigratorError` and the builtin it resembles, so callers can catch either.
Only `migrator.cli` turns these into messages and exit codes. Messages speak to a library user;
an error that one argument would fix names it in `option` (``"dossier"``, ``"encoding"``,
``"from_format"``), and the command line adds its own hint (``--dossier``).
"""

from __future__ import annotations

from migrator.i18n import N_


class MigratorError(Exception):
    """Base of every error migrator raises on purpose."""

    exit_code = 2
    option = ""
    """The argument of `migrator.read`/`convert` that would fix this, if one would."""


class UnknownFormat(MigratorError, LookupError):
    """No format of that name, or no reader recognises the source."""


class UnsupportedOperation(MigratorError, ValueError):
    """The format exists but cannot do this (e.g. read a write-only format)."""


class SourceError(MigratorError, ValueError):
    """The source cannot be read at all (missing, unreadable, not a ledger of that format)."""

    def __init__(self, message: str, file: str = "", row: int | None = None, *, option: str = "") -> None:
        where = file
        if row is not None:
            where = f"{file}, row {row}" if file else f"row {row}"
        super().__init__(f"{where}: {message}" if where else message)
        self.detail = message
        """The message without its place (`migrator.i18n.error` shows it in the user's language)."""
        self.file = file
        self.row = row
        self.option = option


class ProblemsFound(MigratorError, ValueError):
    """Validation found errors; nothing was written."""

    exit_code = 3

    def __init__(self, problems: list, message: str = "") -> None:  # list[Problem]
        self.problems = problems
        errors = [p for p in problems if p.severity == "error"]
        super().__init__(message or N_("{count} error(s) found; nothing was written").format(count=len(errors)))


class MappingError(MigratorError, ValueError):
    """A mapping file that cannot be used: missing, malformed, or with overlapping rules."""


class UnmappedAccounts(MigratorError, ValueError):
    """A mapping leaves accounts with lines or a balance uncovered; nothing was written."""

    exit_code = 3
