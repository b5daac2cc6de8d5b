"""JSON shapes of the collections API (``/oidb/api/collections``), documented in its OpenAPI."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..schema.catalogue import COLLECTION_TYPES

CollectionId = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$",
        description="Short name: lower-case letters, digits, '.', '_', '-' (at most 64)",
    ),
]
CollectionType = Literal[COLLECTION_TYPES]  # type: ignore[valid-type]
ShortText = Annotated[str, Field(min_length=1, max_length=300)]
LongText = Annotated[str, Field(max_length=10_000)]
GroupName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


class CollectionChanges(BaseModel):
    """What an owner may change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText | None = None
    description: LongText | None = None
    coltype: CollectionType | None = Field(
        None, description="Sets the embargo: suv 2 years, pionier and eso 1 year, chara 18 months"
    )
    private: bool | None = Field(None, description="Invisible to anyone outside its groups")
    release_date: datetime | None = Field(
        None, description="Floor of every granule's release date (with a time zone)"
    )
    datapi: ShortText | None = None


class NewCollection(CollectionChanges):
    id: CollectionId
    title: ShortText
    coltype: CollectionType = "public"
    private: bool = False


class GroupRight(BaseModel):
    model_config = ConfigDict(extra="forbid")

    group: GroupName = Field(description="Name of an accounts group")
    can_write: bool = Field(False, description="Members may also add files")


class GroupRights(BaseModel):
    """The complete list of groups holding a right on a collection (replaces the previous)."""

    model_config = ConfigDict(extra="forbid")

    groups: list[GroupRight] = Field(max_length=200)


class CollectionOut(BaseModel):
    id: str
    title: str
    description: str | None
    coltype: str
    private: bool
    release_date: datetime | None
    datapi: str | None
    owner: str | None = Field(description="User name of the owner")
    groups: list[GroupRight]
    granules: int = Field(description="Granules visible to the caller")
    created: datetime
    updated: datetime
