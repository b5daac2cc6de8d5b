"""SQLAlchemy models of the accounts; every table lives in the ``accounts`` schema.

Secrets never reach the database in clear: passwords are argon2 hashes, API tokens and
session ids are SHA-256 hashes of random values (only their owner ever sees the value).
"""

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jmmc_core.database import service_metadata

SCHEMA = "accounts"

#: The global roles; a user holds any set of them.
ROLES = ("submitter", "moderator", "curator", "admin")


class Base(DeclarativeBase):
    metadata = service_metadata(SCHEMA)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now())


def _user_reference() -> Mapped[int]:
    return mapped_column(
        BigInteger, ForeignKey("accounts.users.id", ondelete="CASCADE"), index=True
    )


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(Text, unique=True)
    email: Mapped[str | None] = mapped_column(Text)
    display_name: Mapped[str | None] = mapped_column(Text)
    #: argon2 hash; NULL for an account that signs in with tokens only.
    password_hash: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, server_default="true")
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("username ~ '^[a-z0-9][a-z0-9._-]{0,63}$'", name="username_format"),
    )


class GroupRow(Base):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(Text, unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()

    __table_args__ = (CheckConstraint("name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'", name="name_format"),)


class MembershipRow(Base):
    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.users.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.groups.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime] = _created()

    # Rights checks ask "which groups hold this user", access lists "who is in this group".
    __table_args__ = (Index("ix_memberships_group_id", "group_id"),)


class UserRoleRow(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("accounts.users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(Text, primary_key=True)
    granted_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint(f"role IN ({', '.join(repr(role) for role in ROLES)})", name="known_role"),
    )


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = _user_reference()
    name: Mapped[str] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(Text, unique=True)
    #: The token's first characters, so its owner can tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    session_hash: Mapped[str] = mapped_column(Text, unique=True)
    user_id: Mapped[int] = _user_reference()
    #: Expected in the ``csrf_token`` field of every form posted during this session.
    csrf_secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SigninAttemptRow(Base):
    """Every sign-in attempt, so that rate limiting holds across all replicas of all services."""

    __tablename__ = "signin_attempts"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(Text)
    client_address: Mapped[str] = mapped_column(Text)
    attempted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    success: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (
        Index("ix_signin_attempts_lookup", "username", "client_address", "attempted_at"),
        Index("ix_signin_attempts_client", "client_address", "attempted_at"),
    )
