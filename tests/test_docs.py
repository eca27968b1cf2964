"""The documentation builds with warnings as errors, lists every public name, runs every example.

The build runs ``sphinx-build -W`` on a copy of ``docs/``, ``examples/`` and
``benchmarks/results/`` in a temporary folder (so the checkout is not written to and no
gallery output is reused from an earlier build), with ``SKCONTRAST_DOCS_FAST=1`` so the
gallery examples train tiny networks for a few steps. Skipped when the docs extra
(``pip install -e ".[docs]"``) is not installed.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import skcontrast

pytestmark = pytest.mark.slow  # builds the whole site and runs every example

for module in (
    "sphinx",
    "numpydoc",
    "sphinx_gallery",
    "myst_parser",
    "pydata_sphinx_theme",
    "matplotlib",
):
    pytest.importorskip(module, reason='the docs extra is not installed: pip install -e ".[docs]"')

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py"))


@pytest.fixture(scope="module")
def built_docs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs_build")
    shutil.copytree(
        ROOT / "docs",
        tmp / "docs",
        ignore=shutil.ignore_patterns("_build", "auto_examples", "generated", "_generated"),
    )
    shutil.copytree(ROOT / "examples", tmp / "examples")
    shutil.copytree(
        ROOT / "benchmarks" / "results",
        tmp / "benchmarks" / "results",
        ignore=shutil.ignore_patterns("*.csv", "*.log"),
    )
    env = {
        **os.environ,
        "SKCONTRAST_DOCS_FAST": "1",
        "MPLBACKEND": "Agg",
        # the checkout's package, whether or not it is installed
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        # no shared data folder: the examples take their bundled-data fallbacks, as in CI
        "SKCONTRAST_DATA": str(tmp / "no_data"),
        # one torch thread per process: far faster than oversubscribed cores on a busy machine
        "OMP_NUM_THREADS": "1",
        # and one numba thread (MiniRocket) beside it
        "NUMBA_NUM_THREADS": "1",
    }
    out = tmp / "html"
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-b",
            "html",
            str(tmp / "docs"),
            str(out),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    print(f"sphinx-build took {time.perf_counter() - start:.0f} s")
    assert result.returncode == 0, f"sphinx-build -W failed:\n{result.stdout}\n{result.stderr}"
    return tmp / "docs", out


def test_api_reference_lists_every_public_name(built_docs):
    _, out = built_docs
    api = (out / "api.html").read_text(encoding="utf-8")
    for name in skcontrast.__all__:
        if name == "__version__":
            continue
        assert f"skcontrast.{name}.html" in api, f"{name} is missing from the API reference"
        page = out / "api" / "generated" / f"skcontrast.{name}.html"
        assert page.is_file(), page
        text = page.read_text(encoding="utf-8")
        for section in ("Parameters", "Attributes", "Examples"):
            assert section in text, f"{name}'s page has no {section} section"


def test_every_example_ran(built_docs):
    src, out = built_docs
    gallery = src / "auto_examples"
    assert EXAMPLES and "quickstart" in EXAMPLES
    for name in EXAMPLES:
        assert (gallery / f"{name}.rst").is_file(), f"{name} is not in the gallery"
        # printed output and figures are only there when sphinx-gallery executed the script
        rst = (gallery / f"{name}.rst").read_text(encoding="utf-8")
        assert "sphx-glr-script-out" in rst or "image-sg" in rst, f"{name} did not run"
        assert (out / "auto_examples" / f"{name}.html").is_file()
    for name in EXAMPLES:
        if name.startswith("plot_"):
            images = list((gallery / "images").glob(f"sphx_glr_{name}_*.png"))
            assert images, f"{name} made no figure"


def test_method_pages_have_architecture_figures(built_docs):
    _, out = built_docs
    for page, figure in (("btsf", "btsf_architecture.png"), ("aimts", "aimts_architecture.png")):
        html = (out / f"{page}.html").read_text(encoding="utf-8")
        assert figure in html
        assert "method notes" in html.lower()
    bench = (out / "benchmarks.html").read_text(encoding="utf-8")
    for png in (ROOT / "benchmarks" / "results").glob("*.png"):
        assert png.name in bench, f"{png.name} is not on the benchmark page"
    source = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    for table in (ROOT / "benchmarks" / "results").glob("*.md"):
        assert f"results/{table.name}" in source, f"{table.name} is not on the benchmark page"
