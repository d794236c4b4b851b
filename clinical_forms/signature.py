"""A drawn signature: the strokes the browser's signature pad recorded, checked and kept as plain numbers.

The pad (static/vendor/signature_pad, driven by static/js/signature.js) is progressive enhancement:
without JavaScript the client signs by typing their name, which is always required. With it, the
strokes come in a hidden field as JSON, [[[x, y], ...], ...] on a PAD_WIDTH x PAD_HEIGHT pad.
Nothing the browser sends is kept as markup or an image: the strokes are parsed, bounded and
rounded here (junk is a form error, never a 500), stored encrypted as canonical JSON, hashed into
the signed document, and drawn again by the server (the PDF, an SVG).
"""

import hashlib
import json
import math

PAD_WIDTH, PAD_HEIGHT = 600, 200
MAX_POSTED_CHARS = 200_000  # the hidden field as posted
MAX_STROKES = 100
MAX_POINTS = 5_000  # all strokes together


class DrawingInvalid(ValueError):
    """The posted drawing is not a list of strokes of points on the pad."""


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise DrawingInvalid("a point is not a pair of numbers")
    return float(value)


def parse_drawing(posted: str) -> str:
    """The canonical JSON of a posted drawing ("" when nothing was drawn); DrawingInvalid for anything else."""
    posted = (posted or "").strip()
    if not posted:
        return ""
    if len(posted) > MAX_POSTED_CHARS:
        raise DrawingInvalid("the drawing is too large")
    try:
        strokes = json.loads(posted)
    except (ValueError, RecursionError):
        raise DrawingInvalid("the drawing is not JSON") from None
    if not isinstance(strokes, list) or len(strokes) > MAX_STROKES:
        raise DrawingInvalid("the drawing is not a list of strokes")
    canonical, total = [], 0
    for stroke in strokes:
        if not isinstance(stroke, list) or not stroke:
            raise DrawingInvalid("a stroke is not a list of points")
        total += len(stroke)
        if total > MAX_POINTS:
            raise DrawingInvalid("the drawing has too many points")
        points = []
        for point in stroke:
            if not isinstance(point, list) or len(point) != 2:
                raise DrawingInvalid("a point is not a pair of numbers")
            x, y = _number(point[0]), _number(point[1])
            if not (0 <= x <= PAD_WIDTH and 0 <= y <= PAD_HEIGHT):
                raise DrawingInvalid("a point is outside the pad")
            points.append([round(x, 1), round(y, 1)])
        canonical.append(points)
    if not canonical:
        return ""
    return json.dumps(canonical, separators=(",", ":"))


def strokes(drawing: str) -> list[list[list[float]]]:
    """The strokes of a stored (canonical) drawing."""
    return json.loads(drawing) if drawing else []


def drawing_sha256(drawing: str) -> str:
    return hashlib.sha256(drawing.encode()).hexdigest()


def drawing_svg(drawing: str) -> str:
    """The drawing as a small SVG document, built from numbers only (nothing posted is copied into it)."""
    lines = []
    for stroke in strokes(drawing):
        if len(stroke) == 1:
            x, y = stroke[0]
            lines.append(f'<circle cx="{x:g}" cy="{y:g}" r="1.5" fill="#000"/>')
        else:
            points = " ".join(f"{x:g},{y:g}" for x, y in stroke)
            lines.append(f'<polyline points="{points}"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {PAD_WIDTH} {PAD_HEIGHT}" '
        f'width="{PAD_WIDTH}" height="{PAD_HEIGHT}"><g fill="none" stroke="#000" stroke-width="2.5" '
        f'stroke-linecap="round" stroke-linejoin="round">{"".join(lines)}</g></svg>'
    )
