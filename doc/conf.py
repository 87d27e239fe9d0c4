"""Sphinx configuration of skgd's documentation.

The build needs no network: there is no intersphinx (references to NumPy or
scikit-learn objects render as plain code), the theme is configured without
remote resources, and the gallery and the figures of the guide (matplotlib's
plot directive) run on data that ships with scikit-learn. The pages need no
network either: MathJax is copied into the site (sphinx-mathjax-offline), so
formulas render offline.

Build with ``python -m sphinx -W --keep-going -b html doc doc/_build/html``.
"""

import os
import re

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
    # Serves MathJax from the site's _static/ instead of a CDN.
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "matplotlib.sphinxext.plot_directive",
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

# -- Copy buttons and figures -------------------------------------------------

# The button copies the code of ">>> " and "... " lines without the prompts
# and without the output lines, so that a copied snippet runs as pasted.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True

# The guide's figures: code shown above its figure, one PNG each.
plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 110)]
plot_rcparams = {
    "figure.figsize": (7.0, 3.4),
    "font.size": 9,
    "figure.constrained_layout.use": True,
}
# Each figure's code imports what it uses: it runs as copied.
plot_pre_code = ""

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


# A cross-reference of scikit-learn's own docs: :ref:`title <label>`,
# :term:`word`, :doc:`path`.
_SKLEARN_ONLY_REFERENCE = re.compile(r":(?:ref|term|doc):`([^`<]*?)\s*(?:<([^>`]*)>)?`")


def _unlink_sklearn_references(app, what, name, obj, options, lines):
    """Render scikit-learn's references to its own pages as plain text.

    The API pages list the methods the classes inherit from scikit-learn
    (``score``, ``get_params``, ``set_params``, ``set_callbacks``,
    ``get_metadata_routing``) with scikit-learn's docstrings, whose
    ``:ref:`` and ``:term:`` targets are pages of scikit-learn's site;
    without intersphinx they would not resolve. Only docstrings written in
    scikit-learn are changed: a broken reference of skgd's still fails the
    build.
    """
    if not getattr(obj, "__module__", "").startswith("sklearn."):
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_ONLY_REFERENCE.sub(
            lambda m: m.group(1) or m.group(2) or "", line
        )


def setup(app):
    app.connect("autodoc-skip-member", _skip_routing_setters)
    app.connect("autodoc-process-docstring", _unlink_sklearn_references)
