"""Writing a report: the PDF and its JSON sidecar, each replaced atomically."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reportlab.platypus import Flowable

from attendance.reports.atomic import atomic_writer, write_bytes_atomic
from attendance.reports.common import ReportContext, build_pdf, new_report_id
from attendance.reports.evidence import COVERS, evidence_sha256, to_evidence
from attendance.reports.model import ReportInfo

SIDECAR_SCHEMA = "invigilator-report/v1"


def new_context(
    kind: str,
    prefix: str,
    title: str,
    subject: str,
    evidence: dict[str, Any],
    chain_head: str,
    report_id: str | None,
    now: datetime | None,
    *,
    wide: bool = False,
) -> ReportContext:
    """The ids, time and hashes one report will print on every page."""
    # Whole seconds: the footer, the sidecar and ReportInfo then show the very same time.
    generated_at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    return ReportContext(
        kind=kind,
        title=title,
        subject=subject,
        report_id=report_id or new_report_id(prefix, generated_at),
        generated_at=generated_at,
        evidence_sha256=evidence_sha256(evidence),
        chain_head=chain_head,
        landscape=wide,
    )


def publish(
    path: Path,
    ctx: ReportContext,
    story: list[Flowable],
    evidence: dict[str, Any],
    figures: dict[str, Any],
) -> ReportInfo:
    """Write the PDF, then its sidecar (<name>.json) carrying the same figures and the evidence."""
    path = Path(path)
    if path.suffix.lower() == ".json":
        raise ValueError(f"{path}: the sidecar is <name>.json, so the PDF cannot be named so")
    with atomic_writer(path) as handle:
        hashing = _HashingWriter(handle)
        pages = build_pdf(hashing, story, ctx)  # type: ignore[arg-type]
    sidecar_path = path.with_suffix(".json")
    sidecar = {
        "schema": SIDECAR_SCHEMA,
        "kind": ctx.kind,
        "report_id": ctx.report_id,
        "generated_at": ctx.generated_at.isoformat(),
        "pages": pages,
        "pdf": {"file": path.name, "sha256": hashing.digest.hexdigest()},
        "chain_head": ctx.chain_head,
        "evidence_sha256": ctx.evidence_sha256,
        "evidence_covers": COVERS,
        "figures": to_evidence(figures),  # plain JSON: no NaN, times as ISO
        "evidence": evidence,
    }
    text = json.dumps(sidecar, indent=2, ensure_ascii=False, allow_nan=False)
    write_bytes_atomic(sidecar_path, (text + "\n").encode("utf-8"))
    return ReportInfo(
        report_id=ctx.report_id,
        generated_at=ctx.generated_at,
        evidence_sha256=ctx.evidence_sha256,
        pdf_path=path,
        sidecar_path=sidecar_path,
        pages=pages,
    )


class _HashingWriter:
    """A write-only file that also hashes what passes through (the PDF's own SHA-256)."""

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return self.handle.write(data)
