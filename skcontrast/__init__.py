"""skcontrast: contrastive representation learning for time series, for scikit-learn and sktime."""

__version__ = "0.1.0"

from skcontrast.classification import AimTSClassifier
from skcontrast.transformations import AimTSTransformer, BTSFTransformer

__all__ = ["AimTSClassifier", "AimTSTransformer", "BTSFTransformer", "__version__"]
