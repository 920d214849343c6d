"""The backtest report as PDF, for handing to the bureau: the HTML page laid
out by WeasyPrint (A4 landscape, tables and plots kept whole, page numbers).

Chosen over matplotlib's PdfPages because the report is mostly tables and
text: WeasyPrint lays out the same HTML the browser shows, with CJK text
through fontconfig (Debian `fonts-noto-cjk`), and needs only Pango from the
system (Debian `libpango-1.0-0`, `libpangoft2-1.0-0`); the wheel installs
in about 2 s here. The page's images are inlined, so nothing is fetched.
"""

from __future__ import annotations

from pathlib import Path

from floodwatch.backtest import extra

PRINT_CSS = """
@page { size: A4 landscape; margin: 15mm 12mm 18mm 12mm;
        @bottom-right { content: counter(page) " / " counter(pages); font-size: 8pt; } }
body { max-width: none; margin: 0; font-size: 9pt; }
table { font-size: 8pt; page-break-inside: auto; }
td:nth-child(-n+2) { white-space: nowrap; }  /* a time, 毛坑山塘: whole, not a character a line */
table { width: 100%; }
tr, img { page-break-inside: avoid; }
img { max-width: 100%; }
"""


def write_pdf(page: str, path: Path) -> Path:
    """Render the report's HTML `page` to `path`; return it."""
    import logging

    extra.need(*extra.PDF)  # not installed, or without Pango: says what to install
    from weasyprint import CSS, HTML

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # font subsetting chatter
    HTML(string=page, base_url=str(path.parent)).write_pdf(
        path, stylesheets=[CSS(string=PRINT_CSS)]
    )
    return path
