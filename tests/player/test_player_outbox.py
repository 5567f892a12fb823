from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from player_helpers import fake_sha, utc

from player.outbox import Outbox
from player.protocol import MAX_BATCH, check_play_record, play_record

ROOT = Path(__file__).resolve().parents[2]


def rec(n: int, seconds: int = 10) -> dict:
    start = utc(2026, 1, 1, 8, 0, 0)
    from datetime import timedelta

    return play_record(content_id=n, schedule_id=1, sha256=fake_sha(n),
                       start=start + timedelta(seconds=n * 10),
                       end=start + timedelta(seconds=n * 10 + seconds))


def test_batch_is_oldest_first_and_remove_deletes_exactly_the_acked(tmp_path) -> None:
    box = Outbox(tmp_path)
    records = [rec(i) for i in range(1, 8)]
    box.add(records[:4])
    box.add(records[4:])
    batch = box.batch(3)
    assert [r["id"] for r in batch] == [r["id"] for r in records[:3]]
    check_play_record(batch[0], now=utc(2026, 1, 2))  # what comes out is still valid
    # the server accepted 1, rejected 2, and said nothing about 3: 3 stays
    assert box.remove([batch[0]["id"]], [batch[1]["id"]]) == 2
    assert [r["id"] for r in box.batch(10)] == [r["id"] for r in [records[2], *records[3:]]]
    assert box.remove([batch[0]["id"], "00000000-0000-0000-0000-000000000000"]) == 0
    t = box.totals()
    assert t["recorded_n"] == 7 and t["recorded_s"] == 70
    assert t["accepted_n"] == 1 and t["accepted_s"] == 10
    assert t["rejected_n"] == 1 and t["pending_n"] == 5 and t["pending_s"] == 50


def test_same_record_twice_is_stored_once(tmp_path) -> None:
    box = Outbox(tmp_path)
    r = rec(1)
    box.add([r])
    box.add([r])
    assert box.pending() == 1 and box.totals()["recorded_n"] == 1


def test_batches_never_exceed_what_is_asked(tmp_path) -> None:
    box = Outbox(tmp_path)
    box.add([rec(i % 300 + 1, 1) | {"id": f"00000000-0000-0000-0000-{i:012d}"}
             for i in range(MAX_BATCH + 20)])
    assert len(box.batch(MAX_BATCH)) == MAX_BATCH
    assert box.pending() == MAX_BATCH + 20


CHILD = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from player.outbox import Outbox
    from player.protocol import play_record
    box = Outbox(Path(sys.argv[1]))
    t = datetime(2026, 1, 1, tzinfo=UTC)
    i = 0
    while True:
        i += 1
        r = play_record(content_id=1, schedule_id=None, sha256="a" * 64,
                        start=t + timedelta(seconds=i), end=t + timedelta(seconds=i + 1))
        box.add([r])
        print(r["id"], flush=True)   # only after the commit returned
""")


def test_committed_records_survive_kill_9(tmp_path) -> None:
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    ids = []
    assert p.stdout is not None
    while len(ids) < 150:
        ids.append(p.stdout.readline().strip())
    os.kill(p.pid, signal.SIGKILL)  # in the middle of its next writes
    p.wait()
    ids += [line.strip() for line in p.stdout if line.strip()]
    p.stdout.close()
    box = Outbox(tmp_path)
    stored = {r["id"] for r in box.batch(100_000)}
    assert set(ids) <= stored  # every acknowledged write is there
    assert len(stored) - len(ids) <= 1  # at most the one committed as it was killed
    assert box.totals()["recorded_n"] == len(stored)


def test_os_exit_right_after_add_loses_nothing(tmp_path) -> None:
    code = ("import os, sys\nfrom pathlib import Path\nfrom player.outbox import Outbox\n"
            "from player.protocol import play_record\nfrom datetime import UTC, datetime\n"
            "box = Outbox(Path(sys.argv[1]))\n"
            "box.add([play_record(content_id=2, schedule_id=3, sha256='b'*64, "
            "start=datetime(2026,1,1,tzinfo=UTC), end=datetime(2026,1,1,0,0,7,tzinfo=UTC), "
            "record_id='11111111-2222-3333-4444-555555555555')])\nos._exit(9)\n")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT)
    assert r.returncode == 9
    box = Outbox(tmp_path)
    [got] = box.batch(10)
    assert got["id"] == "11111111-2222-3333-4444-555555555555" and got["content_id"] == 2
    assert box.totals()["recorded_s"] == 7
