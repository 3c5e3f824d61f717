"""Conditions over facts, as data files write them (a divergence's ``when``): parsed and checked
when the file loads, then evaluated by walking the tree, never ``eval``-ed.

The language is a Python expression of: names of facts, numbers, strings, tuples and lists of
them; ``and``/``or``/``not``; comparisons (``== != < <= > >= in not in``); unary minus;
indexing with an integer (``kernel[-1]``); and calls of ``any all min max len``::

    dtype == 'bfloat16' and onednn_amx and strided
    min(same_totals) <= -2 and padding == 'same'
"""

from __future__ import annotations

import ast
import operator
from dataclasses import dataclass

FUNCTIONS = {"any": any, "all": all, "min": min, "max": max, "len": len}
COMPARISONS = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}


@dataclass(frozen=True)
class Condition:
    """A parsed condition; ``holds(facts)`` evaluates it over a ``{name: value}`` table."""

    text: str
    tree: ast.expr
    names: frozenset

    def holds(self, facts: dict) -> bool:
        return bool(_evaluate(self.tree, facts))


def parse(text: str, known_names) -> Condition:
    """Parse ``text``; ``ValueError`` names the first unknown name or construct it finds."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"when={text!r}: expected a non-empty condition")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        raise ValueError(f"when={text!r}: not a condition ({error.msg})") from None
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if node.id not in known_names and node.id not in FUNCTIONS:
                raise ValueError(f"when={text!r}: unknown name {node.id!r}; expected one of "
                                 f"{', '.join(sorted(known_names))}")
            names.add(node.id)
        elif isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS) or node.keywords:
                raise ValueError(f"when={text!r}: only {', '.join(FUNCTIONS)} may be called")
        elif isinstance(node, ast.Subscript):
            if not _is_integer(node.slice):
                raise ValueError(f"when={text!r}: index with an integer only")
        elif isinstance(node, ast.Constant):
            if not isinstance(node.value, (int, float, str, bool)):
                raise ValueError(f"when={text!r}: constant {node.value!r} is not allowed")
        elif not isinstance(node, ALLOWED):
            raise ValueError(f"when={text!r}: {type(node).__name__} is not allowed")
    return Condition(text, tree, frozenset(names))


def _is_integer(node) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) is int


ALLOWED = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.Compare,
           ast.Tuple, ast.List, ast.Load, ast.Call, ast.Name, ast.Subscript, ast.Constant,
           *COMPARISONS)


def _evaluate(node, facts):
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return FUNCTIONS[node.id] if node.id in FUNCTIONS and node.id not in facts \
            else facts[node.id]
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            return all(_evaluate(v, facts) for v in node.values)
        return any(_evaluate(v, facts) for v in node.values)
    if isinstance(node, ast.UnaryOp):
        value = _evaluate(node.operand, facts)
        return (not value) if isinstance(node.op, ast.Not) else -value
    if isinstance(node, ast.Compare):
        left = _evaluate(node.left, facts)
        for op, right_node in zip(node.ops, node.comparators):
            right = _evaluate(right_node, facts)
            if not COMPARISONS[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, (ast.Tuple, ast.List)):
        return tuple(_evaluate(e, facts) for e in node.elts)
    if isinstance(node, ast.Subscript):
        return _evaluate(node.value, facts)[_evaluate(node.slice, facts)]
    if isinstance(node, ast.Call):
        return _evaluate(node.func, facts)(*(_evaluate(a, facts) for a in node.args))
    raise AssertionError(f"unchecked node {type(node).__name__}")  # parse() refuses it
