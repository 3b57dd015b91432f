"""Typed keys for what the application holds (settings, database, services)."""

from __future__ import annotations

from aiohttp import web

from server.attendance_records import AttendanceBook
from server.config import Settings
from server.enrolment import Enrolment
from server.events import EventBus
from server.id_photos import IdPhotoChecks
from server.report_builder import Reports
from server.store.database import Database
from server.store.runs import RunStore
from server.streams.registry import StreamRegistry
from server.workers import AnalysisPool

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
POOL = web.AppKey("pool", AnalysisPool)
ENROLMENT = web.AppKey("enrolment", Enrolment)
BUS = web.AppKey("bus", EventBus)
STREAMS = web.AppKey("streams", StreamRegistry)
ID_PHOTOS = web.AppKey("id_photos", IdPhotoChecks)
ATTENDANCE = web.AppKey("attendance", AttendanceBook)
RUNS = web.AppKey("runs", RunStore)
REPORTS = web.AppKey("reports", Reports)
