"""benchmarks/variants.py: the options measurements rejected, out of the package (issue 34).

Their tests moved here with them: the fusion ablations, the cosine schedule and EMA of
``BTSFVariant``, the prototype ablation of ``AimTSVariant``; with their defaults both are
the package's estimators, bit for bit. Weights files that store a removed parameter read
when it has the value the package kept, and are refused otherwise.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from _helpers import tiny_aimts, tiny_btsf
from sklearn.base import clone

from skcontrast import AimTSTransformer, BTSFTransformer
from skcontrast._training import BatchSampler

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def variants(monkeypatch):
    """benchmarks/variants.py, imported as the benchmark scripts do."""
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import variants

    return variants


def tiny_variant(variants, **overrides):
    return variants.BTSFVariant(**{**BTSFTransformer.get_test_params()[0], **overrides})


def features(est, X):
    return est.transform(X).to_numpy()


@pytest.mark.parametrize(
    "cls, removed",
    [
        (BTSFTransformer, ("fusion", "lr_schedule", "ema_decay")),
        (AimTSTransformer, ("use_prototypes",)),
    ],
)
def test_the_package_has_no_rejected_options(cls, removed):
    params = cls().get_params(deep=False)
    assert not set(removed) & set(params)
    assert not set(removed) & set(cls._param_constraints)
    assert not any(set(removed) & set(p) for p in cls.get_test_params())
    assert all(f"{name} :" not in cls.__doc__ for name in removed)
    assert set(cls._params_removed) == set(removed)


def test_variants_are_the_estimators_with_their_defaults(variants, panel):
    X, _ = panel
    b = tiny_variant(variants, n_iters=3)
    assert b.get_params() == {
        **tiny_btsf(n_iters=3).get_params(),
        "fusion": "bilinear",
        "lr_schedule": "constant",
        "ema_decay": None,
    }
    np.testing.assert_array_equal(features(b.fit(X), X), features(tiny_btsf(n_iters=3).fit(X), X))
    a = variants.AimTSVariant(**{**AimTSTransformer.get_test_params()[1], "n_iters": 3})
    reference = AimTSTransformer(**{**AimTSTransformer.get_test_params()[1], "n_iters": 3})
    assert a.fit(X).loss_history_ == reference.fit(X).loss_history_
    np.testing.assert_array_equal(features(a, X), features(reference, X))
    # scikit-learn's contract: clone and set_params see the added parameters
    other = clone(tiny_variant(variants, fusion="sum", ema_decay=0.5))
    assert other.fusion == "sum" and other.ema_decay == 0.5
    assert other.set_params(lr_schedule="cosine").get_params()["lr_schedule"] == "cosine"


def test_no_prototypes_changes_the_inter_term_only(variants, panel):
    X, _ = panel
    params = {**AimTSTransformer.get_test_params()[1], "n_iters": 3}
    plain = variants.AimTSVariant(**params).fit(X)
    ablation = variants.AimTSVariant(**params, use_prototypes=False).fit(X)
    assert ablation.loss_terms_["intra"][0] == plain.loss_terms_["intra"][0]
    assert ablation.loss_terms_["inter"][0] != plain.loss_terms_["inter"][0]
    again = variants.AimTSVariant(**params, use_prototypes=False).fit(X)
    assert again.loss_history_ == ablation.loss_history_
    with pytest.raises(ValueError, match="use_prototypes must be a bool"):
        variants.AimTSVariant(**params, use_prototypes="no").fit(X)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"fusion": "product"}, "fusion must be one of"),
        ({"lr_schedule": "step"}, "lr_schedule must be one of"),
        ({"ema_decay": 1.0}, r"ema_decay must be None or in \(0, 1\), got 1.0"),
        ({"ema_decay": 0.9, "swa": False}, "ema_decay=0.9 .* but swa=False"),
        ({"ema_decay": 0.9, "recipe": "paper"}, None),  # turns the average on
        ({"fusion": "spectral"}, None),  # no temporal branch: instance contrast only
    ],
)
def test_variant_parameters_are_validated(variants, panel, params, match):
    if match is None:
        tiny_variant(variants, **params).fit(panel[0])
        return
    with pytest.raises(ValueError, match=match):
        tiny_variant(variants, **params).fit(panel[0])


def test_concat_fusion_doubles_the_width(variants, panel):
    X, _ = panel
    fused = tiny_variant(variants, fusion="concat", readout="fused").fit(X)
    assert features(fused, X).shape == (12, 2 * 2 * 4)
    assert features(tiny_variant(variants, fusion="concat").fit(X), X).shape == (
        12,
        2 * 2 * 4 + 7 * 4,
    )


def test_spectral_fusion_has_no_timestep_features(variants):
    rng = np.random.default_rng(0)
    spectral = tiny_variant(variants, fusion="spectral").fit(rng.standard_normal((8, 2, 40)))
    with pytest.raises(ValueError, match="no temporal encoder"):
        spectral.transform_timesteps(pd.DataFrame(rng.standard_normal((80, 2))))


def test_ema_ends_with_the_exponential_average_of_the_weights(variants, panel):
    X = panel[0]
    steps = [tiny_btsf(n_iters=k, swa=False).fit(X).network_.state_dict() for k in (1, 2, 3)]
    decay = 0.6
    ema = tiny_variant(variants, n_iters=3, ema_decay=decay).fit(X)
    for name, value in ema.network_.state_dict().items():
        expected = steps[0][name]  # the first step's weights, then the exponential update
        for later in steps[1:]:
            expected = decay * expected + (1 - decay) * later[name]
        torch.testing.assert_close(value, expected, rtol=1e-5, atol=1e-6)
    # not the equal-weight average, and also on with the paper's recipe
    swa = tiny_btsf(n_iters=3).fit(X)
    assert not torch.equal(ema.network_.W_t, swa.network_.W_t)
    paper = [
        tiny_variant(variants, n_iters=3, recipe="paper", ema_decay=decay, swa=s).fit(X)
        for s in (None, True)
    ]
    assert torch.equal(paper[0].network_.W_t, paper[1].network_.W_t)
    assert not torch.equal(
        paper[0].network_.W_t, tiny_btsf(n_iters=3, recipe="paper").fit(X).network_.W_t
    )


def test_cosine_schedule_decays_the_rate_to_zero(variants, panel, monkeypatch):
    rates = []
    original = torch.optim.Adam.step

    def recording(self, *args, **kwargs):
        rates.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", recording)
    tiny_variant(variants, n_iters=4, lr=0.01, lr_schedule="cosine").fit(panel[0])
    half_cosine = [1, (1 + 0.5**0.5) / 2, 0.5, (1 - 0.5**0.5) / 2]  # steps 0..3 of 4
    np.testing.assert_allclose(rates, [0.01 * f for f in half_cosine])
    rates.clear()
    tiny_variant(variants, n_iters=3, lr=0.01).fit(panel[0])
    assert rates == [0.01] * 3  # constant by default


@pytest.mark.parametrize(
    "params", [{"swa": True, "lr_schedule": "cosine"}, {"ema_decay": 0.9}], ids=["cosine", "ema"]
)
def test_interrupted_then_resumed_fit_equals_uninterrupted(
    variants, params, panel, tmp_path, monkeypatch
):
    X, _ = panel
    reference = tiny_variant(variants, n_iters=10, **params).fit(X)
    path = tmp_path / "fit.ckpt"
    calls = {"n": 0}
    original = BatchSampler.next

    def failing(self):  # 7 steps done, last checkpoint at step 6
        calls["n"] += 1
        if calls["n"] == 8:
            raise RuntimeError("simulated crash")
        return original(self)

    with monkeypatch.context() as m:
        m.setattr(BatchSampler, "next", failing)
        with pytest.raises(RuntimeError, match="simulated crash"):
            tiny_variant(
                variants, n_iters=10, checkpoint_path=str(path), checkpoint_every=3, **params
            ).fit(X)
    assert path.exists()
    resumed = tiny_variant(
        variants, n_iters=10, checkpoint_path=str(path), checkpoint_every=3, **params
    ).fit(X)
    assert resumed.loss_history_ == reference.loss_history_
    states = resumed.network_.state_dict(), reference.network_.state_dict()
    for p, q in zip(states[0].values(), states[1].values(), strict=True):
        assert torch.equal(p, q)


def _rewritten(path, tmp_path, **params):
    blob = torch.load(path, weights_only=True)
    out = tmp_path / "rewritten.pt"
    torch.save({**blob, "params": {**blob["params"], **params}}, out)
    return out


def test_weights_files_with_a_removed_parameter(panel, tmp_path):
    X, _ = panel
    aimts = tiny_aimts(n_iters=1).fit(X)
    aimts.save_weights(tmp_path / "a.pt")
    # the value kept reads (e.g. the shipped aimts_base.pt, written with use_prototypes=True)
    kept = AimTSTransformer.load_weights(
        _rewritten(tmp_path / "a.pt", tmp_path, use_prototypes=True)
    )
    assert "use_prototypes" not in kept.get_params()
    np.testing.assert_array_equal(features(kept, X), features(aimts, X))
    with pytest.raises(ValueError, match="use_prototypes=False in the weights file"):
        AimTSTransformer.load_weights(
            _rewritten(tmp_path / "a.pt", tmp_path, use_prototypes=False)
        )
    btsf = tiny_btsf(n_iters=1).fit(X)
    btsf.save_weights(tmp_path / "b.pt")
    old = dict(fusion="bilinear", lr_schedule="constant", ema_decay=None)
    loaded = BTSFTransformer.load_weights(_rewritten(tmp_path / "b.pt", tmp_path, **old))
    np.testing.assert_array_equal(features(loaded, X), features(btsf, X))
    for name, value in [("fusion", "sum"), ("lr_schedule", "cosine"), ("ema_decay", 0.9)]:
        with pytest.raises(ValueError, match=f"no longer has the parameter '{name}'"):
            BTSFTransformer.load_weights(_rewritten(tmp_path / "b.pt", tmp_path, **{name: value}))
    # a name that never existed is still refused as unknown
    with pytest.raises(ValueError, match="unknown"):
        BTSFTransformer.load_weights(_rewritten(tmp_path / "b.pt", tmp_path, gamma=1))


def test_the_shipped_base_reads():
    base = AimTSTransformer.load_weights(
        Path(__file__).resolve().parents[1] / "skcontrast" / "pretrained" / "aimts_base.pt"
    )
    assert "use_prototypes" not in base.get_params()
