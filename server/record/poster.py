"""A station's rating poster (PROTOCOL §9, seed 002: on patrol cars and at the front
desk): an A4 page in SVG with the station's name above a QR code of its rating address,
and that address printed under it for those who type it.

The QR code is made by `segno` (error correction M, the usual quiet zone of four
modules); only its modules are drawn here, as one path in millimetres.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

import segno

# A4 portrait, in millimetres.
PAGE_W, PAGE_H = 210, 297
QR_SIZE = 150  # the code's side, quiet zone included
QR_TOP = 62


def _modules_path(url: str) -> tuple[str, int]:
    """The QR code of `url` as segno draws it: its path and its side in modules."""
    code = segno.make(url, error="m")
    side = int(code.symbol_size(border=4)[0])
    svg = code.svg_inline(border=4, scale=1, omitsize=True)
    path = ET.fromstring(svg).find("path")  # inline SVG: no namespace
    if path is None or not path.get("d"):  # segno always draws one path
        raise RuntimeError("segno drew no QR path")
    return str(path.get("d")), side


def rating_poster_svg(station_name: str, url: str) -> str:
    """The printable poster: A4, the station's name, the QR code of `url`, `url` in text."""
    d, side = _modules_path(url)
    left = (PAGE_W - QR_SIZE) / 2
    scale = QR_SIZE / side
    name, address = escape(station_name), escape(url)
    font = "font-family=\"'Noto Sans CJK SC','Source Han Sans SC','Microsoft YaHei',sans-serif\""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" version="1.1"'
        f' width="{PAGE_W}mm" height="{PAGE_H}mm" viewBox="0 0 {PAGE_W} {PAGE_H}">\n'
        f"<title>{name} 群众满意度评价</title>\n"
        f'<rect width="{PAGE_W}" height="{PAGE_H}" fill="#fff"/>\n'
        f'<text x="{PAGE_W / 2}" y="32" text-anchor="middle" font-size="12" font-weight="bold"'
        f" {font}>{name}</text>\n"
        f'<text x="{PAGE_W / 2}" y="48" text-anchor="middle" font-size="8" {font}>'
        "扫码评价我们的出警服务</text>\n"
        f'<g transform="translate({left} {QR_TOP}) scale({scale:.6f})">'
        f'<path d="{d}" stroke="#000" fill="none"/></g>\n'
        f'<text x="{PAGE_W / 2}" y="{QR_TOP + QR_SIZE + 14}" text-anchor="middle" font-size="5"'
        f' font-family="monospace">{address}</text>\n'
        f'<text x="{PAGE_W / 2}" y="{QR_TOP + QR_SIZE + 30}" text-anchor="middle"'
        f' font-size="6" {font}>请输入警情编号和报警电话后四位</text>\n'
        "</svg>\n"
    )
