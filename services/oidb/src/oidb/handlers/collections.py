"""The collections API: list, read, create, change, and the groups holding rights on one.

403 when the caller may not do it, 404 for a collection the caller cannot see, 400 naming the
parameter at fault.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Path

from jmmc_core.accounts import CurrentUser
from jmmc_core.errors import JsonRoute

from ..dependencies import CallerDep, RuntimeDep
from ..models import collections as models
from ..services import collections

# Any route answers 401 to credentials that are not valid.
router = APIRouter(
    prefix="/api/collections",
    tags=["collections"],
    route_class=JsonRoute,
    responses=JsonRoute.errors(401),
)
#: What a change may answer besides success: no right.
CHANGE_ERRORS = JsonRoute.errors(403)

CollectionPath = Annotated[str, Path(max_length=64, description="Collection id")]


@router.get("", response_model=list[models.CollectionOut])
def list_collections(runtime: RuntimeDep, caller: CallerDep) -> list[dict[str, Any]]:
    """The collections the caller may see."""
    return collections.list_collections(runtime.database, caller)


@router.get("/{collection_id}", response_model=models.CollectionOut)
def get_collection(
    runtime: RuntimeDep, caller: CallerDep, collection_id: CollectionPath
) -> dict[str, Any]:
    return collections.get_collection(runtime.database, caller, collection_id)


@router.post(
    "",
    response_model=models.CollectionOut,
    status_code=201,
    responses=CHANGE_ERRORS | JsonRoute.errors(409),
)
def create_collection(
    runtime: RuntimeDep, _: CurrentUser, caller: CallerDep, new: models.NewCollection
) -> dict[str, Any]:
    """A new collection owned by the caller (role submitter or admin)."""
    return collections.create_collection(runtime.database, caller, new)


@router.patch("/{collection_id}", response_model=models.CollectionOut, responses=CHANGE_ERRORS)
def update_collection(
    runtime: RuntimeDep,
    _: CurrentUser,
    caller: CallerDep,
    collection_id: CollectionPath,
    changes: models.CollectionChanges,
) -> dict[str, Any]:
    """Change a collection (its owner or an admin); a new type or release date recomputes
    its granules' release dates."""
    return collections.update_collection(runtime.database, caller, collection_id, changes)


@router.put("/{collection_id}/groups", response_model=models.CollectionOut, responses=CHANGE_ERRORS)
def set_groups(
    runtime: RuntimeDep,
    _: CurrentUser,
    caller: CallerDep,
    collection_id: CollectionPath,
    rights: models.GroupRights,
) -> dict[str, Any]:
    """Replace the groups that may read (and, with ``can_write``, add files to) a collection."""
    return collections.set_groups(runtime.database, caller, collection_id, rights)
