"""All live students of the application: monitors survive reconnects, connections do not."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from typing import Any

from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription

from server.store import students
from server.streams.connection import StreamConnection
from server.streams.load import CpuMeter, frame_rates
from server.streams.student import StreamServices, StudentMonitor
from server.tokens import JoinClaims

log = logging.getLogger("invigilator.streams")

Key = tuple[str, str]  # (session id, roll number)


class StreamRegistry:
    def __init__(self, services: StreamServices) -> None:
        self.services = services
        self.monitors: dict[Key, StudentMonitor] = {}
        self.connections: dict[Key, StreamConnection] = {}
        self._lock = asyncio.Lock()
        self._cpu = CpuMeter()

    async def monitor_for(self, claims: JoinClaims) -> StudentMonitor:
        key = (claims.session_id, claims.roll_no)
        async with self._lock:
            if key not in self.monitors:
                record = await asyncio.to_thread(
                    students.get_student, self.services.db, claims.roll_no
                )
                self.monitors[key] = StudentMonitor(
                    self.services, claims.session_id, record.roll_no, record.name, record.embedding
                )
            return self.monitors[key]

    def _configuration(self) -> RTCConfiguration:
        urls = [u.strip() for u in self.services.settings.ice_servers.split(",") if u.strip()]
        return RTCConfiguration(iceServers=[RTCIceServer(urls=u) for u in urls])

    async def connect(
        self, claims: JoinClaims, offer: RTCSessionDescription
    ) -> RTCSessionDescription:
        """Answer a student's offer; a reconnect replaces the previous connection."""
        monitor = await self.monitor_for(claims)
        key = (claims.session_id, claims.roll_no)
        previous = self.connections.pop(key, None)
        if previous is not None:
            await previous.close()
        pc = RTCPeerConnection(self._configuration())
        connection = StreamConnection(pc, monitor, on_closed=lambda c: self._forget(key, c))
        self.connections[key] = connection
        try:
            await pc.setRemoteDescription(offer)
            await pc.setLocalDescription(await pc.createAnswer())
        except Exception:
            self.connections.pop(key, None)
            await connection.close()
            raise
        return pc.localDescription

    def _forget(self, key: Key, connection: StreamConnection) -> None:
        if self.connections.get(key) is connection:
            del self.connections[key]

    async def close_session(self, session_id: str) -> None:
        keys = [k for k in self.connections if k[0] == session_id]
        await asyncio.gather(*(self.connections.pop(k).close() for k in keys))

    async def close_all(self) -> None:
        connections = list(self.connections.values())
        self.connections.clear()
        await asyncio.gather(*(c.close() for c in connections), return_exceptions=True)
        for monitor in self.monitors.values():
            await monitor.close()

    def students_of(self, session_id: str) -> dict[str, StudentMonitor]:
        return {k[1]: m for k, m in self.monitors.items() if k[0] == session_id}

    def load(self) -> dict[str, Any]:
        """Streams, analysed fps per stream and CPU of this process and its frame workers."""
        now = time.monotonic()
        connections = list(self.connections.values())
        recent = [[r.done for r in list(c.results)[-200:]] for c in connections]
        frames = self.services.frames
        return {
            "streams": len(connections),
            "analysis_fps_target": self.services.settings.analysis_fps,
            "analysed_fps": frame_rates(recent, now),
            "frame_workers": frames.load(),
            "cpu_percent": self._cpu.read([os.getpid(), *frames.pids]),
            "cores": os.cpu_count(),
        }
