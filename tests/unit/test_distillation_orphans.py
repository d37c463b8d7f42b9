"""A crashed server leaves no training worker behind (issue 12, item 1).

A stand-in server (a JobManager with its real worker process, in its own process group) starts a long job,
then is killed with SIGKILL, the way the OOM killer or `kill -9` ends it. Within a few seconds no process of
its group may be left: the worker notices that its parent is gone and exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

SERVER = textwrap.dedent(
    """
    import sys, time
    from dataclasses import replace
    from compression.distillation.jobs import JobManager
    from compression.distillation.store import RunStore
    from compression.distillation.trainer import TrainConfig

    manager = JobManager(RunStore(sys.argv[1]), data_dir=sys.argv[1], train_threads=1, executor="process")
    config = TrainConfig(teacher="article-teacher", teacher_epochs=3, epochs=2000, device="cpu")
    job = manager.submit(config, owner="alice")
    while not manager.snapshot(job.id).history:
        time.sleep(0.05)
    print("training", manager._runners["cpu"].process.pid, flush=True)
    time.sleep(600)
    """
)


def group_members(pgid: int) -> list[str]:
    """Live (non-zombie) processes whose process group is `pgid`, as 'pid name' strings."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name_end = stat.rindex(")")
        fields = stat[name_end + 2 :].split()
        state, group = fields[0], int(fields[2])
        if group == pgid and state != "Z":
            members.append(f"{entry.name} {stat[stat.index('(') + 1 : name_end]}")
    return members


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads process groups from /proc (Linux)")
def test_killing_the_server_with_sigkill_leaves_no_process_of_its_group(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(tmp_path / "runs")],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    pgid = server.pid
    try:
        line = server.stdout.readline()
        assert line.startswith("training"), f"the stand-in server did not start a job: {line!r}"
        worker_pid = int(line.split()[1])
        assert any(m.startswith(f"{worker_pid} ") for m in group_members(pgid))
        os.kill(server.pid, signal.SIGKILL)
        server.wait(10)
        deadline = time.monotonic() + 8.0
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert group_members(pgid) == [], "processes left after the server was killed"
    finally:
        for member in group_members(pgid):
            os.kill(int(member.split()[0]), signal.SIGKILL)
