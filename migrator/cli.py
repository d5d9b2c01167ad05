"""The `migrator` command: a thin layer over `migrator.pipeline`.

Exit codes: 0 success; 1 internal error (a bug: please report it, `--debug` shows the traceback);
2 bad input or usage (unreadable file, unknown format, bad option); 3 the books have errors and
nothing was written (or a mapping leaves accounts unmapped); 4 the output does not read back to
the same books; 5 a bulk run in which at least one client failed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from migrator import __version__, i18n
from migrator.errors import MigratorError, ProblemsFound
from migrator.i18n import N_, _

_IN_F_STRINGS = (
    N_("format"),
    N_("read"),
    N_("write"),
    N_("output"),
    N_("description"),
)
"""Messages used inside f-strings, marked here for extraction (Babel on Python 3.11 does not look into
f-strings)."""

EXIT_CODES = N_("""\b
Exit codes:
  0  success
  1  internal error (a bug; --debug shows the traceback)
  2  bad input or usage: unreadable file, unknown format, bad option
  3  the books have errors: nothing was written
  4  the output does not read back to the same books
  5  bulk: at least one client failed (see OUTDIR/overview.html)""")

MAX_PRINTED_PROBLEMS = 50

HINTS = {
    "dossier": N_("--dossier NAME; `migrator inspect SOURCE` lists them"),
    "from_format": N_("--from FORMAT; `migrator formats` lists them"),
    "encoding": N_("--encoding NAME"),
    "force": N_("--force replaces it"),
}
"""What the command line adds to a library error that one option would fix (`MigratorError.option`)."""

CLICK_MESSAGES = [N_("required"), N_("default: {default}"), N_("Usage:"), N_("Options"), N_("Commands"), N_("Show this message and exit."),
                  N_("Show the version and exit."), N_("Error: {message}"), N_("Try '{command} {option}' for help."),
                  N_("Missing option {param_hint}."), N_("Missing argument {param_hint}."),
                  N_("No such option: {name}"), N_("No such command {name!r}.")]  # fmt: skip
"""Click's own words, translated through migrator's catalog (click asks `gettext.gettext`)."""

STEPS = {"reading": N_("reading"), "mapping": N_("mapping"), "validating and writing": N_("validating and writing"),
         "verifying": N_("verifying")}  # fmt: skip


class _State:
    debug = False
    quiet = False
    """--quiet: say only what went wrong."""
    stdout_taken = False
    """The output itself goes to standard output (-o -): every message goes to standard error."""
    step = ""
    """The step a conversion is at (what an interruption interrupted)."""


def _say(message: str, err: bool = False) -> None:
    """A message for the person at the terminal: none with --quiet (except on standard error)."""
    if _State.quiet and not err:
        return
    click.echo(message, err=err or _State.stdout_taken)


def _status(message: str) -> None:
    """A one-line progress note, only on a terminal (quiet in pipes and logs)."""
    _State.step = message
    if sys.stderr.isatty() and not _State.quiet:
        click.echo(f"\r\033[K{_(STEPS.get(message, message))}…", err=True, nl=False)


def _status_done() -> None:
    if sys.stderr.isatty():
        click.echo("\r\033[K", err=True, nl=False)


def _print_problems(problems: list[Any], limit: int = MAX_PRINTED_PROBLEMS) -> None:
    for problem in problems[:limit]:
        click.echo(f"  {i18n.problem(problem)}", err=True)
    if len(problems) > limit:
        click.echo("  " + _("… and {count} more (see --report)").format(count=len(problems) - limit), err=True)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: stop as on Ctrl-C, so that temporary files are removed on the way out."""

    def __init__(self, signal: int) -> None:
        super().__init__(signal)
        self.signal = signal


def _terminate(signum: int, _frame: Any) -> None:
    raise Terminated(signum)


def _environment_fault(exc: OSError) -> str:
    """What went wrong with the machine, in plain words, naming the path."""
    import errno

    where = exc.filename or ""
    known = {
        errno.ENOSPC: N_("the disk is full"),
        errno.EDQUOT: N_("the disk quota is used up"),
        errno.EROFS: N_("the file system is read-only"),
        errno.EACCES: N_("permission denied"),
        errno.EPERM: N_("permission denied"),
        errno.EEXIST: N_("a file or folder of that name is in the way"),
        errno.ENOTEMPTY: N_("a folder of that name is in the way and not empty"),
        errno.EISDIR: N_("a folder is in the way where a file should be"),
        errno.ENOTDIR: N_("a file is in the way where a folder should be"),
        errno.ENAMETOOLONG: N_("the name is too long for this file system"),
    }
    plain = _(known[exc.errno]) if exc.errno in known else (exc.strerror or str(exc))
    return f"{where}: {plain}" if where else plain


class _Group(click.Group):
    """Turns every error into one clear message and an exit code (a traceback only with --debug)."""

    def invoke(self, ctx: click.Context) -> Any:
        _State.step = ""
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except ProblemsFound as exc:
            _status_done()
            click.echo(_("error: {message}").format(message=i18n.error(exc)), err=True)
            _print_problems([p for p in exc.problems if p.severity == "error"])
            ctx.exit(exc.exit_code)
        except MigratorError as exc:
            _status_done()
            if _State.debug:
                raise
            hint = f" ({_(HINTS[exc.option])})" if exc.option in HINTS else ""
            click.echo(_("error: {message}").format(message=i18n.error(exc)) + hint, err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt as exc:
            if _State.step == "verifying":
                click.echo("\n" + _("interrupted while verifying: the output is complete but not verified "
                                    "(`migrator verify SOURCE OUTPUT` checks it)"), err=True)  # fmt: skip
            else:
                click.echo("\n" + _("interrupted: nothing half-written was left behind"), err=True)
            ctx.exit(128 + exc.signal if isinstance(exc, Terminated) else 130)
        except BrokenPipeError:  # the reader of our output went away (`| head`): stop quietly
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - keeps Python from failing again at exit
            ctx.exit(0)
        except OSError as exc:  # the machine's fault, not the books': disk full, read-only, no permission
            if _State.debug:
                raise
            _status_done()
            click.echo(_("error: {fault}; nothing half-written was left behind").format(fault=_environment_fault(exc)),
                       err=True)  # fmt: skip
            ctx.exit(2)
        except Exception as exc:  # a bug: say so plainly
            if _State.debug:
                raise
            _status_done()
            click.echo(_("internal error: {kind}: {message} (run with --debug for the traceback)").format(
                kind=type(exc).__name__, message=exc), err=True)  # fmt: skip
            ctx.exit(1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]}, epilog=EXIT_CODES)
@click.version_option(__version__, prog_name="migrator")
@click.option("--debug", is_flag=True, help=N_("Show tracebacks instead of one-line messages."))
@click.option("-q", "--quiet", is_flag=True, help=N_("Say only what went wrong (errors and a failed verification)."))
@click.option("--lang", metavar="LANG", help=N_("Language of messages and reports: en, fr, de, it (default: LANG)."))
def cli(debug: bool, quiet: bool, lang: str | None) -> None:
    """Move a company's books from one accounting program to another, and prove nothing was lost.

    \b
    Example:
      migrator convert samples/garage/journal.csv --to xlsx -o garage.xlsx
    \b
    Shell completion (bash; zsh and fish alike, see the README):
      eval "$(_MIGRATOR_COMPLETE=bash_source migrator)"
    """
    from migrator.i18n import set_language, supported

    _State.debug = debug
    _State.quiet = quiet
    _State.stdout_taken = False
    if lang and not supported(lang):
        raise click.BadParameter(_("choose en, fr, de or it"), param_hint="--lang")
    set_language(lang)  # None: the environment's (also undoes an earlier in-process --lang)


@cli.command()
@click.option("--markdown", is_flag=True, help=N_("Print the table as Markdown (as in the README)."))
@click.option("--json", "as_json", is_flag=True, help=N_("Print a JSON list, one object per format."))
def formats(markdown: bool, as_json: bool) -> None:
    """List the formats migrator reads and writes.

    \b
    Example:
      migrator formats
    """
    from migrator.registry import formats as all_formats

    if as_json:
        listed = [{"name": f.name, "reads": f.reads, "writes": f.writes, "output": f.output if f.writes else "",
                   "extensions": list(f.extensions), "title": f.title, "options": f.writer_options()}
                  for f in all_formats()]  # fmt: skip
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return

    rows = [
        (f.name, _("yes") if f.reads else "", _("yes") if f.writes else "", f.output if f.writes else "",
         " ".join(f.extensions), f.title)
        for f in all_formats()
    ]  # fmt: skip
    if markdown:
        click.echo("| format | reads | writes | output | extensions | what |")
        click.echo("|---|---|---|---|---|---|")
        for row in rows:
            click.echo("| " + " | ".join(row) + " |")
        return
    click.echo(f"{_('format'):<14} {_('read'):<5} {_('write'):<6} {_('output'):<7} {_('description')}")
    for name, reads, writes, output, _ext, title in rows:
        click.echo(f"{name:<14} {reads:<5} {writes:<6} {output:<7} {title}")


@cli.command()
@click.argument("file", type=click.Path(exists=True))
@click.option("--json", "as_json", is_flag=True, help=N_("Print one JSON object."))
def detect(file: str, as_json: bool) -> None:
    """Tell which format FILE (or folder, or zip) is in, its encoding and how sure that is.

    \b
    Example:
      migrator detect samples/garage/journal.csv
    """
    from migrator.pipeline import detect as run

    found = run(file)
    if as_json:
        click.echo(json.dumps(found.__dict__))
    else:
        encoding = f", encoding {found.encoding}" if found.encoding else ""
        click.echo(f"{file}: {found.format} (confidence {found.confidence:.2f}{encoding})")


def _read_options(function: Any) -> Any:
    function = click.option("--from", "from_format", metavar="FORMAT", help=N_("Source format (default: detect)."))(
        function
    )
    function = click.option("--encoding", help=N_("Text encoding of the source (default: detect)."))(function)
    function = click.option("--year", type=int, help=N_("Only the fiscal year starting in YEAR."))(function)
    function = click.option("--dossier", help=N_("Which company of a multi-company source (Winbiz DAT)."))(function)
    return function


@cli.command()
@click.argument("source", type=click.Path(exists=True))
@_read_options
@click.option("--json", "as_json", is_flag=True,
              help=N_("Print one JSON object: counts, trial_balance (all years' lines added up), years (per fiscal "
                   "year opening, movements and closing per account: the accountant's view), VAT, problems."))  # fmt: skip
def inspect(source: str, from_format: str | None, encoding: str | None, year: int | None, dossier: str | None,
            as_json: bool) -> None:  # fmt: skip
    """Read SOURCE and show what it holds: company, counts, trial balance, years and problems.

    In --json, `years[].closing` is each account's balance at the end of that fiscal year (its
    opening plus the year's movements): the figure an accountant compares. `trial_balance` adds up
    every line of every year, so on books of several years it is no year's balance.

    \b
    Example:
      migrator inspect samples/garage/journal.csv --json
    """
    from migrator.pipeline import dossiers, read
    from migrator.reconcile import summary
    from migrator.validate import validate

    companies = [] if dossier else dossiers(source, from_format)
    if len(companies) > 1:
        if as_json:
            listed = [{"dossier": d, "company": c} for d, c in companies]
            click.echo(json.dumps({"source": source, "dossiers": listed}, indent=2, ensure_ascii=False))
        else:
            click.echo(f"{source} holds {len(companies)} companies; inspect or convert one with --dossier:")
            for folder, company in companies:
                click.echo(f"  --dossier {folder:<20} {company}")
        return
    _status("reading")
    ledger = read(source, from_format, encoding=encoding, year=year, dossier=dossier)
    ledger = ledger.with_problems(validate(ledger))
    _status_done()
    data = summary(ledger)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    company = data["company"]
    click.echo(f"{source}: {data['format']}" + (f", encoding {data['encoding']}" if data["encoding"] else ""))
    click.echo(f"company:   {company['name'] or '(not named in the source)'} ({company['base_currency']})")
    for key, value in data["counts"].items():
        click.echo(f"{key + ':':<11}{value}")
    for y in data["years"]:
        click.echo(f"year:      {y['start']} to {y['end']}, {len(y['closing'])} accounts with a balance")
    if data["extras"]:
        for table_name, columns in data["extras"].items():
            click.echo(f"kept aside ({table_name}): {', '.join(columns)}")
    problems = ledger.problems
    errors = sum(p.severity == "error" for p in problems)
    click.echo(f"problems:  {errors} errors, {len(problems) - errors} warnings/notes")
    _print_problems(list(problems), 20)


@cli.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--to", "to_format", required=True, metavar="FORMAT", help=N_("Target format (see `migrator formats`)."))
@click.option("-o", "--output", required=True, type=click.Path(),
              help=N_("Output file, or folder for folder formats; - writes a one-file format to standard output."))  # fmt: skip
@_read_options
@click.option("--map", "mapping", help=N_("Account/VAT mapping: a CSV file, a folder, or a name under mappings/."))
@click.option("--allow-problems", is_flag=True, help=N_("Write even if the books have errors."))
@click.option("--report", type=click.Path(), help=N_("Write the reconciliation report (.json, .html, .xlsx)."))
@click.option("--no-verify", is_flag=True, help=N_("Do not re-read the output to prove it."))
@click.option("--force", is_flag=True, help=N_("Replace an earlier migrator output at -o/--report (nothing else)."))
@click.option("--option", "writer_options", multiple=True, metavar="NAME=VALUE",
              help=N_("A writer option of the target format, e.g. partner_accounts=yes for banana (the options "
                      "are listed by `migrator formats --json`); repeat it for several."))  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help=N_("Print one JSON object: source format, counts, problems, what was not carried, the verdict."))  # fmt: skip
def convert(source: str, to_format: str, output: str, from_format: str | None, encoding: str | None,
            year: int | None, dossier: str | None, mapping: str | None, allow_problems: bool,
            report: str | None, no_verify: bool, force: bool, writer_options: tuple[str, ...],
            as_json: bool) -> None:  # fmt: skip
    """Convert the books in SOURCE to FORMAT, validate them and verify the output.

    \b
    Example:
      migrator convert samples/garage/journal.csv --to xlsx -o garage.xlsx --report garage.json
      migrator convert samples/garage/journal.csv --to hledger -o - | hledger -f - balance
    """
    import shutil
    import tempfile

    from migrator.pipeline import convert as run
    from migrator.registry import get

    fmt = get(to_format)  # fail on a bad format name before reading anything
    to_stdout = output == "-"
    if to_stdout and fmt.output == "folder":
        raise click.UsageError(_("{format} writes a folder of files, and -o - takes only formats that write one "
                                 "file: give a folder name").format(format=fmt.name))  # fmt: skip
    if to_stdout and as_json:
        raise click.UsageError(_("-o - and --json both want standard output: choose one"))
    with tempfile.TemporaryDirectory(prefix="migrator-stdout-") as temp:
        target = str(Path(temp) / f"output{fmt.default_extension}") if to_stdout else output
        _State.stdout_taken = to_stdout
        result = run(source, to_format, target, from_format=from_format, encoding=encoding, year=year,
                     dossier=dossier, mapping=mapping, allow_problems=allow_problems,
                     verify_output=not no_verify, progress=_status, report=report, force=force,
                     options=_options(writer_options))  # fmt: skip
        _status_done()
        if to_stdout:
            with open(target, "rb") as written:
                sys.stdout.flush()
                shutil.copyfileobj(written, sys.stdout.buffer)
                sys.stdout.buffer.flush()
    if as_json:
        _print_conversion_json(result, output, report)
        return
    counts = result.written.counts()
    _say(_("read {format}: {entries} entries, {lines} lines, {accounts} accounts").format(
        format=result.source.format, entries=counts["entries"], lines=counts["lines"], accounts=counts["accounts"]))  # fmt: skip
    warnings = [p for p in result.problems if p.severity != "error"]
    errors = [p for p in result.problems if p.severity == "error"]
    if errors:
        click.echo(_("{count} errors (written anyway: --allow-problems)").format(count=len(errors)), err=True)
        _print_problems(errors)
    if warnings and not _State.quiet:
        click.echo(_("{count} warnings").format(count=len(warnings)), err=True)
        _print_problems(warnings, 10)
    if not _State.quiet:
        for item in result.not_carried:
            click.echo(_("not carried: {message}").format(message=i18n.shown(item.message)), err=True)
    _say(_("wrote {format}: {output}").format(format=to_format, output=_("standard output") if to_stdout else output))
    if report:
        _say(_("report: {path}").format(path=report))
    if result.verification is None:
        _say(_("not verified: migrator cannot read this format back") if not no_verify else _("not verified"))
    else:
        _print_verdict(result.verification, _("the output reads back to the same books"))
    if fmt.output == "file" and not to_stdout:  # a one-file output has no README beside it
        lang = f" --lang {i18n.chosen().split('_')[0]}" if i18n.chosen() else ""
        _say(_("how to import it: migrator guide {format}{lang}").format(format=fmt.name, lang=lang))


def _options(given: tuple[str, ...]) -> dict[str, str]:
    """``--option NAME=VALUE`` pairs as a dict (the registry checks the names and values)."""
    options = {}
    for item in given:
        name, equals, value = item.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(_("{given!r} is not NAME=VALUE").format(given=item), param_hint="--option")
        options[name.strip()] = value.strip()
    return options


def _print_conversion_json(result: Any, output: str, report: str | None) -> None:
    """`convert --json`: one object a script can read; exit 4 when verification failed."""
    check = result.verification
    click.echo(json.dumps({
        "source_format": result.source.format,
        "target_format": result.target_format,
        "output": output,
        "report": report,
        "counts": result.written.counts(),
        "problems": [p.as_dict() for p in result.problems],
        "not_carried": [p.message for p in result.not_carried],
        "verification": check.as_dict() if check is not None else None,
    }, indent=2, ensure_ascii=False))  # fmt: skip
    if check is not None and not check.ok:
        sys.exit(4)


def _print_verdict(check: Any, same: str) -> None:
    """The verification's verdict: verified, verified with declared losses (listed), or failed (exit 4)."""
    from migrator.reconcile import FAILED, VERIFIED

    if check.verdict == VERIFIED:
        _say(_("verified: {same}: every fiscal year's opening, debit, credit and closing per account, "
               "the entries, VAT per code and year, and every table").format(same=same))  # fmt: skip
    elif check.verdict != FAILED:
        _say(_("verified with declared losses: {same}, except what the target format declared it does not carry:")
             .format(same=same))  # fmt: skip
        for loss in check.losses:
            _say("  " + _("lost (declared): {loss}").format(loss=i18n.shown(loss)))
    for note in check.notes:
        _say("  " + _("note: {note}").format(note=i18n.shown(note)))
    if check.verdict == FAILED:
        click.echo(_("VERIFICATION FAILED:"), err=True)
        for text in check.differences[:MAX_PRINTED_PROBLEMS]:
            click.echo(f"  {i18n.shown(text)}", err=True)
        if check.entries:
            click.echo("  " + _("first differing entries (- before, + after):"), err=True)
            for text in check.entries:
                click.echo(f"    {text}", err=True)
        for loss in check.losses[:MAX_PRINTED_PROBLEMS]:
            click.echo("  " + _("lost (declared): {loss}").format(loss=i18n.shown(loss)), err=True)
        sys.exit(4)


@cli.command()
@click.argument("format_name", metavar="FORMAT")
@click.option("--lang", metavar="LANG", help=N_("Language of the guide: en, fr, de (default: as for every message)."))
def guide(format_name: str, lang: str | None) -> None:
    """Print the step-by-step guide for importing what `convert` wrote in FORMAT into its program.

    \b
    Example:
      migrator guide cresus --lang fr
    """
    from migrator import guides
    from migrator.i18n import supported

    if lang and not supported(lang):
        raise click.BadParameter(_("choose en, fr, de or it"), param_hint="--lang")
    with i18n.using(lang or i18n.language()):
        click.echo(guides.text(format_name), nl=False)


@cli.command()
@click.argument("source", type=click.Path(exists=True))
@click.argument("output", type=click.Path(exists=True))
@click.option("--from", "from_format", metavar="FORMAT", help=N_("Source format (default: detect)."))
@click.option("--to", "to_format", metavar="FORMAT", help=N_("Format of OUTPUT (default: detect)."))
@click.option("--map", "mapping", help=N_("The mapping the conversion used."))
@click.option("--report", type=click.Path(), help=N_("Write the reconciliation report (.json, .html, .xlsx)."))
@click.option("--force", is_flag=True, help=N_("Replace an earlier migrator report at --report (nothing else)."))
@click.option("--option", "writer_options", multiple=True, metavar="NAME=VALUE",
              help=N_("A writer option of the target format, e.g. partner_accounts=yes for banana (the options "
                      "are listed by `migrator formats --json`); repeat it for several."))  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help=N_("Print the verdict as one JSON object (verdict, differences, losses, notes, entries)."))  # fmt: skip
def verify(source: str, output: str, from_format: str | None, to_format: str | None, mapping: str | None,
           report: str | None, force: bool, writer_options: tuple[str, ...], as_json: bool) -> None:  # fmt: skip
    """Prove that OUTPUT holds the same books as SOURCE: counts and every account balance.

    \b
    Example:
      migrator verify samples/garage/journal.csv garage.xlsx
    """
    from migrator.pipeline import verify as run

    result = run(source, output, from_format=from_format, to_format=to_format, mapping=mapping, report=report,
                 force=force, options=_options(writer_options) or None)  # fmt: skip
    if report and not as_json:
        _say(_("report: {path}").format(path=report))
    assert result.verification is not None
    if as_json:
        click.echo(json.dumps(result.verification.as_dict(), indent=2, ensure_ascii=False))
        if not result.verification.ok:
            sys.exit(4)
        return
    _print_verdict(
        result.verification, _("{output} holds the same books as {source}").format(output=output, source=source)
    )


@cli.group()
def mapping() -> None:
    """Account and VAT maps: CSV rules that carry one chart onto another (see mappings/README.md)."""


@mapping.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--to", "chart", required=True, metavar="CHART",
              help=N_("Target chart: a chart CSV, a name under mappings/ (kmu, winbiz-bexio), or books migrator reads."))  # fmt: skip
@click.option("-o", "--output", required=True, type=click.Path(), help=N_("The draft map to write (accounts.csv)."))
@click.option("--force", is_flag=True, help=N_("Replace an earlier draft migrator wrote at -o (nothing else)."))
def suggest(source: str, chart: str, output: str, force: bool) -> None:
    """Write a draft map from the accounts of SOURCE to CHART, to check in Excel before use.

    Same number first, then same name (accents, case and word order ignored), then the nearest
    account of the same class. Rows marked `review` need an accountant's eye.

    \b
    Example:
      migrator mapping suggest samples/garage/journal.csv --to kmu -o garage-kmu.csv
    """
    from migrator.mapping import chart_of, source_accounts, write_suggestions
    from migrator.mapping import suggest as run

    rows = run(source_accounts(source), chart_of(chart))
    chart_path = chart if Path(chart).exists() else None
    write_suggestions(rows, output, sources=[p for p in (source, chart_path) if p], force=force)
    review = sum(r.review for r in rows)
    click.echo(f"wrote {output}: {len(rows)} accounts, {len(rows) - review} sure, {review} to review")


@cli.command()
@click.argument("root", type=click.Path(exists=True))
@click.option("--to", "to_format", required=True, metavar="FORMAT", help=N_("Target format (see `migrator formats`)."))
@click.option("-o", "--output", required=True, type=click.Path(file_okay=False), help=N_("Output folder (OUTDIR)."))
@click.option("--map", "mapping", help=N_("Account/VAT mapping applied to every client."))
@click.option("--jobs", type=click.IntRange(1, 256), help=N_("Clients converted at once (default: number of cores)."))
@click.option("--resume", is_flag=True, help=N_("Skip clients already converted from unchanged inputs."))
@click.option("--force", is_flag=True, help=N_("Convert every client of an earlier run in OUTDIR again (only migrator's "
              "own client outputs are replaced)."))  # fmt: skip
@click.option("--scheduler", metavar="ADDRESS", help=N_("Run on a Dask distributed cluster (tcp://host:8786)."))
@click.option("--dry-run", is_flag=True, help=N_("List the clients, their format and output folder; write nothing."))
@click.option("--client-timeout", type=click.IntRange(1), default=3600, show_default=True, metavar="SECONDS",
              help=N_("Stop a client that takes longer (local runs)."))  # fmt: skip
@click.option("--client-memory", type=click.IntRange(2048), default=8192, show_default=True, metavar="MIB",
              help=N_("Stop a client whose process uses more memory (local runs; a worker reserves 1.4 GiB)."))  # fmt: skip
@click.option("--json", "as_json", is_flag=True,
              help=N_("Print one JSON object: each client's result, the skipped entries, and whether all succeeded."))  # fmt: skip
def bulk(root: str, to_format: str, output: str, mapping: str | None, jobs: int | None, resume: bool, force: bool,
         scheduler: str | None, dry_run: bool, client_timeout: int, client_memory: int, as_json: bool) -> None:  # fmt: skip
    """Convert every client under ROOT (client folders, files or zips, Winbiz dossiers or DAT folders, or a
    list file of paths).

    Every top-level entry of ROOT is a client or is listed as skipped with its reason. Each client is
    converted by a worker process, one client at a time and nothing kept from one to the next, into
    OUTDIR/<client>/ with its reconciliation report;
    OUTDIR/catalog.sqlite records inputs, outputs and SHA-256; OUTDIR/overview.html sums it all up.

    \b
    Example:
      migrator bulk clients/ --to banana -o migrated/ --dry-run
      migrator bulk clients/ --to banana -o migrated/ --jobs 4
      migrator bulk clients/ --to banana -o migrated/ --resume
    """
    from migrator.bulk import plan, run

    if dry_run:
        planned, skipped = plan(root, to_format, output)
        if as_json:
            click.echo(json.dumps({
                "dry_run": True,
                "clients": [{"name": p.client.name, "format": p.format, "source": str(p.client.source),
                             "output": str(p.output), "detail": p.detail} for p in planned],
                "skipped": [{"path": str(s.path), "reason": s.reason} for s in skipped],
            }, indent=2, ensure_ascii=False))  # fmt: skip
            return
        width = max([len(p.client.name) for p in planned] + [6])
        click.echo(f"{'client':<{width}}  {'format':<13} source -> output")
        for p in planned:
            click.echo(f"{p.client.name:<{width}}  {p.format:<13} {p.client.source} -> {p.output}")
            if p.detail:
                click.echo(f"{'':<{width}}  {'':<13} {p.detail}")
        _print_skipped(skipped)
        click.echo(f"dry run: {len(planned)} clients would be converted to {to_format}, {len(skipped)} entries "
                   "skipped; nothing was written")  # fmt: skip
        return

    bar: Any = None

    def progress(result: Any, done: int, total: int) -> None:
        nonlocal bar
        if not sys.stderr.isatty() or _State.quiet:
            return
        if bar is None:
            bar = click.progressbar(length=total, label="clients", file=sys.stderr, show_pos=True,
                                    item_show_func=lambda name: name or "")  # fmt: skip
            bar.__enter__()
        bar.update(1, result.name)

    try:
        result = run(root, to_format, output, mapping=mapping, jobs=jobs, resume=resume, scheduler=scheduler,
                     client_timeout=client_timeout, client_memory=client_memory, progress=progress,
                     force=force)  # fmt: skip
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    if as_json:
        click.echo(json.dumps({
            "ok": result.ok,
            "clients": [dataclasses.asdict(r) for r in result.results],
            "skipped": [{"path": str(s.path), "reason": s.reason} for s in result.skipped],
            "overview": str(Path(output) / "overview.html"),
        }, indent=2, ensure_ascii=False, default=str))  # fmt: skip
        if not result.ok:
            sys.exit(5)
        return
    width = max([len(r.name) for r in result.results] + [6])
    click.echo(f"{'client':<{width}}  {'status':<9} {'entries':>7} {'errors':>6}  message")
    for r in result.results:
        entries = r.counts.get("entries", "") if r.counts else ""
        source = Path(r.source)
        origin = "" if r.name in (source.name, source.stem, source.parent.name) else f" (from {r.source})"
        click.echo(f"{r.name:<{width}}  {r.status:<9} {entries!s:>7} {r.errors:>6}  {r.message}{origin}".rstrip())
    _print_skipped(result.skipped)
    succeeded = sum(r.ok for r in result.results)
    note = _("; {count} entries skipped (see above)").format(count=len(result.skipped)) if result.skipped else ""
    click.echo(_("{done} of {total} clients converted{note}; overview: {overview}").format(
        done=succeeded, total=len(result.results), note=note, overview=Path(output) / "overview.html"))  # fmt: skip
    if not result.ok:
        sys.exit(5)


def _print_skipped(skipped: list[Any]) -> None:
    """The entries of a bulk ROOT that are no client, each with its reason."""
    if skipped:
        click.echo(f"skipped, not converted ({len(skipped)}):")
        for s in skipped:
            click.echo(f"  {s.path}: {s.reason}")


@cli.command()
@click.option("--port", type=click.IntRange(0, 65535), default=0, help=N_("Port on 127.0.0.1 (default: a free one)."))
@click.option("--no-browser", is_flag=True, help=N_("Do not open the page in the browser (the address is printed)."))
def web(port: int, no_browser: bool) -> None:
    """Open migrator as a page in the web browser, for use without a terminal.

    The page runs on this computer only (127.0.0.1). The first line printed is its address, with
    the access token the page needs; the page's "Done" button or Ctrl-C stops it.

    \b
    Example:
      migrator web
    """
    from migrator import i18n
    from migrator.web import serve

    def say(address: str) -> None:
        click.echo(address)
        click.echo(
            _("migrator is running at the address above; press Ctrl-C or the page's Done button to stop."), err=True
        )
        sys.stdout.flush()

    lang = i18n.chosen() or None
    serve(port, open_browser=not no_browser, lang=lang, say=say)


def _speak(argv: list[str]) -> None:
    """Choose the language before click parses anything (its help and errors are words too): ``--lang``
    if given, else the environment; then translate every command's and option's help."""
    import gettext

    from migrator import i18n

    for i, arg in enumerate(argv):
        if arg == "--":
            break
        lang = (
            argv[i + 1]
            if arg == "--lang" and i + 1 < len(argv)
            else arg.partition("=")[2]
            if arg.startswith("--lang=")
            else ""
        )
        if lang and i18n.supported(lang):
            i18n.set_language(lang)
            os.environ["MIGRATOR_LANG"] = i18n.normalise(lang)  # for the processes it starts (bulk's clients)
    # click asks gettext's global domain for its own words: point it at migrator's catalog.
    os.environ["LANGUAGE"] = i18n.language()
    gettext.bindtextdomain(i18n.DOMAIN, str(i18n.LOCALEDIR))
    gettext.textdomain(i18n.DOMAIN)
    _translate_help(cli)


def _translate_help(command: click.Command) -> None:
    import inspect

    if command.help:
        command.help = _(inspect.cleandoc(command.help))
    if command.epilog:
        command.epilog = _(command.epilog)
    if command.short_help:
        command.short_help = _(command.short_help)
    for param in command.params:
        if isinstance(param, click.Option) and param.help:
            param.help = _(param.help)
    for sub in getattr(command, "commands", {}).values():
        _translate_help(sub)


@cli.command()
@click.argument("source", type=click.Path(exists=True))
@click.option("--to", "to_format", required=True, type=click.Choice(["bexio"]), help=N_("The program to post to."))
@_read_options
@click.option("--map", "mapping", help=N_("Account/VAT mapping: a CSV file, a folder, or a name under mappings/."))
@click.option("--api-url", default="https://api.bexio.com", show_default=True, help=N_("bexio's API (or a stand-in)."))
@click.option("--token-file", type=click.Path(exists=True, dir_okay=False),
              help=N_("A file holding the API token (else the environment variable BEXIO_TOKEN)."))  # fmt: skip
@click.option("--journal", default="bexio-push.jsonl", show_default=True, type=click.Path(dir_okay=False),
              help=N_("The local record of what was posted, with bexio's ids."))  # fmt: skip
@click.option("--resume", is_flag=True, help=N_("Go on with the journal of an earlier push (nothing is posted twice)."))
@click.option("--create-missing", is_flag=True, help=N_("Create accounts the books need that bexio lacks."))
@click.option("--dry-run", is_flag=True, help=N_("Show what would be posted, with counts and totals; post nothing."))
@click.option("--report", type=click.Path(), help=N_("Write the reconciliation report (.json, .html, .xlsx)."))
@click.option("--force", is_flag=True, help=N_("Replace an earlier migrator report at --report (nothing else)."))
def push(source: str, to_format: str, from_format: str | None, encoding: str | None, year: int | None,
         dossier: str | None, mapping: str | None, api_url: str, token_file: str | None, journal: str, resume: bool,
         create_missing: bool, dry_run: bool, report: str | None, force: bool) -> None:  # fmt: skip
    """Post the books in SOURCE to bexio over its API, then read them back and verify them.

    The token comes from --token-file or BEXIO_TOKEN, never from the command line.

    \b
    Example:
      BEXIO_TOKEN=... migrator push samples/winbiz/DAT --dossier garage --to bexio --dry-run
      migrator push samples/winbiz/DAT --dossier garage --to bexio --token-file ~/bexio.token --report r.html
    """
    from migrator.push import push as run

    token = Path(token_file).read_text("utf-8").strip() if token_file else os.environ.get("BEXIO_TOKEN", "")
    result = run(source, token=token, api_url=api_url, mapping=mapping, from_format=from_format, encoding=encoding,
                 year=year, dossier=dossier, journal=journal, resume=resume, create_missing=create_missing,
                 dry_run=dry_run, report=report, force=force, progress=_status)  # fmt: skip
    _status_done()
    if result.dry_run:
        for line in result.summary:
            click.echo(i18n.shown(line))
        for item in result.conversion.not_carried:
            click.echo(_("not carried: {message}").format(message=i18n.shown(item.message)), err=True)
        click.echo(_("dry run: nothing was posted"))
        return
    for line in result.created:
        click.echo(_("created in bexio: {what}").format(what=i18n.shown(line)))
    click.echo(_("posted to bexio: {contacts} contacts, {articles} articles, {entries} entries ({already} were there "
                 "already); journal: {journal}").format(
        contacts=result.contacts, articles=result.articles, entries=result.posted,
        already=result.contacts_already + result.articles_already + result.already, journal=journal))  # fmt: skip
    for retry in result.retried:
        click.echo(_("  retried: {what}").format(what=i18n.shown(retry)), err=True)
    _print_problems(result.rejected, len(result.rejected))
    for item in result.conversion.not_carried:
        click.echo(_("not carried: {message}").format(message=i18n.shown(item.message)), err=True)
    if report:
        _say(_("report: {path}").format(path=report))
    assert result.conversion.verification is not None
    _print_verdict(result.conversion.verification, _("bexio reads back to the same books"))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `migrator` command.

    A finished command leaves at once, without the interpreter's teardown (unloading pyarrow and
    numpy, freeing the books): 30–50 ms of every command. Outputs are closed by then; only the
    standard streams are still open, and they are flushed first.
    """
    import signal

    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _terminate)
    _speak(sys.argv[1:] if argv is None else argv)
    try:
        cli.main(args=argv, prog_name="migrator")
        code: int | str | None = 0
    except SystemExit as done:
        code = done.code
    if isinstance(code, str):
        click.echo(code, err=True)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: nothing more can be said
        code = code or 1
    os._exit(code or 0)


if __name__ == "__main__":
    main()
