"""Sphinx configuration of the skcontrast documentation.

Build: ``sphinx-build -W docs docs/_build/html``. ``SKCONTRAST_DOCS_FAST=1`` makes the gallery
examples train for a few steps only (what the test suite and CI use). Nothing is downloaded
at build time: intersphinx is off unless ``SKCONTRAST_DOCS_INTERSPHINX=1``.
"""

import os
import sys
from pathlib import Path

# The gallery runs every example in this process; keep numba (sktime's MiniRocket) from
# starting a thread per core beside torch's (a precaution on small shared machines).
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))  # architecture_figures
sys.path.insert(1, str(ROOT))  # the checkout's skcontrast, not another installed copy

import skcontrast  # noqa: E402

project = "skcontrast"
author = "the skcontrast developers"
copyright = "2026, the skcontrast developers"
release = version = skcontrast.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
if os.environ.get("SKCONTRAST_DOCS_INTERSPHINX") == "1":  # needs the internet
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
        "sktime": ("https://www.sktime.net/en/stable", None),
        "torch": ("https://pytorch.org/docs/stable", None),
    }

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
# the method notes are included in the method pages (btsf.md, aimts.md), not pages of their own
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "**/*.zip",
                    "btsf_method_notes.md", "aimts_method_notes.md"]
myst_enable_extensions = ["colon_fence", "dollarmath"]
myst_heading_anchors = 3
suppress_warnings = ["myst.xref_missing"]  # links to repository files outside the docs

# API reference: autosummary stubs from the docstrings (numpydoc format)
autosummary_generate = True
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"skcontrast {release}"
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_static_path = []
html_show_sourcelink = False

# Gallery: every examples/*.py is executed (plot_*.py by naming convention; quickstart.py
# keeps its name for the README's set-up command).
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "min_reported_time": 1,
    "show_memory": False,
    "plot_gallery": "True",
    "doc_module": ("skcontrast",),
    "backreferences_dir": "api/generated/backreferences",
    "reference_url": {"skcontrast": None},
}
os.environ.setdefault("MPLBACKEND", "Agg")


def _architecture_figures(app):
    """Draw the method pages' architecture figures (matplotlib) into docs/_generated."""
    import architecture_figures

    architecture_figures.main(HERE / "_generated")


def setup(app):
    app.connect("builder-inited", _architecture_figures)
