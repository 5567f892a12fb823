"""The message-queue watch: when a node says pushes between nodes are lost (the real
thing, with Redis cut under three nodes, is in tests/multinode)."""

from __future__ import annotations

from server.hub.queue import LATE_AFTER, QueueWatch


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def started(interval: float = 2.0) -> tuple[QueueWatch, Clock]:
    clock = Clock()
    w = QueueWatch("web-1", interval, clock)
    w.start()
    return w, clock


def test_no_problem_before_the_queue_is_used():
    assert QueueWatch("web-1", 2.0).problem() is None


def test_hearing_its_own_heartbeat_is_healthy():
    w, clock = started()
    for _ in range(10):
        clock.t += 2.0
        w.sent(3)
        w.heard({"node": "web-1"}, own=True)
        assert w.check() is None


def test_a_deaf_listener_is_reported_after_a_few_intervals_then_clears():
    w, clock = started()
    w.sent(2)
    clock.t += LATE_AFTER * 2.0 - 0.1
    assert w.check() is None  # late, not yet a problem
    clock.t += 0.2
    assert "has not heard its own heartbeat" in w.check()
    w.heard({"node": "web-1"}, own=True)
    assert w.check() is None


def test_a_failed_publish_and_an_empty_channel_are_problems():
    w, clock = started()
    w.sent(None, "Redis unreachable")
    assert "cannot publish" in w.problem() and "Redis unreachable" in w.problem()
    w.sent(0)
    assert w.problem() is None  # at start-up the listener may not have subscribed yet
    clock.t += LATE_AFTER * 2.0 + 0.1
    w.heard({"node": "web-1"}, own=True)
    assert "nobody is subscribed" in w.problem()
    w.sent(1)
    assert w.problem() is None


def test_report_lists_live_peers_and_what_they_see():
    w, clock = started()
    w.heard({"node": "web-2", "problem": None}, own=False)
    w.heard({"node": "web-3", "problem": "node web-3 cannot publish"}, own=False)
    w.heard({"node": "web-1"}, own=True)
    clock.t += 1.0
    r = w.report()
    assert r["node"] == "web-1" and r["problem"] is None and r["heard_own_s_ago"] == 1.0
    assert r["peers"] == {"web-2": {"seen_s_ago": 1.0, "problem": None},
                          "web-3": {"seen_s_ago": 1.0, "problem": "node web-3 cannot publish"}}
    clock.t += 60.0  # peers that went quiet drop off the list
    assert w.report()["peers"] == {}


def test_the_message_queue_setting_wires_a_watched_redis_manager(tmp_path):
    from server import create_app
    from server.extensions import socketio
    from server.hub.queue import WatchedRedisManager

    env = {"SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "k",
           "SIGNAGE_MESSAGE_QUEUE": "redis://127.0.0.1:6379/0",
           "SIGNAGE_MESSAGE_QUEUE_CHANNEL": "district-7", "SIGNAGE_NODE_NAME": "web-8001"}
    create_app(env)
    manager = socketio.server.manager
    assert isinstance(manager, WatchedRedisManager)
    assert (manager.channel, manager.watch.node) == ("district-7", "web-8001")
    # The next app without a queue must not inherit it (Flask-SocketIO keeps options).
    create_app({"SIGNAGE_DATA_DIR": str(tmp_path), "SIGNAGE_SECRET_KEY": "k"})
    assert not isinstance(socketio.server.manager, WatchedRedisManager)

