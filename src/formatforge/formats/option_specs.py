"""The options of the built-in writers, declared once (see ``formatforge.options``).

Each writer class names its tuple here (``Writer.options``); the command line makes its
flags from ``BUILTIN_OPTIONS`` without importing a writer. A test checks the two agree.
"""

from __future__ import annotations

from ..options import Option
from ..shared.speech.options import SPEECH_OPTIONS

LARGE_PRINT_OPTIONS: tuple[Option, ...] = (
    # UKAAF G003: 16 pt at least, 18 pt by default.
    Option("large_print.size", float, 18.0, "Large print body size in points.", minimum=16, maximum=48,
           flags=("--point-size",)),
)

EPUB_OPTIONS: tuple[Option, ...] = (
    Option("epub.split_level", int, None, "Heading level the EPUB is split into documents at "
           "(default: the level the book is divided at).", minimum=1, maximum=6),
)

BRAILLE_PROFILES = ("ukaaf", "bana")

BRAILLE_OPTIONS: tuple[Option, ...] = (
    Option("braille.grade", int, 2, "Braille grade: 1 uncontracted, 2 contracted.", choices=(1, 2), flags=("--grade",)),
    Option("braille.cells", int, 40, "Braille cells per line.", minimum=12, maximum=100, flags=("--cells",)),
    Option("braille.lines", int, 25, "Braille lines per page.", minimum=5, maximum=100, flags=("--lines",)),
    Option("braille.profile", str, "ukaaf", "Braille layout profile.", choices=BRAILLE_PROFILES, flags=("--profile",)),
    Option("braille.volume_pages", int, 100, "Most braille pages in a volume, preliminary pages included; "
           "0 for one volume.", minimum=0, flags=("--volume-pages",)),
    Option("braille.link_addresses", bool, None, "A link's address after its text when they differ "
           "(default: as the profile says).", flags=("--link-addresses",), off_flags=("--no-link-addresses",)),
    Option("braille.interpoint", bool, False, "Braille on both sides of the paper (PEF duplex).",
           flags=("--interpoint", "--duplex")),
    Option("braille.producer", str, "formatforge", "Who transcribed the book, for the title page."),
    Option("braille.transcription_date", str, None, "When the book was transcribed (ISO date) "
           "(default: the master's date).", metavar="DATE"),
    Option("braille.table", str, None, "liblouis table(s) for braille, comma-separated "
           "(default: from the document language and --grade).", flags=("--braille-table",)),
    Option("braille.line_ending", str, "\r\n", "What ends a line in the BRF file."),
    Option("braille.page_break", str, "\f", "What ends a page in the BRF file."),
)

# Format name → its options, for the command line (which must not import the writers).
BUILTIN_OPTIONS: dict[str, tuple[Option, ...]] = {
    "docx": (),
    "large-print": LARGE_PRINT_OPTIONS,
    "large-print-pdf": LARGE_PRINT_OPTIONS,
    "epub": EPUB_OPTIONS,
    "html": (),
    "braille": BRAILLE_OPTIONS,
    "audio": SPEECH_OPTIONS,
    "daisy": SPEECH_OPTIONS,
    "read-aloud": SPEECH_OPTIONS,
}
