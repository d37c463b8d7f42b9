"""The lab server's mailbox on a Ray cluster: one actor, placed on the server's own node.

Jobs running as Ray tasks (compression/distillation/ray_backend.py) talk to the server through it:
- progress events go in (`push`), the server's job manager takes them out (`drain`) and updates its snapshots;
- the server raises a job's stop flag (`stop`), the task reads it between steps (`stopping`);
- trained teachers are read and written in the server's teacher-cache folder (`teacher_get`, `teacher_put`), so a
  task on another machine still reuses the same teacher instead of training it again.

This module imports nothing heavy (no torch): the actor is a small process. Events arrive pickled by the task
(the actor never looks inside them), teachers as safetensors bytes. The actor runs one call at a time
(`max_concurrency=1`), so the events of one task arrive in the order it sent them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

KEY_CHARS = set("0123456789abcdef")


class Mailbox:
    """Per-job event lists, stop flags and where its worker runs; the server's teacher folder."""

    def __init__(self, teacher_folder: str | None) -> None:
        self.teacher_folder = Path(teacher_folder) if teacher_folder else None
        self.events: dict[str, list[bytes]] = {}
        self.stops: set[str] = set()
        self.workers: dict[str, dict[str, Any]] = {}

    def ping(self) -> int:
        return os.getpid()

    def started(self, job_id: str, pid: int, node: str) -> None:
        self.workers[job_id] = {"pid": pid, "node": node}

    def push(self, job_id: str, events: list[bytes]) -> None:
        self.events.setdefault(job_id, []).extend(events)

    def drain(self, job_id: str) -> tuple[list[bytes], dict[str, Any] | None]:
        """The events that arrived since the last drain, and the worker running the job (None until it started)."""
        return self.events.pop(job_id, []), self.workers.get(job_id)

    def stop(self, job_id: str) -> None:
        self.stops.add(job_id)

    def stopping(self, job_id: str) -> bool:
        return job_id in self.stops

    def forget(self, job_id: str) -> None:
        self.events.pop(job_id, None)
        self.stops.discard(job_id)
        self.workers.pop(job_id, None)

    # --- the teacher cache, in the server's folder ---------------------------------------------------------
    def _paths(self, key: str) -> tuple[Path, Path] | None:
        if self.teacher_folder is None or not key or not set(key) <= KEY_CHARS:
            return None  # keys are hex digests (TeacherCache.key): never a path
        return self.teacher_folder / f"{key}.safetensors", self.teacher_folder / f"{key}.json"

    def teacher_get(self, key: str) -> tuple[bytes, str] | None:
        paths = self._paths(key)
        if paths is None or not (paths[0].is_file() and paths[1].is_file()):
            return None
        try:
            return paths[0].read_bytes(), paths[1].read_text()
        except OSError:
            return None

    def teacher_put(self, key: str, weights: bytes, history: str) -> bool:
        paths = self._paths(key)
        if paths is None:
            return False
        json.loads(history)  # only JSON is written
        tmp = paths[0].with_suffix(".safetensors.tmp")
        try:
            paths[0].parent.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(weights)
            paths[1].write_text(history)
            tmp.replace(paths[0])
        except OSError:
            return False
        return True
