"""WordprocessingML element names and the small element helpers every part of the Word build uses.

The body is built with lxml's ``SubElement`` and these Clark names: python-docx's proxies and
``qn()`` cost more than the rest of the build on a long document. Elements made under a part's
root still get python-docx's element classes, so its oxml helpers work on them. No XML is ever
made by joining strings of user text.
"""

from __future__ import annotations

import re

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from lxml.etree import SubElement

W_P, W_PPR, W_PSTYLE, W_R, W_RPR, W_RSTYLE, W_B, W_I, W_T, W_BR = (
    qn(f"w:{name}") for name in ("p", "pPr", "pStyle", "r", "rPr", "rStyle", "b", "i", "t", "br"))
W_IND, W_JC, W_NUMPR, W_ILVL, W_NUMID, W_PBDR, W_TOP, W_SPACING, W_CONTEXTUAL_SPACING = (
    qn(f"w:{name}") for name in ("ind", "jc", "numPr", "ilvl", "numId", "pBdr", "top", "spacing",
                                  "contextualSpacing"))
W_HYPERLINK, W_BOOKMARK_START, W_BOOKMARK_END, W_FOOTNOTE_REFERENCE, W_FLD_CHAR, W_INSTR_TEXT = (
    qn(f"w:{name}") for name in ("hyperlink", "bookmarkStart", "bookmarkEnd", "footnoteReference",
                                  "fldChar", "instrText"))
W_TR, W_TC, W_TRPR, W_TBL_HEADER, W_SECTPR, W_SDT_CONTENT = (
    qn(f"w:{name}") for name in ("tr", "tc", "trPr", "tblHeader", "sectPr", "sdtContent"))
W_ABSTRACT_NUM_ID, W_LVL_OVERRIDE, W_START_OVERRIDE, W_NUM_ID_MAC_AT_CLEANUP = (
    qn(f"w:{name}") for name in ("abstractNumId", "lvlOverride", "startOverride", "numIdMacAtCleanup"))
W_VAL, W_ID, W_NAME, W_LEFT, W_AFTER, W_ANCHOR, W_HISTORY, W_TOOLTIP, W_FLD_CHAR_TYPE = (
    qn(f"w:{name}") for name in ("val", "id", "name", "left", "after", "anchor", "history", "tooltip",
                                  "fldCharType"))
W_NUM_ID_ATTRIBUTE, W_ILVL_ATTRIBUTE, W_SZ, W_SPACE, W_COLOR = (
    qn(f"w:{name}") for name in ("numId", "ilvl", "sz", "space", "color"))
W_STYLE, W_NAME_ELEMENT = qn("w:style"), qn("w:name")
W_LINE, W_LINE_RULE, W_CANT_SPLIT, W_RIGHT, W_BOTTOM, W_KEEP_NEXT, W_BEFORE, W_STRIKE, W_LANG = (
    qn(f"w:{name}") for name in ("line", "lineRule", "cantSplit", "right", "bottom", "keepNext", "before",
                                  "strike", "lang"))
R_ID = qn("r:id")
XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def element(tag: str, **attributes: str):
    node = OxmlElement(tag)
    for key, value in attributes.items():
        node.set(qn(key.replace("_", ":", 1)), value)
    return node


def set_child(parent, tag: str, successors: tuple[str, ...] = (), **attributes: str):
    """Replace child ``tag`` of ``parent``, keeping schema order by inserting before successors."""
    for old in parent.findall(qn(tag)):
        parent.remove(old)
    node = element(tag, **attributes)
    for successor in successors:
        found = parent.find(qn(successor))
        if found is not None:
            found.addprevious(node)
            return node
    parent.append(node)
    return node


def complex_field(parent, instruction: str, cached: str) -> None:
    """A complex field (PAGE, TOC …) with a cached result Word replaces when it updates."""
    for kind in ("begin", None, "separate", cached, "end"):
        run = element("w:r")
        if kind in ("begin", "separate", "end"):
            run.append(element("w:fldChar", w_fldCharType=kind))
        elif kind is None:
            instr = element("w:instrText")
            instr.set(XML_SPACE, "preserve")
            instr.text = f" {instruction} "
            run.append(instr)
        else:
            text = element("w:t")
            text.text = kind
            run.append(text)
        parent.append(run)


_WHITESPACE = re.compile(r"\s+")


def plain(text: str) -> str:
    # Source line breaks and runs of spaces are layout, not content (D9).
    if text.isprintable() and "  " not in text:
        # Most text: its only whitespace (ASCII space is the one printable kind) is single
        # spaces already, and this test is several times cheaper than the substitution.
        return text
    return _WHITESPACE.sub(" ", text)


def add_text(r, text: str) -> None:
    """One w:t; python-docx's text setter handles tabs and breaks a character at a time,
    and plain() has already turned those into spaces."""
    t = SubElement(r, W_T)
    t.text = text
    if text != text.strip():
        t.set(XML_SPACE, "preserve")


def run_prototype(style_id: str | None, bold: bool, italic: bool, content: str | None, strike: bool = False):
    r = element("w:r")
    if style_id or bold or italic or strike:
        rpr = SubElement(r, W_RPR)
        if style_id:
            SubElement(rpr, W_RSTYLE, {W_VAL: style_id})
        if bold:
            SubElement(rpr, W_B)
        if italic:
            SubElement(rpr, W_I)
        if strike:
            SubElement(rpr, W_STRIKE)
    if content:
        SubElement(r, content)
    return r


def text_run(parent, text: str) -> None:
    add_text(SubElement(parent, W_R), text)


_PPR_ORDER = ("w:pStyle", "w:keepNext", "w:keepLines", "w:pageBreakBefore", "w:framePr", "w:widowControl",
              "w:numPr", "w:suppressLineNumbers", "w:pBdr", "w:shd", "w:tabs", "w:suppressAutoHyphens",
              "w:kinsoku", "w:wordWrap", "w:overflowPunct", "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN",
              "w:bidi", "w:adjustRightInd", "w:snapToGrid", "w:spacing", "w:ind", "w:contextualSpacing",
              "w:mirrorIndents", "w:suppressOverlap", "w:jc", "w:textDirection", "w:textAlignment",
              "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange")
_PPR_RANK = {qn(tag): rank for rank, tag in enumerate(_PPR_ORDER)}


def add_ppr_child(p, tag: str, attributes: dict[str, str] | None = None):
    """A new child of p's w:pPr (made first in p if missing), placed in schema order."""
    ppr = p[0] if len(p) and p[0].tag == W_PPR else None
    if ppr is None:
        ppr = SubElement(p, W_PPR)
        p.insert(0, ppr)
    rank = _PPR_RANK[tag]
    successor = next((child for child in ppr if _PPR_RANK.get(child.tag, len(_PPR_RANK)) > rank), None)
    child = SubElement(ppr, tag, attributes or {})
    if successor is not None:
        successor.addprevious(child)
    return child
