"""Reports of a parity sweep: JSON (machine-readable, versions included), Markdown (for a PR
comment) and a self-contained HTML page (the matrix, and the error distribution per framework as
an inline SVG)."""

from __future__ import annotations

import html
import json
import math
import platform
from collections import defaultdict

from convparity.adapters import environment
from convparity.adapters.parity import AGREE, DIVERGENCE, FAIL, UNSUPPORTED, DtypeStats, Sweep
from convparity.adapters.registry import installed_frameworks

STATUS_TEXT = {AGREE: "agree", DIVERGENCE: "known divergence", UNSUPPORTED: "not supported",
               FAIL: "FAIL"}
STATUS_COLOR = {AGREE: "#2e7d32", DIVERGENCE: "#f9a825", UNSUPPORTED: "#9e9e9e", FAIL: "#c62828"}


def row(sweep: Sweep) -> dict:
    api = sweep.api
    return {
        "api": api.id, "direction": sweep.direction, "framework": api.framework,
        "version": api.version, "backend": api.backend_name, "op": api.op,
        "ndim": api.ndim, "status": sweep.status,
        "counts": dict(sweep.counts), "worst_error_over_bound": finite(sweep.worst_ratio),
        "worst_ulps": finite(sweep.worst_ulps),
        "unsupported_reasons": dict(sweep.reasons.most_common(3)),
        "divergences": [d.why for d in sweep.divergences_seen],
        "stale_divergences": [d.when.text for d in sweep.stale],
        "by_dtype": {dtype: dtype_row(sweep, dtype) for dtype in sweep.dtypes},
        "relative_to": sweep.peer,
        "failure": sweep.failure,
        "failing_case": sweep.failing_case.to_dict() if sweep.failing_case else None,
    }


def dtype_row(sweep: Sweep, dtype: str) -> dict:
    stats = sweep.stats_by_dtype.get(dtype, DtypeStats())
    return {"status": sweep.dtype_status(dtype),
            "counts": dict(sweep.by_dtype.get(dtype, {})),
            "worst_error_over_bound": finite(stats.worst_ratio),
            "worst_ulps": finite(stats.worst_ulps),
            "correctly_rounded": stats.correctly_rounded_share if stats.elements else None,
            "worst_error_over_peer": (None if stats.worst_relative is None
                                      else finite(stats.worst_relative))}


def finite(x: float):
    return x if math.isfinite(x) else str(x)


def to_json(sweeps: list[Sweep], settings: dict) -> str:
    return json.dumps({
        "convparity": {"settings": settings, "python": platform.python_version(),
                       "frameworks": installed_frameworks(),
                       "environment": environment.everything(tested_frameworks(sweeps))},
        "results": [row(s) for s in sweeps],
    }, indent=2)


def tested_frameworks(sweeps: list[Sweep]) -> list[str]:
    return sorted({s.api.framework for s in sweeps} & set(installed_frameworks()))


def environment_lines(sweeps: list[Sweep]) -> list[str]:
    """Where these verdicts were seen: the machine, then each framework's build facts."""
    lines = [f"Machine: {environment.describe()}."]
    for name in tested_frameworks(sweeps):
        facts = ", ".join(f"{k}={v}" for k, v in environment.framework_facts(name).items())
        lines.append(f"{name}: {facts}.")
    return lines


def cell(sweep: Sweep) -> str:
    """The status with the worst error as a fraction of the bound and in ulps."""
    text = STATUS_TEXT[sweep.status]
    if sweep.status in (AGREE, DIVERGENCE) and sweep.ratios:
        text += f" ({sweep.worst_ratio:.2g} of bound, {sweep.worst_ulps:.3g} ulp)"
    if sweep.status == UNSUPPORTED and sweep.reasons:
        text += f": {sweep.reasons.most_common(1)[0][0]}"
    return text


def per_dtype(sweep: Sweep) -> str:
    """Each dtype's verdict, where it agreed with its worst error as a fraction of the bound, the
    share of correctly rounded outputs and the worst error relative to the peer framework's:
    "bfloat16 fail · float16 agree (0.31 of bound, 99.8% rounded right, 1.2x torch)"."""
    parts = []
    for dtype in sweep.dtypes:
        status = sweep.dtype_status(dtype)
        text = f"{dtype} {STATUS_TEXT[status]}"
        stats = sweep.stats_by_dtype.get(dtype)
        if status == AGREE and stats:
            details = [f"{stats.worst_ratio:.2g} of bound",
                       f"{100 * stats.correctly_rounded_share:.4g}% rounded right"]
            if stats.worst_relative is not None:
                details.append(f"{stats.worst_relative:.2g}x {sweep.peer}")
            text += f" ({', '.join(details)})"
        parts.append(text)
    return " · ".join(parts)


def tooltip(sweep: Sweep) -> str:
    """The cell, the counts, and the divergences seen (their explanations)."""
    counts = ", ".join(f"{k}: {v}" for k, v in sweep.counts.items())
    seen = " | ".join(d.describe() for d in sweep.divergences_seen)
    return (f"{cell(sweep)} [{counts}] per dtype: {per_dtype(sweep)}"
            + (f" Known divergences: {seen}" if seen else ""))


def to_markdown(sweeps: list[Sweep], settings: dict) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in installed_frameworks().items())
    lines = [f"### convparity: {summary(sweeps)}", "", f"Frameworks: {versions}. "
             f"Examples per API: {settings.get('examples')}.", "",
             *(f"{line}  " for line in environment_lines(sweeps)), "",
             "| op | API | backend | result | per dtype | agree / divergence / unsupported |",
             "|---|---|---|---|---|---|"]
    for s in sweeps:
        c = s.counts
        lines.append(f"| {s.api.op} {s.api.ndim}-D | `{s.label}` | {s.api.backend_name} | "
                     f"{cell(s)} | {per_dtype(s)} | "
                     f"{c[AGREE]} / {c[DIVERGENCE]} / {c[UNSUPPORTED]} |")
    for s in sweeps:
        if s.status == FAIL:
            lines += ["", f"<details><summary>{s.label}</summary>", "", "```",
                      s.failure or "stale divergences: " + ", ".join(d.when.text for d in s.stale),
                      "```", "</details>"]
    return "\n".join(lines) + "\n"


def summary(sweeps: list[Sweep]) -> str:
    counts = defaultdict(int)
    for s in sweeps:
        counts[s.status] += 1
    return ", ".join(f"{counts[k]} {STATUS_TEXT[k]}" for k in (AGREE, DIVERGENCE, UNSUPPORTED,
                                                              FAIL) if counts[k])


def histogram_svg(sweeps: list[Sweep], width: int = 520, height: int = 140) -> str:
    """Per framework, the distribution of the worst error per agreeing case as a fraction of its
    bound, on a log axis from 1e-6 to 1 (errors of exactly 0 in the leftmost bin)."""
    by_framework = defaultdict(list)
    for s in sweeps:
        by_framework[s.api.framework].extend(s.ratios)
    bins = 13
    parts = []
    for framework, ratios in sorted(by_framework.items()):
        counts = [0] * bins
        for r in ratios:
            position = 0 if r <= 1e-6 else min(bins - 1, int((math.log10(r) + 6) * 2) + 1)
            counts[position] += 1
        peak = max(counts) or 1
        bar = (width - 40) / bins
        rects = "".join(
            f'<rect x="{30 + i * bar:.1f}" y="{height - 25 - (height - 45) * c / peak:.1f}" '
            f'width="{bar - 2:.1f}" height="{(height - 45) * c / peak:.1f}" fill="#1565c0">'
            f"<title>{c} cases</title></rect>" for i, c in enumerate(counts))
        parts.append(
            f'<figure><figcaption>{html.escape(framework)}: {len(ratios)} agreeing cases, worst '
            f"error / bound (log scale; 0 at the left, 1 at the right)</figcaption>"
            f'<svg width="{width}" height="{height}" role="img">{rects}'
            f'<line x1="30" y1="{height - 25}" x2="{width - 10}" y2="{height - 25}" '
            f'stroke="#333"/><text x="30" y="{height - 8}" font-size="11">0</text>'
            f'<text x="{width - 40}" y="{height - 8}" font-size="11">1</text></svg></figure>')
    return "\n".join(parts)


def columns(sweeps: list[Sweep]) -> list[tuple[str, str]]:
    """The matrix's columns: each framework, and beside its eager column each compiled backend
    it ran under."""
    return sorted({(s.api.framework, s.api.backend) for s in sweeps})


def to_html(sweeps: list[Sweep], settings: dict) -> str:
    frameworks = columns(sweeps)
    ops = sorted({(s.api.op, s.api.ndim) for s in sweeps})
    grid = defaultdict(list)
    for s in sweeps:
        grid[(s.api.op, s.api.ndim), (s.api.framework, s.api.backend)].append(s)
    header = "".join(
        f"<th>{html.escape(f)} {html.escape(installed_frameworks().get(f, ''))}<br>"
        f"<small>{html.escape(backend or 'eager')}</small></th>" for f, backend in frameworks)
    body = []
    for op in ops:
        cells = []
        for f in frameworks:
            items = "".join(
                f'<div class="api {s.status}" style="background:{STATUS_COLOR[s.status]}" '
                f'title="{html.escape(tooltip(s))}">{html.escape(s.label)}<br>'
                f"<small>{html.escape(cell(s))}</small></div>" for s in grid[op, f])
            cells.append(f"<td>{items}</td>")
        body.append(f"<tr><th>{op[0]} {op[1]}-D</th>{''.join(cells)}</tr>")
    environment_items = "".join(f"<li>{html.escape(line)}</li>"
                                for line in environment_lines(sweeps))
    failures = "".join(f"<h3>{html.escape(s.label)}</h3><pre>{html.escape(s.failure)}</pre>"
                       for s in sweeps if s.status == FAIL and s.failure)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>convparity report</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px; vertical-align: top; }}
.api {{ color: white; margin: 2px; padding: 3px 6px; border-radius: 3px; font-size: 12px; }}
pre {{ background: #f5f5f5; padding: 8px; overflow-x: auto; }}
</style></head><body>
<h1>convparity: {html.escape(summary(sweeps))}</h1>
<p>Examples per API: {settings.get('examples')}; seed: {settings.get('seed')}.</p>
<ul id="environment">{environment_items}</ul>
<table id="matrix"><tr><th>op</th>{header}</tr>
{"".join(body)}
</table>
<h2>Error distribution</h2>
{histogram_svg(sweeps)}
{f"<h2>Failures</h2>{failures}" if failures else ""}
</body></html>
"""


WRITERS = {".json": to_json, ".md": to_markdown, ".html": to_html}


def write(path: str, sweeps: list[Sweep], settings: dict) -> None:
    suffix = path[path.rfind("."):].lower() if "." in path else ""
    if suffix not in WRITERS:
        raise ValueError(f"--report={path!r}: expected a .json, .md or .html path")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(WRITERS[suffix](sweeps, settings))
