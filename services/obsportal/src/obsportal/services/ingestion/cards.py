"""A targeted reader of FITS header cards, fast enough for a million ESO headers.

astropy's ``Header.fromstring`` validates every card and builds objects for all of them
(~250 headers/s). Ingestion needs a few dozen keywords, so this reader only splits cards into
keyword and raw value text, and parses a value when it is asked for. It still refuses what
must not be ingested: non-ASCII bytes, truncated cards or headers, duplicate keywords, and
text that is not a FITS header at all.

Keywords are stored without the ``HIERARCH ESO`` prefix (``DPR CATG``, ``ISS PBL12 START``),
as the facts document and ObsPortal's validation log write them.
"""

from dataclasses import dataclass

CARD_LENGTH = 80
HIERARCH_ESO = "HIERARCH ESO "
HIERARCH = "HIERARCH "
#: Commentary cards may repeat and carry no value.
COMMENTARY = frozenset({"COMMENT", "HISTORY", ""})


class HeaderError(ValueError):
    """The header cannot be ingested; ``reason`` is a short stable code for run statistics."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Header:
    """Raw value text by keyword; typed accessors parse on demand."""

    values: dict[str, str]

    def __contains__(self, keyword: str) -> bool:
        return keyword in self.values

    def text(self, keyword: str) -> str | None:
        """A string value, stripped; None when absent or blank."""
        raw = self.values.get(keyword)
        if raw is None:
            return None
        value = _string_value(raw)
        return value or None

    def number(self, keyword: str) -> float | None:
        """A numeric value; None when absent, blank or not a number."""
        raw = self.values.get(keyword)
        if raw is None:
            return None
        token = raw.split("/", 1)[0].strip()
        if token.startswith("'"):
            token = _string_value(raw)
        try:
            return float(token)
        except ValueError:
            return None


def parse_header(data: bytes) -> Header:
    """Parse a header dump (cards separated by newlines) or a FITS header block."""
    if not data.lstrip()[:9].startswith(b"SIMPLE  ="):
        raise HeaderError("not_a_header", "does not start with a SIMPLE card")
    if not data.isascii():
        position = next(i for i, byte in enumerate(data) if byte > 127)
        raise HeaderError("non_ascii", f"non-ASCII byte 0x{data[position]:02x} at {position}")
    text = data.decode("ascii")
    if "\n" in text:
        cards = text.strip("\n").split("\n")
    else:
        cards = [text[i : i + CARD_LENGTH] for i in range(0, len(text), CARD_LENGTH)]
    values: dict[str, str] = {}
    previous = ""
    for number, card in enumerate(cards, 1):
        card = card.rstrip("\r")
        if len(card) > CARD_LENGTH:
            raise HeaderError("malformed_card", f"card {number} is {len(card)} characters long")
        if card.startswith(HIERARCH):
            keyword, equals, value = card.partition("=")
            if not equals:
                raise HeaderError("malformed_card", f"card {number} has no value: {card.strip()}")
            keyword = keyword.rstrip()
            keyword = keyword[len(HIERARCH_ESO) :] if keyword.startswith(HIERARCH_ESO) else keyword
        else:
            keyword = card[:8].rstrip()
            if keyword == "END":
                return Header(values)
            if keyword == "CONTINUE" and previous in values:
                values[previous] = _continued(values[previous], card[8:], previous)
                continue
            if card[8:10] != "= ":
                if keyword not in COMMENTARY and card.strip():
                    _check_commentary(keyword, number)
                continue
            value = card[10:]
        if value.lstrip().startswith("'") and not _string_is_closed(value):
            raise HeaderError("truncated_card", f"unterminated string in {keyword!r}")
        if keyword in values:
            raise HeaderError("duplicate_keyword", f"{keyword!r} appears more than once")
        values[keyword] = value
        previous = keyword
    raise HeaderError("truncated_header", f"no END card after {len(cards)} cards")


def _check_commentary(keyword: str, number: int) -> None:
    # Cards without "= " are commentary (COMMENT, HISTORY, blank, or a few ESO free-text
    # keywords); anything not spelt like a FITS keyword means this is not a header.
    if not all(char.isupper() or char.isdigit() or char in "-_" for char in keyword):
        raise HeaderError("not_a_header", f"card {number} is not a FITS card")


def _continued(raw: str, continuation: str, keyword: str) -> str:
    """A long string (the FITS ``CONTINUE`` convention): ``'abc&'`` then ``CONTINUE 'def'``."""
    head = _string_value(raw) if raw.lstrip().startswith("'") else ""
    if not head.endswith("&"):
        return raw  # not a long string: a stray CONTINUE card is commentary
    if not continuation.lstrip().startswith("'") or not _string_is_closed(continuation):
        raise HeaderError("truncated_card", f"unterminated CONTINUE string after {keyword!r}")
    whole = head[:-1] + _string_value(continuation)
    return "'" + whole.replace("'", "''") + "'"


def _string_is_closed(value: str) -> bool:
    body = value.lstrip()[1:].replace("''", "")
    return "'" in body


def _string_value(raw: str) -> str:
    stripped = raw.lstrip()
    if not stripped.startswith("'"):
        return stripped.split("/", 1)[0].strip()
    body = stripped[1:]
    end = 0
    while True:
        end = body.index("'", end)
        if body[end + 1 : end + 2] == "'":
            end += 2
            continue
        return body[:end].replace("''", "'").rstrip()


def read_fits_primary_header(stream, max_blocks: int = 2000) -> bytes:
    """The primary header of a FITS file: 2880-byte blocks up to the one holding END."""
    blocks = []
    for _ in range(max_blocks):
        block = stream.read(2880)
        blocks.append(block)
        if len(block) < 2880:
            break
        if any(block[i : i + 8] == b"END     " for i in range(0, 2880, CARD_LENGTH)):
            break
    return b"".join(blocks)
