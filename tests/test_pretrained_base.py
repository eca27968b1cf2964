"""The encoder shipped in the package: names, loading, reuse, and the promises of its card."""

import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline

from skcontrast import AimTSClassifier, AimTSTransformer, pretrained

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="module")
def base():
    return AimTSTransformer.load_weights(pretrained.weights_path("base"))


@pytest.fixture(scope="module")
def series():
    rng = np.random.default_rng(0)
    t = np.linspace(0, 6, 60)
    y = np.repeat([0, 1], 12)
    frequency = np.where(y == 0, 1.0, 3.0)[:, None, None] * rng.uniform(0.9, 1.1, (24, 1, 1))
    X = np.sin(t * frequency) + 0.1 * rng.standard_normal((24, 2, 60))
    return X.astype(np.float32), y


def test_the_base_ships_and_fits_the_size_limit():
    assert "base" in pretrained.available()
    path = pretrained.weights_path("base")
    assert path.is_file() and path.stat().st_size <= 20e6


def test_names_that_are_not_shipped_are_refused(monkeypatch, tmp_path):
    with pytest.raises(ValueError, match="not the name of a pretrained encoder.*'base'"):
        pretrained.weights_path("bsae")
    with pytest.raises(FileNotFoundError, match="neither a file nor the name.*'base'"):
        AimTSTransformer(pretrained="bsae", n_iters=0).fit(np.zeros((4, 1, 20)))
    # a registered name whose file is missing from the installation
    monkeypatch.setattr(pretrained, "HERE", tmp_path)
    assert pretrained.available() == []
    with pytest.raises(FileNotFoundError, match="not in this installation"):
        pretrained.weights_path("base")


def test_the_card_matches_the_shipped_weights(base, recipe):
    card = pretrained.card("base")
    assert card["weights_sha256"] == recipe.weights_sha256(base)
    assert card["steps"] == base.n_iters_ == len(card["loss_history"])
    # never pretrained on the sets it is judged on
    used = {s["name"] for s in card["corpus"]}
    assert len(card["transfer_validation"]) >= 10 and not used & set(card["transfer_validation"])
    for source in card["corpus"]:
        for file in source["files"]:
            assert not any(f"/{name}/" in f"/{file}" for name in card["transfer_validation"])


def test_zero_shot_is_the_shipped_encoder(base, series):
    X, _ = series
    zero_shot = AimTSTransformer(pretrained="base", n_iters=0, standardize=False, readout="max")
    assert zero_shot.fit(X).n_iters_ == 0
    reference = AimTSTransformer.load_weights(pretrained.weights_path("base"))
    assert reference.readout == "max"  # the file predates the parameter
    reference.standardize = False  # raw features (an attribute write keeps it fitted)
    out = np.asarray(zero_shot.transform(X))
    assert out.shape == (24, 2 * base.repr_dims)
    default = AimTSTransformer(pretrained="base", n_iters=0).fit(X)  # readout="blocks"
    assert default.transform(X).shape == (24, 2 * 4 * base.hidden_channels * (base.depth - 1))
    multi = AimTSTransformer(pretrained="base", n_iters=0, readout="multi").fit(X)
    assert multi.transform(X).shape == (24, 2 * 4 * (base.repr_dims + 3 * base.hidden_channels))
    np.testing.assert_allclose(out, np.asarray(reference.transform(X)), rtol=1e-5, atol=1e-6)
    # and not what an untrained encoder gives
    untrained = AimTSTransformer(n_iters=0, standardize=False, random_state=0, readout="max").fit(X)
    assert not np.allclose(out, np.asarray(untrained.transform(X)), atol=1e-3)


def test_a_name_survives_clone_and_grid_search(series):
    X, y = series
    pipe = Pipeline([("rep", AimTSTransformer(pretrained="base", n_iters=0)),
                     ("clf", LogisticRegression())])  # fmt: skip
    assert clone(pipe).get_params()["rep__pretrained"] == "base"
    search = GridSearchCV(pipe, {"clf__C": [0.1, 1.0]}, cv=2).fit(X, y)
    assert search.best_estimator_.named_steps["rep"].pretrained == "base"
    assert search.score(X, y) > 0.9  # two frequencies: separable with the pretrained features


def test_continued_training_and_fine_tuning_start_from_the_base(base, series):
    X, y = series
    continued = AimTSTransformer(pretrained="base", n_iters=1, batch_size=8, random_state=0).fit(X)
    assert continued.n_iters_ == 1 and np.isfinite(continued.loss_history_).all()
    clf = AimTSClassifier(pretrained="base", n_iters=0, random_state=0).fit(X, y)
    start = clf.network_.series_encoder.state_dict()
    for key, value in base.network_.series_encoder.state_dict().items():
        np.testing.assert_array_equal(start[key].numpy(), value.numpy())
    with pytest.raises(ValueError, match="repr_dims=256 vs 512"):
        AimTSClassifier(pretrained="base", repr_dims=256, n_iters=0).fit(X, y)


@pytest.fixture(scope="module")
def recipe():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import pretrain_base
    finally:
        sys.path.remove(str(BENCHMARKS))
    return pretrain_base


def test_recipe_preprocessing(recipe):
    X = np.array([[[np.nan, 1.0, np.nan, 3.0, np.nan]]])
    np.testing.assert_array_equal(recipe.fill_missing(X), [[[1.0, 1.0, 2.0, 3.0, 3.0]]])
    assert np.isnan(X).sum() == 3  # the input is left alone
    series = [np.ones((2, n)) for n in (5, 10, 20, 30, 40)]
    # the 20th length percentile (9, interpolated), the shorter series dropped
    assert recipe.common_length(series).shape == (4, 2, 9)
    stream = np.arange(3 * 1200.0).reshape(3, 1200)
    w = recipe.windows(stream)
    assert w.shape == (3, 3, 512) and w[1, 0, 0] == 256 and w[2, 2, -1] == 2 * 1200 + 512 + 511


@pytest.mark.skipif(not DATA.is_dir(), reason="needs ../shared/data")
def test_recipe_corpus_leaves_the_transfer_group_out(recipe):
    panels, sources = recipe.build_corpus(DATA)
    names = [s["name"] for s in sources]
    assert not set(names) & set(recipe.TRANSFER_VALIDATION)
    assert not set(names) & set(recipe.HELD_OUT)  # the later held-out sets too
    assert "GesturePebbleZ1" in names  # an unequal-length set added later, cut to one length
    assert {"ETTh1", "NAB", "SMD", "UCR_Anomaly_train", "ArrowHead", "Crop"} <= set(names)
    for panel, source in zip(panels, sources, strict=True):
        assert panel.dtype == np.float32 and np.isfinite(panel).all()
        assert len(panel) == source["series_used"] <= recipe.MAX_SERIES
        assert all(len(h) == 64 for h in source["files"].values())


def test_recipe_synthetic_panels(recipe, monkeypatch):
    monkeypatch.setattr(recipe, "SYNTHETIC_PANEL", 7)
    monkeypatch.setattr(recipe, "SYNTHETIC_LENGTHS", (16, 32))
    panels, sources = recipe.build_corpus(DATA, real=False, synthetic=20)
    assert [len(p) for p in panels] == [7, 7, 7]  # whole panels: at least the series asked
    assert all(p.shape[2] in (16, 32) and np.isfinite(p).all() for p in panels)
    assert [s["name"] for s in sources] == ["synthetic-0", "synthetic-1", "synthetic-2"]
    again, _ = recipe.build_corpus(DATA, real=False, synthetic=20)
    assert all(np.array_equal(a, b) for a, b in zip(panels, again, strict=True))  # seeded
