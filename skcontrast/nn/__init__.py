"""Pure-torch building blocks (no scikit-learn here): encoders, fusion, losses."""
