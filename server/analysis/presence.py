"""Presence monitoring after verification: absent face, several faces, a different person.

Pure: FrameFeatures and identity distances in, alerts out. Each alert is raised once per
episode (the face leaving for 10 s is one alert, not one per frame).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from server.analysis.liveness import FrameFeatures


@dataclass(frozen=True)
class PresenceConfig:
    absence_seconds: float = 3.0  # no face this long is an alert
    several_faces_seconds: float = 1.0  # more than one face this long is an alert
    rematch_seconds: float = 10.0  # identity re-checked this often
    threshold: float = 0.6  # embedding distance above which it is a different person
    mismatches_needed: int = 2  # consecutive mismatches before alerting (one bad frame is noise)


@dataclass(frozen=True)
class PresenceAlert:
    """Something the invigilator should see."""

    kind: str  # face_absent | multiple_faces | different_person | tab_switch
    severity: str  # warning | alert
    timestamp: float
    detail: dict[str, object] = field(default_factory=dict)


class PresenceMonitor:
    """One verified student's watch for the rest of the session."""

    def __init__(self, config: PresenceConfig | None = None, start: float = 0.0) -> None:
        self.config = config or PresenceConfig()
        self._absent_since: float | None = None
        self._absent_alerted = False
        self._several_since: float | None = None
        self._several_alerted = False
        self._last_match = start
        self._mismatches = 0
        self._mismatch_alerted = False

    def update(self, features: FrameFeatures) -> list[PresenceAlert]:
        t = features.timestamp
        alerts: list[PresenceAlert] = []
        if features.face_count == 0 or not features.has_face:
            self._absent_since = t if self._absent_since is None else self._absent_since
            if not self._absent_alerted and t - self._absent_since >= self.config.absence_seconds:
                self._absent_alerted = True
                alerts.append(
                    PresenceAlert(
                        "face_absent", "alert", t, {"seconds": round(t - self._absent_since, 1)}
                    )
                )
        else:
            self._absent_since, self._absent_alerted = None, False
        if features.face_count > 1:
            self._several_since = t if self._several_since is None else self._several_since
            if (
                not self._several_alerted
                and t - self._several_since >= self.config.several_faces_seconds
            ):
                self._several_alerted = True
                alerts.append(
                    PresenceAlert("multiple_faces", "alert", t, {"faces": features.face_count})
                )
        else:
            self._several_since, self._several_alerted = None, False
        return alerts

    def needs_rematch(self, features: FrameFeatures) -> bool:
        """Time for an identity check, and this frame has exactly one face to check."""
        return (
            features.face_count == 1
            and features.has_face
            and features.timestamp - self._last_match >= self.config.rematch_seconds
        )

    def provide_identity(self, distance: float, timestamp: float) -> list[PresenceAlert]:
        self._last_match = timestamp
        if distance <= self.config.threshold:
            self._mismatches, self._mismatch_alerted = 0, False
            return []
        self._mismatches += 1
        # Confirm a mismatch a second later instead of waiting a whole re-match period.
        self._last_match = timestamp - self.config.rematch_seconds + 1.0
        if self._mismatches >= self.config.mismatches_needed and not self._mismatch_alerted:
            self._mismatch_alerted = True
            return [
                PresenceAlert(
                    "different_person", "alert", timestamp, {"distance": round(distance, 4)}
                )
            ]
        return []

    def tab_switch(self, timestamp: float, what: str) -> PresenceAlert:
        return PresenceAlert("tab_switch", "warning", timestamp, {"what": what})
