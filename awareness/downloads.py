"""A printable product as the HTTP answer: the PDF's media type and file name in one place.

The sitreps page and API, the review page and the exercise evaluation answer their PDF through
``pdf_response``. ``awareness.pdf`` (reportlab) is imported when a PDF is asked for, not with every page.
"""

from django.http import HttpResponse

from awareness.documents import PrintDocument


def pdf_response(document: PrintDocument, *, filename: str, inline: bool = False) -> HttpResponse:
    """``document`` laid out as PDF, opened in the browser (``inline``) or downloaded as ``filename``.

    Every product's PDF is one reader's version (its TLP-marked redaction): like every answer to a signed-in
    reader it leaves with ``Cache-Control: private, no-store`` (csoa_portal.middleware.PrivateResponseMiddleware).
    """
    from awareness.pdf import render_pdf

    response = HttpResponse(render_pdf(document), content_type="application/pdf")
    response["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response
