"""Hostile text in, inert text out: labels and names made safe for a terminal, Markdown and XML.

A value label is data from someone else's file. Printed raw, ``\\x1b[2J`` clears the user's
screen and a bidi override reorders what they read; in a Word file a control character is not
valid XML (lxml refuses it); in Markdown a run of backticks closes a code fence. These helpers
make such text inert without losing what it says (escapes are visible).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

# C0 controls except tab and newline, DEL, C1 controls, and the Unicode bidi / isolate
# controls (Trojan-source reordering) and line/paragraph separators
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# characters XML 1.0 cannot hold at all (python-docx/lxml raise ValueError on them)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def _escape(m: re.Match[str]) -> str:
    ch = m.group(0)
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: Any, *, newlines: bool = True) -> str:
    """``text`` with control characters shown as escapes (``\\x1b``), never sent raw.

    ``newlines=False`` escapes newlines too (for one line of a table or repr); tabs stay."""
    s = str(text)
    return (_UNSAFE if newlines else _UNSAFE_LINE).sub(_escape, s)


def xml_safe(text: Any, *, what: str | None = None) -> str:
    """``text`` without the characters XML 1.0 cannot hold (for Word/.docx), with a warning
    naming ``what`` (the label) when something was removed."""
    s = str(text)
    clean = _XML_INVALID.sub("", s)
    if clean != s:
        shown = terminal_safe(s.strip(), newlines=False)
        if len(shown) > 80:
            shown = shown[:77] + "..."
        warnings.warn(f"{what or 'text'} '{shown}': removed {len(s) - len(clean)} character(s) "
                      "that a Word document cannot hold (control characters)",
                      UserWarning, stacklevel=3)
    return clean


def code_fence(body: str, info: str = "text") -> str:
    """``body`` in a Markdown code fence that nothing inside can close (CommonMark: the fence
    is longer than the longest run of backticks in the body)."""
    runs = [len(r) for r in re.findall(r"`+", body)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    return f"{fence}{info}\n{body}\n{fence}\n"


def one_line_name(value: Any) -> bool:
    """True when ``value`` is a non-empty string usable as an identifier in a document: no
    control characters (newlines included) and no backticks."""
    return (isinstance(value, str) and bool(value.strip()) and "`" not in value
            and _UNSAFE_LINE.search(value) is None)
