"""One student in one session, across reconnects: the challenge run, then presence monitoring."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from server.analysis.challenges import ChallengeConfig, ChallengeMachine, State
from server.analysis.faces import draw_landmarks, face_embedding
from server.analysis.images import encode_jpeg
from server.analysis.liveness import BlinkConfig, FrameFeatures
from server.analysis.matching import face_distance
from server.analysis.presence import PresenceAlert, PresenceConfig, PresenceMonitor
from server.attendance_records import AttendanceBook
from server.config import Settings
from server.events import EventBus
from server.store import sessions
from server.store.database import Database
from server.store.photos import PhotoStore
from server.store.runs import RunStore
from server.streams.frame_workers import FramePool
from server.streams.live_frame import LiveFrame
from server.workers import AnalysisPool

log = logging.getLogger("invigilator.streams")

TIMELINE_SECONDS = 600  # EAR/MAR/yaw kept for reports: the last 10 minutes at most
# The page runs its countdown bar down by itself; the time left is re-sent this often to
# correct drift (each data-channel message is pure-Python SCTP work on the media thread).
STATUS_INTERVAL = 1.0
TAB_SWITCH_CONFIRM = 2.0  # seconds the peer must stay connected after a hidden page


@dataclass
class StreamServices:
    """What every student monitor of the application shares."""

    settings: Settings
    db: Database
    bus: EventBus
    frames: FramePool  # live frames: landmarks and liveness signals
    pool: AnalysisPool  # identity checks: the 128-d embedding (~80 ms, off the frame path)
    snapshots: PhotoStore
    attendance: AttendanceBook
    runs: RunStore


def challenge_config(settings: Settings) -> ChallengeConfig:
    return ChallengeConfig(
        steps=settings.challenge_steps,
        step_timeout=settings.step_timeout,
        attempts=settings.attempts,
        identity_threshold=settings.match_threshold,
        blink=BlinkConfig(fallback_threshold=settings.blink_ear_threshold),
    )


class StudentMonitor:
    """Feeds frames to the challenge machine, answers its identity checks, then watches."""

    def __init__(
        self,
        services: StreamServices,
        session_id: str,
        roll_no: str,
        name: str,
        embedding: np.ndarray,
    ) -> None:
        self.services = services
        self.session_id = session_id
        self.roll_no = roll_no
        self.name = name
        self.embedding = embedding
        settings = services.settings
        seed = None if settings.challenge_seed < 0 else settings.challenge_seed
        self.machine = ChallengeMachine(challenge_config(settings), seed=seed)
        self.presence: PresenceMonitor | None = None
        self.connection = "not_joined"
        self.distances: list[float] = []
        self.timeline: deque[tuple[float, float | None, float | None, float | None]] = deque(
            maxlen=TIMELINE_SECONDS * 30
        )
        self.latest_frame: LiveFrame | None = None
        self.latest_features: FrameFeatures | None = None
        self._first_frame_at: float | None = None
        self.last_event: dict[str, Any] | None = None
        self._identity: asyncio.Task[None] | None = None
        self._send: Callable[[dict[str, Any]], None] | None = None
        self._last_status: dict[str, Any] | None = None
        self._last_sent_at = 0.0
        self._finished_reported = False
        self._background: set[asyncio.Task[Any]] = set()
        self._now = 0.0  # stream time of the newest frame

    # --- connection ----------------------------------------------------------------------

    def attach(self, send: Callable[[dict[str, Any]], None]) -> None:
        """A (re)connected data channel: it gets the current state at once."""
        self._send = send
        self._last_status = None
        self._emit_status(force=True)
        if self.machine.status.finished:
            send(self._result_message())

    def connected(self) -> None:
        self._set_connection("connected")

    def disconnected(self) -> None:
        self._send = None
        self._set_connection("disconnected")

    def _set_connection(self, state: str) -> None:
        self.connection = state
        self._publish("connection", {"connection": state})
        self._remember(state, "info", {})

    @property
    def state(self) -> str:
        """The dashboard's word for where this student stands."""
        status = self.machine.status
        if status.state is State.PASSED:
            return "verified"
        if status.state is State.FAILED:
            return "failed"
        if self.connection != "connected":
            return self.connection
        return status.state.value

    def summary(self) -> dict[str, Any]:
        status = self.machine.status
        return {
            "roll_no": self.roll_no,
            "name": self.name,
            "state": self.state,
            "connection": self.connection,
            "step": status.step,
            "steps": status.steps,
            "attempt": status.attempt,
            "reason": status.reason,
            "last_event": self.last_event,
        }

    # --- frames --------------------------------------------------------------------------

    async def on_frame(self, features: FrameFeatures, frame: LiveFrame) -> None:
        self.latest_frame = frame
        if features.has_face:
            self.latest_features = features
        if self._first_frame_at is None:
            self._first_frame_at = features.timestamp
        self._now = features.timestamp
        self.timeline.append((features.timestamp, features.ear, features.mar, features.yaw))
        if self.presence is not None:
            await self._watch(features, frame)
            return
        if self.machine.status.finished:
            return
        before = self.machine.status
        status = self.machine.update(features)
        if status.needs_identity and self._identity is None and features.box is not None:
            self._identity = asyncio.create_task(self._check_identity(frame, features))
        if (status.state, status.step, status.attempt) != (
            before.state,
            before.step,
            before.attempt,
        ):
            self._publish("status", status.to_dict())
        self._emit_status()
        await self._maybe_finish()

    async def _check_identity(self, frame: LiveFrame, features: FrameFeatures) -> None:
        try:
            assert features.box is not None
            image = await asyncio.to_thread(frame.bgr)
            embedding = await self.services.pool.run(face_embedding, image, features.box)
            distance = face_distance(embedding, self.embedding)
            self.distances.append(distance)
            if self.presence is None:
                before = self.machine.status
                status = self.machine.provide_identity(distance)
                if (status.state, status.step) != (before.state, before.step):
                    self._publish("status", status.to_dict())
                self._emit_status(force=True)
                await self._maybe_finish()
            else:
                for alert in self.presence.provide_identity(distance, features.timestamp):
                    await self._alert(alert, frame)
        except Exception:
            log.exception("event=identity_check_failed roll_no=%s", self.roll_no)
        finally:
            self._identity = None

    async def _maybe_finish(self) -> None:
        status = self.machine.status
        if not status.finished or self._finished_reported:
            return
        self._finished_reported = True
        if status.state is State.PASSED:
            distance = self.distances[-1] if self.distances else None
            method = "+".join(a.value for a in status.completed)
            row = await self.services.attendance.verified_async(
                self.session_id, self.roll_no, self.name, method, distance
            )
            self.presence = PresenceMonitor(self._presence_config(), time.monotonic())
            detail = {"method": method, "distance": distance, "ledger_row": row and row.row_hash}
            await self._event("verified", "info", detail)
            log.info("event=verified roll_no=%s session=%s", self.roll_no, self.session_id)
        else:
            await self._event("verification_failed", "alert", {"reason": status.reason})
        if self._send:
            self._send(self._result_message())
        self._spawn(self._save_run())

    async def _save_run(self) -> None:
        """Keep the run's signals and two stills as evidence for the audit report."""
        origin = self._first_frame_at or 0.0
        machine = self.machine
        run = {
            "verified": machine.status.state is State.PASSED,
            "method": "+".join(a.value for a in machine.status.completed),
            "attempts": machine.status.attempt,
            "failures": [reason for _, reason in machine.failures],
            "distances": [round(d, 4) for d in self.distances],
            "timeline": [
                [round(t - origin, 3), ear, mar, yaw] for t, ear, mar, yaw in self.timeline
            ],
            "prompts": [[round(t - origin, 3), a.value] for t, a in machine.prompts],
            "detections": [
                [e.kind, round(e.start - origin, 3), round(e.end - origin, 3)]
                for e in machine.events
            ],
        }
        stills = await asyncio.to_thread(self._stills)
        await asyncio.to_thread(self.services.runs.save, self.session_id, self.roll_no, run, stills)

    def _stills(self) -> dict[str, bytes]:
        frame, features = self.latest_frame, self.latest_features
        if frame is None:
            return {}
        image = frame.bgr()
        stills = {"live.jpg": encode_jpeg(image, 90)}
        if features is not None and features.box is not None and features.landmarks is not None:
            overlay = draw_landmarks(image, features.box, features.landmarks)
            stills["landmarks.jpg"] = encode_jpeg(overlay, 90)
        return stills

    def _presence_config(self) -> PresenceConfig:
        settings = self.services.settings
        return PresenceConfig(
            absence_seconds=settings.absence_seconds,
            rematch_seconds=settings.rematch_seconds,
            threshold=settings.match_threshold,
        )

    async def _watch(self, features: FrameFeatures, frame: LiveFrame) -> None:
        assert self.presence is not None
        for alert in self.presence.update(features):
            await self._alert(alert, frame)
        if self._identity is None and self.presence.needs_rematch(features):
            self._identity = asyncio.create_task(self._check_identity(frame, features))

    # --- messages from the page ----------------------------------------------------------

    def on_client_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        hidden = kind == "visibility" and message.get("state") == "hidden"
        if hidden or kind == "blur":
            alert = PresenceAlert(
                "tab_switch", "warning", time.monotonic(), {"what": "hidden" if hidden else "blur"}
            )
            self._spawn(self._tab_switch(alert, self.latest_frame))

    async def _tab_switch(self, alert: PresenceAlert, frame: LiveFrame | None) -> None:
        """Closing the tab also hides it: only a page that is still streaming has switched."""
        await asyncio.sleep(TAB_SWITCH_CONFIRM)
        if self.connection == "connected":
            await self._alert(alert, frame)

    # --- events --------------------------------------------------------------------------

    async def _alert(self, alert: PresenceAlert, frame: LiveFrame | None) -> None:
        snapshot = None
        if frame is not None:
            data = await asyncio.to_thread(lambda: encode_jpeg(frame.bgr(), 85))
            snapshot = await asyncio.to_thread(self.services.snapshots.save, data, ".jpg")
        await self._event(alert.kind, alert.severity, dict(alert.detail), snapshot)

    async def _event(
        self, kind: str, severity: str, detail: dict[str, Any], snapshot: str | None = None
    ) -> None:
        record = await asyncio.to_thread(
            sessions.add_event,
            self.services.db,
            self.session_id,
            self.roll_no,
            kind,
            severity,
            detail,
            snapshot,
        )
        self.last_event = record.to_dict()
        self._publish("event", {"event": self.last_event})

    def _remember(self, kind: str, severity: str, detail: dict[str, Any]) -> None:
        self._spawn(self._event(kind, severity, detail))

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _publish(self, kind: str, payload: dict[str, Any]) -> None:
        self.services.bus.publish(
            f"session:{self.session_id}",
            {"kind": kind, "roll_no": self.roll_no, "summary": self.summary(), **payload},
        )

    # --- the student's page --------------------------------------------------------------

    def _emit_status(self, force: bool = False) -> None:
        if self._send is None:
            return
        status = self.machine.status
        now = self._now
        message = {
            "type": "status",
            **status.to_dict(),
            "remaining": round(max(0.0, status.deadline - now), 2) if status.deadline else None,
            "time_limit": self._time_limit(status.state),
        }
        changed = self._last_status is None or any(
            message[k] != self._last_status.get(k) for k in ("state", "step", "attempt", "prompt")
        )
        clock = time.monotonic()
        if force or changed or clock - self._last_sent_at >= STATUS_INTERVAL:
            self._send(message)
            self._last_status, self._last_sent_at = message, clock

    def _time_limit(self, state: State) -> float | None:
        config = self.machine.config
        if state is State.PROMPTING:
            return config.step_timeout
        if state is State.CHECKING_IDENTITY:
            return config.identity_timeout
        return None

    def _result_message(self) -> dict[str, Any]:
        status = self.machine.status
        return {
            "type": "result",
            "verified": status.state is State.PASSED,
            "reason": status.reason if status.state is not State.PASSED else None,
            "can_retry": False,
        }

    async def close(self) -> None:
        for task in [self._identity, *self._background]:
            if task is not None:
                task.cancel()
