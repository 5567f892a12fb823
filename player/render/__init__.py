"""Rendering backends: where the playback loop's decisions become pixels (or a PIL image)."""

from player.render.base import Backend

__all__ = ["Backend"]
