"""``convparity gallery``: the tutorials' kernels (blur, sharpen, outline, Sobel) and 2x2 max,
min and mean pooling applied to a real photograph, each engine's output beside the oracle's,
with an error map of the output positions where it differs — one self-contained HTML page.

The photograph is scikit-image's ``camera`` (CC0, Lav Varshney), shipped inside its wheel:
nothing is downloaded. Its pixels 0-255 and the kernels' taps are exact in float32, so an
engine's output agrees with the oracle's to its derived bound, and a mapping bug (padding at
the other end, a flipped kernel) shows as a shape on the map: a stripe along one edge.
"""

from __future__ import annotations

import base64
import html
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from convparity.adapters.api import Api, Unsupported
from convparity.reference.case import Case
from convparity.reference.compare import compare
from convparity.reference.tolerance import expectation

# The seed tutorial's filters (setosa.io's), and the Sobel operator along x.
KERNELS = {
    "blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]]),
    "outline": np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]),
    "sobel": np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]),
}
POOLS = {"2x2 max pooling": "max_pool", "2x2 min pooling": "min_pool",
         "2x2 mean pooling": "avg_pool"}
MISMATCH, WITHIN, EXACT = (211, 47, 47), (200, 230, 201), (245, 245, 245)


def photograph(size: int = 128) -> np.ndarray:
    """scikit-image's ``camera`` (512 x 512, grey), every ``512 // size``-th pixel, float32."""
    try:
        from skimage import data
    except ImportError:
        raise RuntimeError("the gallery's photograph is scikit-image's camera: pip install "
                           "'convparity[images]'") from None
    step = max(1, 512 // size)
    return np.ascontiguousarray(data.camera()[::step, ::step]).astype(np.float32)


def gallery_cases(image: np.ndarray) -> list[tuple[str, Case]]:
    """Each filter as a 'same'-padded 2-D conv of the photograph (1 image, 1 channel), each
    pool with a 2x2 window and stride; channels_first (see :func:`as_expressible`)."""
    x = image[None, None]
    found = [(name, Case("conv", x, kernel[None, None].astype(np.float32), padding="same"))
             for name, kernel in KERNELS.items()]
    found += [(name, Case(op, x, kernel_size=2)) for name, op in POOLS.items()]
    return found


def as_expressible(api: Api, case: Case) -> Case:
    """``case`` in the layout ``api`` can run (one channel: the same image either way), else
    as it is (the API then says why not)."""
    if api.why_not(case) is None:
        return case
    other = case.replace(input=np.ascontiguousarray(np.moveaxis(case.input, 1, -1)),
                         data_format="channels_last")
    return other if api.why_not(other) is None else case


@dataclass(frozen=True)
class Panel:
    """One engine's output for a case: the values, the map of positions past its bound, or
    why it did not run."""

    api_id: str
    output: np.ndarray | None = None
    mismatched: np.ndarray | None = None
    exact: np.ndarray | None = None
    error: str = ""


def panel(api: Api, case: Case) -> Panel:
    """``api`` run on ``case`` (in the layout it can run) and judged against the oracle."""
    case = as_expressible(api, case)
    try:
        actual = api.run(case)
    except Unsupported as reason:
        return Panel(api.id, error=str(reason))
    except Exception as error:  # noqa: BLE001 - the page shows what the engine raised
        return Panel(api.id, error=f"raised {type(error).__name__}: {error}")
    expected, bound = expectation(case, api.numerics_for(case))
    found = compare(actual, expected, bound, case.dtype)
    return Panel(api.id, plane(np.asarray(actual, dtype=np.float64)), plane(found.mismatched),
                 plane(found.error == 0))


def png(pixels: np.ndarray) -> bytes:
    """An 8-bit grey (2-D) or RGB (H x W x 3) array as a PNG file."""
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = pixels.shape[:2]
    color = 2 if pixels.ndim == 3 else 0
    rows = b"".join(b"\0" + row.tobytes() for row in pixels)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, color, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def grey(values: np.ndarray) -> np.ndarray:
    """Values scaled to 0-255 over their finite range (NaN black)."""
    finite = values[np.isfinite(values)]
    low, high = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    scaled = (np.nan_to_num(values, nan=low, posinf=high, neginf=low) - low) / (high - low or 1)
    return np.round(255 * np.clip(scaled, 0, 1))


def error_map(mismatched: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Red where the output is past its bound, green where within it but not bit-equal, light
    grey where bit-equal (an RGB image)."""
    out = np.empty((*mismatched.shape, 3))
    out[...] = WITHIN
    out[exact] = EXACT
    out[mismatched] = MISMATCH
    return out


def image_tag(pixels: np.ndarray, alt: str, scale: int = 2) -> str:
    height, width = pixels.shape[:2]
    data = base64.b64encode(png(pixels)).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}" '
            f'width="{width * scale}" height="{height * scale}" '
            f'style="image-rendering: pixelated">')


def plane(values: np.ndarray) -> np.ndarray:
    """The one image of a (1, 1, H, W) or (1, H, W, 1) output."""
    return values.reshape(values.shape[1:3] if values.shape[-1] == 1 else values.shape[-2:])


def render(image: np.ndarray, rows: Iterable[tuple[str, Case, list[Panel]]]) -> str:
    """The page: the photograph, then per case the oracle's output and each engine's, each with
    its error map."""
    sections = []
    for name, case, panels in rows:
        cells = [f'<figure><figcaption>oracle (convparity.reference)</figcaption>'
                 f"{image_tag(grey(plane(case.expected())), 'oracle')}</figure>"]
        for p in panels:
            if p.output is None:
                continue
            wrong = int(p.mismatched.sum())
            verdict = (f'<span class="fail">{wrong} of {p.mismatched.size} positions past the '
                       f"bound</span>" if wrong else '<span class="agree">agrees</span>')
            cells.append(
                f"<figure><figcaption>{html.escape(p.api_id)}: {verdict}</figcaption>"
                f"{image_tag(grey(p.output), p.api_id)}"
                f"{image_tag(error_map(p.mismatched, p.exact), 'error map')}"
                f"</figure>")
        skipped = "".join(f"<li>{html.escape(p.api_id)}: {html.escape(p.error)}</li>"
                          for p in panels if p.output is None)
        sections.append(f"<section><h2>{html.escape(name)}</h2>"
                        f"<p><code>{html.escape(case.call_repr())}</code></p>"
                        f'<div class="row">{"".join(cells)}</div>'
                        + (f'<ul class="skipped">{skipped}</ul>' if skipped else "")
                        + "</section>")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>convparity gallery</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }}
.row {{ display: flex; flex-wrap: wrap; gap: 1em; }}
figure {{ margin: 0; }} figcaption {{ font-size: 12px; max-width: 260px; }}
figure img {{ display: block; margin-top: 4px; }}
.fail {{ color: #b71c1c; font-weight: bold; }} .agree {{ color: #2e7d32; }}
.skipped {{ font-size: 12px; color: #777; }}
</style></head><body>
<h1>convparity gallery</h1>
<p>The tutorials' kernels and pools on scikit-image's <em>camera</em> photograph (CC0). Under
each engine's output, its error map: <span class="fail">red</span> where it is past the error
bound derived for it, green where within it, grey where bit-equal to the oracle.</p>
{image_tag(image, 'the photograph')}
{"".join(sections)}
</body></html>
"""


def gallery(apis: Iterable[Api], size: int = 128, only: Iterable[str] = ()) -> str:
    """The page for ``apis`` (each runs the cases of its op and rank 2 it can express), of the
    cases named in ``only`` (default: all)."""
    image = photograph(size)
    apis, only = list(apis), set(only)
    rows = []
    for name, case in gallery_cases(image):
        if only and name not in only:
            continue
        chosen = [api for api in apis if api.op == case.op and api.ndim == 2]
        rows.append((name, case, [panel(api, case) for api in chosen]))
    return render(image, rows)
