"""skcontrast: contrastive representation learning for time series, for scikit-learn and sktime."""

__version__ = "0.1.0"

from skcontrast.transformations import BTSFTransformer

__all__ = ["BTSFTransformer", "__version__"]
