"""What TAP routes answer besides errors, as their OpenAPI documents it.

The fuzzing tier holds every answer to this documentation (status, media type), so a route
says here which documents it returns and which optional errors it may answer.
"""

from typing import Any

from fastapi.responses import Response

from jmmc_core.errors import DaliRoute

from ..models.uws import UWS_MEDIA_TYPE
from ..services.formats import RESULT_MEDIA_TYPES

Responses = dict[int | str, dict[str, Any]]

#: A request's credentials are checked on every route that runs with the caller's rights.
CALLER_ERRORS: Responses = DaliRoute.errors(401)
#: Forms may carry inline uploads, bounded in size.
FORM_ERRORS: Responses = DaliRoute.errors(401, 413)

QUERY_RESULT: Responses = {
    200: {
        "description": "The query's result, in the format asked for",
        "content": {media_type: {} for media_type in RESULT_MEDIA_TYPES},
    }
}
SEE_JOB: Responses = {303: {"description": "Done: the answer is at the Location (the job)"}}
SEE_JOB_LIST: Responses = {303: {"description": "Deleted: the Location is the job list"}}


class UwsResponse(Response):
    """A UWS document: a job, the job list, its parameters or results."""

    media_type = UWS_MEDIA_TYPE
