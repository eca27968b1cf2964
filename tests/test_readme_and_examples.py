"""What a new user reads: the README's set-up and anomaly example, and the gallery code.

No docs extra needed (``tests/test_docs.py`` builds the site; this only reads files and
runs the README's anomaly snippet).
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
USER_GUIDE = (ROOT / "docs" / "user_guide.md").read_text(encoding="utf-8")
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
IGNORE_BLOCK = re.compile(r"# sphinx_gallery_start_ignore\n.*?# sphinx_gallery_end_ignore\n?", re.S)


def _code_blocks(language):
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_readme_keeps_its_two_setup_commands_and_says_how_to_install_elsewhere():
    setup = [b for b in _code_blocks("bash") if "python3 -m venv" in b]
    assert len(setup) == 2
    assert setup[0].strip().endswith("pip install -e . && python examples/quickstart.py")
    assert setup[1].strip().endswith('pip install -e ".[test,docs]" && python -m pytest -q')
    assert all("pip install torch==2.13.0" in b for b in setup)
    assert "pip install torch --index-url https://download.pytorch.org/whl/cpu" in README
    assert "`pip install .`" in README  # a non-editable install


def test_readme_is_a_front_door():
    assert len(README.splitlines()) <= 130
    # one short example per task, each run below or by the tests named there
    blocks = _code_blocks("python")
    assert [any(k in b for b in blocks) for k in (
        "BTSFTransformer(random_state=0)", 'pretrained="base"', "RepresentationForecaster(",
        "RepresentationAnomalyDetector(")] == [True] * 4  # fmt: skip
    for page in re.findall(r"\]\((docs/[^)]+)\)", README):
        assert (ROOT / page).is_file(), page


def test_readme_classification_and_forecasting_examples_run(capsys):
    first = next(b for b in _code_blocks("python") if "BTSFTransformer(random_state=0)" in b)
    namespace = {}
    exec(compile(first, "README.md", "exec"), namespace)  # noqa: S102
    assert float(capsys.readouterr().out.split()[0]) > 0.9  # GunPoint
    snippet = next(b for b in _code_blocks("python") if "RepresentationForecaster(" in b)
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102
    y_pred = namespace["forecaster"].predict()
    assert len(y_pred) == 5 and y_pred.notna().all()
    assert 300 < y_pred.mean() < 700  # airline passengers after 1960, not a runaway


def test_user_guide_output_width_is_not_claimed_for_every_method():
    from skcontrast import BTSFTransformer

    sentence = re.search(r"\*\*Output\*\*.*?standardised", USER_GUIDE, re.S).group(0)
    default = BTSFTransformer()
    per = (default.rank + 7) * default.repr_dims  # fusion + 1 + 2 + 4 temporal pools
    width = per * len(default._normalizations())  # one readout per normalisation
    assert re.search(rf"per normalisation for BTSF \({width:,} by default", sentence)
    assert "AimTS" in sentence


def test_gallery_code_has_no_fast_branches_and_short_lines():
    assert EXAMPLES
    for path in EXAMPLES:
        source = path.read_text(encoding="utf-8")
        shown = IGNORE_BLOCK.sub("", source)  # what sphinx-gallery shows
        assert "FAST" not in shown, f"{path.name}: settings switch visible to readers"
        long = [n for n, line in enumerate(source.splitlines(), 1) if len(line) > 88]
        assert not long, f"{path.name}: lines longer than 88 characters: {long}"
        for block in IGNORE_BLOCK.findall(source):
            # a fast-mode run says in its output that its numbers are not the real ones
            if "SKCONTRAST_DOCS_FAST" in block:
                assert "print(" in block and "smoke run" in block, path.name


def test_readme_anomaly_example_flags_the_injected_spike(capsys):
    snippet = next(b for b in _code_blocks("python") if "RepresentationAnomalyDetector(" in b)
    namespace = {}
    exec(compile(snippet, "README.md", "exec"), namespace)  # noqa: S102
    scores, detector = namespace["scores"], namespace["detector"]
    # one event after the training stretch: the run of points whose score, averaged over
    # the period, clears the threshold; it holds the spike and the steps that read it
    X = namespace["X"]
    events = [iv for iv in detector.predict(X)["ilocs"] if iv.right > 700]
    assert len(events) == 1 and events[0].left <= 900 < events[0].right
    assert events[0].length <= 2 * detector.smoothing_window_
    # the highest score is within half a period (plus the one-step errors after the
    # spike) of it, and stands far above the clean stretch before the event
    assert abs(scores.iloc[700:].idxmax() - 900) <= detector.smoothing_window_
    assert scores.iloc[700:].max() > 10 * scores.iloc[700 : events[0].left].max()
    out = capsys.readouterr().out.splitlines()
    assert out[0] == str(detector.smoothing_window_) == "50"
    assert out[1] == str(detector.predict(X)["ilocs"].tolist())


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_compile(path):
    compile(path.read_text(encoding="utf-8"), str(path), "exec")


def test_readme_pretrained_example_runs_as_pasted(capsys):
    """The shipped-encoder snippet, on the data the first snippet loads (its BTSF fit left out)."""
    first = next(b for b in _code_blocks("python") if "BTSFTransformer(random_state=0)" in b)
    setup = "\n".join(line for line in first.splitlines() if not line.startswith(("pipe", "print")))
    snippet = next(b for b in _code_blocks("python") if 'pretrained="base"' in b)
    namespace = {}
    exec(compile(setup + "\n" + snippet, "README.md", "exec"), namespace)  # noqa: S102
    probe_accuracy = float(capsys.readouterr().out.split()[0])
    assert 0.9 < probe_accuracy <= 1.0  # GunPoint, frozen base + LogisticRegression (0.99)
    clf = namespace["clf"]
    assert clf.n_iters_ == 100 and clf.score(namespace["X_test"], namespace["y_test"]) > 0.9
