"""The liveness evaluation over real aiortc peers: a server is started, players join it.

The challenge seed is a server setting, so each seed gets its own server. For every video the
first `seeds` seeds whose first attempt the video's footage can answer are chosen (a video
with no blink, smile or turn footage for three different actions has none and is reported as
skipped); on each, the responsive actor, the photo attacker and the replay attacker each meet
a fresh challenge run in sessions of their own. Detection precision/recall do not depend on
the transport and come from the direct evaluation of the same footage.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from server.analysis.challenges import ChallengeConfig, ChallengeMachine
from server.analysis.images import encode_jpeg
from server.config import Settings
from server.evaluation.actors import (
    Footage,
    PhotoAttacker,
    ReplayAttacker,
    ResponsiveActor,
    repertoire_from_labels,
)
from server.evaluation.webrtc_client import FrameSource, StudentClient, load_video

PLAYERS = ("actor", "photo", "replay")
CONCURRENT = 3  # streams at once: real-time pacing must survive two cores


def _actor_source(actor: ResponsiveActor, footage: Footage) -> FrameSource:
    stream: Iterator[tuple[np.ndarray, float]] = actor.frames(footage)
    heard: dict[str, object] = {}

    def source(t: float, client: StudentClient) -> np.ndarray:
        status = client.status or {}
        prompt = (status.get("attempt"), status.get("step"), client.prompt_action)
        if client.prompt_action and prompt != heard.get("prompt"):
            heard["prompt"] = prompt
            actor.on_prompt(client.prompt_action, t)
        return next(stream)[0]

    return source


def _frames_source(stream: Iterator[tuple[np.ndarray, float]]) -> FrameSource:
    return lambda _t, _client: next(stream)[0]


class Video:
    """One labelled recording, decoded once."""

    def __init__(self, path: Path) -> None:
        self.name = path.stem
        self.frames, self.fps = load_video(path, width=512)
        labels = json.loads(path.with_suffix(".json").read_text())
        self.repertoire = repertoire_from_labels(labels, len(self.frames))
        self.footage = Footage.from_frames(self.frames, self.fps)
        self.portrait = self.frames[self.repertoire.neutral[len(self.repertoire.neutral) // 2]]

    def source(self, player: str, seed: int) -> FrameSource:
        if player == "actor":
            actor = ResponsiveActor(self.repertoire, self.fps, seed=seed)
            return _actor_source(actor, self.footage)
        if player == "photo":
            return _frames_source(PhotoAttacker(self.portrait, self.fps, seed=seed).frames())
        return _frames_source(ReplayAttacker(len(self.frames), self.fps).frames(self.footage))


def _playable(video: Video, config: ChallengeConfig, seed: int) -> bool:
    """The actor can answer the first attempt's prompts with this video's footage."""
    sequence = ChallengeMachine(config, seed=seed).sequences[0]
    return all(video.repertoire.can_play(action) for action in sequence)


SEED_SEARCH = 200  # seeds tried per video to find playable ones


def playable_seeds(video: Video, config: ChallengeConfig, wanted: int) -> list[int]:
    return [s for s in range(SEED_SEARCH) if _playable(video, config, s)][:wanted]


async def _one_seed(
    videos: list[Video], seed: int, attempts: int, timeout: float
) -> list[dict[str, Any]]:
    from aiohttp import web

    from server.api.context import ENROLMENT
    from server.app import create_app
    from server.exam_sessions import create_session

    with tempfile.TemporaryDirectory(prefix="invigilator-eval-") as folder:
        settings = replace(
            Settings(), data_dir=Path(folder), challenge_seed=seed, attempts=attempts
        )
        app = create_app(settings)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]
        try:
            enrolment = app[ENROLMENT]
            rolls = {}
            for index, video in enumerate(videos):
                roll = f"V{index:02d}"
                await enrolment.enrol(roll, video.name, encode_jpeg(video.portrait, 95))
                rolls[video.name] = roll
            links = {
                player: (
                    await asyncio.to_thread(
                        create_session, settings, enrolment.db, player, list(rolls.values()), base
                    )
                ).links
                for player in PLAYERS
            }
            limit = asyncio.Semaphore(CONCURRENT)

            async def play(video: Video, player: str) -> dict[str, Any]:
                token = links[player][rolls[video.name]].rsplit("/", 1)[1]
                async with limit:
                    client = StudentClient(base, token, video.source(player, seed), video.fps)
                    await client.start()
                    result = await client.wait_result(timeout)
                    await client.close()
                return {
                    "video": video.name,
                    "player": player,
                    "seed": seed,
                    "verified": bool(result and result.get("verified")),
                    "reason": (result or {}).get("reason") or ("no result" if not result else None),
                }

            return await asyncio.gather(*(play(v, p) for v in videos for p in PLAYERS))
        finally:
            await runner.cleanup()


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def evaluate_over_webrtc(
    videos_dir: Path, attempts: int = 3, seeds: int = 2, timeout: float = 120.0
) -> dict[str, Any]:
    """BPCER of the responsive actor and APCER of each attack, all over real peers."""
    paths = sorted(p for p in videos_dir.glob("*.mp4") if p.with_suffix(".json").exists())
    videos = [Video(p) for p in paths]
    config = ChallengeConfig(attempts=attempts)
    chosen = {video.name: playable_seeds(video, config, seeds) for video in videos}
    runs: list[dict[str, Any]] = []
    for seed in sorted({s for found in chosen.values() for s in found}):
        players = [v for v in videos if seed in chosen[v.name]]
        runs += asyncio.run(_one_seed(players, seed, attempts, timeout))
    actors = [r for r in runs if r["player"] == "actor"]
    attacks = {k: [r for r in runs if r["player"] == k] for k in ("photo", "replay")}
    return {
        "bpcer": _rate(sum(not r["verified"] for r in actors), len(actors)),
        "apcer": {k: _rate(sum(r["verified"] for r in v), len(v)) for k, v in attacks.items()},
        "attempts": attempts,
        "seeds": seeds,
        "sessions": {
            "genuine": len(actors),
            "attacks": len(attacks["photo"]),
            "videos_without_playable_seeds": sorted(n for n, s in chosen.items() if not s),
        },
        "runs": runs,
    }
