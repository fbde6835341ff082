"""The RELAX NG schemas shipped in ``formatforge/schemas`` (DAISY 2.02 and PEF 2008-1),
compiled once per process.

libxml2 does not know the RELAX NG DTD-compatibility datatype library that the DAISY
schemas use for ID/IDREF, so, as schemas/README.md says, they are compiled from a
temporary copy in which that library is swapped for XML Schema's datatypes (duplicate
ids are still reported). The shipped files stay byte-identical to upstream.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from lxml import etree

from . import SAFE_PARSER

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"
DTD_COMPATIBILITY_DATATYPES = b"http://relaxng.org/ns/compatibility/datatypes/1.0"
XML_SCHEMA_DATATYPES = b"http://www.w3.org/2001/XMLSchema-datatypes"

DAISY_NCC = "daisy202/d202ncc.rng"
DAISY_SMIL = "daisy202/d202smil.rng"
PEF = "pef/pef-2008-1.rng"


@functools.cache
def relaxng(relative: str) -> etree.RelaxNG:
    """The compiled schema at ``relative`` inside the schemas folder, includes resolved."""
    with tempfile.TemporaryDirectory(prefix="formatforge-schemas-") as folder:
        copy = Path(folder)
        for source in SCHEMAS.rglob("*.rng"):
            target = copy / source.relative_to(SCHEMAS)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes().replace(DTD_COMPATIBILITY_DATATYPES, XML_SCHEMA_DATATYPES))
        # libxml2 reads the includes while compiling, so the copy may go once this returns.
        return etree.RelaxNG(etree.parse(str(copy / relative), SAFE_PARSER))


def schema_errors(schema: etree.RelaxNG, tree: etree._ElementTree) -> list[str]:
    if schema.validate(tree):
        return []
    return [f"line {error.line}: {error.message}" for error in schema.error_log]
