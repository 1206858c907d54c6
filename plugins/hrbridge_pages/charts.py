"""Small inline SVG charts (no scripts, no external assets) for pages and printed reports."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape


def share_bars(points: Sequence[tuple[str, float, str]], *, width: int = 640, height: int = 170,
               label: str = "") -> str:
    """Bars of shares in percent, oldest left: ``points`` are (axis label, share %, tooltip)."""
    if not points:
        return ""
    pad_left, pad_bottom, pad_top = 40, 26, 10
    plot_w, plot_h = width - pad_left - 8, height - pad_bottom - pad_top
    top = max(10.0, max(p[1] for p in points) * 1.15)
    slot = plot_w / len(points)
    bar_w = max(4.0, slot * 0.6)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="{escape(label)}">']
    for tick in (0.0, top / 2, top):
        y = pad_top + plot_h - plot_h * tick / top
        parts.append(f'<line x1="{pad_left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>'
                     f'<text x="{pad_left - 4}" y="{y + 4:.1f}" font-size="10" text-anchor="end" fill="#616e7c">'
                     f"{tick:.0f}%</text>")
    for index, (axis, share, tip) in enumerate(points):
        x = pad_left + index * slot + (slot - bar_w) / 2
        h = plot_h * share / top
        colour = "#b42318" if share > 0 else "#027a48"
        parts.append(f'<rect x="{x:.1f}" y="{pad_top + plot_h - max(h, 1):.1f}" width="{bar_w:.1f}" '
                     f'height="{max(h, 1):.1f}" fill="{colour}"><title>{escape(tip)}</title></rect>')
        if len(points) <= 14:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - 8}" font-size="9" text-anchor="middle" '
                         f'fill="#616e7c">{escape(axis)}</text>')
    parts.append("</svg>")
    return "".join(parts)
