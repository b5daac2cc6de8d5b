"""Rights on data, enforced where the data is: in the SQL of the query every route uses.

A service never fetches rows and then hides some of them: it adds ``readable_by`` to the
``WHERE`` clause of its one query layer, so a page, the JSON API, an export and a VO endpoint
all see exactly the rows their user may read, and nothing else leaves the database::

    query = select(Collection).where(
        Collection.public | readable_by(user, Collection.group_id)
    )

Group ids come from ``accounts.memberships`` inside the same statement (a subquery), so a
membership revoked a moment ago counts at once, on every replica.
"""

from sqlalchemy import ColumnElement, Select, false

from . import storage
from .services import User


def group_ids_of(user: User) -> Select:
    """``SELECT group_id`` of the groups holding ``user``: for ``column.in_(...)`` or a CTE."""
    return storage.group_ids_of(user.id)


def readable_by(user: User | None, group_id_column: ColumnElement) -> ColumnElement[bool]:
    """True for the rows whose owning group (``group_id_column``) holds ``user``.

    Anonymous requests (``user`` None) read none of them; combine with the table's own
    public/embargo condition using ``|``.
    """
    if user is None:
        return false()
    return group_id_column.in_(group_ids_of(user))
