"""Vector charts: the EAR/MAR/yaw liveness timeline and a session's flag strip."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from reportlab.graphics.shapes import Circle, Drawing, Group, Line, PolyLine, Rect, String
from reportlab.lib import colors

from attendance.reports.model import Detection, FlagEvent, Prompt, TimelineSample
from attendance.reports.styles import BOLD, FONT, INK, MUTED, RULE, STATUS_COLOURS

_LEFT, _RIGHT, _TOP, _BOTTOM = 40.0, 8.0, 26.0, 40.0
_PANEL, _GAP = 58.0, 7.0
_SPAN_COLOURS = {
    "blink": colors.HexColor("#c6dcf5"),
    "smile": colors.HexColor("#fbd9b4"),
    "turn": colors.HexColor("#cdebd3"),
}
_OTHER_SPAN = colors.HexColor("#e4e7eb")


@dataclass(frozen=True)
class _Panel:
    label: str
    values: list[float | None]
    colour: colors.Color
    low: float
    high: float
    kinds: tuple[str, ...]  # detections shaded on this panel


def timeline_chart(
    timeline: Sequence[TimelineSample],
    prompts: Sequence[Prompt],
    detections: Sequence[Detection],
    width: float,
) -> Drawing:
    """Stacked EAR, MAR (and yaw) panels with prompts as dashed lines and detections shaded."""
    panels = _panels(timeline, detections, prompts)
    height = _TOP + len(panels) * _PANEL + (len(panels) - 1) * _GAP + _BOTTOM
    drawing = Drawing(width, height)
    t0, t1 = _time_range(timeline, prompts, detections)
    plot_w = width - _LEFT - _RIGHT

    def x_of(t: float) -> float:
        return _LEFT + (min(max(t, t0), t1) - t0) / (t1 - t0) * plot_w

    times = [s.t for s in timeline]
    for index, panel in enumerate(panels):
        top = height - _TOP - index * (_PANEL + _GAP)
        _draw_panel(drawing, panel, times, detections, x_of, top - _PANEL, plot_w)
    plot_top = height - _TOP
    plot_bottom = plot_top - len(panels) * _PANEL - (len(panels) - 1) * _GAP
    _draw_prompts(drawing, prompts, x_of, plot_bottom, plot_top)
    _draw_time_axis(drawing, t0, t1, x_of, plot_bottom)
    _draw_legend(drawing, panels, width)
    return drawing


def flag_strip(
    events: Sequence[FlagEvent], start: datetime | None, end: datetime | None, width: float
) -> Drawing:
    """A session-long bar with each flag as a dot coloured by severity."""
    drawing = Drawing(width, 24)
    times = [_aware(e.time) for e in events]
    begin = _aware(start) if start else (min(times) if times else None)
    finish = _aware(end) if end else (max(times) if times else None)
    left, right, y = 4.0, width - 4.0, 14.0
    drawing.add(
        Rect(left, y - 2.5, right - left, 5, fillColor=colors.HexColor("#e4e7eb"), strokeColor=None)
    )
    if begin is None or finish is None:
        return drawing
    span = (finish - begin).total_seconds()
    for event, time in zip(events, times, strict=True):
        offset = (time - begin).total_seconds()
        share = 0.5 if span <= 0 else min(max(offset / span, 0.0), 1.0)
        colour = STATUS_COLOURS.get(event.severity.lower(), MUTED)
        drawing.add(
            Circle(
                left + share * (right - left),
                y,
                3.2,
                fillColor=colour,
                strokeColor=colors.white,
                strokeWidth=0.6,
            )
        )
    label = dict(fontName=FONT, fontSize=6.5, fillColor=MUTED)
    drawing.add(String(left, 1, begin.strftime("%H:%M:%S"), **label))
    drawing.add(String(right, 1, finish.strftime("%H:%M:%S"), textAnchor="end", **label))
    return drawing


def _panels(
    timeline: Sequence[TimelineSample], detections: Sequence[Detection], prompts: Sequence[Prompt]
) -> list[_Panel]:
    ear = [s.ear for s in timeline]
    mar = [s.mar for s in timeline]
    yaw = [s.yaw for s in timeline]
    panels = [
        _Panel("EAR", ear, colors.HexColor("#2563eb"), 0.0, _top(ear, 0.4), ("blink",)),
        _Panel("MAR", mar, colors.HexColor("#d97706"), 0.0, _top(mar, 0.8), ("smile",)),
    ]
    turning = any("turn" in d.kind for d in detections) or any("turn" in p.action for p in prompts)
    if any(_finite(v) for v in yaw) or turning:
        reach = max([30.0] + [abs(v) * 1.1 for v in yaw if _finite(v)])
        panels.append(_Panel("yaw °", yaw, colors.HexColor("#15803d"), -reach, reach, ("turn",)))
    return panels


def _draw_panel(
    drawing: Drawing,
    panel: _Panel,
    times: list[float],
    detections: Sequence[Detection],
    x_of: Callable[[float], float],
    bottom: float,
    plot_w: float,
) -> None:
    def y_of(v: float) -> float:
        clamped = min(max(v, panel.low), panel.high)
        return bottom + (clamped - panel.low) / (panel.high - panel.low) * _PANEL

    drawing.add(
        Rect(
            _LEFT, bottom, plot_w, _PANEL, fillColor=colors.white, strokeColor=RULE, strokeWidth=0.5
        )
    )
    for det in detections:  # shaded first so that the signal stays on top
        family = _family(det.kind)
        if family in panel.kinds or family not in _SPAN_COLOURS:
            x0, x1 = x_of(det.start), x_of(det.end)
            drawing.add(
                Rect(
                    x0,
                    bottom,
                    max(x1 - x0, 1.0),
                    _PANEL,
                    strokeColor=None,
                    fillColor=_SPAN_COLOURS.get(family, _OTHER_SPAN),
                )
            )
    for tick in _ticks(panel.low, panel.high, 3):
        y = y_of(tick)
        drawing.add(Line(_LEFT, y, _LEFT + plot_w, y, strokeColor=RULE, strokeWidth=0.3))
        drawing.add(
            String(
                _LEFT - 3,
                y - 2.2,
                _tick_text(tick),
                fontName=FONT,
                fontSize=6,
                fillColor=MUTED,
                textAnchor="end",
            )
        )
    for segment in _segments(times, panel.values, int(plot_w)):
        points = [c for t, v in segment for c in (x_of(t), y_of(v))]
        if len(segment) == 1:
            points += [points[0] + 0.8, points[1]]
        drawing.add(PolyLine(points, strokeColor=panel.colour, strokeWidth=0.8))
    # The panel's name runs up the left margin: inside the plot it would hide signal.
    label = Group(
        String(
            0,
            0,
            panel.label,
            fontName=BOLD,
            fontSize=7,
            fillColor=panel.colour,
            textAnchor="middle",
        )
    )
    label.translate(9, bottom + _PANEL / 2)
    label.rotate(90)
    drawing.add(label)


def _draw_prompts(
    drawing: Drawing,
    prompts: Sequence[Prompt],
    x_of: Callable[[float], float],
    bottom: float,
    top: float,
) -> None:
    last_x = -math.inf
    row = 0
    for prompt in sorted(prompts, key=lambda p: p.t):
        x = x_of(prompt.t)
        drawing.add(
            Line(x, bottom, x, top + 2, strokeColor=INK, strokeWidth=0.6, strokeDashArray=[2, 1.5])
        )
        # Close prompts would print over each other: alternate them between two rows.
        row = 1 - row if x - last_x < 60 else 0
        last_x = x
        drawing.add(
            String(
                x,
                top + 4 + row * 9,
                prompt.action[:24],
                fontName=FONT,
                fontSize=6.5,
                fillColor=INK,
                textAnchor="middle",
            )
        )


def _draw_time_axis(
    drawing: Drawing, t0: float, t1: float, x_of: Callable[[float], float], bottom: float
) -> None:
    for tick in _ticks(t0, t1, 8):
        x = x_of(tick)
        drawing.add(Line(x, bottom, x, bottom - 3, strokeColor=MUTED, strokeWidth=0.5))
        drawing.add(
            String(
                x,
                bottom - 11,
                _tick_text(tick),
                fontName=FONT,
                fontSize=6,
                fillColor=MUTED,
                textAnchor="middle",
            )
        )
    drawing.add(
        String(
            _LEFT + (x_of(t1) - _LEFT) / 2,
            bottom - 20,
            "seconds",
            fontName=FONT,
            fontSize=6.5,
            fillColor=MUTED,
            textAnchor="middle",
        )
    )


def _draw_legend(drawing: Drawing, panels: Sequence[_Panel], width: float) -> None:
    x, y = _LEFT, 3.0
    style = dict(fontName=FONT, fontSize=6.5, fillColor=INK)
    for panel in panels:
        drawing.add(Line(x, y + 2.5, x + 12, y + 2.5, strokeColor=panel.colour, strokeWidth=1.2))
        drawing.add(String(x + 15, y, panel.label, **style))
        x += 24 + 4 * len(panel.label)
    for kind in ("blink", "smile", "turn"):
        if kind == "turn" and len(panels) < 3:
            continue
        drawing.add(Rect(x, y - 0.5, 10, 6, fillColor=_SPAN_COLOURS[kind], strokeColor=None))
        drawing.add(String(x + 13, y, f"{kind} detected", **style))
        x += 62
    drawing.add(
        Line(
            x, y + 2.5, x + 12, y + 2.5, strokeColor=INK, strokeWidth=0.6, strokeDashArray=[2, 1.5]
        )
    )
    drawing.add(String(x + 15, y, "prompt shown", **style))


def _segments(
    times: list[float], values: list[float | None], columns: int
) -> list[list[tuple[float, float]]]:
    """Runs of measured samples (a missing value breaks the line), thinned to the page."""
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for t, v in zip(times, values, strict=True):
        if _finite(v) and math.isfinite(t):
            current.append((t, float(v)))  # type: ignore[arg-type]
        elif current:
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return [_thin(run, max(columns, 1) * 2) for run in runs]


def _thin(run: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """Keep each bucket's minimum and maximum: a one-frame blink dip must survive thinning."""
    if len(run) <= limit:
        return run
    size = math.ceil(len(run) / (limit // 2))
    kept: list[tuple[float, float]] = []
    for i in range(0, len(run), size):
        bucket = run[i : i + size]
        low = min(bucket, key=lambda p: p[1])
        high = max(bucket, key=lambda p: p[1])
        kept += sorted({low, high}, key=lambda p: p[0])
    return kept


def _time_range(
    timeline: Sequence[TimelineSample], prompts: Sequence[Prompt], detections: Sequence[Detection]
) -> tuple[float, float]:
    moments = [s.t for s in timeline] + [p.t for p in prompts]
    moments += [d.start for d in detections] + [d.end for d in detections]
    moments = [m for m in moments if math.isfinite(m)]
    t0 = min([*moments, 0.0])
    t1 = max([*moments, t0 + 1.0])
    return t0, t1


def _ticks(low: float, high: float, count: int) -> list[float]:
    """Round tick values (1, 2, 5 x 10^k steps) covering low..high."""
    raw = (high - low) / max(count, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks: list[float] = []
    value = first
    while value <= high + 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _tick_text(value: float) -> str:
    return f"{value:g}" if abs(value) >= 1e-9 else "0"


def _top(values: list[float | None], floor: float) -> float:
    found = [v for v in values if _finite(v)]
    return max([floor] + [v * 1.1 for v in found])  # type: ignore[operator]


def _family(kind: str) -> str:
    lowered = kind.lower()
    return "turn" if "turn" in lowered else lowered


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def _aware(value: datetime) -> datetime:
    """Naive times are taken as UTC (the service stores UTC) so that any two compare."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
