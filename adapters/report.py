"""Reports of a parity sweep: JSON (machine-readable, versions included), Markdown (for a PR
comment) and a self-contained HTML page (the matrix, and the error distribution per framework as
an inline SVG). Each renders a :class:`Report`: rows, one per sweep, as the JSON holds them."""

from __future__ import annotations

import html
import json
import math
import platform
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from packaging.version import InvalidVersion, Version

from convparity.adapters import environment
from convparity.adapters.api import EAGER
from convparity.adapters.parity import AGREE, DIVERGENCE, FAIL, UNSUPPORTED, DtypeStats, Sweep
from convparity.adapters.registry import installed_frameworks

STATUS_TEXT = {AGREE: "agree", DIVERGENCE: "known divergence", UNSUPPORTED: "not supported",
               FAIL: "FAIL"}
STATUS_COLOR = {AGREE: "#2e7d32", DIVERGENCE: "#f9a825", UNSUPPORTED: "#9e9e9e", FAIL: "#c62828"}


HISTOGRAM_BINS = 13  # worst error / bound: 0 (<= 1e-6), then half-decades up to 1


@dataclass
class Report:
    """What the renderers draw: one row per sweep (as :func:`row` writes it), and the header of
    each run the rows came from (its settings, Python, frameworks and environment): one run, or
    several merged (:func:`merge`)."""

    rows: list[dict]
    sources: list[dict] = field(default_factory=list)


def from_sweeps(sweeps: list[Sweep], settings: dict) -> Report:
    """The report of this process's sweeps, with this machine's header."""
    header = {"settings": settings, "python": platform.python_version(),
              "frameworks": installed_frameworks(),
              "environment": environment.everything(tested_frameworks(sweeps))}
    return Report([row(s) for s in sweeps], [header])


def merge(reports: list[Report]) -> Report:
    """Several runs' reports as one (shards of a sweep, cells of a version matrix, pytest-xdist
    workers): their rows in order, and every run's header."""
    return Report([r for each in reports for r in each.rows],
                  [source for each in reports for source in each.sources])


def parse(text: str, name: str) -> Report:
    """A JSON report read back (one run's, or merged), validated: a ``ValueError`` naming
    ``name``, the row and the field that is wrong."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{name}: not JSON ({error})") from None
    if not (isinstance(data, dict) and isinstance(data.get("convparity"), dict)
            and isinstance(data.get("results"), list)):
        raise ValueError(f"{name}: expected a convparity JSON report, an object with "
                         f"'convparity' (the run) and 'results' (a list of rows)")
    header = data["convparity"]
    sources = header.get("sources", [header])
    if not (isinstance(sources, list) and all(isinstance(h, dict) for h in sources)):
        raise ValueError(f"{name}: convparity.sources={sources!r}: expected a list of objects")
    for i, found in enumerate(data["results"]):
        check_row(found, f"{name}: results[{i}]")
    return Report(data["results"], sources)


def read(path: str) -> Report:
    with open(path, encoding="utf-8") as handle:
        return parse(handle.read(), path)


NUMBER = (int, float, str)  # str: "inf" or "nan" (see finite)
ROW_FIELDS = {
    "api": str, "label": str, "direction": str, "framework": str, "version": (str, type(None)),
    "backend": str, "op": str, "ndim": int, "status": str, "counts": dict,
    "worst_error_over_bound": NUMBER, "worst_ulps": NUMBER, "error_histogram": list,
    "unsupported_reasons": dict, "divergences": list, "stale_divergences": list,
    "by_dtype": dict, "relative_to": (str, type(None)), "failure": str}
DTYPE_FIELDS = {"status": str, "counts": dict, "worst_error_over_bound": NUMBER,
                "worst_ulps": NUMBER, "correctly_rounded": (float, int, type(None)),
                "worst_error_over_peer": (*NUMBER, type(None))}


def check_fields(found, fields: dict, where: str) -> None:
    if not isinstance(found, dict):
        raise ValueError(f"{where}: expected an object, got {type(found).__name__}")
    for key, kind in fields.items():
        if key not in found:
            raise ValueError(f"{where}: no {key!r} (a report from an older convparity? run it "
                             f"again)")
        if not isinstance(found[key], kind) or isinstance(found[key], bool):
            names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else
                                                     (kind,)))
            raise ValueError(f"{where}: {key}={found[key]!r}: expected {names}")
    if found["status"] not in STATUS_TEXT:
        raise ValueError(f"{where}: status={found['status']!r}: expected one of "
                         f"{', '.join(STATUS_TEXT)}")
    for key in ("worst_error_over_bound", "worst_ulps"):
        if isinstance(found[key], str) and found[key] not in ("inf", "nan"):
            raise ValueError(f"{where}: {key}={found[key]!r}: expected a number, 'inf' or 'nan'")


def check_row(found, where: str) -> None:
    """One row of a JSON report validated (see :func:`parse`)."""
    check_fields(found, ROW_FIELDS, where)
    histogram_ = found["error_histogram"]
    if len(histogram_) != HISTOGRAM_BINS or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in histogram_):
        raise ValueError(f"{where}: error_histogram={histogram_!r}: expected "
                         f"{HISTOGRAM_BINS} counts")
    for dtype, stats in found["by_dtype"].items():
        check_fields(stats, DTYPE_FIELDS, f"{where}: by_dtype[{dtype!r}]")
    failing_map = found.get("failing_map")
    if failing_map is not None and not (
            isinstance(failing_map, list) and failing_map
            and all(isinstance(line, str) and line and set(line) <= {"0", "1"}
                    and len(line) == len(failing_map[0]) for line in failing_map)):
        raise ValueError(f"{where}: failing_map: expected rows of one length of '0'/'1'")


def row(sweep: Sweep) -> dict:
    api = sweep.api
    return {
        "api": api.id, "label": sweep.label, "direction": sweep.direction,
        "framework": api.framework, "version": api.version, "backend": api.backend_name,
        "op": api.op, "ndim": api.ndim, "status": sweep.status,
        "counts": dict(sweep.counts), "worst_error_over_bound": finite(sweep.worst_ratio),
        "worst_ulps": finite(sweep.worst_ulps),
        "error_histogram": histogram(sweep.ratios),
        "unsupported_reasons": dict(sweep.reasons.most_common(3)),
        "divergences": [d.describe() for d in sweep.divergences_seen],
        "stale_divergences": [d.when.text for d in sweep.stale],
        "by_dtype": {dtype: dtype_row(sweep, dtype) for dtype in sweep.dtypes},
        "relative_to": sweep.peer,
        "failure": sweep.failure,
        "failing_case": sweep.failing_case.to_dict() if sweep.failing_case else None,
        "failing_map": (spatial_map(sweep.failing_map, sweep.failing_case)
                        if sweep.failing_map is not None else None),
    }


def spatial_map(mismatched: np.ndarray, case) -> list[str]:
    """The output positions past the bound as rows of "0"/"1" over the last two spatial dims
    (a position counts if it is past the bound in any batch item, channel or leading dim)."""
    if case.spec.signal:
        spatial = [0, 1]
    elif case.channels_last:
        spatial = list(range(1, mismatched.ndim - 1))
    else:
        spatial = list(range(2, mismatched.ndim))
    kept = spatial[-2:]
    flat = np.atleast_2d(np.any(mismatched, axis=tuple(
        a for a in range(mismatched.ndim) if a not in kept)))
    return ["".join("1" if v else "0" for v in line) for line in flat]


def map_image(rows: list[str]) -> str:
    """A failing case's map as an image: red where past the bound (scaled up to be seen)."""
    from convparity.adapters.gallery import MISMATCH, WITHIN, image_tag

    cells = np.array([[c == "1" for c in line] for line in rows])
    pixels = np.empty((*cells.shape, 3))
    pixels[...] = WITHIN
    pixels[cells] = MISMATCH
    scale = max(2, min(24, 240 // max(cells.shape)))
    return image_tag(pixels, "output positions past the bound", scale=scale)


def dtype_row(sweep: Sweep, dtype: str) -> dict:
    stats = sweep.stats_by_dtype.get(dtype, DtypeStats())
    return {"status": sweep.dtype_status(dtype),
            "counts": dict(sweep.by_dtype.get(dtype, {})),
            "worst_error_over_bound": finite(stats.worst_ratio),
            "worst_ulps": finite(stats.worst_ulps),
            "correctly_rounded": stats.correctly_rounded_share if stats.elements else None,
            "worst_error_over_peer": (None if stats.worst_relative is None
                                      else finite(stats.worst_relative))}


def histogram(ratios) -> list[int]:
    """How many agreeing cases' worst error / bound fall in each bin: 0 (at most 1e-6), then
    half-decades from 1e-6 up, the last holding everything from 10**-0.5 on."""
    counts = [0] * HISTOGRAM_BINS
    for r in ratios:
        position = 0 if r <= 1e-6 else min(HISTOGRAM_BINS - 1, int((math.log10(r) + 6) * 2) + 1)
        counts[position] += 1
    return counts


def finite(x: float):
    return x if math.isfinite(x) else str(x)


def number(x) -> float:
    """A JSON number back from :func:`finite` (``"inf"``, ``"nan"`` as strings)."""
    return float(x)


def to_json(report: Report) -> str:
    header = report.sources[0] if len(report.sources) == 1 else {"sources": report.sources}
    return json.dumps({"convparity": header, "results": report.rows}, indent=2)


def tested_frameworks(sweeps: list[Sweep]) -> list[str]:
    return sorted({s.api.framework for s in sweeps} & set(installed_frameworks()))


def distinct(items) -> list:
    """``items`` without repeats, in order."""
    return list(dict.fromkeys(items))


def environment_lines(report: Report) -> list[str]:
    """Where these verdicts were seen: each run's machine, then each framework's build facts."""
    lines = []
    for source in report.sources:
        found = source.get("environment", {})
        if "machine" in found:
            lines.append(f"Machine: {environment.describe(found['machine'])}.")
        for name, facts in found.get("frameworks", {}).items():
            lines.append(f"{name}: {', '.join(f'{k}={v}' for k, v in facts.items())}.")
    return distinct(lines)


def versions(report: Report) -> dict[str, str]:
    """Each framework's installed version, over every run (several joined by " / ")."""
    found: dict[str, list] = defaultdict(list)
    for source in report.sources:
        for name, version in source.get("frameworks", {}).items():
            found[name].append(version)
    return {name: " / ".join(distinct(v)) for name, v in found.items()}


def setting(report: Report, name: str) -> str:
    """A setting over every run (several distinct values joined by ", ")."""
    return ", ".join(str(v) for v in distinct(source.get("settings", {}).get(name)
                                              for source in report.sources))


def cell(row: dict) -> str:
    """The status with the worst error as a fraction of the bound and in ulps."""
    text = STATUS_TEXT[row["status"]]
    if row["status"] in (AGREE, DIVERGENCE) and sum(row["error_histogram"]):
        text += (f" ({number(row['worst_error_over_bound']):.2g} of bound, "
                 f"{number(row['worst_ulps']):.3g} ulp)")
    if row["status"] == UNSUPPORTED and row["unsupported_reasons"]:
        text += f": {next(iter(row['unsupported_reasons']))}"
    return text


def per_dtype(row: dict) -> str:
    """Each dtype's verdict, where it agreed with its worst error as a fraction of the bound, the
    share of correctly rounded outputs and the worst error relative to the peer framework's:
    "bfloat16 fail · float16 agree (0.31 of bound, 99.8% rounded right, 1.2x torch)"."""
    parts = []
    for dtype, stats in row["by_dtype"].items():
        text = f"{dtype} {STATUS_TEXT[stats['status']]}"
        if stats["status"] == AGREE and stats["correctly_rounded"] is not None:
            details = [f"{number(stats['worst_error_over_bound']):.2g} of bound",
                       f"{100 * stats['correctly_rounded']:.4g}% rounded right"]
            if stats["worst_error_over_peer"] is not None:
                details.append(f"{number(stats['worst_error_over_peer']):.2g}x "
                               f"{row['relative_to']}")
            text += f" ({', '.join(details)})"
        parts.append(text)
    return " · ".join(parts)


def tooltip(row: dict) -> str:
    """The cell, the counts, and the divergences seen (their explanations)."""
    counts = ", ".join(f"{k}: {v}" for k, v in row["counts"].items())
    seen = " | ".join(row["divergences"])
    return (f"{cell(row)} [{counts}] per dtype: {per_dtype(row)}"
            + (f" Known divergences: {seen}" if seen else ""))


def to_markdown(report: Report) -> str:
    found = ", ".join(f"{k} {v}" for k, v in versions(report).items())
    lines = [f"### convparity: {summary(report)}", "", f"Frameworks: {found}. "
             f"Examples per API: {setting(report, 'examples')}.", "",
             *(f"{line}  " for line in environment_lines(report)), "",
             "| op | API | backend | result | per dtype | agree / divergence / unsupported |",
             "|---|---|---|---|---|---|"]
    for r in report.rows:
        c = defaultdict(int, r["counts"])
        lines.append(f"| {r['op']} {r['ndim']}-D | `{r['label']}` | {r['backend']} | "
                     f"{cell(r)} | {per_dtype(r)} | "
                     f"{c[AGREE]} / {c[DIVERGENCE]} / {c[UNSUPPORTED]} |")
    for r in report.rows:
        if r["status"] == FAIL:
            lines += ["", f"<details><summary>{r['label']}</summary>", "", "```",
                      r["failure"] or "stale divergences: " + ", ".join(r["stale_divergences"]),
                      "```", "</details>"]
    return "\n".join(lines) + "\n"


def summary(report: Report) -> str:
    counts = defaultdict(int)
    for r in report.rows:
        counts[r["status"]] += 1
    return ", ".join(f"{counts[k]} {STATUS_TEXT[k]}" for k in (AGREE, DIVERGENCE, UNSUPPORTED,
                                                              FAIL) if counts[k])


def histogram_svg(report: Report, width: int = 520, height: int = 140) -> str:
    """Per framework, the distribution of the worst error per agreeing case as a fraction of its
    bound, on a log axis from 1e-6 to 1 (errors of exactly 0 in the leftmost bin)."""
    by_framework: dict[str, list[int]] = {}
    for r in report.rows:
        total = by_framework.setdefault(r["framework"], [0] * HISTOGRAM_BINS)
        by_framework[r["framework"]] = [a + b for a, b in zip(total, r["error_histogram"])]
    bins = HISTOGRAM_BINS
    parts = []
    for framework, counts in sorted(by_framework.items()):
        peak = max(counts) or 1
        bar = (width - 40) / bins
        rects = "".join(
            f'<rect x="{30 + i * bar:.1f}" y="{height - 25 - (height - 45) * c / peak:.1f}" '
            f'width="{bar - 2:.1f}" height="{(height - 45) * c / peak:.1f}" fill="#1565c0">'
            f"<title>{c} cases</title></rect>" for i, c in enumerate(counts))
        parts.append(
            f'<figure><figcaption>{html.escape(framework)}: {sum(counts)} agreeing cases, worst '
            f"error / bound (log scale; 0 at the left, 1 at the right)</figcaption>"
            f'<svg width="{width}" height="{height}" role="img">{rects}'
            f'<line x1="30" y1="{height - 25}" x2="{width - 10}" y2="{height - 25}" '
            f'stroke="#333"/><text x="30" y="{height - 8}" font-size="11">0</text>'
            f'<text x="{width - 40}" y="{height - 8}" font-size="11">1</text></svg></figure>')
    return "\n".join(parts)


def columns(report: Report) -> list[tuple[str, str, str]]:
    """The matrix's columns: each framework version (several in a merged version matrix), and
    beside its eager column each compiled backend it ran under."""
    return sorted({(r["framework"], r["version"] or "", r["backend"]) for r in report.rows},
                  key=lambda c: (c[0], version_key(c[1]), c[2] != EAGER, c[2]))


def version_key(version: str):
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def to_html(report: Report) -> str:
    frameworks = columns(report)
    ops = sorted({(r["op"], r["ndim"]) for r in report.rows})
    grid = defaultdict(list)
    for r in report.rows:
        grid[(r["op"], r["ndim"]), (r["framework"], r["version"] or "", r["backend"])].append(r)
    header = "".join(
        f"<th>{html.escape(f)} {html.escape(version)}<br>"
        f"<small>{html.escape(backend)}</small></th>" for f, version, backend in frameworks)
    body = []
    for op in ops:
        cells = []
        for f in frameworks:
            items = "".join(
                f'<div class="api {r["status"]}" style="background:{STATUS_COLOR[r["status"]]}" '
                f'title="{html.escape(tooltip(r))}">{html.escape(r["label"])}<br>'
                f"<small>{html.escape(cell(r))}</small></div>" for r in grid[op, f])
            cells.append(f"<td>{items}</td>")
        body.append(f"<tr><th>{op[0]} {op[1]}-D</th>{''.join(cells)}</tr>")
    environment_items = "".join(f"<li>{html.escape(line)}</li>"
                                for line in environment_lines(report))
    failures = "".join(
        f"<h3>{html.escape(r['label'])}</h3>"
        + (f"<figure>{map_image(r['failing_map'])}<figcaption>output positions past the bound "
           f"(red; last two spatial dims, any batch item or channel)</figcaption></figure>"
           if r.get("failing_map") else "")
        + f"<pre>{html.escape(r['failure'])}</pre>"
        for r in report.rows if r["status"] == FAIL and r["failure"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>convparity report</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px; vertical-align: top; }}
.api {{ color: white; margin: 2px; padding: 3px 6px; border-radius: 3px; font-size: 12px; }}
pre {{ background: #f5f5f5; padding: 8px; overflow-x: auto; }}
</style></head><body>
<h1>convparity: {html.escape(summary(report))}</h1>
<p>Examples per API: {setting(report, 'examples')}; seed: {setting(report, 'seed')}.</p>
<ul id="environment">{environment_items}</ul>
<table id="matrix"><tr><th>op</th>{header}</tr>
{"".join(body)}
</table>
<h2>Error distribution</h2>
{histogram_svg(report)}
{f"<h2>Failures</h2>{failures}" if failures else ""}
</body></html>
"""


WRITERS = {".json": to_json, ".md": to_markdown, ".html": to_html}


def write(path: str, report: Report) -> None:
    suffix = path[path.rfind("."):].lower() if "." in path else ""
    if suffix not in WRITERS:
        raise ValueError(f"--report={path!r}: expected a .json, .md or .html path")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(WRITERS[suffix](report))
