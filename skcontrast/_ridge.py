"""Ridge regression whose penalty is chosen on a chronological hold-out tail.

TS2Vec's forecasting protocol fits Ridge on the representations with ``alpha`` picked from a
fixed grid by the validation MSE. Here the validation set is the last ``validation_size`` of
the training rows (rows are time-ordered samples), so it never reads the future. All grid
values are scored from one SVD of the fitting part (``O(n d min(n, d))`` once, then one
matrix product per alpha) instead of one Ridge fit per alpha; the chosen alpha is then refit
on all rows with scikit-learn's ``Ridge``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.linear_model import Ridge
from sklearn.utils.validation import check_is_fitted, validate_data

from skcontrast._validation import Bool, Interval, validate_params

# the grid of TS2Vec's fit_ridge
TS2VEC_ALPHAS = (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


class HoldoutRidge(RegressorMixin, BaseEstimator):
    """Ridge with ``alpha`` chosen by the MSE on the last rows (a time-ordered hold-out).

    The default decoder of :class:`~skcontrast.forecasting.RepresentationForecaster` and
    :class:`~skcontrast.detection.RepresentationAnomalyDetector`.

    Parameters
    ----------
    alphas : sequence of float, default=TS2Vec's grid (0.1 ... 1000)
        Candidate penalties.
    validation_size : float, default=0.2
        Fraction of the rows, taken from the end, that scores the candidates (rows must be
        in time order). After the choice, Ridge is refit on all rows.
    fit_intercept : bool, default=True

    Attributes
    ----------
    alpha_ : float
        The chosen penalty.
    validation_mse_ : ndarray of shape (n_alphas,)
        Hold-out mean squared error of each candidate.
    ridge_ : sklearn.linear_model.Ridge
        The final model, fitted on all rows.
    n_features_in_ : int

    Examples
    --------
    >>> import numpy as np
    >>> from skcontrast import HoldoutRidge
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((200, 5))
    >>> y = X @ np.arange(5.0) + 0.1 * rng.standard_normal(200)
    >>> model = HoldoutRidge().fit(X, y)
    >>> float(model.alpha_)
    0.1
    >>> bool(model.score(X, y) > 0.99)
    True
    """

    # see skcontrast._validation (alphas: checked in fit)
    _param_constraints = {
        "validation_size": [Interval("real", 0, 1, closed="neither")],
        "fit_intercept": [Bool()],
    }

    def __init__(self, alphas=TS2VEC_ALPHAS, validation_size=0.2, fit_intercept=True):
        self.alphas = alphas
        self.validation_size = validation_size
        self.fit_intercept = fit_intercept

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # y of shape (n, n_targets): one Ridge for all
        return tags

    def fit(self, X, y):
        validate_params(self, self._param_constraints)
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=True, dtype=np.float64)
        alphas = np.asarray(self.alphas, dtype=np.float64).ravel()
        if alphas.size == 0 or not np.all(alphas > 0):
            raise ValueError(
                f"alphas must be a non-empty sequence of values > 0, got {self.alphas!r}."
            )
        n_val = int(round(self.validation_size * len(X)))
        if len(alphas) == 1:
            best = 0
            self.validation_mse_ = np.full(1, np.nan)
        elif n_val < 1 or len(X) - n_val < 2:
            raise ValueError(
                f"HoldoutRidge needs at least 2 fitting rows and 1 validation row to choose "
                f"alpha; got n_samples={len(X)} rows with validation_size="
                f"{self.validation_size}. Pass more data or a single alpha."
            )
        else:
            self.validation_mse_ = _holdout_mse(
                X[:-n_val], y[:-n_val], X[-n_val:], y[-n_val:], alphas, self.fit_intercept
            )
            best = int(np.argmin(self.validation_mse_))
        self.alpha_ = float(alphas[best])
        self.ridge_ = Ridge(alpha=self.alpha_, fit_intercept=self.fit_intercept).fit(X, y)
        return self

    def predict(self, X):
        check_is_fitted(self, "ridge_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return self.ridge_.predict(X)

    @property
    def coef_(self):
        return self.ridge_.coef_

    @property
    def intercept_(self):
        return self.ridge_.intercept_


def _holdout_mse(X, y, X_val, y_val, alphas, fit_intercept):
    """Validation MSE of Ridge(alpha) fitted on (X, y), for every alpha, from one SVD."""
    x_mean = X.mean(axis=0) if fit_intercept else np.zeros(X.shape[1])
    y_mean = y.mean(axis=0) if fit_intercept else np.zeros(y.shape[1:])
    U, s, Vt = np.linalg.svd(X - x_mean, full_matrices=False)
    Uty = U.T @ (y - y_mean).reshape(len(y), -1)  # (k, n_targets)
    projected = (X_val - x_mean) @ Vt.T  # (n_val, k)
    target = (y_val - y_mean).reshape(len(y_val), -1)
    mse = np.empty(len(alphas))
    for i, alpha in enumerate(alphas):
        # Ridge coefficients are V diag(s / (s^2 + alpha)) U^T y
        prediction = (projected * (s / (s**2 + alpha))) @ Uty
        mse[i] = np.mean((prediction - target) ** 2)
    return mse
