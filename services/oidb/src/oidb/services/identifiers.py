"""Public identifiers of granules: ``obs_publisher_did`` is ``ivo://jmmc.fr/oidb?<granule id>``.

The id part is the granule's database id, so DataLink resolves an identifier without a lookup
table; a new version of a file gets new granules, hence new identifiers.
"""

PUBLISHER_DID_PREFIX = "ivo://jmmc.fr/oidb?"


def publisher_did(granule_id: int) -> str:
    return f"{PUBLISHER_DID_PREFIX}{granule_id}"


def granule_id_of(did: str) -> int | None:
    """The granule id an identifier names, or None when it is not one of ours."""
    if not did.startswith(PUBLISHER_DID_PREFIX):
        return None
    number = did.removeprefix(PUBLISHER_DID_PREFIX)
    if not number.isascii() or not number.isdigit() or len(number) > 18:
        return None
    return int(number)
