"""Checkers that judge a built file on its own, knowing nothing of how it was made.

Each returns ``{rule id: [what is wrong, …]}`` (``Findings``), every rule it knows listed,
so an id with an empty list is a rule that passed. The ids are standards.md's criteria
(D1, L4, B4 …) or, where standards.md gives none, the DAISY 2.02 rule's name.
``formatforge validate`` (validate.py) maps the files of an outputs folder to them; the
tests use them on our outputs and on hand-broken ones.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

Findings = dict[str, list[str]]

# Built files are judged as untrusted input: no DTD, no entities, no network.
SAFE_PARSER = etree.XMLParser(load_dtd=False, no_network=True, resolve_entities=False)


def failing(findings: Findings) -> Findings:
    """Only the rules that found something."""
    return {rule: problems for rule, problems in findings.items() if problems}


def parse_xml(source: Path | bytes) -> etree._ElementTree:
    if isinstance(source, bytes):
        return etree.ElementTree(etree.fromstring(source, SAFE_PARSER))
    return etree.parse(str(source), SAFE_PARSER)
