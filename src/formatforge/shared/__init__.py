"""Code that two or more writers share, below ``formatforge.formats``.

Each module here serves one family of formats: ``xhtml`` (the XHTML that EPUB, HTML and DAISY
use), ``xhtml_sentences`` (the same XHTML cut into timed sentences for DAISY and the read-aloud
EPUB), ``epub_package`` (the EPUB container for the two EPUB editions), ``word`` (the Word
document for the docx, large-print and PDF editions), ``libreoffice`` (running LibreOffice, for
the PDF export) and ``speech`` (the narration that the audio, DAISY and read-aloud editions
speak). Nothing here imports a writer, the build or
the command line: the layers run model → shared → formats → build → cli, and
``tests/test_architecture.py`` pins them.
"""
