"""Self-supervised representation transformers: a panel of series in, a feature table out.

The methods live in their own modules (``skcontrast.btsf``, ``skcontrast.aimts``); this
module is where users import them from.
"""

from __future__ import annotations

from skcontrast.aimts import AimTSTransformer
from skcontrast.btsf import BTSFTransformer

__all__ = ["AimTSTransformer", "BTSFTransformer"]
