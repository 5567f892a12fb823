"""The terminal player: plays a terminal's manifest on its screen and reports what it played.

Imports only `playlists` (the shared resolver) and `player.protocol` from this repository;
never anything from `server/`, so a terminal installs player/requirements.txt and nothing else.
"""

PLAYER_VERSION = "0.1.0"
