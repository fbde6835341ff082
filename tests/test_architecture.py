"""The shape the project promises: writers never import one another and never parse Markdown."""

from __future__ import annotations

import ast
from pathlib import Path

from formatforge.formats import BUILTIN_FORMATS

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "formatforge"
FORMATS = PACKAGE / "formats"


def imported_modules(path: Path, package: str | None = None) -> set[str]:
    """Absolute names of every module ``path`` imports; ``package`` is the one it sits in."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    if package is None:
        package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                names.add(module)
                names.update(f"{module}.{alias.name}" for alias in node.names)
            else:
                names.add(node.module or "")
    return names


def writer_of(module: str) -> str | None:
    """The format package a module name belongs to, if any."""
    prefix = "formatforge.formats."
    if module.startswith(prefix):
        return module[len(prefix):].split(".")[0]
    return None


def test_every_builtin_format_has_its_own_module():
    for module in BUILTIN_FORMATS.values():
        assert (FORMATS / f"{module}.py").exists() or (FORMATS / module / "__init__.py").exists(), module


def test_writers_never_import_one_another():
    offenders = []
    for path in FORMATS.rglob("*.py"):
        if path.parent == FORMATS and path.name == "__init__.py":
            continue
        own = path.relative_to(FORMATS).parts[0].removesuffix(".py")
        for module in imported_modules(path):
            other = writer_of(module)
            if other and other != own and other in BUILTIN_FORMATS.values():
                offenders.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offenders == []


def test_only_the_reader_parses_markdown():
    offenders = [
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "reader.py"
        and any(m.split(".")[0] in ("markdown", "markdown_it", "mdit_py_plugins") for m in imported_modules(path))
    ]
    assert offenders == []


def test_the_import_scan_sees_a_sibling_writer_and_markdown(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from .docx import DocxWriter\nfrom ..model import Document\nimport markdown.extensions\n")
    modules = imported_modules(probe, "formatforge.formats")
    assert {writer_of(m) for m in modules} >= {"docx"}
    assert "formatforge.model" in modules and "markdown.extensions" in modules
