"""Word tables a journal takes (python-docx), shared by ``summary_table`` and model tables.

``style="apa"`` (the default) writes the layout of APA 7 / most social-science journals:

- a **three-line table**: a rule above the header, one below it and one at the bottom of the
  table -- no vertical lines, no cell grid;
- **columns sized to their content** (Times New Roman 10 pt): the first column as wide as its
  longest label (wrapped beyond 3.3 in), number columns as wide as their widest entry; the page
  turns to **landscape** when the table is wider than a portrait page's text block;
- the **header row repeated on every page** (``w:tblHeader``) and rows kept whole
  (``w:cantSplit``);
- **decimal-aligned numbers**: number cells are right-aligned with a right indent that makes
  up for a shorter part after the decimal point (Times' digits all have one width), so
  "1.234", "(0.056)", "12.3 (10.1–14.6)" and "<0.001" line up on the point; the text stays
  exactly as written (no tab characters that would split cells when pasted into a
  spreadsheet; LibreOffice also ignores Word's decimal tab stops);
- a **note** ("*Note.* …") and a **source line** under the table; tables of the synthetic
  replica start with its banner and say so in the note.

``style="grid"`` keeps the plain full-grid table. Documents are written with fixed core
properties (same table, same bytes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from surveykit._atomic import atomic_path
from surveykit._text import xml_safe
from surveykit.errors import InputFileError
from surveykit.provenance import SYNTHETIC_BANNER

FONT = "Times New Roman"
FONT_PT = 10.0
_PAD_PT = 20.0  # left + right cell margins (0.08 in each) and slack
_MIN_COL_PT = 50.0
_MARGINS_PT = 11.5  # python-docx's default cell margins, 0.08 in on each side
_FIRST_MAX_PT = 3.3 * 72
_PORTRAIT_TEXT_PT = 6.5 * 72  # Letter, 1 in margins
_LANDSCAPE_TEXT_PT = 9.0 * 72
_RULE = {"val": "single", "sz": "8", "space": "0", "color": "000000"}  # 1 pt


@dataclass
class WordTable:
    """What a Word table shows: ``header`` (first column's heading first), ``rows`` (text;
    "\\n" stacks two lines in one cell), ``kinds`` per row ("heading"/"group" bold or plain
    label rows, "section" italic title rows, "foot" summary rows; others plain), ``indent``
    per row (first-column indent), a ``title`` (bold), ``subtitle`` (italic, e.g. the
    dependent variable), ``note``, ``source`` and the replica flag."""

    header: list[str]
    rows: list[list[str]]
    kinds: list[str] = field(default_factory=list)
    indent: list[bool] = field(default_factory=list)
    bold: list[bool] = field(default_factory=list)
    title: str | None = None
    subtitle: str | None = None
    note: str | None = None
    source: str | None = None
    synthetic: bool = False


#: advance widths of Times New Roman in em (others: lowercase 0.45, uppercase 0.68)
_EM = {**dict.fromkeys("0123456789*–$#?", 0.5), **dict.fromkeys(" .,:;!|'", 0.25),
       **dict.fromkeys("()[]-/", 0.33), "—": 1.0, "%": 0.83, "<": 0.56, ">": 0.56,
       "=": 0.56, "+": 0.56, "\u2212": 0.56, "†": 0.5}


def _text_pt(text: str, size: float = FONT_PT) -> float:
    """Printed width of ``text`` (its longest line) in points, from Times' advance widths."""
    def one(line: str) -> float:
        return sum(_EM.get(ch, 0.68 if ch.isupper() else 0.45) for ch in line) * size
    return max((one(line) for line in str(text).split("\n")), default=0.0)


def _split_decimal(text: str) -> tuple[str, str]:
    """(part before the first decimal point, the rest) of one line of a number cell."""
    i = text.find(".")
    return (text, "") if i < 0 else (text[:i], text[i:])


def _minus(text: str) -> str:
    """A typographic minus (U+2212) for a leading hyphen of a number: the printed sign, and
    Word does not break a line after it."""
    return "\n".join("\u2212" + x[1:] if x[:1] == "-" and x[1:2].isdigit() else
                     x.replace("[-", "[\u2212").replace(", -", ", \u2212")
                     for x in str(text).split("\n"))


def column_layout(table: WordTable
                  ) -> tuple[list[float], list[tuple[float, float] | None]]:
    """(widths in points, (widest part from the decimal point on, room right of the aligned
    block) in points or None) of each column."""
    ncol = len(table.header)
    widths: list[float] = []
    tabs: list[tuple[float, float] | None] = []
    first = max([_text_pt(table.header[0], FONT_PT)]
                + [_text_pt(r[0]) + (12 if (table.indent[i] if i < len(table.indent) else False)
                                     else 0)
                   for i, r in enumerate(table.rows)
                   if (table.kinds[i] if i < len(table.kinds) else "") != "section"])
    widths.append(min(first, _FIRST_MAX_PT) + _PAD_PT)
    tabs.append(None)
    for j in range(1, ncol):
        left = right = whole = 0.0
        for r in table.rows:
            for line in str(r[j]).split("\n"):
                a, b = _split_decimal(line)
                if b or line == "—":
                    left = max(left, _text_pt(a))
                    right = max(right, _text_pt(b))
                else:  # counts and text: right-aligned at the end of the aligned block
                    whole = max(whole, _text_pt(line))
        left = max(left, whole - right)
        head = _text_pt(table.header[j])
        body = left + right
        if head > body:  # a long heading wraps (before its "(N = ...)") rather than widen
            parts = str(table.header[j]).split(" (")
            head = max(body, *(_text_pt(x) + 4 for x in parts)) if len(parts) > 1 else max(
                body, head / 2 + 6)
        width = max(head, body, _MIN_COL_PT - _PAD_PT) + _PAD_PT
        # the aligned block centred in the text area of the cell (width less its margins)
        edge = (width - _MARGINS_PT - body) / 2  # right-hand room: the block centred
        tabs.append((right, edge))
        widths.append(width)
    return widths, tabs


#: schema order of the children of w:tblPr and w:tcPr (Word rejects out-of-order XML)
_TBLPR_ORDER = ("tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize",
                "tblStyleColBandSize", "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders",
                "shd", "tblLayout", "tblCellMar", "tblLook", "tblCaption", "tblDescription")
_TCPR_ORDER = ("cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap",
               "tcMar", "textDirection", "tcFitText", "vAlign", "hideMark")


def _child(parent: Any, name: str, order: Sequence[str]) -> Any:
    """The ``w:<name>`` child of ``parent``, created at its schema position if absent."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    el = parent.find(qn(f"w:{name}"))
    if el is not None:
        return el
    el = OxmlElement(f"w:{name}")
    later = set(order[order.index(name) + 1:])
    for i, existing in enumerate(parent):
        if existing.tag.split("}")[-1] in later:
            parent.insert(i, el)
            return el
    parent.append(el)
    return el


def _set_borders(pr: Any, tag: str, edges: dict[str, dict[str, str] | None]) -> None:
    """Set the border ``edges`` of a w:tblPr (``tag`` "tblBorders") or w:tcPr
    ("tcBorders"); ``None`` removes an edge (w:val="nil")."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    box = _child(pr, tag, _TBLPR_ORDER if tag == "tblBorders" else _TCPR_ORDER)
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if edge not in edges:
            continue
        el = box.find(qn(f"w:{edge}"))
        if el is None:
            el = OxmlElement(f"w:{edge}")
            box.append(el)
        spec = edges[edge] or {"val": "nil"}
        for k, v in spec.items():
            el.set(qn(f"w:{k}"), v)


def _row_flag(row: Any, tag: str) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tr_pr = row._tr.get_or_add_trPr()
    if tr_pr.find(qn(tag)) is None:
        el = OxmlElement(tag)
        el.set(qn("w:val"), "true")
        tr_pr.append(el)


def _fixed_layout(table: Any, widths: Sequence[float]) -> None:
    from docx.oxml.ns import qn
    from docx.shared import Pt

    tbl_pr = table._tbl.tblPr
    _child(tbl_pr, "tblLayout", _TBLPR_ORDER).set(qn("w:type"), "fixed")
    tbl_w = _child(tbl_pr, "tblW", _TBLPR_ORDER)
    tbl_w.set(qn("w:type"), "dxa")
    tbl_w.set(qn("w:w"), str(round(sum(widths) * 20)))
    grid = table._tbl.tblGrid
    for col, w in zip(grid.findall(qn("w:gridCol")), widths, strict=True):
        col.set(qn("w:w"), str(round(w * 20)))
    for row in table.rows:
        for cell, w in zip(row.cells, widths, strict=True):
            cell.width = Pt(w)


def _cell_text(cell: Any, text: str, *, size: float, bold: bool = False, italic: bool = False,
               tab: tuple[float, float] | None = None, indent: float = 0.0,
               align: Any = None) -> None:
    """Write ``text`` into ``cell``, one paragraph per line; a decimal tab when ``tab``."""
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    lines = str(text).split("\n") if text != "" else [""]
    para = cell.paragraphs[0]
    for i, line in enumerate(lines):
        if i:
            para = cell.add_paragraph()
        fmt = para.paragraph_format
        fmt.space_before = Pt(0)
        fmt.space_after = Pt(0)
        if indent:
            fmt.left_indent = Pt(indent)
        if align is not None:
            para.alignment = align
        if tab is not None and line:
            # decimal alignment by paragraph formatting only (the text stays as written): the
            # line is right-aligned, its right indent making up for a shorter part after the
            # point, so every point of the column falls at one place; counts and text
            # without a point end where the aligned block ends
            right, edge = tab
            rest = _split_decimal(line)[1]
            pad = right - _text_pt(rest) if (rest or line == "—") else 0.0
            para.alignment = WD_ALIGN_PARAGRAPH.RIGHT
            fmt.right_indent = Pt(round(edge + pad, 2))
        run = para.add_run(xml_safe(line, what="label"))
        run.font.size = Pt(size)
        run.font.name = FONT
        run.bold = bold or None
        run.italic = italic or None


def _add_paragraph(document: Any, text: str, *, size: float = FONT_PT, bold: bool = False,
                   italic: bool = False, lead: str | None = None, color: Any = None,
                   space_after: float = 2.0) -> None:
    from docx.shared import Pt

    para = document.add_paragraph()
    para.paragraph_format.space_after = Pt(space_after)
    para.paragraph_format.space_before = Pt(0)
    if lead:
        r = para.add_run(xml_safe(lead, what="title"))
        r.italic = True
        r.font.size = Pt(size)
        r.font.name = FONT
    run = para.add_run(xml_safe(text, what="title" if bold else "note"))
    run.font.size = Pt(size)
    run.font.name = FONT
    run.bold = bold or None
    run.italic = italic or None
    if color is not None:
        run.font.color.rgb = color


def build_document(table: WordTable, style: str = "apa") -> Any:
    """A python-docx Document holding ``table`` in the chosen style (see the module)."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt, RGBColor

    if style not in ("apa", "grid"):
        raise InputFileError(f"unknown Word table style {style!r}", values=[style],
                             hint="use 'apa' (three-line journal table) or 'grid'")
    n = len(table.rows)
    kinds = list(table.kinds) + [""] * (n - len(table.kinds))
    indent = list(table.indent) + [False] * (n - len(table.indent))
    bold = list(table.bold) + [False] * (n - len(table.bold))
    document = docx.Document()
    normal = document.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(FONT_PT)
    widths, tabs = column_layout(table)
    section = document.sections[0]
    if sum(widths) > _PORTRAIT_TEXT_PT and widths[0] - (sum(widths) - _PORTRAIT_TEXT_PT) >= 130:
        widths[0] -= sum(widths) - _PORTRAIT_TEXT_PT  # labels wrap, the page stays portrait
    if sum(widths) > _PORTRAIT_TEXT_PT:  # wider than portrait: turn the page
        section.orientation = WD_ORIENT.LANDSCAPE
        section.page_width, section.page_height = section.page_height, section.page_width
        room = _LANDSCAPE_TEXT_PT
    else:
        room = _PORTRAIT_TEXT_PT
    if sum(widths) > room:  # still too wide: shrink the first column (it wraps)
        widths[0] = max(widths[0] - (sum(widths) - room), 90.0)
    if table.synthetic:
        _add_paragraph(document, SYNTHETIC_BANNER, bold=True, color=RGBColor(0xB2, 0x22, 0x22))
    if table.title:
        _add_paragraph(document, table.title, bold=True)
    if table.subtitle:
        _add_paragraph(document, table.subtitle, italic=True)
    t = document.add_table(rows=1 + n, cols=len(table.header))
    t.alignment = WD_TABLE_ALIGNMENT.LEFT
    if style == "grid":
        t.style = "Table Grid"
    else:
        _set_borders(t._tbl.tblPr, "tblBorders", {"top": _RULE, "bottom": _RULE, "left": None,
                                              "right": None, "insideH": None, "insideV": None})
    _fixed_layout(t, widths)
    head = t.rows[0]
    _row_flag(head, "w:tblHeader")
    for j, (cell, name) in enumerate(zip(head.cells, table.header, strict=True)):
        _cell_text(cell, name, size=FONT_PT, bold=style == "grid",
                   align=WD_ALIGN_PARAGRAPH.LEFT if j == 0 else WD_ALIGN_PARAGRAPH.CENTER)
        if style == "apa":
            _set_borders(cell._tc.get_or_add_tcPr(), "tcBorders", {"top": _RULE,
                                                                    "bottom": _RULE})
    for i, values in enumerate(table.rows):
        row = t.rows[i + 1]
        _row_flag(row, "w:cantSplit")
        kind = kinds[i]
        cells = row.cells
        if kind in ("section", "group") and style == "apa":
            merged = cells[0].merge(cells[-1])
            _cell_text(merged, values[0], size=FONT_PT, italic=kind == "section")
            continue
        for j, (cell, value) in enumerate(zip(cells, values, strict=True)):
            if j == 0:
                _cell_text(cell, value, size=FONT_PT, bold=bold[i] or kind == "heading",
                           italic=kind == "section", indent=12.0 if indent[i] else 0.0)
            elif style == "apa":
                _cell_text(cell, _minus(value), size=FONT_PT, tab=tabs[j])
            else:
                _cell_text(cell, value, size=FONT_PT, align=WD_ALIGN_PARAGRAPH.RIGHT)
    if table.note:
        _add_paragraph(document, " " + table.note, size=FONT_PT - 1, lead="Note.",
                       space_after=0)
    if table.source:
        _add_paragraph(document, table.source, size=FONT_PT - 1)
    return document


def save_docx(document: Any, path: str | Path) -> Path:
    """Save atomically (:func:`surveykit._atomic.atomic_path`) with fixed core properties
    (no clock, no user name): same table, same bytes."""
    from surveykit._reproducible import fixed_time, pin_zip_times

    when = fixed_time()  # SOURCE_DATE_EPOCH, else a constant: never the clock
    props = document.core_properties
    props.author = "surveykit"
    props.last_modified_by = "surveykit"
    props.created = when
    props.modified = when
    props.revision = 1
    out = Path(path)
    try:
        with atomic_path(out) as tmp:
            document.save(str(tmp))
            pin_zip_times(tmp, when)  # zip entries carry the clock too
    except OSError as exc:
        raise InputFileError(f"cannot write the Word file ({exc.strerror or exc})",
                             file=str(out)) from exc
    return out


def write_docx(table: WordTable, path: str | Path, style: str = "apa") -> Path:
    """Write ``table`` to ``path`` as a Word document (see the module docstring)."""
    return save_docx(build_document(table, style), path)
