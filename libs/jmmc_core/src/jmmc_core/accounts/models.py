"""Pydantic schemas of the accounts' JSON API."""

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .services import MAX_TOKEN_NAME_LENGTH, TOKEN_NAME_PATTERN


class Me(BaseModel):
    username: str
    display_name: str | None
    email: str | None
    roles: list[str]
    groups: list[str]


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str = Field(description="The token's first characters, to tell tokens apart")
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_TOKEN_NAME_LENGTH, pattern=TOKEN_NAME_PATTERN)
    expires_at: AwareDatetime | None = Field(
        None, description="When the token stops working (ISO 8601 with a time zone)"
    )


class CreatedToken(TokenOut):
    token: str = Field(description="The token itself: shown this once, never stored")
