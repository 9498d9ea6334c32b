"""The pieces the OpenAPI document is made of: parameters, responses and the station
operations' refusals and links."""

from __future__ import annotations

from web.params import MAX_ID

#: The response to a missing or wrong parameter.
BAD_REQUEST: dict = {"$ref": "#/components/responses/BadParameter"}

#: The refusals of a heavy request, made in the job pool.
HEAVY_REFUSALS: dict = {"429": {"$ref": "#/components/responses/TooManyRequests"},
                        "503": {"$ref": "#/components/responses/Busy"}}

#: The ETag header of an answer about one station.
ETAG_HEADER: dict = {"ETag": {"description": "The station's version, quoted.",
                               "schema": {"type": "string"}}}

#: The schema of a record id: PostgreSQL's ``integer`` bounds every store.
ID_SCHEMA: dict = {"type": "integer", "minimum": 1, "maximum": MAX_ID}


def id_parameter(record: str = "station") -> dict:
    """A record id in a path: a larger number than any id is simply not found."""
    return {"name": "id", "in": "path", "required": True, "schema": ID_SCHEMA,
            "description": f"The {record}'s id."}


def station_links() -> dict:
    """Links from an answer carrying one station (its id in the body, its version as the
    ETag) to reading, changing and deleting it."""
    station_id = "$response.body#/properties/id"
    version = "$response.header.ETag"
    return {
        "GetStation": {"operationId": "getStation", "parameters": {"id": station_id}},
        "ChangeStation": {"operationId": "changeStation",
                          "parameters": {"id": station_id, "header.If-Match": version}},
        "DeleteStation": {"operationId": "deleteStation",
                          "parameters": {"id": station_id, "header.If-Match": version}},
    }


def station_response(description: str) -> dict:
    """A response with one station as a GeoJSON feature and its version as the ETag.

    Args:
        description: what the response means.

    Returns:
        An OpenAPI Response object.
    """
    response = json_response(description, {"$ref": "#/components/schemas/Feature"})
    response["headers"] = ETAG_HEADER
    return response


def write_operation(summary: str, operation_id: str, body_description: str,
                     responses: dict, body: str | None = None, if_match: bool = True) -> dict:
    """An operation that changes stations: needs an API token of a staff account.

    Args:
        summary: what it does.
        operation_id: its operationId.
        body_description: what the JSON body holds (unused without ``body``).
        responses: its success responses.
        body: the component schema of its JSON body, if it takes one.
        if_match: whether it needs ``If-Match`` with the version it is based on.

    Returns:
        An OpenAPI Operation object with the refusals every write can get.
    """
    refusals = {
        "400": {"$ref": "#/components/responses/BadParameter"},
        "401": {"$ref": "#/components/responses/Unauthorized"},
        "403": {"$ref": "#/components/responses/Forbidden"},
    }
    if body:
        refusals["415"] = {"$ref": "#/components/responses/UnsupportedMediaType"}
        refusals["422"] = {"$ref": "#/components/responses/Unprocessable"}
    if if_match:
        refusals |= {"404": {"$ref": "#/components/responses/NotFound"},
                     "409": {"$ref": "#/components/responses/Conflict"},
                     "428": {"$ref": "#/components/responses/PreconditionRequired"}}
    operation = {"summary": summary, "operationId": operation_id,
                 "security": [{"apiToken": []}], "responses": {**responses, **refusals}}
    if if_match:
        operation["parameters"] = [{
            "name": "If-Match", "in": "header", "required": True,
            "schema": {"type": "string"},
            "description": "The version the change is based on (the ETag, e.g. \"3\").",
        }]
    if body:
        operation["requestBody"] = {
            "required": True, "description": body_description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}},
        }
    return operation


def parameter(name: str, required: bool, schema: dict, description: str) -> dict:
    """A query parameter.

    Args:
        name: the parameter's name.
        required: whether it must be given.
        schema: its JSON schema.
        description: what it means.

    Returns:
        An OpenAPI Parameter object.
    """
    return {"name": name, "in": "query", "required": required, "schema": schema,
            "description": description}


def region_parameter() -> dict:
    """The ``region`` parameter every path takes."""
    return parameter("region", False, {"type": "string"},
                      "Region id (see /regions); the default region when absent.")


def list_parameter(name: str, vocabulary: dict, description: str) -> dict:
    """A parameter of zero or more values from a vocabulary, repeated or comma-separated.

    Args:
        name: the parameter's name.
        vocabulary: the allowed values (its keys).
        description: what it filters.

    Returns:
        An OpenAPI Parameter object with an array schema whose items enumerate the vocabulary.
    """
    found = parameter(
        name, False, {"type": "array", "items": {"type": "string", "enum": list(vocabulary)}},
        f"{description} Repeat the parameter or separate values with commas.",
    )
    return {**found, "style": "form", "explode": True}


def refused_job(description: str) -> dict:
    """A refused heavy request (429 or 503): JSON naming the job, with ``Retry-After``."""
    return {**json_response(description, {
        "type": "object", "required": ["error"],
        "properties": {"error": {"type": "object", "required": ["job", "message"], "properties": {
            "job": {"type": "string", "description": "What was refused (recommend, whatif, …)."},
            "message": {"type": "string"}}}}}),
        "headers": {"Retry-After": {"description": "Seconds to wait before trying again.",
                                    "schema": {"type": "integer"}}}}


def json_response(description: str, schema: dict,
                   media_type: str = "application/json") -> dict:
    """A response with a JSON body.

    Args:
        description: what the response holds.
        schema: the body's schema.
        media_type: the body's media type.

    Returns:
        An OpenAPI Response object.
    """
    return {"description": description, "content": {media_type: {"schema": schema}}}



def html_response(description: str) -> dict:
    """A response with an HTML page."""
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}
