"""The shape of the house, held by tests: small functions, components known
only through their declarations, one place that resolves the batch, no
reaching into the estimator's private methods (issue 11's figures)."""

import ast
import re
from pathlib import Path

import pytest

import skgd
from skgd import losses, optimizers, penalties, schedules

PACKAGE = Path(skgd.__file__).parent
PYTHON = sorted(PACKAGE.glob("*.py"))
CYTHON = sorted(PACKAGE.glob("*.pyx"))
MAX_LINES, MAX_PARAMETERS = 200, 15

# The modules of the built-in components and the classes each defines.
COMPONENT_MODULES = {
    m.__name__.split(".")[-1]: m for m in (losses, optimizers, penalties, schedules)
}
BUILT_IN = {
    name: module_name
    for module_name, module in COMPONENT_MODULES.items()
    for name in module.__all__
    if isinstance(getattr(module, name), type)
}


def _python_functions():
    for path in PYTHON:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                n = len(args.posonlyargs + args.args + args.kwonlyargs)
                n -= bool(args.args) and args.args[0].arg in ("self", "cls")
                lines = node.end_lineno - node.lineno + 1
                yield f"{path.name}:{node.name}", lines, n


_CYTHON_HEADER = re.compile(r"^(cdef|cpdef|def)\b[^(]*?\b(\w+)\(")


def _cython_functions():
    """Top-level functions of the .pyx files: name, lines and parameters."""
    for path in CYTHON:
        lines = path.read_text().splitlines()
        starts = [i for i, line in enumerate(lines) if _CYTHON_HEADER.match(line)]
        top_level = [
            i for i, line in enumerate(lines) if line and not line[0].isspace()
        ] + [len(lines)]
        for start in starts:
            name = _CYTHON_HEADER.match(lines[start]).group(2)
            # The signature runs to the line that ends with "):" or ":".
            end_sig = start
            while not re.search(
                r"\)\s*(noexcept\s*)?(nogil\s*)?(except[^:]*)?:\s*$", lines[end_sig]
            ):
                end_sig += 1
            signature = " ".join(lines[start : end_sig + 1])
            inside = signature[signature.index("(") + 1 : signature.rindex(")")]
            depth, parts, current = 0, [], ""
            for ch in inside:
                if ch in "([":
                    depth += 1
                elif ch in ")]":
                    depth -= 1
                if ch == "," and depth == 0:
                    parts.append(current)
                    current = ""
                else:
                    current += ch
            parts.append(current)
            n = len([p for p in parts if p.strip()])
            end = next(i for i in top_level if i > end_sig)
            while end > start and not lines[end - 1].strip():
                end -= 1
            yield f"{path.name}:{name}", end - start, n


def test_the_function_parsers_see_every_function():
    names = {name for name, _, _ in _cython_functions()}
    assert {
        "_fast.pyx:epoch",
        "_fast.pyx:_row_epoch",
        "_fast.pyx:_minibatch_epoch",
    } <= names
    assert any(name.endswith(":fit") for name, _, _ in _python_functions())


# The estimators' constructors take one keyword per hyperparameter (the
# scikit-learn convention, SGDClassifier's 21 and skgd's own): the public API.
CONSTRUCTORS = {"_classifier.py:__init__", "_presets.py:__init__"}


@pytest.mark.parametrize("where", ["python", "cython"])
def test_no_function_is_longer_than_200_lines_or_takes_more_than_15(where):
    functions = _python_functions() if where == "python" else _cython_functions()
    too_big = [
        (name, lines, n)
        for name, lines, n in functions
        if lines > MAX_LINES or (n > MAX_PARAMETERS and name not in CONSTRUCTORS)
    ]
    assert not too_big, too_big


def _type_switches(path):
    """isinstance/issubclass/type() tests against built-in component classes."""
    own = path.stem
    tree = ast.parse(path.read_text())

    def names(node):
        if isinstance(node, ast.Tuple):
            return [n for elt in node.elts for n in names(elt)]
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, ast.Attribute):
            return [node.attr]
        return []

    found = []
    for node in ast.walk(tree):
        classes = []
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("isinstance", "issubclass")
        ):
            classes = names(node.args[1])
        elif isinstance(node, ast.Compare) and any(
            isinstance(side, ast.Call)
            and isinstance(side.func, ast.Name)
            and side.func.id == "type"
            for side in [node.left, *node.comparators]
        ):
            classes = [n for side in node.comparators for n in names(side)]
        elif isinstance(node, ast.Dict):
            classes = [n for key in node.keys if key is not None for n in names(key)]
        found += [
            f"{path.name}:{node.lineno} {c}"
            for c in classes
            if c in BUILT_IN and BUILT_IN[c] != own
        ]
    return found


def test_no_type_switch_on_a_built_in_component_outside_its_module():
    switches = [s for path in PYTHON for s in _type_switches(path)]
    assert not switches, switches


def test_the_type_switch_detector_detects():
    sample = PACKAGE.parent / "tests" / "_switch_sample.py"
    sample.write_text(
        "from skgd.optimizers import SGD\n"
        "def f(x):\n"
        "    return isinstance(x, SGD) or type(x) in (SGD,)\n"
    )
    try:
        assert len(_type_switches(sample)) == 2
    finally:
        sample.unlink()


def _private_methods():
    """The private methods the estimator defines itself (skgd's own code)."""
    from skgd._classifier import GDClassifier

    own = {
        name
        for klass in GDClassifier.__mro__
        if klass.__module__.startswith("skgd")
        for name, value in vars(klass).items()
        if name.startswith("_") and not name.startswith("__") and callable(value)
    }
    # scikit-learn's callback machinery is the estimator's too.
    return own | {"_init_callback_context", "_skl_callbacks"}


def test_no_module_calls_the_estimators_private_methods():
    private = _private_methods()
    assert {"_in_memory", "_train", "_validate_input"} <= private
    reaches = []
    for path in PYTHON:
        if path.name in ("_classifier.py", "_presets.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                reaches.append(f"{path.name}:{node.lineno} .{node.attr}")
    assert not reaches, reaches


def test_one_place_resolves_the_batch_size():
    """Below the plan nothing sees "full": in code (not docs) the string
    appears where the parameter is declared and where it is resolved (and
    in the demonstration, ``python -m skgd``, which uses the estimator)."""
    places = []
    for path in PYTHON:
        tree = ast.parse(path.read_text())
        for parent in ast.walk(tree):
            for node in ast.iter_child_nodes(parent):
                if not (isinstance(node, ast.Constant) and node.value == "full"):
                    continue
                declared = isinstance(parent, ast.Set) and path.name == "_classifier.py"
                places.append("declared" if declared else path.name)
    places = [p for p in places if p != "__main__.py"]
    assert sorted(places) == ["_plan.py", "declared"], places
