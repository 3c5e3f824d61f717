"""The ``convparity`` command: the parity sweep over every installed framework API.

    convparity run [--frameworks torch,tensorflow] [--ops conv,max_pool] [--examples 100]
                   [--seed 0] [--report report.html|.md|.json] [--layers]
                   [--relative-to torch|none] [--device cpu|cuda] [--backward]
    convparity frameworks
    convparity support-table [--write README.md]
    convparity repro FILE
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from fnmatch import fnmatch

from convparity.adapters import backends, devices, environment, parity, report
from convparity.adapters.api import BACKENDS, EAGER
from convparity.adapters.registry import (
    ADAPTERS,
    framework_apis,
    get_api,
    installed_frameworks,
)
from convparity.reference.case import OPS, Case
from convparity.reference.layers import LAYERS
from convparity.reference.strategies import layer_cases


def progress(done: int, total: int, label: str, stream=sys.stderr) -> None:
    width = 30
    filled = int(width * done / max(total, 1))
    line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label}"
    if stream.isatty():
        stream.write(f"\r{line[:110]:<110}")
        if done == total:
            stream.write("\n")
    else:
        stream.write(line + "\n")
    stream.flush()


def selected_frameworks(names: str | None) -> list[str]:
    installed = installed_frameworks()
    if not names:
        return list(installed)
    chosen = [n.strip() for n in names.split(",") if n.strip()]
    for name in chosen:
        if name not in ADAPTERS:
            raise SystemExit(f"--frameworks: {name!r} is not one of {', '.join(ADAPTERS)}")
        if name not in installed:
            raise SystemExit(f"--frameworks: {name} is not installed")
    return chosen


def run(args) -> int:
    ops = args.ops.split(",") if args.ops else list(OPS)
    for op in ops:
        if op not in OPS:
            raise SystemExit(f"--ops: {op!r} is not one of {', '.join(OPS)}")
    chosen_backends = args.backends.split(",") if args.backends else None
    for backend in chosen_backends or ():
        if backend not in (EAGER, *BACKENDS):
            raise SystemExit(f"--backends: {backend!r} is not one of "
                             f"{', '.join([EAGER, *BACKENDS])}")
    apis = [api for fw in selected_frameworks(args.frameworks) for api in framework_apis(fw)
            if api.op in ops and (not chosen_backends or api.backend_name in chosen_backends)]
    apis = runnable(apis)
    peer = relative_to(args.relative_to)
    sweeps = []
    start = time.perf_counter()
    if args.layers:  # the layer zoo instead of the op's strategies, for the APIs it reaches
        apis = [api for api in apis if layer_names(api)]
    apis = placed(apis, args.device)
    jobs = [(api, False) for api in apis]
    if args.backward:  # each API's gradients too, beside its forward verdict
        jobs = [(api, backward) for api in apis
                for backward in ((False, True) if api.backward else (False,))]
    for i, (api, backward) in enumerate(jobs):
        progress(i, len(jobs), api.id + (" (backward)" if backward else ""))
        cases = layer_cases(layer_names(api)) if args.layers else None
        sweeps.append(parity.sweep(api, max_examples=args.examples, seed=args.seed,
                                   derandomize=False, raise_on_failure=False, cases=cases,
                                   peer=peer, backward=backward))
    progress(len(jobs), len(jobs), f"done in {time.perf_counter() - start:.0f} s")
    settings = {"examples": args.examples, "seed": args.seed, "ops": ops, "layers": args.layers,
                "relative_to": peer, "device": args.device, "backward": args.backward,
                "frameworks": selected_frameworks(args.frameworks),
                "backends": chosen_backends or "all"}
    written = report.from_sweeps(sweeps, settings)
    print_table(written)
    for s in sweeps:
        if s.status == parity.FAIL:
            print(f"\n--- {s.label} ---\n{s.failure or parity.stale_message(s)}")
    for path in args.report or []:
        report.write(path, written)
        print(f"report written: {path}")
    failed = [s for s in sweeps if s.status == parity.FAIL]
    save_failures(failed, pathlib.Path(args.save_failures))
    return 1 if failed else 0


def runnable(apis) -> list:
    """The APIs that can run on this machine; each backend that cannot is skipped, saying why."""
    kept, skipped = [], {}
    for api in apis:
        reason = api.why_unavailable()
        if reason:
            skipped[(api.framework, api.backend_name)] = reason
        else:
            kept.append(api)
    for (framework, backend), reason in skipped.items():
        print(f"skipped {framework} under {backend}: {reason}")
    return kept


def placed(apis, device: str) -> list:
    """The APIs running on ``device``; each framework that cannot is skipped, saying why."""
    kept, skipped = [], {}
    for api in apis:
        reason = skipped.get(api.framework) or devices.why_unavailable(api.framework, device)
        if reason:
            skipped[api.framework] = reason
        else:
            kept.append(devices.on_device(api, device))
    for framework, reason in skipped.items():
        print(f"skipped {framework} on {device}: {reason}")
    return kept


def relative_to(name: str) -> str | None:
    """The peer framework errors are measured against (``none``: no peer)."""
    if name == "none":
        return None
    if name not in ADAPTERS:
        raise SystemExit(f"--relative-to: {name!r} is not one of {', '.join(ADAPTERS)} or none")
    if name not in installed_frameworks():
        raise SystemExit(f"--relative-to: {name} is not installed")
    return name


def layer_names(api) -> list[str]:
    """The zoo's layers this API computes (its op and rank)."""
    return [layer.name for layer in LAYERS if layer.op == api.op and layer.ndim == api.ndim]


def print_table(written: report.Report) -> None:
    rows = [(f"{r['op']} {r['ndim']}-D", r["label"], report.cell(r)) for r in written.rows]
    widths = [max(len(r[i]) for r in rows + [("op", "API", "result")]) for i in range(2)]
    print(f"{'op':<{widths[0]}}  {'API':<{widths[1]}}  result")
    for op, api, result in rows:
        print(f"{op:<{widths[0]}}  {api:<{widths[1]}}  {result}")
    print(f"\n{report.summary(written)}")


def save_failures(failed, folder: pathlib.Path) -> None:
    for s in failed:
        if s.failing_case is None or s.direction == "backward":  # repro replays forward cases
            continue
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{s.api.id.replace('/', '_')}.json"
        path.write_text(json.dumps({"api": s.api.id, "case": s.failing_case.to_dict()}))
        print(f"failing case saved: {path}  (re-run: convparity repro {path})")


def frameworks(args) -> int:
    installed = installed_frameworks()
    print(f"machine: {environment.describe()}")
    for name in ADAPTERS:
        if name not in installed:
            print(f"{name}: not installed")
            continue
        build = ", ".join(f"{k}={v}" for k, v in environment.framework_facts(name).items())
        print(f"{name} {installed[name]} ({build})")
        apis = framework_apis(name)
        compiled = sorted({api.backend for api in apis} - {""})
        missing = {api.backend: reason for api in apis if (reason := api.why_unavailable())}
        print("  backends: " + ", ".join([EAGER, *(
            f"{b} ({BACKENDS[b]}{': unavailable here, ' + missing[b] if b in missing else ''})"
            for b in compiled)]))
        for api in framework_apis(name):
            limits = "; ".join(limit_text(api, lim, here=True)
                               for lim in api.versioned_limits()) or "no limits"
            print(f"  {api.id:42s} {api.op} {api.ndim}-D: {limits}")
    return 0


def limit_text(api, limit, *, here: bool) -> str:
    """The reason; for a limit the machine decides, so much and (``here``) the probe's word."""
    if not limit.depends_on_machine:
        return limit.reason
    verdict = f"; here: {'yes' if limit.holds_here(api) else 'no'}" if here else ""
    return f"{limit.reason} [depends on CPU/backend{verdict}]"


START, END = "<!-- support-table:start -->", "<!-- support-table:end -->"


def support_table(here: bool = False) -> str:
    """Markdown: every API with what it cannot express and the known divergences, each with the
    framework versions it holds for. Generated from the adapters and divergences.toml; a limit
    the machine decides says so, and with ``here`` what its probe decided on this machine."""
    from convparity.adapters import divergences

    lines = ["| API | op | cannot express (evidence; versions) | known divergences (versions) |",
             "|---|---|---|---|"]
    for framework in ADAPTERS:
        for api in framework_apis(framework):
            limits = "<br>".join(
                f"{limit_text(api, lim, here=here)} ({lim.evidence}; {lim.versions or 'all'})"
                for lim in api.limits) or "—"
            known = "<br>".join(f"{d.why.split(';')[0].split('. ')[0]} (when {d.when.text}; "
                                f"{d.versions or 'all'})"
                                for d in divergences.load()
                                if any(api.id == p or fnmatch(api.id, p) for p in d.api)) or "—"
            lines.append(f"| `{api.id}` | {api.op} {api.ndim}-D | {limits} | {known} |")
    return "\n".join(lines) + "\n"


def support(args) -> int:
    table = support_table(here=not args.write)
    if not args.write:
        print(table, end="")
        return 0
    path = pathlib.Path(args.write)
    text = path.read_text()
    if START not in text or END not in text:
        raise SystemExit(f"{path} has no {START} ... {END} block")
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{table}{END}{after}")
    print(f"support table written into {path}")
    return 0


def merge_reports(args) -> int:
    """One report from several runs' JSON reports (GitHub shards, matrix cells)."""
    try:
        merged = report.merge([report.read(path) for path in args.files])
    except (OSError, ValueError) as error:
        raise SystemExit(f"merge-reports: {error}") from None
    print_table(merged)
    for path in args.report:
        report.write(path, merged)
        print(f"report written: {path}")
    return 1 if any(r["status"] == parity.FAIL for r in merged.rows) else 0


def gallery_page(args) -> int:
    from convparity.adapters import gallery

    apis = [api for fw in selected_frameworks(args.frameworks) for api in framework_apis(fw)
            if api.backend_name == EAGER]
    page = gallery.gallery(runnable(apis), size=args.size)
    pathlib.Path(args.out).write_text(page, encoding="utf-8")
    print(f"gallery written: {args.out}")
    return 0


def repro(args) -> int:
    data = json.loads(pathlib.Path(args.file).read_text())
    api, case = get_api(data["api"]), Case.from_dict(data["case"])
    outcome = parity.check_case(api, case)
    print(f"{api.id} on {case.call_repr()}: {outcome.status}")
    if outcome.divergence is not None:
        print(f"known divergence: {outcome.divergence.describe()}")
    if outcome.detail:
        print(outcome.detail)
    if outcome.status != parity.AGREE:
        print(backends.bisection_text(backends.bisect(api, case)))
    return 1 if outcome.status == parity.FAIL else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="convparity", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="sweep every op over every installed API")
    run_parser.add_argument("--frameworks", help="comma-separated (default: all installed)")
    run_parser.add_argument("--backends", help="comma-separated, of "
                            f"{', '.join([EAGER, *BACKENDS])} (default: all)")
    run_parser.add_argument("--ops", help=f"comma-separated, of {', '.join(OPS)}")
    run_parser.add_argument("--examples", type=int, default=100, help="cases per API")
    run_parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed")
    run_parser.add_argument("--layers", action="store_true",
                            help="sweep real layers (the zoo: real channel counts) instead")
    run_parser.add_argument("--relative-to", default="torch", metavar="FRAMEWORK",
                            help="measure each error also relative to this framework's on the "
                                 "same case (default: torch; none: off)")
    run_parser.add_argument("--backward", action="store_true",
                            help="also check each API's gradients (input, weight, bias) "
                                 "against the oracle's, where its adapter has a backward pass")
    run_parser.add_argument("--device", default="cpu", choices=devices.DEVICES,
                            help="where torch/TensorFlow run (cuda: skipped, saying why, where "
                                 "there is no GPU)")
    run_parser.add_argument("--report", action="append", metavar="PATH",
                            help="write a .json, .md or .html report (repeatable)")
    run_parser.add_argument("--save-failures", default="convparity-failures", metavar="DIR",
                            help="where failing cases are saved for `convparity repro`")
    run_parser.set_defaults(func=run)
    commands.add_parser("frameworks", help="installed frameworks, versions, API limits") \
        .set_defaults(func=frameworks)
    support_parser = commands.add_parser(
        "support-table", help="the Markdown table of what each API supports, in which versions")
    support_parser.add_argument("--write", metavar="FILE",
                                help="replace the table between the support-table markers")
    support_parser.set_defaults(func=support)
    merge_parser = commands.add_parser(
        "merge-reports", help="one report from several runs' JSON reports (shards, matrix cells)")
    merge_parser.add_argument("files", nargs="+", metavar="REPORT.json")
    merge_parser.add_argument("--report", action="append", metavar="PATH", required=True,
                              help="write a .json, .md or .html report (repeatable)")
    merge_parser.set_defaults(func=merge_reports)
    gallery_parser = commands.add_parser(
        "gallery", help="one HTML page: blur/sharpen/outline/Sobel and 2x2 pools on a photograph, "
                        "each engine beside the oracle, with its error map")
    gallery_parser.add_argument("--out", default="convparity-gallery.html", metavar="PATH")
    gallery_parser.add_argument("--frameworks", help="comma-separated (default: all installed)")
    gallery_parser.add_argument("--size", type=int, default=128, choices=(64, 128, 256, 512),
                                help="the photograph's side in pixels")
    gallery_parser.set_defaults(func=gallery_page)
    repro_parser = commands.add_parser("repro", help="re-run a saved failing case")
    repro_parser.add_argument("file")
    repro_parser.set_defaults(func=repro)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
