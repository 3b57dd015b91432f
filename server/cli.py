"""`invigilator serve | enroll | eval | bench`: the command line."""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from server.analysis.errors import AnalysisError, CodedError
from server.config import Settings, settings_from_env

if TYPE_CHECKING:
    from datetime import date

    import numpy as np

    from attendance.ledger import Ledger
    from server.enrolment import Enrolment
    from server.forensic_tasks import ForensicBundle

SETTING_FLAGS: dict[str, tuple[str, str]] = {
    "data_dir": ("--data-dir", "directory for the database, photos and ledgers"),
    "database_url": ("--database-url", "SQLAlchemy URL (default: SQLite in the data directory)"),
    "host": ("--host", "address to listen on"),
    "port": ("--port", "port to listen on"),
    "match_threshold": ("--match-threshold", "face distance at or below which faces match"),
    "max_upload_bytes": ("--max-upload-bytes", "largest accepted request body"),
    "max_image_pixels": ("--max-image-pixels", "largest accepted decoded image (pixels)"),
    "timezone": ("--timezone", "IANA timezone of the attendance day"),
    "workers": ("--workers", "analysis worker processes"),
}


def _settings_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("settings (also INVIGILATOR_<NAME> variables)")
    for name, (flag, help_text) in SETTING_FLAGS.items():
        group.add_argument(flag, dest=f"setting_{name}", default=None, help=help_text)
    return parent


def settings_from_args(args: argparse.Namespace) -> Settings:
    """Environment first, flags over it."""
    overrides = {
        key.removeprefix("setting_"): value
        for key, value in vars(args).items()
        if key.startswith("setting_") and value is not None
    }
    return settings_from_env().with_overrides(**overrides)


def progress_bar(label: str) -> Callable[[int, int], None]:
    """A one-line progress bar on stderr when it is a terminal; silent otherwise."""

    def show(done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        width = 30
        filled = round(width * done / max(total, 1))
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
        sys.stderr.flush()

    return show


# --- serve -------------------------------------------------------------------------------


def cmd_serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from server.app import create_app

    settings = settings_from_args(args)
    web.run_app(create_app(settings), host=settings.host, port=settings.port, print=print)
    return 0


# --- enroll ------------------------------------------------------------------------------


def cmd_enroll(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    return asyncio.run(_enroll_roster(settings, Path(args.roster), Path(args.photos)))


async def _enroll_roster(settings: Settings, roster: Path, photos: Path) -> int:
    from server.enrolment import Enrolment
    from server.store.database import Database
    from server.store.photos import PhotoStore
    from server.store.runs import RunStore
    from server.workers import AnalysisPool

    rows = _read_roster(roster)
    db = Database(settings.effective_database_url)
    db.migrate()
    pool = AnalysisPool(settings.workers)
    enrolment = Enrolment(
        settings,
        db,
        PhotoStore(settings.photos_dir),
        pool,
        PhotoStore(settings.snapshots_dir),
        PhotoStore(settings.id_checks_dir),
        RunStore(settings.runs_dir),
    )
    show = progress_bar("enrolling")
    failures = 0
    try:
        # As many rows in flight as workers keep them all busy; results print in roster order.
        limit = asyncio.Semaphore(max(1, settings.workers))

        async def bounded(row: dict[str, str]) -> tuple[bool, str]:
            async with limit:
                return await _enroll_row(enrolment, row, photos)

        tasks = [asyncio.create_task(bounded(row)) for row in rows]
        for done, task in enumerate(tasks, start=1):
            ok, line = await task
            failures += not ok
            print(line, flush=True)
            show(done, len(rows))
    finally:
        pool.close()
        db.dispose()
    print(f"enrolled {len(rows) - failures}, failed {failures}", flush=True)
    return 1 if failures else 0


def _read_roster(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = {"roll_no", "name", "photo"} - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(f"{path}: missing columns {', '.join(sorted(missing))}")
        return list(reader)


async def _enroll_row(enrolment: Enrolment, row: dict[str, str], photos: Path) -> tuple[bool, str]:

    roll_no = (row.get("roll_no") or "").strip()
    photo_name = (row.get("photo") or "").strip()
    photo = photos / photo_name
    if not photo_name or photo.resolve().parent != photos.resolve() or not photo.is_file():
        return False, f"FAILED {roll_no}: PHOTO_NOT_FOUND {photo_name!r} is not a file in {photos}"
    try:
        record = await enrolment.enrol(roll_no, row.get("name") or "", photo.read_bytes())
    except CodedError as exc:
        return False, f"FAILED {roll_no}: {exc.code} {exc.message}"
    return True, f"OK     {record.roll_no}: {record.name}"


# --- session -----------------------------------------------------------------------------


def cmd_session_create(args: argparse.Namespace) -> int:
    from server.exam_sessions import create_session, parse_roster
    from server.store.database import Database

    settings = settings_from_args(args)
    roll_nos = parse_roster(Path(args.roster).read_text(encoding="utf-8-sig"))
    db = Database(settings.effective_database_url)
    db.migrate()
    try:
        created = create_session(
            settings, db, args.name, roll_nos, args.base_url or f"http://localhost:{settings.port}"
        )
    finally:
        db.dispose()
    if args.json:
        print(json.dumps({"session_id": created.session.id, "links": created.links}))
    else:
        print(f"session {created.session.id}: {created.session.name}")
        for roll_no, link in created.links.items():
            print(f"{roll_no}\t{link}")
    return 0


# --- users -------------------------------------------------------------------------------


def cmd_user_add(args: argparse.Namespace) -> int:
    import getpass

    from server.auth import hash_password
    from server.store import users
    from server.store.database import Database

    settings = settings_from_args(args)
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise ValueError("the passwords differ")
    db = Database(settings.effective_database_url)
    db.migrate()
    try:
        users.add_user(db, args.username, args.role, hash_password(password))
    finally:
        db.dispose()
    print(f"added {args.role} {args.username}")
    return 0


# --- reports -----------------------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    import shutil

    from server.report_builder import Reports
    from server.store.database import Database
    from server.store.photos import PhotoStore
    from server.store.runs import RunStore

    settings = settings_from_args(args)
    db = Database(settings.effective_database_url)
    db.migrate()
    reports = Reports(
        settings,
        db,
        PhotoStore(settings.photos_dir),
        PhotoStore(settings.snapshots_dir),
        PhotoStore(settings.id_checks_dir),
        RunStore(settings.runs_dir),
        _ledger(settings),
    )
    try:
        if args.roll_no:
            path = reports.student_report(args.session, args.roll_no)
        else:
            path = reports.session_report(args.session)
    finally:
        db.dispose()
    if args.out:
        shutil.copyfile(path, args.out)
        shutil.copyfile(path.with_suffix(".json"), Path(args.out).with_suffix(".json"))
        path = Path(args.out)
    print(f"wrote {path} and {path.with_suffix('.json')}")
    return 0


# --- ledger ------------------------------------------------------------------------------


def _ledger(settings: Settings) -> Ledger:
    from attendance.ledger import Ledger

    return Ledger(settings.data_dir, settings.tz)


def _date(value: str | None) -> date | None:
    from datetime import date

    return date.fromisoformat(value) if value else None


def cmd_ledger_verify(args: argparse.Namespace) -> int:
    result = _ledger(settings_from_args(args)).verify(_date(args.date_from), _date(args.date_to))
    print(result)
    return 0 if result.ok else 1


def cmd_ledger_add(args: argparse.Namespace) -> int:
    from server.attendance_records import AttendanceBook
    from server.store.database import Database

    settings = settings_from_args(args)
    db = Database(settings.effective_database_url)
    db.migrate()
    try:
        row = AttendanceBook(db, _ledger(settings)).manual(
            args.session, args.roll_no, args.reason, args.by
        )
    finally:
        db.dispose()
    print(f"recorded {args.roll_no} in {args.session} by hand: row {row.row_hash if row else '?'}")
    return 0


def cmd_ledger_export(args: argparse.Namespace) -> int:
    settings = settings_from_args(args)
    ledger = _ledger(settings)
    start, end = _date(args.date_from), _date(args.date_to)
    if args.format == "csv":
        data = ledger.export_csv(start, end)
    else:
        from server.report_builder import attendance_sheet_pdf

        data = attendance_sheet_pdf(ledger, start, end)
    if args.out:
        Path(args.out).write_bytes(data)
        print(f"wrote {args.out} ({len(data)} bytes)")
    else:
        sys.stdout.buffer.write(data)
    return 0


# --- eval / bench -----------------------------------------------------------------------


def cmd_eval_faces(args: argparse.Namespace) -> int:
    from server.evaluation.faces_eval import evaluate_pairs, format_report, read_pairs
    from server.workers import describe_photo

    settings = settings_from_args(args)
    images = Path(args.images)

    def embed(name: str) -> np.ndarray:
        data = (images / name).read_bytes()
        return describe_photo(
            data, settings.max_image_pixels, settings.detect_width, False
        ).embedding

    result = evaluate_pairs(read_pairs(Path(args.pairs)), embed, settings.match_threshold)
    print(json.dumps(result.to_dict()) if args.json else format_report(result))
    return 0


def cmd_bench_faces(args: argparse.Namespace) -> int:
    from server.benchmarks.faces_bench import bench_faces, format_table

    settings = settings_from_args(args)
    result = bench_faces(
        Path(args.images), args.limit, settings.match_threshold, progress_bar("benchmarking")
    )
    print(json.dumps(result.to_dict()) if args.json else format_table(result))
    return 0


def cmd_bench_streams(args: argparse.Namespace) -> int:
    from server.benchmarks.streams_bench import (
        StreamsBench,
        bench_streams,
        format_summary,
        format_table,
        log,
    )

    try:
        steps = [int(n) for n in args.clients.split(",") if n.strip()]
    except ValueError:
        steps = []
    if not steps or min(steps) < 1:
        print(f"--clients wants client counts like 10,20,40: {args.clients!r}", file=sys.stderr)
        return 2
    if not Path(args.video).is_file():
        print(f"--video: no such file: {args.video}", file=sys.stderr)
        return 2

    # Every peer logs its ICE checks and state changes: with dozens of clients those lines
    # would bury the tables. Warnings still show.
    for name in ("aioice", "aiohttp.access", "invigilator"):
        logging.getLogger(name).setLevel(logging.WARNING)

    def on_step(result: StreamsBench) -> None:
        # Each step as soon as it is done: a sweep takes minutes.
        if args.json:
            print(json.dumps(result.to_dict()), flush=True)
        else:
            print(format_table(result) + "\n", flush=True)

    if not args.json:
        log(f"encoding {args.video} to VP8 once, then {len(steps)} step(s): {args.clients}")
    results = bench_streams(
        steps, Path(args.video), args.seconds, args.width, args.fps, on_step=on_step
    )
    if not args.json and len(results) > 1:
        print(format_summary(results))
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from server.forensic_tasks import analyse_image

    settings = settings_from_args(args)
    reference = Path(args.reference).read_bytes() if args.reference else None
    out = Path(args.out) if args.out else None
    show = progress_bar("analysing") if len(args.images) > 1 else (lambda _d, _t: None)
    failures = 0
    for done, name in enumerate(args.images, start=1):
        path = Path(name)
        try:
            bundle = analyse_image(
                path.read_bytes(), reference, settings.max_image_pixels, settings.ssim_threshold
            )
        except (AnalysisError, OSError) as exc:
            failures += 1
            print(f"FAILED {path}: {getattr(exc, 'code', type(exc).__name__)} {exc}", flush=True)
            show(done, len(args.images))
            continue
        summary = bundle.report["summary"]
        line = f"{summary['risk_tier'].upper():<6} {summary['risk_percent']:5.1f} %  {path}"
        reference_result = bundle.report["detectors"].get("reference")
        if reference_result and "score" in reference_result:
            line += f"  (SSIM {reference_result['score']:.3f} vs reference)"
        print(line, flush=True)
        if out is not None:
            _write_bundle(out / f"{done:03d}_{path.stem}", bundle)
        show(done, len(args.images))
    return 1 if failures else 0


def _write_bundle(folder: Path, bundle: ForensicBundle) -> None:
    (folder / "heatmaps").mkdir(parents=True, exist_ok=True)
    (folder / "forensic_report.json").write_text(json.dumps(bundle.report, indent=2))
    for name, png in bundle.pngs.items():
        (folder / "heatmaps" / f"{name}.png").write_bytes(png)


def cmd_eval_liveness(args: argparse.Namespace) -> int:
    from server.evaluation.liveness_eval import evaluate_liveness, format_report

    videos = Path(args.videos)
    direct = evaluate_liveness(videos, attempts=args.attempts, seeds=args.seeds)
    if args.direct:
        result: dict[str, object] = {**direct, "transport": "direct"}
    else:
        from server.evaluation.liveness_webrtc import evaluate_over_webrtc

        webrtc = evaluate_over_webrtc(videos, attempts=args.attempts, seeds=args.webrtc_seeds)
        # Detection scores are the footage's; BPCER/APCER are what the real peers met.
        result = {
            **direct,
            "transport": "webrtc",
            "bpcer": webrtc["bpcer"],
            "apcer": webrtc["apcer"],
            "direct": {"bpcer": direct["bpcer"], "apcer": direct["apcer"]},
            "webrtc": {k: v for k, v in webrtc.items() if k != "runs"},
            "webrtc_runs": webrtc["runs"],
        }
    if args.json:
        print(json.dumps(result))
    else:
        print(format_report(direct))
        if not args.direct:
            webrtc_part = result["webrtc"]
            print(
                f"over aiortc peers ({args.webrtc_seeds} seeds): BPCER {result['bpcer']}, "
                f"APCER {result['apcer']}, sessions {webrtc_part['sessions']}"  # type: ignore[index]
            )
    return 0


def cmd_eval_forensics(args: argparse.Namespace) -> int:
    from server.evaluation.forensics_eval import evaluate_forensics, format_report

    result = evaluate_forensics(Path(args.data))
    print(json.dumps(result) if args.json else format_report(result))
    return 0


def cmd_bench_forensics(args: argparse.Namespace) -> int:
    from server.benchmarks.forensics_bench import bench_forensics, format_table

    result = bench_forensics(repeats=args.repeats)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


def cmd_bench_reports(args: argparse.Namespace) -> int:
    from server.benchmarks.reports_bench import bench_reports, format_table

    result = bench_reports(args.students, args.repeats)
    print(json.dumps(result) if args.json else format_table(result))
    return 0


# --- parser ------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    settings = _settings_parent()
    parser = argparse.ArgumentParser(prog="invigilator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[settings], help="run the web service")
    serve.set_defaults(func=cmd_serve)

    enroll = commands.add_parser("enroll", parents=[settings], help="bulk-enrol a roster CSV")
    enroll.add_argument("--roster", required=True, help="CSV with columns roll_no,name,photo")
    enroll.add_argument("--photos", required=True, help="directory holding the photo files")
    enroll.set_defaults(func=cmd_enroll)

    session = commands.add_parser("session", help="exam sessions")
    session_commands = session.add_subparsers(dest="what", required=True)
    create = session_commands.add_parser(
        "create", parents=[settings], help="create a session and print one join link per student"
    )
    create.add_argument("--name", required=True, help="the session's name")
    create.add_argument(
        "--roster", required=True, help="roll numbers, one per line, or a CSV with roll_no"
    )
    create.add_argument("--base-url", default="", help="base of the links (default: this host)")
    create.add_argument("--json", action="store_true", help="one JSON object on stdout")
    create.set_defaults(func=cmd_session_create)

    user = commands.add_parser("user", help="invigilator and administrator accounts")
    user_commands = user.add_subparsers(dest="what", required=True)
    user_add = user_commands.add_parser("add", parents=[settings], help="create an account")
    user_add.add_argument("username")
    user_add.add_argument("--role", choices=("admin", "invigilator"), required=True)
    user_add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    user_add.set_defaults(func=cmd_user_add)

    ledger = commands.add_parser("ledger", help="the daily attendance ledger")
    ledger_commands = ledger.add_subparsers(dest="what", required=True)
    verify = ledger_commands.add_parser(
        "verify", parents=[settings], help="check the hash chain; exit 1 at the first break"
    )
    verify.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD")
    verify.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD")
    verify.set_defaults(func=cmd_ledger_verify)
    add = ledger_commands.add_parser(
        "add", parents=[settings], help="record a student by hand (method=manual)"
    )
    add.add_argument("--session", required=True, help="session id")
    add.add_argument("--roll-no", required=True, help="the student's roll number")
    add.add_argument("--reason", required=True, help="why it is recorded by hand")
    add.add_argument("--by", default=os.environ.get("USER", "cli"), help="who records it")
    add.set_defaults(func=cmd_ledger_add)
    export = ledger_commands.add_parser("export", parents=[settings], help="rows of some days")
    export.add_argument("--from", dest="date_from", help="first day, YYYY-MM-DD")
    export.add_argument("--to", dest="date_to", help="last day, YYYY-MM-DD")
    export.add_argument("--format", choices=("csv", "pdf"), default="csv")
    export.add_argument("--out", help="file to write (default: standard output)")
    export.set_defaults(func=cmd_ledger_export)

    report = commands.add_parser(
        "report", parents=[settings], help="PDF audit report of a session or one student"
    )
    report.add_argument("session", help="session id")
    report.add_argument("roll_no", nargs="?", help="a student's roll number (else the session)")
    report.add_argument("--out", help="copy the PDF (and its JSON sidecar) here")
    report.set_defaults(func=cmd_report)

    analyze = commands.add_parser(
        "analyze", parents=[settings], help="forensic analysis of image files"
    )
    analyze.add_argument("images", nargs="+", help="image files")
    analyze.add_argument("--reference", help="the original to compare each image against")
    analyze.add_argument("--out", help="write each report and its heatmaps under this folder")
    analyze.set_defaults(func=cmd_analyze)

    evaluate = commands.add_parser("eval", help="measure accuracy on labelled data")
    evals = evaluate.add_subparsers(dest="what", required=True)
    faces_eval = evals.add_parser("faces", parents=[settings], help="face verification pairs")
    faces_eval.add_argument("--pairs", required=True, help="CSV image_a,image_b,same_person")
    faces_eval.add_argument("--images", required=True, help="directory of the images")
    faces_eval.add_argument("--json", action="store_true", help="one JSON object on stdout")
    faces_eval.set_defaults(func=cmd_eval_faces)
    liveness_eval = evals.add_parser("liveness", help="blink/smile detection, BPCER, APCER")
    liveness_eval.add_argument("--videos", required=True, help="folder of *.mp4 with *.json")
    liveness_eval.add_argument("--json", action="store_true", help="one JSON object on stdout")
    liveness_eval.add_argument("--attempts", type=int, default=3, help="attempts per run")
    liveness_eval.add_argument(
        "--direct", action="store_true", help="feed frames straight into the pipeline"
    )
    liveness_eval.add_argument("--seeds", type=int, default=20, help="challenge seeds (direct)")
    liveness_eval.add_argument(
        "--webrtc-seeds", type=int, default=2, help="challenge seeds over real peers"
    )
    liveness_eval.set_defaults(func=cmd_eval_liveness)
    forensics_eval = evals.add_parser("forensics", help="forgery detectors on labelled triples")
    forensics_eval.add_argument(
        "--data", required=True, help="folder of <name>_tampered/_authentic/_mask images"
    )
    forensics_eval.add_argument("--json", action="store_true", help="one JSON object on stdout")
    forensics_eval.set_defaults(func=cmd_eval_forensics)

    bench = commands.add_parser("bench", help="measure speed against a baseline")
    benches = bench.add_subparsers(dest="what", required=True)
    faces_bench = benches.add_parser("faces", parents=[settings], help="face verification")
    faces_bench.add_argument("--images", required=True, help="directory of face photos")
    faces_bench.add_argument("--limit", type=int, default=20, help="images to use (pairs = n-1)")
    faces_bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    faces_bench.set_defaults(func=cmd_bench_faces)
    streams_bench = benches.add_parser("streams", help="live streams into one server")
    streams_bench.add_argument(
        "--clients", default="10", help="aiortc clients; a list (10,20,40) is a sweep"
    )
    streams_bench.add_argument("--video", required=True, help="face video the clients stream")
    streams_bench.add_argument("--seconds", type=float, default=20.0, help="measured per step")
    streams_bench.add_argument("--width", type=int, default=640, help="frame width sent")
    streams_bench.add_argument("--fps", type=float, default=15.0, help="client frame rate")
    streams_bench.add_argument(
        "--json", action="store_true", help="one JSON object per step, one per line"
    )
    streams_bench.set_defaults(func=cmd_bench_streams)
    forensics_bench = benches.add_parser("forensics", help="the full suite at 1-20 MP")
    forensics_bench.add_argument("--repeats", type=int, default=3, help="runs per size")
    forensics_bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    forensics_bench.set_defaults(func=cmd_bench_forensics)
    reports_bench = benches.add_parser("reports", help="time to write the audit reports")
    reports_bench.add_argument("--students", type=int, default=40, help="students in the session")
    reports_bench.add_argument("--repeats", type=int, default=5, help="runs to take the median of")
    reports_bench.add_argument("--json", action="store_true", help="one JSON object on stdout")
    reports_bench.set_defaults(func=cmd_bench_reports)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        print(f"invigilator: {exc}", file=sys.stderr)
        return 2
    except CodedError as exc:
        print(f"invigilator: {exc.code}: {exc.message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
