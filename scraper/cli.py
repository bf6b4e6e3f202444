"""The `xxgk` command line: a thin click layer over the modules that do the work."""

from __future__ import annotations

import gc
import json
import logging
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import click

from .archive_file import ArchiveError, check as check_archive
from .registry import RegistryError, load_registry, rebase

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EXIT_FAILED, EXIT_USAGE, EXIT_LOCKED = 1, 2, 3
WARM_WAIT = 0.1  # seconds the crawl waits for its robots.txt requests to leave before it sets up


def _logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="%(levelname)s %(name)s: %(message)s")


@contextmanager
def _archive_errors():
    """An `ArchiveError` inside (a --db that is not an archive, an uncreatable lock, a
    backup's destination) ends the command with one line, `error: PATH: why`, exit 2."""
    try:
        yield
    except ArchiveError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)


@click.group()
@click.version_option(package_name="xxgk-archive")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """xxgk: crawl, parse, archive and serve 政府信息公开工作年度报告."""
    # The parsers and sqlite-utils (0.1 s) are imported by the commands that use them; a
    # crawl imports them once its first requests have left.  sqlite-utils is imported
    # without pandas and numpy (`lean_imports`), before anything else imports it.
    if ctx.invoked_subcommand != "crawl":
        from . import lean_imports  # noqa: F401


def main() -> None:
    """The `xxgk` program.  Objects that live as long as the program are frozen out of the
    garbage collector: the imported modules' at the start (a crawl's full collections
    then look at far fewer objects: 40 -> 10 ms), and all of them once the command has
    finished (archive closed, output written), as at exit the interpreter would search
    every object of ~400 modules for cycles, 70 ms after a crawl, as long as the whole
    scorecard takes.  The operating system frees them anyway."""
    gc.freeze()
    try:
        cli()
    finally:
        gc.freeze()


def _run_crawl(db_path: str, sites, *, max_pages, concurrency, delay, user_agent, json_summary,
               retries: int = 3, backoff: float = 1.0, timeout: float = 30.0, jobs: int | None = None) -> int:
    import asyncio  # only the crawl has an event loop: the other commands start 50 ms sooner

    from .fetch import USER_AGENT, Fetcher
    from .lock import ArchiveLock, Locked

    if delay is not None:
        sites = [replace(s, delay=delay) for s in sites]
    try:
        with _archive_errors():  # checked before the lock file is made: a bad path leaves nothing behind
            check_archive(db_path, create=True)
        with _archive_errors(), ArchiveLock(db_path):

            async def go():
                fetcher = Fetcher(user_agent=user_agent or USER_AGENT, concurrency=concurrency,
                                  retries=retries, backoff=backoff, timeout=timeout)
                try:
                    # every host is asked for its robots.txt first: those requests leave
                    # now, and their answers come back while the rest of the crawl is
                    # imported and the archive opened (the hosts' next requests wait a
                    # polite delay anyway)
                    fetcher.allow_sites(sites)
                    await fetcher.warm([s.start[0] for s in sites if s.start], WARM_WAIT)
                    from . import lean_imports  # noqa: F401  (see `cli`)
                    from . import archive
                    from .crawl import crawl

                    db = archive.open_archive(db_path)
                    # what the imports made lives as long as the crawl: frozen, so the
                    # full collection they would soon cause does not stall every host
                    gc.freeze()
                    summary = await crawl(db, sites, fetcher=fetcher, max_pages=max_pages, read_jobs=jobs,
                                          progress=_progress() if sys.stderr.isatty() else None)
                    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    db.conn.close()
                    return summary
                finally:
                    await fetcher.aclose()

            summary = asyncio.run(go())
    except Locked as exc:
        click.echo(f"error: {exc}", err=True)
        return EXIT_LOCKED
    if sys.stderr.isatty():
        click.echo("", err=True)
    for failure in summary.failures:
        click.echo(f"failed: {failure}", err=True)
    if summary.dead:  # not failures: links to pages that never existed for us (crawl.py)
        click.echo(f"dead: {summary.dead} links answer 404/410; asked again after backoff", err=True)
    if json_summary:
        click.echo(json.dumps({k: v for k, v in summary.as_dict().items()}, ensure_ascii=False))
    else:
        click.echo(summary.line())
    return EXIT_FAILED if summary.failed or summary.blocked else 0


def _progress():
    count = 0

    def tick(url: str) -> None:
        nonlocal count
        count += 1
        click.echo(f"\r{count} fetched  {url[:70]:<70}", err=True, nl=False)

    return tick


@cli.command()
@click.option("--db", "db_path", default="archive.db", show_default=True, help="Archive to write.")
@click.option("--registry", default="sites.toml", show_default=True, help="Site registry (TOML).")
@click.option("--site", "site_ids", multiple=True, help="Crawl only this site id (repeatable).")
@click.option("--max-pages", type=int, default=None, help="Stop each site after this many URLs.")
@click.option("--concurrency", type=int, default=8, show_default=True, help="Requests in flight, all hosts.")
@click.option("--delay", type=float, default=None, help="Seconds between requests to one host (overrides the registry).")
@click.option("--user-agent", default=None, help="User-Agent header (default names the project and a contact URL).")
@click.option("--retries", type=click.IntRange(0, 10), default=3, show_default=True,
              help="Retries after a 5xx, 429, timeout or connection error.")
@click.option("--backoff", type=click.FloatRange(0, 600), default=1.0, show_default=True,
              help="First retry wait in seconds (doubles each time, with jitter; Retry-After wins).")
@click.option("--timeout", type=click.FloatRange(0.1, 600), default=30.0, show_default=True,
              help="Seconds before a request times out.")
@click.option("--jobs", type=click.IntRange(1, 256), default=None,
              help="Processes that parse what is fetched (default: the cores from 16 sites on, else 1: "
                   "a thread of the crawl).")
@click.option("--json-summary", is_flag=True, help="Print the summary as one JSON object.")
@click.option("-v", "--verbose", is_flag=True, help="Log progress to stderr.")
def crawl(db_path, registry, site_ids, max_pages, concurrency, delay, user_agent, retries, backoff, timeout,
          jobs, json_summary, verbose):
    """Crawl the registry's sites, archive every response, parse what changed."""
    _logging(verbose)
    try:
        sites = load_registry(registry)
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from exc
    if user_agent is not None and (not user_agent.isascii() or not user_agent.strip()):
        raise click.UsageError("--user-agent must be non-empty ASCII (HTTP headers are ASCII)")
    if site_ids:
        unknown = set(site_ids) - {s.id for s in sites}
        if unknown:
            raise click.UsageError(f"unknown site id(s): {', '.join(sorted(unknown))}")
        sites = [s for s in sites if s.id in site_ids]
    sys.exit(_run_crawl(db_path, sites, max_pages=max_pages, concurrency=concurrency, delay=delay,
                        user_agent=user_agent, json_summary=json_summary, retries=retries, backoff=backoff,
                        timeout=timeout, jobs=jobs))


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per document (report-format.md §7).")
@click.option("--provenance", is_flag=True, help="With --json: add where each fact was read.")
def parse(inputs, as_json, provenance):
    """Parse documents (files or URLs) without any database."""
    from . import pictures

    unreadable = 0
    for item in inputs:
        try:
            data, url, ctype = _read_input(item)
        except (OSError, ValueError) as exc:
            click.echo(f"error: {item}: {exc}", err=True)
            unreadable += 1
            continue
        # DOC/WPS/XLS via LibreOffice; a page's table pictures beside a local file read by OCR
        report = pictures.parse(data, url=url, content_type=ctype,
                                load=None if item.startswith(("http://", "https://")) else pictures.local_loader(item))
        if as_json:
            click.echo(json.dumps(report.to_json(provenance=provenance), ensure_ascii=False))
        else:
            _print_report(report)
    sys.exit(EXIT_FAILED if unreadable else 0)


def _read_input(item: str) -> tuple[bytes, str, str | None]:
    if item.startswith(("http://", "https://")):
        import httpx

        from .fetch import USER_AGENT

        try:
            r = httpx.get(item, headers={"User-Agent": USER_AGENT}, timeout=30, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise OSError(str(exc)) from exc
        if r.status_code >= 400:
            raise OSError(f"HTTP {r.status_code}")
        return r.content, item, r.headers.get("content-type")
    return Path(item).read_bytes(), item, None


def _print_report(report) -> None:
    if report.error:
        click.echo(f"{report.source}: {report.error}")
        return
    filled = sum(v is not None for v in report.facts.values())
    failed = [c.rule for c in report.checks if c.ok is False]
    click.echo(f"{report.source}: {report.agency} {report.year} ({report.version} template, {report.kind}), "
               f"published {report.published}; {filled}/{len(report.facts)} cells with numbers; "
               f"failed: {', '.join(failed) or 'none'}; {len(report.warnings)} warnings")
    for w in report.warnings:
        click.echo(f"  warning: {w}")


@cli.command()
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--registry", default=None, help="Site registry (TOML) to refresh agencies and aliases from first.")
@click.option("--jobs", type=click.IntRange(1, 256), default=None,
              help="Worker processes that parse (default: the cores); writes stay in one process.")
def reparse(db_path, registry, jobs):
    """Re-parse every archived capture with the current parsers (no network), in worker
    processes while this one writes each capture's reports in one short transaction (the
    archive stays served); links every report to its agency again."""
    import time

    from . import archive
    from .agencies import assign_all
    from .reparse import default_jobs, reparse_all

    try:
        sites = load_registry(registry) if registry else None
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from exc
    with _archive_errors():
        check_archive(db_path)
        db = archive.open_archive(db_path)
    if sites:
        archive.upsert_sites(db, sites)
    jobs = jobs or default_jobs()
    started = time.perf_counter()
    stats = reparse_all(db, jobs=jobs)
    linked = assign_all(db)
    seconds = time.perf_counter() - started
    click.echo(f"reparsed {stats['parsed']} in {seconds:.2f} s with {jobs} jobs "
               f"({stats['parsed'] / seconds if seconds else 0:.1f} reports/s)", err=True)
    click.echo(f"reparsed {stats['parsed']}, reports {stats['reports']}, not reports {stats['other']}, "
               f"errors {stats['errors']}, agency unresolved {linked['unresolved']}")
    sys.exit(EXIT_FAILED if stats["errors"] else 0)


@cli.command()
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print every finding as JSON.")
def check(db_path, as_json):
    """Cross-report checks: carry-over links, in-force flow, duplicate reports; lists
    agency names that resolve to no agency. Recomputes the scorecard of every agency-year."""
    from . import archive
    from .crosscheck import run_crosschecks
    from .scorecard import refresh as refresh_scorecard

    with _archive_errors():
        check_archive(db_path)
        db = archive.open_archive(db_path)
    findings = run_crosschecks(db)
    graded = refresh_scorecard(db, found=findings)  # every agency-year, with these cross-report findings
    if as_json:
        click.echo(json.dumps(findings, ensure_ascii=False, indent=1))
    else:
        for rule, items in findings.items():
            failed = [i for i in items if i.get("ok") is False]
            if rule == "agencies.unresolved":
                click.echo(f"{rule}: {len(items)} names resolve to no agency")
            else:
                click.echo(f"{rule}: {len(items)} checked, {len(failed)} failed")
            for i in failed:
                click.echo(f"  {i['agency']} {i.get('year', '')}: {i['detail']}")
        click.echo(f"scorecard: {graded['graded']} agency-years graded, {graded['changed']} changed, "
                   f"{graded['removed']} removed")


@cli.command()
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--year", type=int, default=None, help="Only this statistics year.")
@click.option("--region", default=None, help="Only this region, or regions beginning with it (青山市 matches 青山市白水县).")
@click.option("--level", default=None, help="Only this level: province, city, county, township or department.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True,
              help="table for reading, csv with every reason, json as an array of rows with `points`.")
def scorecard(db_path, year, region, level, fmt):
    """The disclosure scorecard: one row per agency and year, ten points each pass, fail or
    unknown with the reason, and the score over the points known (none when less than half
    the weight is known). Computed first when the archive has none yet, or one made with
    another rubric; `xxgk crawl`, `reparse` and `check` keep it current."""
    from . import archive, scorecard as card
    from .scorecard_output import render

    with _archive_errors():
        check_archive(db_path)
        db = archive.open_archive(db_path)
    if not card.is_current(db):
        card.refresh(db)
    click.echo(render(card.read(db, year=year, region=region, level=level), fmt, card.load_rubric()), nl=False)


@cli.command()
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int)
@click.option("--immutable", is_flag=True,
              help="Serve a frozen snapshot for publishing a release: faster, but the file must not change "
                   "while served (never with a crawl running). Default: live, what a crawl commits shows "
                   "on the next request.")
def serve(db_path, host, port, immutable):
    """Serve the archive read-only with Datasette: live, while crawls write to it."""
    from . import archive
    from .serve import serve as run

    with _archive_errors():  # before Datasette starts: a bad path is one line, not a failing server
        check_archive(db_path)
        if not immutable:  # the schema the served views and queries expect (a no-op when current)
            archive.open_archive(db_path).conn.close()
    click.echo(f"Serving {db_path} at http://{host}:{port}/{' (immutable snapshot)' if immutable else ''}", err=True)
    run(db_path, host, port, immutable=immutable)  # becomes the Datasette process


@cli.command()
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--port", default=8001, show_default=True, type=int, help="Datasette port.")
@click.option("--no-serve", is_flag=True, help="Stop after building the archive.")
@click.option("--fixtures", type=click.Path(exists=True, file_okay=False), default=str(FIXTURES),
              show_default=True, help="Folder with sites/ and sites.toml.")
def demo(db_path, port, no_serve, fixtures):
    """Serve the bundled sample sites on 127.0.0.1, crawl, parse, then open Datasette."""
    from .fixture_server import serve_folder
    from .serve import serve as run

    _logging(False)
    with _archive_errors():  # before the sample sites start
        check_archive(db_path, create=True)
    fx = Path(fixtures)
    sites = load_registry(fx / "sites.toml")
    # the registry's own port when free, so URLs stay the same from one demo to the next
    preferred = urlsplit(sites[0].start[0]).port or 0
    with serve_folder(fx / "sites", port=preferred) as base:
        click.echo(f"Sample sites served at {base}/", err=True)
        code = _run_crawl(db_path, rebase(sites, base), max_pages=None, concurrency=4, delay=None,
                          user_agent=None, json_summary=False)
    if code == EXIT_LOCKED:
        sys.exit(code)
    if no_serve:
        click.echo(f"Archive written to {db_path}")
        sys.exit(code)
    click.echo(f"Datasette: http://127.0.0.1:{port}/")
    run(db_path, "127.0.0.1", port)  # becomes the Datasette process


@cli.command()
@click.option("--db", "db_path", default="archive.db", show_default=True)
def verify(db_path):
    """Check the archive without writing to it (safe while a crawl runs): SQLite integrity,
    every stored body against its sha256, every report linked to a capture. Names each
    problem on stderr, a summary last; exit 1 when anything is damaged."""
    from .integrity import verify as run

    with _archive_errors():
        result = run(db_path, on_problem=lambda line: click.echo(f"damaged: {line}", err=True))
    click.echo(result.summary())
    sys.exit(0 if result.ok else EXIT_FAILED)


@cli.command()
@click.argument("dest")
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--force", is_flag=True, help="Replace DEST if it exists (only ever by a copy that verifies).")
def backup(dest, db_path, force):
    """Copy the archive to DEST as one consistent state while crawls and serving go on;
    DEST appears only once the copy verifies (as `xxgk verify` does). Exit 1 when the
    copy does not verify (DEST left as it was), 2 for a bad path."""
    from .integrity import backup as run

    with _archive_errors():
        result = run(db_path, dest, force=force,
                     on_problem=lambda line: click.echo(f"damaged: {line}", err=True))
    if result.ok:
        click.echo(f"backed up {db_path} to {result.summary()}")
    else:
        click.echo(f"not backed up: the copy of {db_path} does not verify; {result.summary()}")
    sys.exit(0 if result.ok else EXIT_FAILED)


# --- web archives in and out (warc.py, wacz.py, mirror.py, ingest.py) -------------------

SINCE = click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"])


def _export(kind: str, out: str, db_path: str, site: str | None, since) -> None:
    from .warc import export_warc, open_read_only
    from .wacz import export_wacz

    with _archive_errors():
        check_archive(db_path)
    if site:
        db = open_read_only(db_path)
        known = db.execute("SELECT 1 FROM sites WHERE id = ?", [site]).fetchone()
        db.conn.close()
        if not known:
            raise click.UsageError(f"unknown site id: {site}")
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ") if since else None
    try:
        done = (export_wacz if kind == "wacz" else export_warc)(db_path, out, site=site, since=stamp)
    except OSError as exc:
        click.echo(f"error: {out}: cannot write it ({exc.strerror or exc})", err=True)
        sys.exit(EXIT_USAGE)
    for line in done.skipped:
        click.echo(f"skipped: {line}", err=True)
    click.echo(f"wrote {out}: {done.records} captures, skipped {len(done.skipped)}")
    sys.exit(EXIT_FAILED if done.skipped else 0)


@cli.command("export-warc")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--site", default=None, help="Only this registry site's captures.")
@click.option("--since", type=SINCE, default=None, help="Only captures made on or after this date (UTC).")
def export_warc(out, db_path, site, since):
    """Write the archive's captures as a gzipped WARC 1.1 file: a request and a response
    record each (a 304 as a revisit), WARC-Date = capture time, one warcinfo first. OUT
    appears only once it is whole."""
    _export("warc", out, db_path, site, since)


@cli.command("export-wacz")
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--site", default=None, help="Only this registry site's captures.")
@click.option("--since", type=SINCE, default=None, help="Only captures made on or after this date (UTC).")
def export_wacz(out, db_path, site, since):
    """Write the archive's captures as a WACZ package (the WARC, its CDXJ index, a pages
    list and datapackage.json with every part's hash) that ReplayWeb.page opens."""
    _export("wacz", out, db_path, site, since)


@cli.command("export-parquet")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--force", is_flag=True, help="Replace OUT if it exists (only once the new export is whole).")
def export_parquet(out, db_path, force):
    """Write reports, facts (one row per fact with agency, region, level, year, version),
    checks and the scorecard as Parquet, partitioned by year (OUT/facts/year=2021/…), for
    DuckDB, Spark or a warehouse. Read-only on the archive; OUT appears only once whole."""
    from .parquet import export_parquet as run

    with _archive_errors():
        check_archive(db_path)
    try:
        written = run(db_path, out, force=force)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from exc
    except OSError as exc:
        click.echo(f"error: {out}: cannot write it ({exc.strerror or exc})", err=True)
        sys.exit(EXIT_USAGE)
    click.echo(f"wrote {out}: " + ", ".join(f"{name} {n}" for name, n in written.items()))


def _run_import(db_path: str, registry: str | None, read) -> None:
    """Lock, archive and parse what `read(problem)` finds; problems named on stderr."""
    from . import archive
    from .ingest import ingest
    from .lock import ArchiveLock, Locked

    _logging(False)
    try:
        sites = load_registry(registry) if registry else None
    except RegistryError as exc:
        raise click.UsageError(str(exc)) from exc
    problems: list[str] = []

    def problem(line: str) -> None:
        problems.append(line)
        click.echo(f"failed: {line}", err=True)

    with _archive_errors():  # before the lock file is made: a bad path leaves nothing behind
        check_archive(db_path, create=True)
    try:
        with _archive_errors(), ArchiveLock(db_path):
            db = archive.open_archive(db_path)
            if sites:
                archive.upsert_sites(db, sites)
            summary = ingest(db, read(problem, db))
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            db.conn.close()
    except Locked as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    for failure in summary.failures:
        click.echo(f"failed: {failure}", err=True)
    click.echo(summary.line())
    sys.exit(EXIT_FAILED if problems or summary.failed else 0)


@cli.command("import-warc")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--registry", default=None, help="Site registry (TOML): captures are assigned to its sites by host.")
def import_warc(files, db_path, registry):
    """Archive the HTML, PDF, Word and spreadsheet responses of WARC files (gzipped or not;
    wget, Heritrix, browsertrix-crawler, warcio, ours; a .wacz too), then parse them as a
    crawl would. A damaged file or record is named on stderr and the rest imported (exit 1)."""
    from .warc import archived_body, read_warcs

    _run_import(db_path, registry, lambda problem, db: read_warcs(list(files), problem, archived_body(db)))


@cli.command("import-mirror")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--db", "db_path", default="archive.db", show_default=True)
@click.option("--base-url", default=None,
              help="URL of the folder's root, for a mirror without host folders (wget -nH); its scheme "
                   "for the others (default http).")
@click.option("--registry", default=None, help="Site registry (TOML): captures are assigned to its sites by host.")
def import_mirror(folder, db_path, base_url, registry):
    """Archive the pages and documents of a mirror folder made by HTTrack or `wget -m`, with
    their original URLs and capture dates, then parse them as a crawl would. Pages the
    mirror links but lacks are named on stderr (exit 1)."""
    from .mirror import read_mirror

    _run_import(db_path, registry, lambda problem, db: read_mirror(folder, problem, base_url))

