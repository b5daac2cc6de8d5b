"""The accounts' domain: users, groups, roles, sign-in, sessions and API tokens.

Functions take the SQLAlchemy session of the caller's transaction: a service uses its own
database connection, the ``accounts`` tables are reached by their schema-qualified names.
Sign-in takes the ``Database`` instead, because it commits the attempt it records even when
the attempt fails.
"""

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from jmmc_core.database import Database
from jmmc_core.errors import (
    Conflict,
    InvalidParameter,
    NotFound,
    TooManyRequests,
    Unauthorized,
)

from . import credentials, storage
from .schema import ROLES, ApiTokenRow, GroupRow, SessionRow, UserRow

#: Sign-in rate limit: this many failures for one username from one client address ...
MAX_SIGNIN_FAILURES = 5
#: ... within this window refuse every further attempt until the oldest failure leaves it.
SIGNIN_WINDOW = timedelta(minutes=15)
#: Failures from one client address over all usernames (guessing one password for many).
MAX_CLIENT_SIGNIN_FAILURES = 50

NAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
MAX_TOKEN_NAME_LENGTH = 100
#: A token's name: some visible character, no control characters.
TOKEN_NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\x00-\x20\x7f][^\x00-\x1f\x7f]*$"


@dataclass(frozen=True)
class User:
    """Who makes a request, as every service sees them."""

    id: int
    username: str
    display_name: str | None = None
    email: str | None = None
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def in_group(self, group: str) -> bool:
        return group in self.groups


@dataclass(frozen=True)
class WebSession:
    """A signed-in browser: its user and the secret its forms must carry."""

    user: User
    csrf_secret: str


@dataclass(frozen=True)
class Token:
    """An API token as its owner sees it in a list (never the token itself)."""

    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        now = datetime.now(UTC)
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def _name(parameter: str, value: str) -> str:
    """A username or group name: lower case letters, digits, '.', '_', '-' (64 at most)."""
    normalised = value.strip().lower()
    if not NAME_PATTERN.fullmatch(normalised):
        raise InvalidParameter(
            parameter,
            "1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit",
        )
    return normalised


def _role(value: str) -> str:
    if value not in ROLES:
        raise InvalidParameter("role", f"unknown role {value!r}; one of {', '.join(ROLES)}")
    return value


def _check_password(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise InvalidParameter(
            "password", f"between {MIN_PASSWORD_LENGTH} and {MAX_PASSWORD_LENGTH} characters"
        )
    return password


def _user(session: Session, row: UserRow) -> User:
    return User(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        email=row.email,
        roles=frozenset(storage.roles_of(session, row.id)),
        groups=frozenset(storage.group_names_of(session, row.id)),
    )


def _existing_user(session: Session, username: str) -> UserRow:
    row = storage.user_by_name(session, _name("username", username))
    if row is None:
        raise NotFound(f"no user {username!r}")
    return row


def _existing_group(session: Session, name: str) -> GroupRow:
    row = storage.group_by_name(session, _name("group", name))
    if row is None:
        raise NotFound(f"no group {name!r}")
    return row


def create_user(
    session: Session,
    username: str,
    *,
    password: str | None = None,
    email: str | None = None,
    display_name: str | None = None,
    roles: tuple[str, ...] = (),
    if_missing: bool = False,
) -> User:
    """A new account; with ``if_missing`` an existing one is kept as it is (and returned)."""
    username = _name("username", username)
    roles = tuple(_role(role) for role in roles)
    existing = storage.user_by_name(session, username)
    if existing is not None:
        if if_missing:
            return _user(session, existing)
        raise Conflict(f"user {username!r} already exists")
    row = UserRow(
        username=username,
        email=email,
        display_name=display_name,
        password_hash=None
        if password is None
        else credentials.hash_password(_check_password(password)),
    )
    session.add(row)
    session.flush()
    for role in roles:
        storage.add_role(session, row.id, role)
    return _user(session, row)


def set_password(session: Session, username: str, password: str) -> None:
    _existing_user(session, username).password_hash = credentials.hash_password(
        _check_password(password)
    )


def set_active(session: Session, username: str, active: bool) -> None:
    """An inactive account cannot sign in, and its sessions and tokens stop working at once."""
    _existing_user(session, username).active = active


def find_user(session: Session, username: str) -> User:
    return _user(session, _existing_user(session, username))


def list_users(session: Session) -> list[User]:
    return [_user(session, row) for row in storage.all_users(session)]


def create_group(
    session: Session, name: str, description: str | None = None, *, if_missing: bool = False
) -> None:
    name = _name("group", name)
    if storage.group_by_name(session, name) is not None:
        if if_missing:
            return
        raise Conflict(f"group {name!r} already exists")
    session.add(GroupRow(name=name, description=description))
    session.flush()


def add_member(session: Session, group: str, username: str) -> None:
    storage.add_membership(
        session, _existing_user(session, username).id, _existing_group(session, group).id
    )


def remove_member(session: Session, group: str, username: str) -> None:
    storage.remove_membership(
        session, _existing_user(session, username).id, _existing_group(session, group).id
    )


def grant_role(session: Session, username: str, role: str) -> None:
    storage.add_role(session, _existing_user(session, username).id, _role(role))


def revoke_role(session: Session, username: str, role: str) -> None:
    storage.remove_role(session, _existing_user(session, username).id, _role(role))


def _refuse_past_limit(
    session: Session, client_address: str, limit: int, username: str | None = None
) -> None:
    now = datetime.now(UTC)
    failures = storage.recent_failures(
        session, client_address, now - SIGNIN_WINDOW, limit, username
    )
    if len(failures) >= limit:
        # Allowed again once the oldest of these failures leaves the window.
        retry_after = math.ceil((failures[-1] + SIGNIN_WINDOW - now).total_seconds())
        raise TooManyRequests(
            "too many failed sign-ins; try again later", retry_after=max(1, retry_after)
        )


def attempt_sign_in(
    database: Database, username: str, password: str, client_address: str
) -> User | None:
    """The user whose password this is, or None; ``TooManyRequests`` past the rate limit.

    Every attempt is recorded (and committed) in the database, so the limit holds across
    replicas and services. While the limit is reached even the right password is refused,
    and the error says when to retry.
    """
    username = username.strip().lower()[:64]
    with database.session() as session:
        storage.lock_signin(session, username, client_address)
        _refuse_past_limit(session, client_address, MAX_SIGNIN_FAILURES, username)
        _refuse_past_limit(session, client_address, MAX_CLIENT_SIGNIN_FAILURES)
        row = storage.user_by_name(session, username)
        hash_ = row.password_hash if row is not None and row.active else None
        success = credentials.password_matches(hash_, password[:MAX_PASSWORD_LENGTH])
        storage.record_attempt(session, username, client_address, success)
        if row is None or not success:
            return None
        if hash_ is not None and credentials.needs_rehash(hash_):
            row.password_hash = credentials.hash_password(password)
        return _user(session, row)


def authenticate(database: Database, username: str, password: str, client_address: str) -> User:
    """As :func:`attempt_sign_in`, but a wrong username or password is ``Unauthorized``."""
    user = attempt_sign_in(database, username, password, client_address)
    if user is None:
        raise Unauthorized("wrong username or password")
    return user


def open_session(session: Session, user: User, lifetime: timedelta) -> tuple[str, WebSession]:
    """A new web session: the id to put in the cookie (never stored) and the session."""
    session_id = credentials.new_session_id()
    csrf_secret = credentials.new_csrf_secret()
    session.add(
        SessionRow(
            session_hash=credentials.digest(session_id),
            user_id=user.id,
            csrf_secret=csrf_secret,
            expires_at=datetime.now(UTC) + lifetime,
        )
    )
    session.flush()
    return session_id, WebSession(user, csrf_secret)


def resolve_session(session: Session, session_id: str) -> WebSession | None:
    """The live session of a cookie's value; None when unknown, expired or revoked."""
    found = storage.live_session(session, credentials.digest(session_id))
    if found is None:
        return None
    row, user = found
    return WebSession(_user(session, user), row.csrf_secret)


def close_session(session: Session, session_id: str) -> None:
    storage.revoke_session(session, credentials.digest(session_id))


def _token(row: ApiTokenRow) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def create_token(
    session: Session, owner: User, name: str, expires_at: datetime | None = None
) -> tuple[str, Token]:
    """A new API token of ``owner``: the token (shown once, never stored) and its record."""
    if len(name) > MAX_TOKEN_NAME_LENGTH or not re.fullmatch(TOKEN_NAME_PATTERN, name):
        raise InvalidParameter(
            "name", f"1 to {MAX_TOKEN_NAME_LENGTH} characters, not all blank, no control ones"
        )
    name = name.strip()
    if expires_at is not None and expires_at <= datetime.now(UTC):
        raise InvalidParameter("expires_at", "must be in the future")
    token = credentials.new_token()
    row = ApiTokenRow(
        user_id=owner.id,
        name=name,
        token_hash=credentials.digest(token),
        prefix=token[: credentials.TOKEN_PREFIX_LENGTH],
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    session.refresh(row)
    return token, _token(row)


def list_tokens(session: Session, owner: User) -> list[Token]:
    return [_token(row) for row in storage.tokens_of(session, owner.id)]


def revoke_token(session: Session, owner: User, token_id: int) -> None:
    """Revoke one of the owner's tokens; anyone else's token is, to them, not found."""
    if not storage.revoke_token(session, owner.id, token_id):
        raise NotFound(f"no active token {token_id} of yours")


def resolve_token(session: Session, token: str) -> User | None:
    """The owner of a live token; None when unknown, expired or revoked."""
    if not token.startswith(credentials.TOKEN_MARKER):
        return None
    found = storage.live_token(session, credentials.digest(token))
    if found is None:
        return None
    row, user = found
    storage.mark_token_used(session, row.id)
    return _user(session, user)


def purge(session: Session, older_than: timedelta) -> tuple[int, int]:
    """Forget sign-in attempts and ended sessions older than ``older_than``.

    Returns how many attempts and sessions were deleted.
    """
    moment = datetime.now(UTC) - older_than
    return (
        storage.forget_attempts_before(session, moment),
        storage.forget_sessions_ended_before(session, moment),
    )
