"""Byte-identical files run to run: the clock never reaches an output.

Word files carry the time in ``docProps/core.xml`` and in every zip entry; SPSS .sav files in
their header. Both get a fixed time: ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention,
seconds since 1970 UTC) when it is set, else a constant.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import zipfile
from pathlib import Path

from surveykit.errors import InputFileError

#: the time written when SOURCE_DATE_EPOCH is not set
DEFAULT_TIME = dt.datetime(2000, 1, 1, 0, 0, 0)
_SAV_DATE_OFFSET = 92  # $FL2 header: rec_type 4 + product 60 + 5 int32 + bias 8
_SAV_TIME_OFFSET = 101
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def fixed_time() -> dt.datetime:
    """``SOURCE_DATE_EPOCH`` as a naive UTC datetime, else :data:`DEFAULT_TIME`."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw:
        try:
            return dt.datetime.fromtimestamp(int(raw), tz=dt.UTC).replace(tzinfo=None)
        except (ValueError, OverflowError, OSError):
            raise InputFileError("SOURCE_DATE_EPOCH must be whole seconds since 1970",
                                 values=[raw[:40]]) from None
    return DEFAULT_TIME


def pin_sav_header(path: str | Path, when: dt.datetime | None = None) -> None:
    """Overwrite the creation date/time of an SPSS .sav/.zsav header (``dd Mon yy``,
    ``hh:mm:ss``) with ``when`` (default :func:`fixed_time`)."""
    when = fixed_time() if when is None else when
    date = f"{when.day:02d} {_MONTHS[when.month - 1]} {when.year % 100:02d}".encode("ascii")
    clock = f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}".encode("ascii")
    with open(path, "r+b") as fh:
        head = fh.read(_SAV_TIME_OFFSET + 8)
        if head[:4] not in (b"$FL2", b"$FL3"):
            raise InputFileError("not an SPSS .sav file (no $FL2 header)", file=str(path))
        fh.seek(_SAV_DATE_OFFSET)
        fh.write(date)
        fh.seek(_SAV_TIME_OFFSET)
        fh.write(clock)


def pin_zip_times(path: str | Path, when: dt.datetime | None = None) -> None:
    """Rewrite a zip (a .docx) with every entry's time set to ``when`` (default
    :func:`fixed_time`; zip times start in 1980), entries and bytes otherwise unchanged."""
    when = fixed_time() if when is None else when
    stamp = max(when, dt.datetime(1980, 1, 1)).timetuple()[:6]
    path = Path(path)
    tmp = path.with_name(path.name + ".zip-tmp")
    try:
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w") as dst:
            for info in src.infolist():
                new = zipfile.ZipInfo(info.filename, date_time=stamp)
                new.compress_type = info.compress_type
                new.external_attr = 0o600 << 16
                new.create_system = 3
                dst.writestr(new, src.read(info.filename))
        shutil.move(str(tmp), str(path))
    finally:
        if tmp.exists():
            tmp.unlink()
