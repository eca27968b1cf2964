"""skcontrast: contrastive representation learning for time series, for scikit-learn and sktime."""

from skcontrast._ridge import HoldoutRidge
from skcontrast._version import __version__
from skcontrast.classification import AimTSClassifier
from skcontrast.detection import RepresentationAnomalyDetector
from skcontrast.forecasting import RepresentationForecaster
from skcontrast.transformations import AimTSTransformer, BTSFTransformer

__all__ = [
    "AimTSClassifier",
    "AimTSTransformer",
    "BTSFTransformer",
    "HoldoutRidge",
    "RepresentationAnomalyDetector",
    "RepresentationForecaster",
    "__version__",
]
