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


# The layers, lowest first: a module may import its own layer and the ones before it, never a
# later one (a shared renderer that imported a writer, or a writer that imported the build,
# would turn the one-way flow model → shared → formats → build → cli into a knot).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("formatforge", "formatforge.errors", "formatforge.model", "formatforge.characters",
                    "formatforge.hashing", "formatforge.labels", "formatforge.progress",
                    "formatforge.reproducible_zip", "formatforge.options")),
    ("reading", ("formatforge.front_matter", "formatforge.reader", "formatforge.source_rules")),
    ("shared", ("formatforge.shared",)),
    ("formats", ("formatforge.formats",)),
    ("checks", ("formatforge.checks",)),
    ("pipeline", ("formatforge.cache_folder", "formatforge.build", "formatforge.library", "formatforge.download_page",
                  "formatforge.publish", "formatforge.validate", "formatforge.watch", "formatforge.preview")),
    ("cli", ("formatforge.cli", "formatforge.__main__")),
]


def layer_of(module: str) -> int | None:
    """The index in LAYERS of the longest prefix naming ``module`` (or the module it is an
    attribute of, for ``from . import __version__``)."""
    while module:
        for index, (_, modules) in enumerate(LAYERS):
            if module in modules or any(module.startswith(m + ".") for m in modules if m != "formatforge"):
                return index
        module = module.rpartition(".")[0]
    return None


def module_name(path: Path) -> tuple[str, str]:
    """(the module's dotted name, the package it sits in) for a file under src/."""
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def layer_violations(modules) -> list[str]:
    """``modules``: (file, dotted name, package) for each module to check."""
    found = []
    for path, name, package in modules:
        own = layer_of(name)
        assert own is not None, f"{name} is in no layer: add it to LAYERS in tests/test_architecture.py"
        for module in imported_modules(path, package):
            if not module.startswith("formatforge"):
                continue
            theirs = layer_of(module)
            assert theirs is not None, f"{name} imports {module}, which is in no layer"
            if theirs > own:
                found.append(f"{name} ({LAYERS[own][0]}) imports {module} ({LAYERS[theirs][0]})")
    return found


def test_every_module_imports_only_its_own_layer_or_lower():
    assert layer_violations((p, *module_name(p)) for p in sorted(PACKAGE.rglob("*.py"))) == []


def test_the_layer_check_sees_a_shared_module_importing_a_writer(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("from ..formats.docx import DocxWriter\nfrom ..model import Document\nimport formatforge.cli\n")
    found = layer_violations([(probe, "formatforge.shared.probe", "formatforge.shared")])
    assert sorted(found) == [
        "formatforge.shared.probe (shared) imports formatforge.cli (cli)",
        "formatforge.shared.probe (shared) imports formatforge.formats.docx (formats)",
        "formatforge.shared.probe (shared) imports formatforge.formats.docx.DocxWriter (formats)",
    ]


def test_speech_writers_share_a_base_in_formats_not_in_shared():
    # The shared speech package must not know the Writer class: that was the inverted layer.
    assert not (PACKAGE / "shared" / "speech" / "writer.py").exists()
    assert all(writer_of(m) is None or not m.startswith("formatforge.formats")
               for p in (PACKAGE / "shared").rglob("*.py") for m in imported_modules(p, module_name(p)[1]))


LONG_MODULE = 600  # lines; issue 19: a module longer than this says why in its docstring


def long_modules_without_a_reason(paths) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > LONG_MODULE and "Why one module" not in (ast.get_docstring(ast.parse(text)) or ""):
            found.append(f"{path.relative_to(PACKAGE) if path.is_relative_to(PACKAGE) else path.name}: "
                         f"{text.count(chr(10))} lines")
    return found


def test_every_long_module_says_why_it_is_one_module():
    assert long_modules_without_a_reason(sorted(PACKAGE.rglob("*.py"))) == []


def test_the_length_check_sees_a_long_module_without_a_reason(tmp_path):
    long = tmp_path / "long.py"
    long.write_text('"""A module."""\n' + "x = 1\n" * (LONG_MODULE + 1))
    assert long_modules_without_a_reason([long]) == [f"long.py: {LONG_MODULE + 2} lines"]


# ---------------------------------------------------------------- no import circles


def module_graph(files) -> dict[str, set[str]]:
    """Which of the package's modules each one imports, from the same ast scan: imports
    inside functions and under ``if TYPE_CHECKING:`` count too (a circle the type checker
    or a later call walks into is still a knot for the reader). ``files``: (path, dotted
    name, package). ``from . import x`` is an edge to ``x``, not to the package."""
    files = list(files)
    known = {name for _, name, _ in files}

    def resolve(module: str) -> str | None:
        while module and module not in known:
            module = module.rpartition(".")[0]
        return module or None

    graph: dict[str, set[str]] = {}
    for path, name, package in files:
        edges = graph.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else resolve(base)
                           for alias in node.names]
            else:
                continue
            edges.update(target for target in targets if target and target != name)
    return graph


def import_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def test_no_import_circles_in_the_package():
    graph = module_graph((p, *module_name(p)) for p in sorted(PACKAGE.rglob("*.py")))
    assert "formatforge.shared.speech.layout" in graph["formatforge.shared.speech.sections"]  # the scan sees edges
    assert import_circles(graph) == []


def test_the_circle_check_sees_a_circle_through_a_function_and_type_checking(tmp_path):
    """The probe: narration.py ↔ sections.py as they were (a module-level import one way,
    an import inside a TYPE_CHECKING block the other), and a third module reached only
    from inside a function."""
    (tmp_path / "narration.py").write_text("from .sections import encode\n")
    (tmp_path / "sections.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .narration import Narration\n"
        "def later():\n    from . import worker\n")
    (tmp_path / "worker.py").write_text("def serve():\n    from .sections import later\n")
    (tmp_path / "alone.py").write_text("from . import narration\n")
    files = [(tmp_path / f"{stem}.py", f"formatforge.shared.speech.{stem}", "formatforge.shared.speech")
             for stem in ("narration", "sections", "worker", "alone")]
    assert import_circles(module_graph(files)) == [["formatforge.shared.speech.narration",
                                                    "formatforge.shared.speech.sections",
                                                    "formatforge.shared.speech.worker"]]
