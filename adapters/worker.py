"""A worker process for :mod:`convparity.adapters.backends`: started with a backend's variables
set (read by the framework at import), it reads ``{"api": id, "case": {...}}`` lines on stdin and
answers each on stdout with one line, ``convparity-worker:{"output": ...}`` or ``{"error": ...}``.
"""

from __future__ import annotations

import json
import sys
import warnings

from convparity.adapters.api import to_numpy
from convparity.adapters.backends import REPLY
from convparity.adapters.registry import get_api
from convparity.reference.case import Case, array_to_dict


def answer(request: dict) -> dict:
    try:
        api, case = get_api(request["api"]), Case.from_dict(request["case"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return {"output": array_to_dict(to_numpy(api.call(case)))}
    except Exception as error:  # the framework's own error is the answer
        text = str(error).strip().splitlines()
        return {"error": f"{type(error).__name__}: {text[0] if text else ''}"}


def main() -> None:
    for line in sys.stdin:
        if line.strip():
            sys.stdout.write(REPLY + json.dumps(answer(json.loads(line))) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
