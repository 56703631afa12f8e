"""Why ingestion refuses a file or rejects a row: stable codes, English message ids, parameters.

Three kinds of outcome, each a stable code with ``%(name)s`` parameters (the web layer translates the
message id, zh-CN by default):

- a **refusal** (:class:`FileRefused`): the whole delivery is refused and nothing is written — empty,
  truncated or damaged files, an unreadable encoding, no recognisable header, missing required columns;
- a **rejection**: one row goes to the quarantine with its reason (:data:`REJECT_REASONS`), the rest of
  the file is accepted;
- a **notice**: something worth telling the sender that changes nothing (ignored columns, a declared
  encoding that did not match the content, files already received).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

from xinyidai.core.errors import NotFound, ValidationFailed
from xinyidai.core.i18n import N_

__all__ = [
    "NOTICES",
    "REFUSALS",
    "REJECT_REASONS",
    "FileRefused",
    "IngestError",
    "Notice",
    "UnknownSource",
]


class IngestError(ValidationFailed):
    """A delivery that cannot be ingested; ``reason`` is a stable code from :data:`REFUSALS`.

    Raised as ``FileRefused(reason="truncated_file", file=..., detail=...)``: the message id is the
    reason's entry in :data:`REFUSALS`, its parameters the keyword arguments.
    """

    code = "ingest_refused"
    title = "The delivery could not be ingested"

    def __init__(
        self, message: str | None = None, /, *, reason: str = "internal_error", **params: Any
    ) -> None:
        self.reason = reason
        super().__init__(message or REFUSALS.get(reason, self.title), **params)


class FileRefused(IngestError):
    """One file of a delivery is refused as a whole (and with it the delivery): nothing is written."""

    code = "file_refused"
    title = "The file was refused"


class UnknownSource(NotFound):
    """The source id names no catalogue source."""

    code = "unknown_source"
    title = "There is no data source with this identifier"

    def __init__(self, source_id: str) -> None:
        self.reason = "unknown_source"
        super().__init__(
            N_("There is no data source called %(source)s; see the source catalogue for the valid names."),
            source=source_id,
        )


REFUSALS: Final[dict[str, str]] = {
    "unknown_source": N_(
        "There is no data source called %(source)s; see the source catalogue for the valid names."
    ),
    "unsupported_format": N_(
        "%(file)s is not a supported format; send CSV (optionally gzip-compressed), XLSX or JSON lines."
    ),
    "unreadable_file": N_("%(file)s could not be read: %(detail)s"),
    "empty_file": N_("%(file)s is empty (%(size)s bytes); nothing was ingested."),
    "no_rows": N_("%(file)s has a header but no data rows; nothing was ingested."),
    "truncated_file": N_(
        "%(file)s is truncated (%(detail)s); the delivery was cut off. Please send the complete file."
    ),
    "corrupt_file": N_("%(file)s is damaged and could not be opened (%(detail)s)."),
    "bad_encoding": N_(
        "%(file)s is not valid UTF-8 or GB18030 text (first bad byte at line %(line)s); "
        "please save it as UTF-8 and send it again."
    ),
    "header_not_found": N_(
        "No row at the top of %(file)s names the columns of %(source)s; expected headers such as "
        "%(examples)s."
    ),
    "missing_columns": N_("%(file)s lacks required columns: %(columns)s. The file was refused."),
    "ambiguous_columns": N_(
        "%(file)s has several columns for %(target)s (%(headers)s); keep only one of them."
    ),
    "internal_error": N_("Ingestion failed unexpectedly (%(detail)s); the batch was rolled back."),
    "interrupted": N_(
        "The ingestion run that started this batch stopped before publishing it; nothing of it is "
        "visible and the files can simply be sent again."
    ),
}
"""Why a whole file (and so its batch) is refused."""

REJECT_REASONS: Final[dict[str, str]] = {
    "missing_required": N_("%(field)s is required but empty."),
    "wrong_type": N_("%(field)s should be %(expected)s, not %(value)s."),
    "bad_date": N_("%(field)s is not a date we can read: %(value)s (use e.g. 2024-01-05)."),
    "out_of_range": N_("%(field)s is %(value)s, outside the allowed range %(minimum)s to %(maximum)s."),
    "unknown_code": N_("%(field)s has the value %(value)s, which is not one of %(allowed)s."),
    "invalid_uscc": N_("%(field)s is not a valid unified social credit code: %(value)s."),
    "invalid_entity_ref": N_(
        "%(field)s is neither a valid unified social credit code nor an enterprise code "
        "(letters and digits, at most 32): %(value)s."
    ),
    "future_date": N_("%(field)s is %(value)s, after the date the data was received (%(received_on)s)."),
    "duplicate_key": N_(
        "This row repeats the key %(key)s of row %(first_row)s in %(first_file)s; the first one was kept."
    ),
    "malformed_row": N_("The row has %(actual)s columns where the header has %(expected)s."),
}
"""Why one row is rejected to the quarantine (the row's other fields may have more problems)."""

NOTICES: Final[dict[str, str]] = {
    "ignored_columns": N_("%(file)s: columns not in the catalogue were ignored: %(columns)s."),
    "encoding_mismatch": N_(
        "%(file)s was declared as %(declared)s but is %(detected)s; it was read as %(detected)s."
    ),
    "header_unit": N_("%(file)s: column %(header)s is in %(unit)s and was converted to %(field_unit)s."),
    "already_received": N_(
        "%(file)s was already received in batch %(batch)s (same content); it was skipped."
    ),
    "unrecognised_files": N_("Files that are not deliveries were ignored: %(files)s."),
    "header_row": N_("%(file)s: the header is row %(row)s; the rows above it were ignored."),
}
"""Messages that inform without changing what is ingested."""


@dataclass(frozen=True)
class Notice:
    """A refusal, rejection or notice as data: stable ``code``, English message id and parameters."""

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        for table in (NOTICES, REFUSALS, REJECT_REASONS):
            if self.code in table:
                return table[self.code]
        return self.code

    def __str__(self) -> str:
        try:
            return self.message % self.params
        except (KeyError, TypeError, ValueError):
            return self.message
