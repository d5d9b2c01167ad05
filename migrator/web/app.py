"""The Starlette application behind `migrator web` (see `migrator.web` for the security rules)."""

from __future__ import annotations

import hmac
import os
import secrets
import shutil
import socket
import tempfile
import threading
import zipfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from migrator import i18n
from migrator.i18n import N_, _

HERE = Path(__file__).resolve().parent
TOKEN_COOKIE = "migrator_token"
LANG_COOKIE = "migrator_lang"
UPLOAD_MB = int(os.environ.get("MIGRATOR_WEB_UPLOAD_MB", "512") or 512)
"""The largest upload accepted, in MB (``MIGRATOR_WEB_UPLOAD_MB``); what it unpacks to is bounded as
for the command line (`migrator.limits`)."""

PROGRAMS = ("bexio", "banana", "winbiz", "cresus", "infoniqa", "runmyaccounts", "abacus")
"""The programs an owner moves to, offered first; the archive formats follow."""

STEPS = {
    "": N_("starting"),
    "reading": N_("reading the old books"),
    "mapping": N_("applying the account map"),
    "validating and writing": N_("checking the books and writing the new files"),
    "verifying": N_("reading the new files back to prove nothing was lost"),
    "report": N_("writing the report"),
}


@dataclass
class Job:
    """One set of books the owner chose, and what became of it."""

    id: str
    folder: Path
    """This job's own folder in the session's workspace: the only place files are served from."""
    source: Path
    label: str
    dossier: str | None = None
    dossiers: list[tuple[str, str]] = field(default_factory=list)
    found: dict[str, Any] | None = None
    problems: list[Any] = field(default_factory=list)
    """The `Problem`s found (shown in the page's language by `i18n.problem`)."""
    failure: BaseException | None = None
    """The `MigratorError` that stopped reading or converting (shown by `i18n.error`)."""
    errors: int = 0
    error: str = ""
    target: str = ""
    mapping: str = ""
    state: str = "new"  # new, running, done, failed
    step: str = ""
    verdict: str = ""
    differences: list[str] = field(default_factory=list)
    losses: list[str] = field(default_factory=list)
    not_carried: list[str] = field(default_factory=list)
    output: Path | None = None
    lang: str = ""
    """The language the conversion ran in: its report's, and its import guide's."""

    @property
    def out(self) -> Path:
        return self.folder / "out"


@dataclass
class Session:
    """What one `migrator web` run holds: its secrets, its workspace and the jobs."""

    token: str
    workspace: Path
    hosts: frozenset[str]
    lang: str = ""
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    jobs: dict[str, Job] = field(default_factory=dict)
    done: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _templates() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])  # fmt: skip
    env.install_gettext_callables(gettext=lambda m: _(m), ngettext=i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]
    env.globals.update(money=i18n.money, count=i18n.count, date=i18n.date, languages=i18n.LANGUAGES, shown=i18n.shown,
                       problem=i18n.problem, error=i18n.error)  # fmt: skip
    return env


TEMPLATES = _templates()


def _language(request: Request, session: Session) -> str:
    """The page's language: the one picked on the page, else ``--lang``, else the browser's, else LANG."""
    picked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "")
    if picked and i18n.supported(picked):
        return i18n.normalise(picked)
    if session.lang:
        return session.lang
    return i18n.from_accept_language(request.headers.get("accept-language", ""), fallback=i18n.from_environment())


def _page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    session: Session = request.app.state.session
    lang = _language(request, session)
    with i18n.using(lang):
        html = TEMPLATES.get_template(name).render(lang=lang.split("_")[0], csrf=session.csrf, request=request,
                                                   **values)  # fmt: skip
    return HTMLResponse(html, status_code=status)


def _refuse(request: Request, status: int, message: str) -> HTMLResponse:
    return _page(request, "error.html", status=status, message=message)


class Guard(BaseHTTPMiddleware):
    """Every request: a Host naming this server, the access token; every POST: no foreign Origin."""

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        session: Session = request.app.state.session
        host = request.headers.get("host", "")
        if host not in session.hosts:
            return PlainTextResponse("Refused: this page answers only at its own address (Host).", status_code=403)
        given = request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE, "")
        if not hmac.compare_digest(given.encode(), session.token.encode()):
            return PlainTextResponse("Refused: open the address migrator printed (it holds the access token).",
                                     status_code=403)  # fmt: skip
        if request.method not in ("GET", "HEAD"):
            origin = request.headers.get("origin")
            if origin is not None and origin.partition("://")[2] not in session.hosts:
                return PlainTextResponse("Refused: a form of another site.", status_code=403)
        with i18n.using(_language(request, session)):  # every message of this request in the page's language
            response = await call_next(request)
        if request.query_params.get("token"):
            response.set_cookie(TOKEN_COOKIE, session.token, httponly=True, samesite="strict")
        picked = request.query_params.get("lang", "")
        if picked and i18n.supported(picked):
            response.set_cookie(LANG_COOKIE, i18n.normalise(picked), samesite="strict")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "frame-ancestors 'self'; form-action 'self'; base-uri 'none'"
        )
        response.headers["Referrer-Policy"] = "same-origin"  # the token in the address never leaves this site
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Cache-Control"] = "no-store"
        return response


async def _form(request: Request) -> dict[str, Any]:
    """The posted form, once its CSRF token is checked (refused with 403 otherwise)."""
    session: Session = request.app.state.session
    length = request.headers.get("content-length")
    if length is None:
        raise _Refused(411, _("The upload must say its size."))
    if int(length) > UPLOAD_MB << 20:
        raise _Refused(413, _("The upload is larger than {mb} MB; choose the folder on this computer instead.")
                       .format(mb=UPLOAD_MB))  # fmt: skip
    form = await request.form(max_files=1, max_fields=20)
    given = str(form.get("csrf", ""))
    if not hmac.compare_digest(given.encode(), session.csrf.encode()):
        raise _Refused(403, _("This form is out of date or came from another site: reload the page and try again."))
    return dict(form)


class _Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _job(request: Request) -> Job:
    session: Session = request.app.state.session
    job = session.jobs.get(request.path_params["job"])
    if job is None:
        raise _Refused(404, _("No such conversion in this session."))
    return job


def _examine(job: Job) -> None:
    """What the chosen books hold, in the words the page shows: dossiers to pick, or the summary."""
    from migrator.errors import MigratorError
    from migrator.pipeline import dossiers, read
    from migrator.reconcile import summary
    from migrator.validate import validate

    try:
        if job.dossier is None:
            job.dossiers = dossiers(job.source)
            if len(job.dossiers) > 1:
                return
        ledger = read(job.source, dossier=job.dossier)
        ledger = ledger.with_problems(validate(ledger))
    except MigratorError as exc:
        job.failure = exc
        return
    job.found = summary(ledger)
    job.errors = sum(p.severity == "error" for p in ledger.problems)
    job.problems = list(ledger.problems)


def _run(job: Job, lang: str) -> None:
    """The conversion, in a thread of its own; the page polls `job.state` and `job.step`."""
    from migrator.errors import MigratorError, ProblemsFound
    from migrator.pipeline import convert
    from migrator.registry import get

    fmt = get(job.target)
    job.out.mkdir(parents=True, exist_ok=True)
    name = job.target if fmt.output == "folder" else f"{job.target}{fmt.default_extension}"
    output = job.out / name
    report = job.out / "report.html"

    job.lang = lang

    def step(message: str) -> None:
        job.step = message

    try:
        with i18n.using(lang):
            result = convert(job.source, job.target, output, dossier=job.dossier, mapping=job.mapping or None,
                             progress=step, report=report, force=True)  # fmt: skip
    except ProblemsFound as exc:
        job.failure = exc
        job.problems = [p for p in exc.problems if p.severity == "error"][:50]
        job.state = "failed"
        return
    except MigratorError as exc:
        job.failure = exc
        job.state = "failed"
        return
    except Exception as exc:  # a bug: the page says so rather than spinning forever
        job.error = _("internal error: {kind}: {message}").format(kind=type(exc).__name__, message=exc)
        job.state = "failed"
        return
    job.output = output
    job.not_carried = [p.message for p in result.not_carried]  # English data, shown translated (i18n.shown)
    check = result.verification
    if check is None:
        job.verdict = "unverified"
    else:
        job.verdict = check.verdict
        job.differences = list(check.differences)
        job.losses = list(check.losses)
    job.state = "done"


def _guide(job: Job) -> bytes:
    """The import guide of the chosen target: the README the writer put beside its files where it wrote
    one (bexio's, Banana's and Winbiz's name the files of these books), else the format's guide
    (`migrator.guides`), in the language of the conversion."""
    from migrator import guides

    if job.output is not None and job.output.is_dir():
        for name in ("README.md", "README.txt"):
            if (job.output / name).is_file():
                return (job.output / name).read_bytes()  # as written (Winbiz's has Windows line ends)
    with i18n.using(job.lang or i18n.language()):
        return guides.text(job.target).encode("utf-8")


def _zip(job: Job) -> Path:
    """output/, report.html and the import guide (README.txt), in one zip in the job's folder."""
    assert job.output is not None
    archive = job.folder / f"migrator-{job.target}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        files = sorted(p for p in job.output.rglob("*") if p.is_file()) if job.output.is_dir() else [job.output]
        base = job.output if job.output.is_dir() else job.output.parent
        for path in files:
            if path.name.startswith("."):  # migrator's own marker (migrator.outputs), nothing for the owner
                continue
            zf.write(path, "output/" + path.relative_to(base).as_posix())
        zf.write(job.out / "report.html", "report.html")
        zf.writestr("README.txt", _guide(job))
    return archive


# ------------------------------------------------------------------------------------------- pages


async def home(request: Request) -> Response:
    return _page(request, "start.html", upload_mb=UPLOAD_MB)


async def browse(request: Request) -> Response:
    """A path chooser: the folders and files of one folder of this computer, by name only."""
    raw = request.query_params.get("path") or str(Path.home())
    folder = Path(raw).expanduser()
    if not folder.is_dir():
        return _refuse(request, 404, _("{path} is not a folder.").format(path=raw))
    try:
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith(".")), key=lambda p: p.name.casefold())
        listed = [{"name": p.name, "path": str(p), "folder": p.is_dir()} for p in entries]
    except OSError as exc:
        return _refuse(request, 403, _("{path} cannot be listed: {reason}").format(path=raw, reason=exc.strerror))
    parent = str(folder.parent) if folder.parent != folder else ""
    return _page(request, "browse.html", folder=str(folder), parent=parent, entries=listed)


def _new_job(session: Session, source: Path, label: str, folder: Path | None = None) -> Job:
    ident = secrets.token_hex(8)
    folder = folder or session.workspace / ident
    folder.mkdir(parents=True, exist_ok=True)
    job = Job(ident, folder, source, label)
    with session.lock:
        session.jobs[ident] = job
    return job


async def choose(request: Request) -> Response:
    session: Session = request.app.state.session
    form = await _form(request)
    raw = str(form.get("path", "")).strip().strip('"')
    if not raw:
        return _refuse(request, 400, _("Type or choose the folder or file of the old program's data."))
    path = Path(raw).expanduser()
    if not path.exists():
        return _refuse(request, 404, _("{path}: no such file or folder on this computer.").format(path=raw))
    job = _new_job(session, path.resolve(), raw)
    await run_in_threadpool(_examine, job)
    return RedirectResponse(f"/job/{job.id}", status_code=303)


async def upload(request: Request) -> Response:
    """A zip (or one file) sent from the browser: kept in the job's folder; a zip is unpacked with the
    command line's bounds (`migrator.sources.unpack_zip`), so a bomb is refused before it fills the disk."""
    from migrator.errors import MigratorError
    from migrator.sources import unpack_zip

    session: Session = request.app.state.session
    form = await _form(request)
    sent = form.get("file")
    if sent is None or not getattr(sent, "filename", ""):
        return _refuse(request, 400, _("Choose a file to send."))
    name = Path(str(sent.filename).replace("\\", "/")).name  # a Windows browser may send the whole path
    if name in ("", ".", ".."):
        name = "upload"
    ident = secrets.token_hex(8)
    folder = session.workspace / ident
    folder.mkdir(parents=True)
    kept = folder / "upload" / name
    kept.parent.mkdir()
    with kept.open("wb") as out:
        shutil.copyfileobj(sent.file, out, 1 << 20)
    source = kept
    if zipfile.is_zipfile(kept) and not name.lower().endswith((".xlsx", ".xlsm")):
        unpacked = folder / "source"
        unpacked.mkdir()
        try:
            await run_in_threadpool(unpack_zip, kept, unpacked, name)
        except MigratorError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            return _refuse(request, 413, _("The archive was refused: {reason}").format(reason=i18n.error(exc)))
        entries = [p for p in unpacked.iterdir() if not p.name.startswith("__MACOSX")]
        source = entries[0] if len(entries) == 1 and entries[0].is_dir() else unpacked
    job = _new_job(session, source, name, folder)
    await run_in_threadpool(_examine, job)
    return RedirectResponse(f"/job/{job.id}", status_code=303)


async def found(request: Request) -> Response:
    from migrator.registry import formats
    from migrator.shipped import MAPPINGS

    job = _job(request)
    writable = [f for f in formats() if f.writes]
    programs = [f for name in PROGRAMS for f in writable if f.name == name]
    archives = [f for f in writable if f.name not in PROGRAMS]
    maps = sorted(p.name for p in MAPPINGS.iterdir() if p.is_dir() and (p / "accounts.csv").is_file())
    source_format = (job.found or {}).get("format", "")
    return _page(request, "found.html", job=job, programs=programs, archives=archives, maps=maps,
                 source_format=source_format)  # fmt: skip


async def dossier(request: Request) -> Response:
    job = _job(request)
    form = await _form(request)
    chosen = str(form.get("dossier", ""))
    if chosen not in [d for d, _company in job.dossiers]:
        return _refuse(request, 400, _("Choose one of the companies listed."))
    job.dossier = chosen
    job.error, job.failure = "", None
    await run_in_threadpool(_examine, job)
    return RedirectResponse(f"/job/{job.id}", status_code=303)


async def start(request: Request) -> Response:
    from migrator.registry import formats
    from migrator.shipped import MAPPINGS

    session: Session = request.app.state.session
    job = _job(request)
    form = await _form(request)
    target = str(form.get("target", ""))
    if target not in [f.name for f in formats() if f.writes]:
        return _refuse(request, 400, _("Choose the new program."))
    mapping = str(form.get("mapping", ""))
    if mapping and not (MAPPINGS / mapping / "accounts.csv").is_file():
        return _refuse(request, 400, _("Choose one of the account maps listed."))
    if job.state == "running":
        return RedirectResponse(f"/job/{job.id}/result", status_code=303)
    if job.out.exists():
        shutil.rmtree(job.out)
    job.target, job.mapping, job.state, job.step, job.error, job.failure = target, mapping, "running", "", "", None
    job.differences, job.losses, job.not_carried, job.output = [], [], [], None
    lang = _language(request, session)
    threading.Thread(target=_run, args=(job, lang), name=f"convert-{job.id}", daemon=True).start()
    return RedirectResponse(f"/job/{job.id}/result", status_code=303)


async def result(request: Request) -> Response:
    job = _job(request)
    push = push_link(job)
    return _page(request, "result.html", job=job, step=_(STEPS.get(job.step, STEPS[""])), push=push)


async def status(request: Request) -> Response:
    job = _job(request)
    session: Session = request.app.state.session
    with i18n.using(_language(request, session)):
        return JSONResponse({"state": job.state, "step": _(STEPS.get(job.step, STEPS[""]))})


async def files(request: Request) -> Response:
    """A file the conversion wrote, from this job's own output folder and nowhere else."""
    job = _job(request)
    wanted = request.path_params["name"]
    base = job.out.resolve()
    path = (base / wanted).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return _refuse(request, 404, _("No such file in this conversion's output."))
    return FileResponse(path)


async def download(request: Request) -> Response:
    job = _job(request)
    if job.state != "done":
        return _refuse(request, 409, _("The conversion has not finished."))
    archive = await run_in_threadpool(_zip, job)
    return FileResponse(archive, media_type="application/zip", filename=archive.name)


async def done(request: Request) -> Response:
    session: Session = request.app.state.session
    await _form(request)
    session.done.set()
    return _page(request, "done.html")


def push_link(job: Job) -> str:
    """How the page offers to send the books straight to bexio once `migrator.push` exists (issue 16):
    the `migrator push` command for the same source, dossier and map (the bexio token stays out of
    the page: `--token-file` or ``BEXIO_TOKEN``); empty for other targets."""
    if job.target != "bexio" or job.state != "done":
        return ""
    import importlib.util
    import shlex

    if importlib.util.find_spec("migrator.push") is None:
        return ""
    words = ["migrator", "push", str(job.source), "--to", "bexio"]
    words += ["--dossier", job.dossier] if job.dossier else []
    words += ["--map", job.mapping] if job.mapping else []
    return shlex.join(words) + " --token-file TOKEN-FILE"


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _Refused)
    return _refuse(request, exc.status, exc.message)


def create_app(token: str, *, workspace: Path, hosts: set[str], lang: str | None = None) -> Starlette:
    """The application; `hosts` are the Host headers it answers to (``127.0.0.1:PORT``, ``localhost:PORT``)."""
    session = Session(token, workspace, frozenset(hosts), i18n.normalise(lang) if lang else "")
    routes = [
        Route("/", home),
        Route("/browse", browse),
        Route("/choose", choose, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
        Route("/job/{job}", found),
        Route("/job/{job}/dossier", dossier, methods=["POST"]),
        Route("/job/{job}/convert", start, methods=["POST"]),
        Route("/job/{job}/result", result),
        Route("/job/{job}/status", status),
        Route("/job/{job}/files/{name:path}", files),
        Route("/job/{job}/download", download),
        Route("/done", done, methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard)], exception_handlers={_Refused: _refused})
    app.state.session = session
    return app


def serve(port: int = 0, *, open_browser: bool = True, lang: str | None = None,
          say: Callable[[str], None] = print) -> None:  # fmt: skip
    """Run the page on 127.0.0.1 until it says "done" or Ctrl-C; `say` gets the address first."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    port = sock.getsockname()[1]
    token = secrets.token_urlsafe(32)
    address = f"http://127.0.0.1:{port}/?token={token}"
    with tempfile.TemporaryDirectory(prefix="migrator-web-") as workspace:
        app = create_app(token, workspace=Path(workspace), hosts={f"127.0.0.1:{port}", f"localhost:{port}"},
                         lang=lang)  # fmt: skip
        say(address)
        config = uvicorn.Config(app, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        session: Session = app.state.session

        def watch() -> None:
            session.done.wait()
            server.should_exit = True

        threading.Thread(target=watch, daemon=True).start()
        if open_browser:
            import webbrowser

            threading.Timer(0.5, webbrowser.open, args=(address,)).start()
        server.run(sockets=[sock])
