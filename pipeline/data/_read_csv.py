"""Read a dataset CSV: its encoding, separator and header are checked before pandas parses it.

The data module's reader; it reads and never preprocesses. No scikit-learn, no Keras, no MLflow.

- Encoding: UTF-8, with or without a byte-order mark, or UTF-16 with one (Excel's "Unicode
  text"); anything else is refused with the offending byte and line.
- Separator: a comma, semicolon, tab or ``|``, whichever splits the header into the most columns
  (a comma on a tie).
- Header: names lose their surrounding spaces; an empty name or a name given twice is refused
  (pandas would call it ``Unnamed: 2`` or rename the second ``y`` to ``y.1``, which turns a
  duplicated target into a feature that leaks the label).
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from collections import Counter
from pathlib import Path

import pandas as pd

from pipeline.errors import FitcheckError, echo

SEPARATORS = (",", ";", "\t", "|")
_SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "'|'"}


def read_csv(path: str) -> pd.DataFrame:
    """The CSV at ``path`` as a frame with checked, stripped column names.

    Raises
    ------
    FitcheckError
        One line naming the file: not text, empty, no data rows, ragged rows, a column without a
        name or a name used twice.
    """
    text = _decode(Path(path).read_bytes(), path)
    if not text.strip():
        raise FitcheckError(f"{path}: the CSV is empty; it needs a header row and at least one data row")
    separator = _separator(text)
    names = _header(text, separator, path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(io.StringIO(text), sep=separator, header=0, index_col=False)
    except pd.errors.ParserWarning:
        raise FitcheckError(f"{path}: rows have more fields than the {len(names)} of the header (a separator at the "
                            "end of each row?); every row needs as many fields as the header") from None
    except pd.errors.ParserError as error:
        detail = str(error).strip().splitlines()[-1].removeprefix("Error tokenizing data. C error: ")
        raise FitcheckError(f"{path}: ragged rows: {detail[:200]}; every row needs as many fields as the header "
                            f"(read as separated by {_SEPARATOR_NAMES[separator]})") from None
    if frame.empty:
        raise FitcheckError(f"{path}: the CSV has a header but no data rows")
    frame.columns = names
    return frame


def _decode(data: bytes, path: str) -> str:
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if b"\x00" in data and not utf16:
        raise FitcheckError(f"{path}: holds NUL bytes, so it is a binary file (a spreadsheet?); export it as CSV text")
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise FitcheckError(f"{path}: not {'UTF-16' if utf16 else 'UTF-8'} text (byte 0x{data[error.start]:02x} on "
                            f"line {line}); save the CSV as UTF-8, e.g. iconv -f latin1 -t utf-8 (for Latin-1 or "
                            "Windows-1252 files)") from None


def _separator(text: str) -> str:
    """The separator that splits the first non-blank line into the most fields; a comma on a tie."""
    first = next(line for line in text.splitlines() if line.strip())
    fields = {sep: len(next(csv.reader([first], delimiter=sep), [])) for sep in SEPARATORS}
    return max(SEPARATORS, key=lambda sep: (fields[sep], sep == ","))


def _header(text: str, separator: str, path: str) -> list[str]:
    """The header's names without surrounding spaces; refuses empty and repeated names."""
    try:
        first_row = pd.read_csv(io.StringIO(text), sep=separator, header=None, nrows=1, dtype=str,
                                keep_default_na=False)
    except pd.errors.ParserError as error:  # e.g. a quote that is never closed
        detail = str(error).strip().splitlines()[-1].removeprefix("Error tokenizing data. C error: ")
        raise FitcheckError(f"{path}: the header row cannot be read as CSV ({detail[:200]}); check its quotes "
                            "and separators") from None
    names = [str(name).strip() for name in first_row.iloc[0]]
    empty = [position for position, name in enumerate(names, start=1) if not name]
    if empty:
        hint = (" (a row index written by pandas' to_csv? write it with index=False)" if empty[0] == 1 else
                " (a separator at the end of the header?)" if empty[0] == len(names) else "")
        raise FitcheckError(f"{path}: column {empty[0]} of {len(names)} has no name in the header{hint}; "
                            "every column needs a name")
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        where = "; ".join(f"{echo(name)} in columns "
                          + ", ".join(str(i) for i, other in enumerate(names, start=1) if other == name)
                          for name in repeated[:3])
        raise FitcheckError(f"{path}: column name(s) given more than once in the header: {where}; every column "
                            "needs its own name (a repeated target would leak the label into the features)")
    return names
