"""One exception family for every error a user can cause.

Every message names *where* the problem is (file, row, column, line or construct) and *what to do*.
Messages are bilingual where a user reads them: ``message`` is English, ``message_zh`` Chinese.
The CLI prints them as one line each and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations


class NCSIError(Exception):
    """Base class of every error NCSI raises on purpose."""

    def __init__(self, message: str, *, message_zh: str | None = None, hint: str | None = None):
        self.message = message
        self.message_zh = message_zh
        self.hint = hint
        super().__init__(self.full_message())

    def full_message(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} — {self.hint}"
        return text

    def lines(self) -> list[str]:
        """The lines the CLI shows: English first, then Chinese when given."""
        out = [self.full_message()]
        if self.message_zh:
            out.append(self.message_zh)
        return out


class SpecError(NCSIError):
    """A model specification is invalid (names the file and line)."""

    def __init__(self, message: str, *, source: str = "<model>", line: int | None = None, **kw):
        self.source = source
        self.line = line
        where = f"{source}, line {line}" if line is not None else source
        super().__init__(f"{where}: {message}", **kw)


class InstrumentError(NCSIError):
    """A questionnaire, taxonomy or configuration file under surveys/ is invalid."""


class DataError(NCSIError):
    """Input data is unusable (names the file, row and column)."""

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None, **kw):
        self.file = file
        self.row = row
        self.column = column
        parts = []
        if file:
            parts.append(str(file))
        if row is not None:
            parts.append(f"row {row}")
        if column is not None:
            parts.append(f"column '{column}'")
        where = ", ".join(parts)
        super().__init__(f"{where}: {message}" if where else message, **kw)


class IngestError(DataError):
    """A survey file failed validation against its instrument; nothing was written."""


class EstimationError(NCSIError):
    """A model could not be estimated (names the construct or indicator and why)."""


class StoreError(NCSIError):
    """The store refused an operation (e.g. changing a published release)."""


class ReleaseError(NCSIError):
    """A release could not be built or published."""
