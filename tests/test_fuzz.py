"""The JSON API fuzzed in process with schemathesis against its own OpenAPI document.

Every operation of the document goes through every phase schemathesis offers: the document's
examples, coverage of its bounds and enums (values at and just beyond each one, wrong types,
missing members), random fuzzing of valid and invalid requests, and stateful sequences along the
document's links (add a station, read it, change it, delete it, restore it). Requests carry a
staff account's API token, so the writes are fuzzed too. No answer may be a server error, and
every answer must use a status code, content type and body the document describes. Everything
runs on SQLite; the operations that reach the store run again on PostgreSQL + PostGIS. Fuzzed
examples are bounded so the module takes about a minute.
"""

import itertools

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support import add, make_app, token_for

pytestmark = pytest.mark.fuzz

#: What every answer is checked for.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]

#: Fuzzed requests per operation (the examples and coverage phases add their own).
MAX_EXAMPLES = 5

#: The paths whose operations read or write the store, the only ones fuzzed again on PostGIS.
STORE_PATHS = r"^/(stations|scenarios)"

#: Stateful scenarios, and the most calls in one.
SCENARIOS, STEPS = 15, 6

#: Hypothesis settings fit for fuzzing an app in process: no deadline (the first request of a
#: region builds its index), no complaint about slow generation.
FUZZ_SETTINGS = settings(deadline=None, derandomize=True, database=None,
                         suppress_health_check=list(HealthCheck))


@pytest.fixture
def api_schema(tmp_path, store_url):
    """The app's OpenAPI document, loaded from the app with a staff token on every request,
    a station already stored."""
    app = make_app(tmp_path, DATABASE_URL=store_url)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    add(app)
    token = token_for(app, "staff", "fuzzer")
    settings_ = {
        # In process, schemathesis reads an answer as sent: ask for it uncompressed.
        "headers": {**token, "Accept-Encoding": "identity"},
        "generation": {"max-examples": MAX_EXAMPLES},
        "phases": {"stateful": {"max-steps": STEPS}},
    }
    if not store_url.startswith("sqlite"):
        # The other operations read the stations from the in-memory index, alike on both.
        settings_["operations"] = [{"exclude-path-regex": STORE_PATHS, "enabled": False}]
    config = schemathesis.Config.from_dict(settings_)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_request_to_any_operation_gets_a_server_error(case):
    # The pages and tiles name their own server, "/"; in process, schemathesis puts every
    # path under the document's server (/api/v1) unless it is given the operation's.
    case.call_and_validate(base_url=case.operation.base_url, checks=CHECKS)


def test_no_sequence_of_requests_along_the_links_gets_a_server_error(api_schema):
    places = itertools.count()

    class Workflow(api_schema.as_state_machine()):
        def before_call(self, case):
            """Random stations lie outside every region; a new one is put at a free spot in
            Nanjing (its other fields still fuzzed), so the links from it are followed."""
            if case.operation.label == "POST /stations" and isinstance(case.body, dict):
                n = next(places)
                case.body.update(name=f"驿站 {n}", region="nanjing", kind="love_station",
                                 datum="wgs84", lon=118.7700 + 0.001 * (n % 20),
                                 lat=32.0350 + 0.001 * (n // 20 % 20))

        def call(self, case, **kwargs):
            return case.call(**kwargs, base_url=case.operation.base_url)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=settings(FUZZ_SETTINGS, max_examples=SCENARIOS,
                                   stateful_step_count=STEPS))
