"""QR codes for authenticator enrolment, drawn on the server as inline SVG (no JavaScript, no data: URI)."""

import qrcode
import qrcode.image.svg
from django.utils.html import format_html


def qr_svg(data: str, *, label: str, pixels_per_module: int = 5) -> str:
    """An accessible ``<svg>`` for ``data``.

    The path comes from qrcode's SVG path image; the wrapper is ours so it carries a text
    alternative, a white quiet zone (the page background is grey, which some cameras read poorly)
    and its size as attributes rather than a ``style`` (blocked by the Content-Security-Policy).
    """
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, border=4)
    modules = image.pixel_size // image.box_size
    path = next(child for child in image.get_image() if child.get("d"))
    size = modules * pixels_per_module
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="mynhs-qr" width="{size}" height="{size}" '
        'viewBox="0 0 {modules} {modules}" role="img" aria-label="{label}" focusable="false">'
        '<rect width="{modules}" height="{modules}" fill="#ffffff"/>'
        '<path d="{d}" fill="#000000"/></svg>',
        size=size, modules=modules, label=label, d=path.get("d"),
    )
