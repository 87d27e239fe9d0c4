"""scikit-learn's own tests of SGDClassifier, run with skgd swapped in.

The drop-in promise (``from skgd import GDClassifier as SGDClassifier``)
held to the tests scikit-learn wrote for its own class. A pytest plugin
assigns a subclass of :class:`skgd.GDClassifier` to
``sklearn.linear_model.SGDClassifier`` before any test module is imported
(so ``from sklearn.linear_model import SGDClassifier`` gets it too), and
counts the instances each test makes: a test *exercises the class* if it
makes one. Nothing is downloaded: the test files ship inside scikit-learn.

Two parts:

* ``sklearn/linear_model/tests/test_sgd.py``: every test that exercises the
  class, passed or not, and why not;
* the other modules whose tests use SGDClassifier as a component
  (multiclass, calibration, model selection, feature selection, ...): each
  exercised test's outcome with the swap next to its outcome with
  scikit-learn's own class, run on the same node ids.

Usage: ``python benchmarks/sgd_suite.py [--json out.json]`` (a few minutes).
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from pathlib import Path

SGD_TESTS = "sklearn.linear_model.tests.test_sgd"
#: Other test modules that build SGDClassifier (scikit-learn 1.9).
COMPONENT_TESTS = (
    "sklearn.tests.test_multiclass",
    "sklearn.tests.test_multioutput",
    "sklearn.tests.test_calibration",
    "sklearn.feature_selection.tests.test_from_model",
    "sklearn.model_selection.tests.test_search",
    "sklearn.model_selection.tests.test_validation",
    "sklearn.linear_model.tests.test_logistic",
    "sklearn.linear_model.tests.test_passive_aggressive",
)

# The plugin pytest loads first (``-p skgd_swap``): the swap, and a record of
# each test's outcome and of how many instances of the swapped class it made.
PLUGIN = textwrap.dedent(
    '''
    import json
    import os

    import sklearn.linear_model

    import skgd

    MADE = [0]
    RECORD = {}
    # Node ids with the test file's absolute path, which a later run can
    # take as arguments wherever it starts.
    WHERE = {}


    class GDClassifier(skgd.GDClassifier):
        """skgd's class, counting its instances (its parameters unchanged)."""

        def __new__(cls, *args, **kwargs):
            MADE[0] += 1
            return super().__new__(cls)


    if os.environ["SKGD_SWAP"] == "1":
        sklearn.linear_model.SGDClassifier = GDClassifier


    def pytest_collection_modifyitems(items):
        for item in items:
            name = item.nodeid.split("::", 1)[1]
            WHERE[item.nodeid] = f"{item.path}::{name}"


    def pytest_runtest_setup(item):
        MADE[0] = 0


    def pytest_runtest_logreport(report):
        nodeid = WHERE.get(report.nodeid, report.nodeid)
        entry = RECORD.setdefault(nodeid, {"outcome": "passed"})
        if report.when == "call" and hasattr(report, "wasxfail"):
            entry["outcome"] = "xpassed" if report.passed else "xfailed"
        elif report.failed:
            entry["outcome"] = "failed" if report.when == "call" else "error"
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message if crash else str(report.longrepr)
            entry["reason"] = message.strip().splitlines()[0][:300]
        elif report.skipped and entry["outcome"] == "passed":
            entry["outcome"] = "skipped"
        if report.when == "teardown":
            entry["made"] = MADE[0]


    def pytest_sessionfinish(session):
        with open(os.environ["SKGD_SWAP_RECORD"], "w") as f:
            json.dump(RECORD, f)
    '''
)


def _run(args, swap, workdir, keyword=None):
    """pytest on ``args`` (modules or node ids, ``-k keyword``); the
    plugin's record."""
    record = Path(workdir) / f"record-{swap}.json"
    env = dict(
        os.environ,
        SKGD_SWAP="1" if swap else "0",
        SKGD_SWAP_RECORD=str(record),
        PYTHONPATH=os.pathsep.join([workdir, os.environ.get("PYTHONPATH", "")]),
    )
    command = [sys.executable, "-m", "pytest", "-p", "skgd_swap", "-q"]
    command += ["-p", "no:cacheprovider", "-W", "ignore"]
    if keyword:
        command += ["-k", keyword]
    if "::" not in args[0]:
        command.append("--pyargs")
    command += args
    subprocess.run(command, env=env, cwd=workdir, stdout=subprocess.DEVNULL)
    return json.loads(record.read_text())


def _module_of(nodeid):
    return nodeid.split("::")[0]


def run(keyword=None, components=COMPONENT_TESTS):
    """Both parts' records: ``{"test_sgd": ..., "components": ...}``
    (``keyword``: only the tests pytest's ``-k`` selects)."""
    with tempfile.TemporaryDirectory() as workdir:
        (Path(workdir) / "skgd_swap.py").write_text(PLUGIN)
        sgd = _run([SGD_TESTS], True, workdir, keyword)
        swapped = _run(list(components), True, workdir, keyword)
        exercised = sorted(k for k, v in swapped.items() if v.get("made"))
        own = _run(exercised, False, workdir) if exercised else {}
    sgd = {k: v for k, v in sgd.items() if v.get("made")}
    components = {
        k: {"swapped": swapped[k], "own": own.get(k, {"outcome": "not run"})}
        for k in exercised
    }
    return {"test_sgd": sgd, "components": components}


def report(results):
    """The figures, as text."""
    sgd = results["test_sgd"]
    counts = Counter(v["outcome"] for v in sgd.values())
    lines = [
        f"test_sgd.py: {len(sgd)} tests exercise the class; "
        + ", ".join(f"{n} {k}" for k, n in counts.most_common()),
        "",
    ]
    for nodeid, v in sorted(sgd.items()):
        if v["outcome"] in ("failed", "error"):
            name = nodeid.split("::", 1)[1]
            lines.append(f"  {v['outcome']}: {name}\n      {v.get('reason', '')}")
    comp = results["components"]
    by_module = Counter(_module_of(k) for k in comp)
    same = Counter(
        _module_of(k)
        for k, v in comp.items()
        if v["swapped"]["outcome"] == v["own"]["outcome"]
    )
    lines += ["", "Other modules: tests that make the class, same outcome as unswapped"]
    for module, n in sorted(by_module.items()):
        lines.append(f"  {Path(module).name}: {same[module]} of {n}")
    for nodeid, v in sorted(comp.items()):
        if v["swapped"]["outcome"] != v["own"]["outcome"]:
            lines.append(
                f"  differs: {nodeid.split('::', 1)[1]}: {v['swapped']['outcome']} "
                f"(own: {v['own']['outcome']})\n      {v['swapped'].get('reason', '')}"
            )
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", help="also write the records here")
    args = parser.parse_args()
    if importlib.util.find_spec(SGD_TESTS) is None:
        sys.exit("scikit-learn's test files are not installed with it")
    results = run()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    print(report(results))


if __name__ == "__main__":
    main()
