"""The "?" of the notebook display links to the API page of the class."""

import pytest
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skgd
from skgd import GDClassifier, SoftmaxClassifier, _doc_link
from skgd.losses import Hinge
from skgd.optimizers import Adam


@pytest.fixture
def no_docs(monkeypatch, tmp_path):
    """No environment template, and no built docs next to the package."""
    monkeypatch.delenv(_doc_link.DOC_URL_VARIABLE, raising=False)
    monkeypatch.setattr(_doc_link, "_BUILT_PAGES", tmp_path / "html")
    return tmp_path / "html"


def test_the_environment_template_is_filled_in(no_docs, monkeypatch):
    monkeypatch.setenv(
        "SKGD_DOC_URL",
        "https://docs.example.org/skgd/{version}/{estimator_module}.{estimator_name}",
    )
    base = f"https://docs.example.org/skgd/{skgd.__version__}/"
    assert GDClassifier()._get_doc_link() == base + "skgd.GDClassifier"
    assert SoftmaxClassifier()._get_doc_link() == base + "skgd.SoftmaxClassifier"
    assert Hinge()._get_doc_link() == base + "skgd.losses.Hinge"
    html = make_pipeline(StandardScaler(), GDClassifier(optimizer=Adam()))._repr_html_()
    assert f'href="{base}skgd.GDClassifier"' in html


def test_built_docs_next_to_the_package_are_linked(no_docs):
    page = no_docs / "generated" / "skgd.GDClassifier.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html></html>")
    assert GDClassifier()._get_doc_link() == page.as_uri()
    assert f'href="{page.as_uri()}"' in GDClassifier()._repr_html_()
    # A page that was not built is not linked.
    assert Hinge()._get_doc_link() == ""


def test_without_docs_there_is_no_dead_link(no_docs):
    assert GDClassifier()._get_doc_link() == ""
    assert "generated/skgd" not in GDClassifier()._repr_html_()


def test_a_template_skgd_cannot_fill_in_warns_and_links_nowhere(no_docs, monkeypatch):
    monkeypatch.setenv("SKGD_DOC_URL", "https://docs.example.org/{page}.html")
    with pytest.warns(UserWarning, match=r"SKGD_DOC_URL=.*\{estimator_module\}"):
        assert GDClassifier()._get_doc_link() == ""
    with pytest.warns(UserWarning):
        GDClassifier()._repr_html_()  # the display still renders


def test_braces_in_the_path_of_built_docs_are_not_placeholders(monkeypatch, tmp_path):
    monkeypatch.delenv(_doc_link.DOC_URL_VARIABLE, raising=False)
    root = tmp_path / "odd{dir}" / "html"
    monkeypatch.setattr(_doc_link, "_BUILT_PAGES", root)
    page = root / "generated" / "skgd.GDClassifier.html"
    page.parent.mkdir(parents=True)
    page.write_text("<html></html>")
    assert GDClassifier()._get_doc_link() == page.as_uri()
