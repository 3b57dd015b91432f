"""The plain-language summary: risk tier, issues found, positive findings, recommendation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.analysis.forensics.result import Result

LOW_UP_TO, MEDIUM_UP_TO = 30.0, 60.0  # low <= 30 % < medium <= 60 % < high

# How much one detector at full suspicion can weigh. Blind detectors are fallible and
# some (AI heuristics, blur) are weak, so none alone makes a certain forgery; evidence from
# several accumulates (noisy-OR).
# Caps follow each detector's measured reliability (image-level AUC on CASIA v1: JPEG double
# compression ~0.86, copy-move ~0.65, ELA and noise ~0.5) and its false-alarm cost.
_CAPS = {
    "copy_move": 0.70,
    "jpeg": 0.60,
    "ela": 0.25,
    "noise": 0.15,
    "ai_generation": 0.40,
    "blur": 0.10,
    "metadata": 0.40,
}
_REFERENCE_FORGED = 0.95
_RECOMMENDATIONS = {
    "low": "No sign of tampering: accept the photo.",
    "medium": (
        "Some signs need a human look: review the heatmaps and the issues below before "
        "accepting, and ask for another photo if in doubt."
    ),
    "high": (
        "Strong signs of tampering: do not accept this photo without a manual check of the "
        "original document, in person or by a live video call."
    ),
}


@dataclass
class Summary(Result):
    """The verdict in words a non-specialist can act on."""

    risk_percent: float
    risk_tier: str
    issues: list[str]
    positives: list[str]
    recommendation: str
    contributions: dict[str, float]  # each detector's share of the risk before combining


def tier_of(risk_percent: float) -> str:
    """low <= 30 % < medium <= 60 % < high."""
    if risk_percent <= LOW_UP_TO:
        return "low"
    return "medium" if risk_percent <= MEDIUM_UP_TO else "high"


def _ai_weight(result: Any) -> float:
    # The AI score sits around 20-35 for camera photos: only what rises above 40 counts.
    return min(1.0, max(0.0, (result.score - 40.0) / 40.0))


def blind_risk(results: dict[str, Result]) -> tuple[float, dict[str, float]]:
    """Noisy-OR of the capped blind-detector suspicions, 0..1, and each contribution."""
    parts: dict[str, float] = {}
    for name, cap in _CAPS.items():
        result = results.get(name)
        if result is None:
            continue
        level = _ai_weight(result) if name == "ai_generation" else float(result.suspicion)
        if name == "blur" and not result.suspicious:
            level = 0.0
        parts[name] = round(cap * level, 3)
    survive = 1.0
    for value in parts.values():
        survive *= 1.0 - value
    return 1.0 - survive, parts


def summarise(results: dict[str, Result], errors: dict[str, dict[str, str]]) -> Summary:
    """Risk, tier, issues and positive findings from whichever detectors ran."""
    risk, parts = blind_risk(results)
    reference = results.get("reference")
    if reference is not None and reference.forged:
        risk = 1.0 - (1.0 - risk) * (1.0 - _REFERENCE_FORGED)
        parts["reference"] = _REFERENCE_FORGED
    issues, positives = _findings(results)
    issues += [f"{name} could not run: {error['message']}" for name, error in errors.items()]
    percent = round(100.0 * risk, 1)
    tier = tier_of(percent)
    return Summary(percent, tier, issues, positives, _RECOMMENDATIONS[tier], parts)


def _findings(results: dict[str, Any]) -> tuple[list[str], list[str]]:
    issues: list[str] = []
    positives: list[str] = []
    ref = results.get("reference")
    if ref is not None:
        if ref.forged:
            issues.append(
                f"Differs from the enrolled reference: similarity {ref.score:.2f} is below "
                f"{ref.threshold:.2f}; {ref.forgery_percent:.1f} % of the photo changed in "
                f"{len(ref.regions)} region(s)."
            )
        else:
            positives.append(f"Matches the enrolled reference (similarity {ref.score:.2f}).")
    cm = results.get("copy_move")
    if cm is not None:
        if cm.detected:
            issues.append(f"Duplicated regions: {cm.clone_percent:.1f} % of the image is copied.")
        else:
            positives.append("No duplicated (copy-moved) regions found.")
    jpeg = results.get("jpeg")
    if jpeg is not None:
        if jpeg.double_compression >= 0.5:
            issues.append(
                f"Saved as JPEG at least twice (likelihood {jpeg.double_compression:.2f}): "
                "typical of an edited and re-saved photo."
            )
        elif jpeg.is_jpeg:
            positives.append(f"A single JPEG compression (quality about {jpeg.quality}).")
        issues += [note for note in jpeg.notes if "shifted" in note]
    ela = results.get("ela")
    if ela is not None:
        if ela.suspicion >= 0.5:
            issues.append(
                f"Error levels uneven: {ela.outlier_percent:.1f} % of the image stands out "
                f"(ELA level {ela.level})."
            )
        else:
            positives.append("Error levels are even across the image.")
    noise = results.get("noise")
    if noise is not None:
        if noise.suspicion >= 0.5:
            issues.append(f"Noise differs between regions (inconsistency {noise.inconsistency}).")
        else:
            positives.append("Sensor noise is consistent across the image.")
    ai = results.get("ai_generation")
    if ai is not None:
        if ai.score >= 40:
            signals = "; ".join(ai.indicators) or "several weak signals"
            issues.append(f"AI-generation signals, score {ai.score:.0f}/100: {signals}.")
        else:
            positives.append("No strong AI-generation signals.")
    blur = results.get("blur")
    if blur is not None and blur.suspicious:
        issues.append(f"Unusually blurry (Laplacian variance {blur.laplacian_variance:.0f}).")
    meta = results.get("metadata")
    if meta is not None:
        issues += [f"Metadata: {flag}." for flag in meta.flags]
        camera = " ".join(str(meta.exif.get(k, "")) for k in ("make", "model")).strip()
        if camera:
            positives.append(f"Camera metadata present ({camera}).")
    return issues, positives
