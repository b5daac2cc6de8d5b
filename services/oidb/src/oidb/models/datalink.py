"""Parameters of the DataLink endpoint, declared once for OpenAPI (names case-insensitive)."""

from typing import Annotated

from pydantic import BaseModel, Field

#: No identifier OiDB gives out is longer.
MAX_ID_LENGTH = 400

Identifier = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH)]


class DatalinkParameters(BaseModel):
    """DataLink 1.1 ``{links}``: unknown parameters are ignored, as DataLink 1.0 clients send
    ``REQUEST=getLinks``."""

    ID: list[Identifier] = Field(
        default_factory=list,
        description=(
            "A granule's publisher DID (ObsCore obs_publisher_did) or its numeric id; repeat "
            "the parameter for several granules"
        ),
    )
    RESPONSEFORMAT: str | None = Field(
        None,
        max_length=100,
        description="votable or application/x-votable+xml;content=datalink (the only format)",
    )
