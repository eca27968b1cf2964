"""Architecture figures of the method pages, drawn with matplotlib at build time.

``python docs/architecture_figures.py OUTDIR`` writes ``btsf_architecture.png`` and
``aimts_architecture.png``; ``docs/conf.py`` calls :func:`main` before each build.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

COLORS = {
    "data": "#e8e8e8",
    "temporal": "#cfe2f3",
    "spectral": "#fce5cd",
    "fusion": "#d9ead3",
    "loss": "#f4cccc",
    "image": "#ead1dc",
    "out": "#fff2cc",
}


def _box(ax, x, y, w, h, text, kind, fontsize=8.5):
    ax.add_patch(
        FancyBboxPatch(
            (x - w / 2, y - h / 2),
            w,
            h,
            boxstyle="round,pad=0.02,rounding_size=0.08",
            facecolor=COLORS[kind],
            edgecolor="#444444",
            linewidth=1,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, wrap=True)


def _arrow(ax, start, end, text=None, style="-|>", ls="-"):
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=11,
            color="#333333",
            linewidth=1,
            linestyle=ls,
            shrinkA=2,
            shrinkB=2,
        )
    )
    if text:
        ax.text(
            (start[0] + end[0]) / 2 + 0.08,
            (start[1] + end[1]) / 2,
            text,
            fontsize=7.5,
            va="center",
            ha="left",
            color="#333333",
            style="italic",
        )


def _canvas(width, height):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(0, width)
    ax.set_ylim(0, height)
    ax.axis("off")
    return fig, ax


def btsf_figure():
    """BTSF: dropout views, temporal and spectral encoders, iterative bilinear fusion."""
    fig, ax = _canvas(10, 6.2)
    _box(ax, 5, 5.7, 4.2, 0.5, "series x  (B, C, T), z-normalised per channel", "data")
    _box(ax, 2.6, 4.75, 2.9, 0.55, "view 1 = Dropout(x), p = 0.1", "data")
    _box(ax, 7.4, 4.75, 2.9, 0.55, "view 2 = Dropout(x)  (positive)", "data")
    _arrow(ax, (4.2, 5.45), (2.9, 5.03))
    _arrow(ax, (5.8, 5.45), (7.1, 5.03))
    _box(
        ax,
        2.6,
        3.65,
        3.6,
        0.85,
        "temporal encoder\ndilated causal convolutions\nmax-pool to m positions: $F_t$ (m x d)",
        "temporal",
    )
    _box(
        ax,
        7.4,
        3.65,
        3.6,
        0.85,
        "spectral encoder\nrFFT (real, imag) → convolutions\n"
        "max-pool to n positions: $F_s$ (n x d)",
        "spectral",
    )
    _arrow(ax, (2.6, 4.47), (2.6, 4.08))
    _arrow(ax, (3.6, 4.47), (6.2, 4.08))
    _arrow(ax, (7.4, 4.47), (7.4, 4.08))
    _arrow(ax, (6.4, 4.47), (3.8, 4.08))
    ax.text(
        5,
        4.37,
        "each view through both encoders",
        fontsize=7.5,
        ha="center",
        color="#333333",
        style="italic",
    )
    _box(
        ax,
        5,
        2.35,
        6.4,
        0.95,
        "iterative bilinear fusion  ×  n_loops (3)\n"
        "$F_{bil} = (U^T F_t) \\circ (V^T F_s)$  (low rank l);   "
        "S2T: $F_t \\leftarrow F_t + $S2T$(F_t, F_s)$;   "
        "T2S: $F_s \\leftarrow F_s + $T2S$(F_s, F_t)$",
        "fusion",
        fontsize=8,
    )
    _arrow(ax, (2.6, 3.22), (3.6, 2.83))
    _arrow(ax, (7.4, 3.22), (6.4, 2.83))
    _box(
        ax,
        5,
        1.25,
        5.2,
        0.6,
        "$f = \\sigma(W_t^T F_t + W_s^T F_s + F_{bil})$   (l x d, flattened: the representation)",
        "out",
    )
    _arrow(ax, (5, 1.87), (5, 1.56))
    _box(
        ax,
        5,
        0.35,
        5.2,
        0.5,
        "InfoNCE between the two views' f (τ = 0.05), other series negatives",
        "loss",
    )
    _arrow(ax, (5, 0.95), (5, 0.6))
    ax.text(
        0.1,
        6.05,
        "transform: one pass without dropout → f → standardised features",
        fontsize=7.5,
        ha="left",
        color="#555555",
    )
    fig.tight_layout()
    return fig


def aimts_figure():
    """AimTS: prototype contrast over augmentations and series-image contrast."""
    fig, ax = _canvas(10, 6.4)
    _box(
        ax,
        5,
        5.9,
        5.4,
        0.5,
        "batch x (B, C, T) from one dataset of the corpus, z-normalised",
        "data",
    )
    # prototype branch (left)
    _box(
        ax,
        2.7,
        4.85,
        4.6,
        0.75,
        "two views, each = 5 augmentations of x\n"
        "jitter, scaling, window slicing, time / window warping",
        "data",
        fontsize=8,
    )
    _arrow(ax, (3.6, 5.65), (2.9, 5.23))
    _box(
        ax,
        2.7,
        3.7,
        4.6,
        0.8,
        "series encoder (channel independent)\ndilated convolutions, hidden 64, depth 10, out 512",
        "temporal",
        fontsize=8,
    )
    _arrow(ax, (2.7, 4.47), (2.7, 4.1))
    _box(
        ax,
        2.7,
        2.55,
        4.6,
        0.8,
        "projector MLP 512→256→128 per time step\nprototype = mean over the 5 augmentations",
        "fusion",
        fontsize=8,
    )
    _arrow(ax, (2.7, 3.3), (2.7, 2.95))
    _box(
        ax,
        1.45,
        1.2,
        2.3,
        0.75,
        "$L_{inter}$: prototypes of\nthe two views (hierarchical)",
        "loss",
        fontsize=8,
    )
    _box(
        ax,
        3.95,
        1.2,
        2.2,
        0.75,
        "$L_{intra}$: same augmentation\nis the positive",
        "loss",
        fontsize=8,
    )
    _arrow(ax, (2.2, 2.15), (1.7, 1.58))
    _arrow(ax, (3.2, 2.15), (3.8, 1.58))
    # image branch (right)
    _box(
        ax,
        7.5,
        4.85,
        3.8,
        0.75,
        "line-plot image of each series\n(64 x 64 per channel; or GASF/MTF/...)",
        "image",
        fontsize=8,
    )
    _arrow(ax, (6.4, 5.65), (7.2, 5.23))
    _box(
        ax,
        7.5,
        3.7,
        3.8,
        0.8,
        "ResNet-18 image encoder\n(trained jointly, or frozen local weights)",
        "image",
        fontsize=8,
    )
    _arrow(ax, (7.5, 4.47), (7.5, 4.1))
    _box(
        ax,
        7.5,
        2.55,
        3.8,
        0.8,
        "series head s  vs  image head v\n(128-d each)",
        "fusion",
        fontsize=8,
    )
    _arrow(ax, (7.5, 3.3), (7.5, 2.95))
    _arrow(ax, (5.0, 3.7), (5.6, 2.75), ls="--")
    _box(
        ax,
        7.5,
        1.2,
        3.8,
        0.75,
        "$L_{img}$: CLIP contrast + geodesic\nmixup hard negatives",
        "loss",
        fontsize=8,
    )
    _arrow(ax, (7.5, 2.15), (7.5, 1.58))
    _box(
        ax,
        5,
        0.3,
        8.4,
        0.45,
        "$L = L_{img} + 0.9 L_{inter} + 0.1 L_{intra}$ (one warm-up epoch of $L_{img}$);  "
        "transform: SWA encoder, max over time per channel",
        "out",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def main(outdir):
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    for name, make in (
        ("btsf_architecture.png", btsf_figure),
        ("aimts_architecture.png", aimts_figure),
    ):
        fig = make()
        fig.savefig(outdir / name, dpi=110)
        plt.close(fig)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent / "_generated")
