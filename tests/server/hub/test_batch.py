"""Group commit (server/hub/batch.py): every event answered once, events that arrive
while a batch is written share the next one, and one bad event fails only itself."""

from __future__ import annotations

import threading
import time

from server.db import utcnow
from server.hub.batch import GroupCommit, Slot


def _run_concurrently(group: GroupCommit, n: int) -> dict[int, dict]:
    answers: dict[int, dict] = {}
    start = threading.Barrier(n)

    def one(i: int) -> None:
        start.wait()
        answers[i] = group.submit(i, {"n": i}, utcnow())

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def test_concurrent_events_share_batches_and_each_gets_its_own_answer():
    batches: list[list[int]] = []

    def write(batch: list[Slot]) -> None:
        time.sleep(0.02)  # a transaction takes a while: others arrive meanwhile
        batches.append([s.terminal_id for s in batch])
        for s in batch:
            s.result = {"ok": True, "echo": s.data["n"]}

    group = GroupCommit(write)
    answers = _run_concurrently(group, 60)
    assert answers == {i: {"ok": True, "echo": i} for i in range(60)}
    assert sorted(i for b in batches for i in b) == list(range(60))  # each written once
    assert len(batches) < 60 and max(map(len, batches)) > 1
    assert group.submit(99, {"n": 99}, utcnow()) == {"ok": True, "echo": 99}  # idle again


def test_a_failing_event_fails_alone():
    def write(batch: list[Slot]) -> None:
        if any(s.data["n"] == 7 for s in batch):
            raise RuntimeError("bad row")
        for s in batch:
            s.result = {"ok": True}

    answers = _run_concurrently(GroupCommit(write), 20)
    assert answers[7]["ok"] is False and "internal error" in answers[7]["error"]
    assert all(a == {"ok": True} for i, a in answers.items() if i != 7)


def test_the_leader_keeps_lingering_while_a_burst_arrives_and_no_longer_than_allowed():
    def first_batch(max_linger_s: float) -> int:
        sizes: list[int] = []

        def write(batch: list[Slot]) -> None:
            sizes.append(len(batch))
            for s in batch:
                s.result = {"ok": True}

        group = GroupCommit(write, 0.01, max_linger_s)
        arriving = iter(range(1, 20))

        def linger(_s: float) -> None:  # one more event arrives during each linger
            n = next(arriving, None)
            if n is not None:
                group._queue.append(Slot(n, {"n": n}, utcnow()))

        group.sleep = linger
        group.submit(0, {"n": 0}, utcnow())
        return sizes[0]

    assert first_batch(max_linger_s=1.0) == 20  # waited while the burst went on
    assert first_batch(max_linger_s=0.01) == 2  # one linger, then written
