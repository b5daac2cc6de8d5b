"""SQL of the accounts: every query the domain layer runs, over the ``accounts`` schema."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Select, delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.orm import Session

from .schema import (
    ApiTokenRow,
    GroupRow,
    MembershipRow,
    SessionRow,
    SigninAttemptRow,
    UserRoleRow,
    UserRow,
)


def user_by_name(session: Session, username: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.username == username)).one_or_none()


def group_by_name(session: Session, name: str) -> GroupRow | None:
    return session.scalars(select(GroupRow).where(GroupRow.name == name)).one_or_none()


def all_users(session: Session) -> Sequence[UserRow]:
    return session.scalars(select(UserRow).order_by(UserRow.username)).all()


def roles_of(session: Session, user_id: int) -> list[str]:
    query = select(UserRoleRow.role).where(UserRoleRow.user_id == user_id)
    return list(session.scalars(query.order_by(UserRoleRow.role)))


def group_names_of(session: Session, user_id: int) -> list[str]:
    query = (
        select(GroupRow.name)
        .join(MembershipRow, MembershipRow.group_id == GroupRow.id)
        .where(MembershipRow.user_id == user_id)
        .order_by(GroupRow.name)
    )
    return list(session.scalars(query))


def group_ids_of(user_id: int) -> Select:
    """The ids of the groups holding a user, as a subquery the caller's query filters with."""
    return select(MembershipRow.group_id).where(MembershipRow.user_id == user_id)


def add_membership(session: Session, user_id: int, group_id: int) -> None:
    session.execute(
        upsert(MembershipRow).values(user_id=user_id, group_id=group_id).on_conflict_do_nothing()
    )


def remove_membership(session: Session, user_id: int, group_id: int) -> None:
    session.execute(
        delete(MembershipRow).where(
            MembershipRow.user_id == user_id, MembershipRow.group_id == group_id
        )
    )


def add_role(session: Session, user_id: int, role: str) -> None:
    session.execute(upsert(UserRoleRow).values(user_id=user_id, role=role).on_conflict_do_nothing())


def remove_role(session: Session, user_id: int, role: str) -> None:
    session.execute(
        delete(UserRoleRow).where(UserRoleRow.user_id == user_id, UserRoleRow.role == role)
    )


def lock_signin(session: Session, username: str, client_address: str) -> None:
    """Serialise sign-ins of one username from one client until the transaction ends, so that
    concurrent guesses on several replicas are all counted."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"accounts.signin:{username}:{client_address}"},
    )


def recent_failures(
    session: Session, client_address: str, since: datetime, limit: int, username: str | None = None
) -> list[datetime]:
    """Times of the newest ``limit`` failed attempts from a client since ``since``, newest first.

    With ``username``: only that username's, and only those after its last success.
    """
    attempts = SigninAttemptRow.client_address == client_address
    query = select(SigninAttemptRow.attempted_at).where(
        ~SigninAttemptRow.success, SigninAttemptRow.attempted_at >= since
    )
    if username is not None:
        attempts &= SigninAttemptRow.username == username
        last_success = (
            select(func.max(SigninAttemptRow.attempted_at))
            .where(attempts, SigninAttemptRow.success)
            .scalar_subquery()
        )
        query = query.where(SigninAttemptRow.attempted_at > func.coalesce(last_success, since))
    query = query.where(attempts).order_by(SigninAttemptRow.attempted_at.desc()).limit(limit)
    return list(session.scalars(query))


def record_attempt(session: Session, username: str, client_address: str, success: bool) -> None:
    session.execute(
        insert(SigninAttemptRow).values(
            username=username, client_address=client_address, success=success
        )
    )


def forget_attempts_before(session: Session, moment: datetime) -> int:
    result = session.execute(delete(SigninAttemptRow).where(SigninAttemptRow.attempted_at < moment))
    return result.rowcount


def live_session(session: Session, session_hash: str) -> tuple[SessionRow, UserRow] | None:
    query = (
        select(SessionRow, UserRow)
        .join(UserRow, UserRow.id == SessionRow.user_id)
        .where(
            SessionRow.session_hash == session_hash,
            SessionRow.revoked_at.is_(None),
            SessionRow.expires_at > func.now(),
            UserRow.active,
        )
    )
    row = session.execute(query).one_or_none()
    return None if row is None else (row[0], row[1])


def revoke_session(session: Session, session_hash: str) -> None:
    session.execute(
        update(SessionRow)
        .where(SessionRow.session_hash == session_hash, SessionRow.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


def forget_sessions_ended_before(session: Session, moment: datetime) -> int:
    result = session.execute(
        delete(SessionRow).where(
            (SessionRow.expires_at < moment) | (SessionRow.revoked_at < moment)
        )
    )
    return result.rowcount


def live_token(session: Session, token_hash: str) -> tuple[ApiTokenRow, UserRow] | None:
    query = (
        select(ApiTokenRow, UserRow)
        .join(UserRow, UserRow.id == ApiTokenRow.user_id)
        .where(
            ApiTokenRow.token_hash == token_hash,
            ApiTokenRow.revoked_at.is_(None),
            func.coalesce(ApiTokenRow.expires_at > func.now(), True),
            UserRow.active,
        )
    )
    row = session.execute(query).one_or_none()
    return None if row is None else (row[0], row[1])


def tokens_of(session: Session, user_id: int) -> Sequence[ApiTokenRow]:
    query = select(ApiTokenRow).where(ApiTokenRow.user_id == user_id)
    return session.scalars(query.order_by(ApiTokenRow.created_at, ApiTokenRow.id)).all()


def revoke_token(session: Session, user_id: int, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False when the user owns no such live token."""
    result = session.execute(
        update(ApiTokenRow)
        .where(
            ApiTokenRow.id == token_id,
            ApiTokenRow.user_id == user_id,
            ApiTokenRow.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
    )
    return result.rowcount == 1


def mark_token_used(session: Session, token_id: int) -> None:
    # At most once a minute: a script calling in a loop must not write a row per request.
    session.execute(
        update(ApiTokenRow)
        .where(ApiTokenRow.id == token_id)
        .where(
            (ApiTokenRow.last_used_at.is_(None))
            | (ApiTokenRow.last_used_at < func.now() - text("interval '1 minute'"))
        )
        .values(last_used_at=func.now())
    )
