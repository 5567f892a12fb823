"""Schemathesis against a live server: every operation of the OpenAPI document, as a
street admin and as a community editor, on SQLite and PostgreSQL.

It fails on any 5xx, on a status the document does not declare for the operation, and on
a body or content type that does not match what the document says. Each operation gets
Schemathesis' examples and coverage phases (boundary and invalid values of every
parameter) and FUZZ_EXAMPLES random cases, valid and invalid; the random ones are
derandomized, so CI sends the same requests every run and a failure reproduces.
SIGNAGE_FUZZ_EXAMPLES=200 SIGNAGE_FUZZ_RANDOM=1 make a longer, fresh run by hand
(docs/security.md).

The document is built here from the code at collection time (Schemathesis makes one test
per operation from it) and test_the_live_server_serves_this_document checks that the
server under test serves the very same one.
"""

from __future__ import annotations

import os
import tempfile

import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from server import create_app

FUZZ_EXAMPLES = int(os.environ.get("SIGNAGE_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
SPEC_PATH = "/api/v1/openapi.json"


def _document() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"SIGNAGE_DATABASE_URL": f"sqlite:///{tmp}/spec.db",
                          "SIGNAGE_DATA_DIR": tmp, "SIGNAGE_SECRET_KEY": "spec"}, TESTING=True)
        try:
            return app.test_client().get(SPEC_PATH).get_json()
        finally:
            app.extensions["signage_engine"].dispose()


DOCUMENT = _document()
schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=schemathesis.Config.from_dict({"request-timeout": 60}))


def test_the_live_server_serves_this_document(fuzz_server):
    assert requests.get(fuzz_server.url + SPEC_PATH, timeout=30).json() == DOCUMENT


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
          derandomize=os.environ.get("SIGNAGE_FUZZ_RANDOM") != "1",
          suppress_health_check=list(HealthCheck))
@schema.parametrize()
def test_api_answers_as_documented(case, fuzz_server, fuzz_session, fuzz_headers, fuzz_tally):
    response = case.call(base_url=fuzz_server.url, session=fuzz_session, headers=fuzz_headers)
    fuzz_tally.add(case.operation.label, response.status_code, response.elapsed)
    case.validate_response(response, checks=CHECKS, headers=fuzz_headers)
