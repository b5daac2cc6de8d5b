"""The validation report of one OIFITS file: what is wrong with it, table by table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class ValidationMessage:
    """One finding: ``error`` makes the file unusable, ``warning`` is kept and shown."""

    severity: Severity
    #: The HDU it concerns (``OI_VIS2#2``: the second OI_VIS2 table), None for the file.
    hdu: str | None
    message: str


@dataclass
class ValidationReport:
    oifits_version: int | None = None
    messages: list[ValidationMessage] = field(default_factory=list)

    def error(self, hdu: str | None, message: str) -> None:
        self.messages.append(ValidationMessage("error", hdu, message))

    def warning(self, hdu: str | None, message: str) -> None:
        self.messages.append(ValidationMessage("warning", hdu, message))

    def info(self, hdu: str | None, message: str) -> None:
        self.messages.append(ValidationMessage("info", hdu, message))

    @property
    def errors(self) -> list[ValidationMessage]:
        return [message for message in self.messages if message.severity == "error"]

    @property
    def warnings(self) -> list[ValidationMessage]:
        return [message for message in self.messages if message.severity == "warning"]

    def as_json(self) -> dict[str, Any]:
        """What ``oifits_files.report`` stores."""
        return {
            "oifits_version": self.oifits_version,
            "messages": [
                {"severity": m.severity, "hdu": m.hdu, "message": m.message} for m in self.messages
            ],
        }
