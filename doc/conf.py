"""Sphinx configuration of skgd's documentation.

The build needs no network: there is no intersphinx (references to NumPy or
scikit-learn objects render as plain code), the theme is configured without
remote resources, and the gallery runs the examples on data that ships with
scikit-learn. MathJax is loaded by the reader's browser, not by the build.

Build with ``python -m sphinx -W --keep-going -b html doc doc/_build/html``.
"""

import os

# The examples and the plots of the gallery run without a display.
os.environ.setdefault("MPLBACKEND", "Agg")
import matplotlib  # noqa: E402

matplotlib.use("Agg")

import skgd  # noqa: E402

# -- Project ------------------------------------------------------------------

project = "skgd"
author = "skgd developers"
copyright = "skgd developers"
release = skgd.__version__
version = ".".join(release.split(".")[:2])

# -- General ------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
default_role = "literal"
# Every cross-reference must resolve, apart from names of other projects
# (NumPy, SciPy, scikit-learn, joblib, the standard library): without
# intersphinx they have no target here and render as code.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|np|scipy|sklearn|joblib|matplotlib)(\..*)?"),
    (r"py:.*", r"(array-like|sparse matrix|ndarray|callable|optional)"),
    (r"py:.*", r"(int|float|str|bool|dict|list|tuple|None|object|type)"),
]

# -- autodoc, autosummary and numpydoc ----------------------------------------

autosummary_generate = True
autodoc_member_order = "bysource"
# numpydoc lists the members on the page already made by autodoc: no second
# table of the same methods.
numpydoc_show_class_members = False
numpydoc_xref_param_type = False

# -- HTML ---------------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skgd {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"quick_start": [], "migration": []}
html_static_path = []
html_show_sourcelink = True

# -- Gallery ------------------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Run every plot_*.py (the default pattern would too, spelled out so that a
    # renamed example does not silently stop running).
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "image_scrapers": ("matplotlib",),
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    # Link names in the examples' code to the API pages of this site only.
    "doc_module": ("skgd",),
    "reference_url": {"skgd": None},
    "backreferences_dir": "generated/backreferences",
    "min_reported_time": 1,
}


def _skip_routing_setters(app, what, name, obj, skip, options):
    """Leave out scikit-learn's ``set_{method}_request`` methods.

    scikit-learn attaches them to every estimator class for its metadata
    routing; they are documented by scikit-learn, and their docstrings refer
    to scikit-learn's glossary, which this site does not have.
    """
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_routing_setters)
