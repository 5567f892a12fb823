"""Errors a service raises; the web and API layers turn them into answers.

Messages are English templates marked with N_ so Babel extracts them; the edge
translates them into the user's language (see server/errors.py).
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for translation without translating it here."""
    return message


class ServiceError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, field: str | None = None, **params: object) -> None:
        self.template = message
        self.field = field
        self.params = {"field": field, **params}
        super().__init__(message % self.params)

    def __reduce__(self) -> tuple:
        # Pickled whole (template, field, params, and a code or status set on the
        # instance): an error raised in a job worker process (server/workpool.py) comes
        # back as it was. The default would call the class with the formatted text only.
        return _rebuild, (type(self), self.args), self.__dict__


def _rebuild(cls: type[ServiceError], args: tuple) -> ServiceError:
    return cls.__new__(cls, *args)  # pickle then restores the instance's attributes


# Nouns that appear as %(what)s in messages, listed so Babel extracts them.
NOUNS = (N_("object"), N_("community"), N_("building"), N_("terminal"), N_("user"), N_("token"),
         N_("topic"), N_("content item"), N_("file"), N_("playlist"), N_("schedule"),
         N_("screen plan"), N_("street"))
# Field names that appear as %(field)s.
FIELDS = (N_("name"), N_("address"), N_("location"), N_("width"), N_("height"),
          N_("colour_mode"), N_("tags"), N_("username"), N_("password"), N_("role"),
          N_("community_id"), N_("building_id"), N_("old_password"), N_("file"),
          N_("title"), N_("topic_id"), N_("valid_until"), N_("duration_s"),
          N_("notice_body"), N_("notice_template"), N_("reason"), N_("entries"),
          N_("targets"), N_("windows"), N_("weekdays"), N_("playlist_id"), N_("kind"),
          N_("priority"), N_("start_date"), N_("end_date"), N_("brightness"))


class NotFound(ServiceError):
    """Also used for objects outside the actor's community: their existence is not revealed."""

    status = 404
    code = "not_found"


class Forbidden(ServiceError):
    status = 403
    code = "forbidden"


class Conflict(ServiceError):
    status = 409
    code = "conflict"


class Invalid(ServiceError):
    status = 422
    code = "invalid"
