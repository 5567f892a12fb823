from __future__ import annotations

import json
import os

import pytest
from player_helpers import item, plan, playlist, sched

from player.manifest_store import Manifest, ManifestStore


def manifest(version: int) -> dict:
    p = plan(sched(1, playlist(item(1, 10))), fallback=playlist(item(2, 5), pid=900))
    return {"version": version,
            "terminal": {"id": 7, "name": "Block 3 lobby", "width": 192, "height": 96,
                         "colour_mode": "full"},
            "plan": p.to_dict(),
            "blobs": [{"sha256": item(1, 10).sha256, "size": 10, "mime": "image/png"}],
            "generated_at": "2026-01-01T00:00:00Z"}


def test_save_then_load_in_a_new_store(tmp_path) -> None:
    ManifestStore(tmp_path).save(manifest(3))
    m = ManifestStore(tmp_path).load()
    assert m is not None and m.version == 3 and m.name == "Block 3 lobby"
    assert m.size == (192, 96)
    assert m.plan.schedules[0].playlist.items[0].content_id == 1
    assert list(m.blobs) == [item(1, 10).sha256]


def test_a_manifest_from_an_older_protocol_plays_but_is_asked_for_again(tmp_path) -> None:
    store = ManifestStore(tmp_path)
    store.save(manifest(3))
    assert ManifestStore(tmp_path).load() and _loaded(tmp_path).version == 3
    # What a version-1 player left on disk: no note of the protocol (and no layouts).
    (tmp_path / "manifest.json").write_text(json.dumps(manifest(3)))
    old = ManifestStore(tmp_path)
    assert old.load().version == 3  # it plays meanwhile
    assert old.version == 0  # HELLO says 0: the server answers with the manifest for 2
    old.save(manifest(3))
    assert old.version == 3 and _loaded(tmp_path).version == 3


def _loaded(path) -> ManifestStore:
    store = ManifestStore(path)
    store.load()
    return store


def test_nothing_saved_loads_none(tmp_path) -> None:
    store = ManifestStore(tmp_path)
    assert store.load() is None and store.version == 0


def test_bad_manifest_is_refused_and_the_old_one_stays(tmp_path) -> None:
    store = ManifestStore(tmp_path)
    store.save(manifest(1))
    bad = manifest(2)
    bad["plan"]["schedules"][0]["playlist"]["items"][0]["duration_s"] = "ten"
    with pytest.raises(ValueError):
        store.save(bad)
    assert store.version == 1
    assert json.loads(store.path.read_text())["version"] == 1


def test_crash_while_writing_leaves_the_previous_file(tmp_path, monkeypatch) -> None:
    store = ManifestStore(tmp_path)
    store.save(manifest(1))

    def die(src, dst):  # the process dies between writing the temp file and the rename
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", die)
    with pytest.raises(KeyboardInterrupt):
        store.save(manifest(2))
    monkeypatch.undo()
    assert ManifestStore(tmp_path).load().version == 1
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]  # no temp left behind


def test_truncated_file_is_ignored_not_fatal(tmp_path) -> None:
    (tmp_path / "manifest.json").write_text('{"version": 4, "plan": {')
    assert ManifestStore(tmp_path).load() is None


def test_manifest_requires_an_integer_version() -> None:
    m = manifest(1)
    m["version"] = "1"
    with pytest.raises(ValueError):
        Manifest.from_dict(m)
