"""Property-based input fuzzing: a correct result or a clear ValueError/TypeError, nothing else."""

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer

ESTIMATORS = {
    "btsf": lambda: BTSFTransformer(**{**BTSFTransformer.get_test_params()[0], "n_iters": 1}),
    "aimts": lambda: AimTSTransformer(**{**AimTSTransformer.get_test_params()[0], "n_iters": 1}),
    "aimts_clf": lambda: AimTSClassifier(**{**AimTSClassifier.get_test_params()[0], "n_iters": 1}),
}
DTYPES = [np.float16, np.float32, np.float64, np.int32, np.int64, np.uint8, object, bool]


@st.composite
def panels(draw):
    n = draw(st.integers(1, 4))
    channels = draw(st.integers(1, 3))
    length = draw(st.integers(1, 6))
    dtype = draw(st.sampled_from(DTYPES))
    size = n * channels * length
    values = np.array(draw(st.lists(st.floats(-10, 10), min_size=size, max_size=size)))
    # about half the panels are clean; the rest get NaN/inf/huge/tiny values in some places
    if draw(st.booleans()):
        special = st.sampled_from([np.nan, np.inf, -np.inf, 1e30, -1e300, 1e-30])
        specials = draw(st.lists(
            st.tuples(st.integers(0, size - 1), special), min_size=1, max_size=3,
        ))  # fmt: skip
        for position, value in specials:
            values[position] = value
    with np.errstate(all="ignore"):
        X = values.astype(np.float64).reshape(n, channels, length)
        if dtype is object:
            return X.astype(object)
        if np.issubdtype(dtype, np.integer) or dtype is bool:
            return np.nan_to_num(X, nan=0, posinf=0, neginf=0).clip(0, 200).astype(dtype)
        return X.astype(dtype)


def _labels(n):
    return np.array(["a", "b"] * n)[:n]


@pytest.mark.parametrize("kind", list(ESTIMATORS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=panels())
def test_any_input_gives_finite_rows_or_a_clear_error(kind, X):
    est = ESTIMATORS[kind]()
    try:
        if kind == "aimts_clf":
            est.fit(X, _labels(len(X)))
            out = est.predict_proba(X)
        else:
            out = est.fit(X).transform(X)
            out = out.to_numpy()
    except (ValueError, TypeError) as err:
        event(f"{kind}: {type(err).__name__}: {str(err)[:40]}")
        message = str(err)
        assert len(message) > 20, message  # says what is wrong, not a bare torch error
        assert "Traceback" not in message
        return
    event(f"{kind}: result")
    out = np.asarray(out, dtype=float)
    assert out.shape[0] == len(X) and np.isfinite(out).all()
