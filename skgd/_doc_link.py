"""Where the "?" of an estimator's notebook display links to.

scikit-learn's HTML representation of an estimator shows a "?" that opens the
estimator's API page, given by the class attributes ``_doc_link_module`` and
``_doc_link_template``. skgd's pages are built from ``doc/`` (there is no
hosted copy), so the link goes, in this order, to

1. the template in the environment variable ``SKGD_DOC_URL``, for a site
   where you publish the docs: ``{estimator_module}``, ``{estimator_name}``
   and ``{version}`` are filled in, as in
   ``https://docs.example.org/skgd/{version}/generated/{estimator_module}.{estimator_name}.html``;
2. the page in the docs built next to the package (an editable install,
   after ``python -m sphinx -b html doc doc/_build/html``), as a file URL;
3. nowhere: without either, the display shows no "?".
"""

import os
import warnings
from pathlib import Path

#: The environment variable that holds a URL template of the API pages.
DOC_URL_VARIABLE = "SKGD_DOC_URL"

# Where the docs command writes the API pages, from the package's directory.
_BUILT_PAGES = Path(__file__).resolve().parent.parent / "doc" / "_build" / "html"


class DocLinkMixin:
    """Link an estimator's notebook display to its API page (see the module)."""

    _doc_link_module = "skgd"

    @property
    def _doc_link_template(self):
        from skgd import __version__

        template = os.environ.get(DOC_URL_VARIABLE)
        if template:
            # Fill in the version now; the display fills in the rest.
            template = template.replace("{version}", __version__)
            try:
                template.format(estimator_module="skgd", estimator_name="x")
            except (KeyError, IndexError, ValueError) as error:
                warnings.warn(
                    f"{DOC_URL_VARIABLE}={os.environ[DOC_URL_VARIABLE]!r} is not a "
                    f"URL template skgd can fill in ({error!r}): use the "
                    "placeholders {estimator_module}, {estimator_name} and "
                    "{version}, and double other braces. The display shows no "
                    "link.",
                    UserWarning,
                    stacklevel=2,
                )
                return ""
            return template
        module = type(self).__module__.split("._")[0]
        page = _BUILT_PAGES / "generated" / f"{module}.{type(self).__name__}.html"
        if page.is_file():
            # A file URI quotes braces (%7B): nothing in it reads as a
            # placeholder when the display fills in the template.
            return page.as_uri()
        return ""
