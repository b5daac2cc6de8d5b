"""The parameters of a TAP query (TAP 1.1 §2.3, DALI), declared once for GET and POST.

Values arrive as text and are checked by :func:`tap.services.query.parse_query_request`,
which names the parameter at fault; this model declares names, meanings and lengths. Names
are matched case-insensitively (the VO route class renames ``query`` to ``QUERY``). Upload
parts of a multipart POST are files named by ``UPLOAD``, not parameters of this model.
"""

from typing import Annotated

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from ..config import Settings

#: Enough for any hand-written or generated ADQL; longer text is refused before parsing.
MAX_QUERY = 100_000
#: Upload lists (URLs) are the longest of the other values.
MAX_TEXT = 2_000
#: Keywords, numbers, media types and labels; short, so a GET with all of them fits in the
#: request buffer of the proxy in front (16 kB).
MAX_WORD = 200

Text = Annotated[str | None, Field(max_length=MAX_TEXT)]


def _text(description: str, max_length: int = MAX_WORD) -> Text:
    return Field(None, max_length=max_length, description=description)


class QueryParameters(BaseModel):
    REQUEST: Text = _text("doQuery (optional in TAP 1.1)")
    LANG: Text = _text("ADQL (default), ADQL-2.0 or ADQL-2.1")
    QUERY: Text = _text("The ADQL query", MAX_QUERY)
    MAXREC: Text = _text("Rows at most (0: the columns only); default and limit in /capabilities")
    RESPONSEFORMAT: Text = _text(
        "Output format: votable (default), votable/td, votable/b2, csv, tsv or a media type"
    )
    FORMAT: Text = _text("Alias of RESPONSEFORMAT (TAP 1.0)")
    UPLOAD: Text = _text(
        "Tables to upload: name,param:part or name,https://... ; separated by ;", MAX_TEXT
    )
    VERSION: Text = _text("TAP version: 1.0 or 1.1")
    RUNID: Text = _text("A label of the client's choice, echoed in async jobs")

    def upper_cased(self) -> dict[str, str]:
        """The parameters given, by their upper-case names."""
        return self.model_dump(exclude_none=True)


async def upload_parts(request: Request, settings: Settings) -> dict[str, bytes]:
    """The parts of a form that are not parameters: tables ``UPLOAD`` may name.

    Read up to one byte over the upload limit, so a larger table is refused by its size
    without being held in memory whole.
    """
    declared = set(QueryParameters.model_fields)
    parts: dict[str, bytes] = {}
    for name, value in (await request.form()).multi_items():
        if name in declared:
            continue
        if isinstance(value, UploadFile):
            parts[name] = await value.read(settings.upload_limit_bytes + 1)
        else:
            parts[name] = value.encode()
    return parts
