"""/api/v1/me: who the token belongs to."""

from __future__ import annotations

from server.api.auth import blueprint, user
from server.api.schemas import UserSchema

blp = blueprint("api_me", "/me", "The account the token belongs to")


@blp.route("")
@blp.response(200, UserSchema)
def me():
    return user()
