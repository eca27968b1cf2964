"""The package's architecture: small modules and functions, layers, one training contract."""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch

from skcontrast import AimTSClassifier, AimTSTransformer, BTSFTransformer
from skcontrast._base import BaseContrastiveTransformer
from skcontrast._estimator import TorchTrainingMixin

PACKAGE = Path(__file__).resolve().parents[1] / "skcontrast"
MAX_FUNCTION_LINES = 80


def _modules():
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


def _imports(module, path, modules):
    """The skcontrast modules ``module`` imports (anywhere in it, functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
    return {m for m in found if m in modules and m != module}


def test_functions_stay_small():
    """Functions stay short; modules are grouped by what belongs together, whatever their
    length (the line cap on files is gone: it split modules by size, issue 34)."""
    long_functions = []
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.name}:{node.name}")
    assert not long_functions


def test_no_import_circle_and_layers_point_down():
    modules = _modules()
    graph = {m: _imports(m, p, modules) for m, p in modules.items()}
    estimators = {m for m in modules if not m.rsplit(".", 1)[-1].startswith("_")}
    estimators -= {m for m in modules if m.startswith("skcontrast.nn")}  # building blocks
    for module, deps in graph.items():
        if module.startswith("skcontrast.nn"):  # pure torch
            assert all(d.startswith("skcontrast.nn") for d in deps), (module, deps)
        elif module.rsplit(".", 1)[-1].startswith("_"):  # helpers never import estimators
            assert not deps & estimators, (module, deps & estimators)

    def reaches(start, target, seen):
        for d in graph[start]:
            if d == target or (d not in seen and not seen.add(d) and reaches(d, target, seen)):
                return True
        return False

    circles = [m for m in graph if reaches(m, m, set())]
    assert not circles, circles


def test_no_probing_for_private_hooks():
    """Hooks have defaults on the base: helpers call them instead of probing."""
    for path in _modules().values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in (
                "getattr",
                "hasattr",
            ):
                name = node.args[1] if len(node.args) > 1 else None
                if isinstance(name, ast.Constant) and isinstance(name.value, str):
                    assert not name.value.startswith("_"), f"{path.name}: probes {name.value}"


def test_methods_implement_hooks_not_the_loop():
    for cls in (BTSFTransformer, AimTSTransformer, AimTSClassifier):
        assert "_train" not in vars(cls), f"{cls.__name__} re-implements the training loop"
        assert "_training_loss" in vars(cls) and "_build_network" in vars(cls)
    hooks = (
        "_build_network",
        "_init_weights",
        "_training_loss",
        "_make_optimizer",
        "_training_context",
        "_after_step",
        "_default_n_iters",
        "_min_shard_rows",
    )
    for hook in hooks:
        assert hook in vars(TorchTrainingMixin), hook
    for hook in ("_encode", "_encode_timesteps", "_pool"):
        assert hook in vars(BaseContrastiveTransformer), hook


class _MeanMatch(BaseContrastiveTransformer):
    """A minimal method: the three hooks a new method needs, every other default kept."""

    _training_params = BaseContrastiveTransformer._training_params
    _option_defaults = {**BaseContrastiveTransformer._option_defaults, "mixed_precision": False,
                        "weight_decay": 0.0}  # fmt: skip

    def __init__(self, normalize="zscore", batch_size=4, n_iters=3, max_time=None,
                 checkpoint_path=None, lr=1e-2, standardize=True, device="cpu", verbose=False,
                 random_state=0, options=None):  # fmt: skip
        for name, value in list(locals().items()):
            if name not in ("self", "__class__"):
                setattr(self, name, value)
        super().__init__()

    def _build_network(self, n_channels, n_timepoints):
        return torch.nn.Conv1d(n_channels, 3, 3)

    def _training_loss(self, network, batch, step):
        z = network(torch.nan_to_num(batch)).mean(dim=-1)
        return {"spread": -z.std(dim=0).mean(), "size": z.square().mean()}

    def _encode(self, network, batch):
        return network(torch.nan_to_num(batch)).amax(dim=-1)


def test_a_new_method_needs_only_the_contract(panel):
    X, _ = panel
    est = _MeanMatch().fit(X)
    assert est.n_iters_ == 3 and list(est.loss_terms_) == ["spread", "size"]
    assert est.transform(X).shape == (len(X), 3)
    again = _MeanMatch().fit(X)
    np.testing.assert_array_equal(est.transform(X).to_numpy(), again.transform(X).to_numpy())


@pytest.mark.parametrize("cls", [BTSFTransformer, AimTSTransformer], ids=lambda c: c.__name__)
def test_fit_time_state_reaches_the_hooks_through_the_step_not_the_estimator(cls, panel):
    """The training context's state (weight average, image context) is ``step.fit``:
    the estimator's attributes during the steps are those it had when training began."""
    X, _ = panel
    seen = {}

    class Probe(cls):
        def _train(self, *args, **kwargs):
            seen["before"] = set(vars(self))
            return super()._train(*args, **kwargs)

        def _after_step(self, network, step):
            seen.setdefault("during", set(vars(self)))
            seen["fit"] = step.fit
            super()._after_step(network, step)

    Probe.__name__ = cls.__name__
    est = Probe(**cls.get_test_params()[0]).fit(X)
    assert seen["during"] == seen["before"]
    assert seen["fit"].checkpointed is not None  # the weight average (SWA on by default)
    assert not {"_fit_extras", "_fit_average"} & set(vars(est))


def test_batched_inference_takes_values_not_an_estimator():
    """apply_in_batches reads a function, a chunk size and a precision flag (issue 34)."""
    import inspect

    from skcontrast._inference import apply_in_batches

    assert "est" not in inspect.signature(apply_in_batches).parameters
    X = np.arange(20, dtype=np.float32).reshape(10, 1, 2)
    sizes = []

    def double(batch):
        sizes.append(len(batch))
        return batch * 2

    out = apply_in_batches(double, X, torch.device("cpu"), rows=3, prepare=lambda r: r + 1)
    assert sizes == [3, 3, 3, 1]
    np.testing.assert_array_equal(out, (X + 1) * 2)


# what helper modules may call on an estimator: the training contract's hooks and the
# members the contract declares for helpers (skcontrast._estimator's docstring)
_DECLARED = {
    "_build_network", "_init_weights", "_training_loss", "_make_optimizer",
    "_training_context", "_before_training", "_after_step", "_lr_factor",
    "_default_n_iters", "_min_shard_rows", "_trains_on_single_series",
    "_effective_params", "_check_params", "_readout", "_normalizations", "_layer_params",
    "_accepts_corpus",
}  # fmt: skip
# the estimators and their bases: they read their own members
_ESTIMATOR_MODULES = {"_estimator", "_base", "btsf", "aimts", "classification",
                      "forecasting", "detection"}  # fmt: skip


def _private_uses(path):
    """``(line, "obj._member")`` for every private member read or set on another object than
    ``self``/``cls`` or a module (issue 34: helpers receive values, not estimators)."""
    tree = ast.parse(path.read_text())
    modules = {
        alias.asname or alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        owner = ast.unparse(node.value)
        if node.attr.startswith("__") or owner in {"self", "cls"}:
            continue
        if owner.split(".")[0] in modules:  # a library's own private (torch.ops..., nn.init...)
            continue
        found.append((node.lineno, f"{owner}.{node.attr}"))
    return found


def test_helpers_touch_only_declared_members_of_an_estimator():
    undeclared = []
    for name, path in _modules().items():
        if name.rsplit(".", 1)[-1] in _ESTIMATOR_MODULES:
            continue
        for line, use in _private_uses(path):
            member = use.rsplit(".", 1)[-1]
            if member not in _DECLARED:
                undeclared.append(f"{path.name}:{line}: {use}")
    assert not undeclared
    contract = (PACKAGE / "_estimator.py").read_text()
    assert all(f"``{m}" in contract for m in _DECLARED), "declare each member once, there"


def test_the_member_scan_finds_an_estimators_private_state(tmp_path):
    """The scan above fails on the kind of code issue 34 removed (it can fail)."""
    module = tmp_path / "helper.py"
    module.write_text(
        "def load(estimator):\n    estimator._is_fitted = True\n"
        "def rows(est, shape):\n    return est._inference_rows(shape)\n"
    )
    assert [use for _, use in _private_uses(module)] == [
        "estimator._is_fitted", "est._inference_rows"
    ]


def test_sharding_is_the_loops():
    """Objectives wrap their encoders in ``step.per_row``; only the loop and the fit's
    plumbing import the process-group helpers (a new objective cannot forget to shard)."""
    modules = _modules()
    plumbing = {"_training", "_estimator", "_checkpoint", "_distributed", "distributed",
                "pretrain"}  # fmt: skip
    importers = {
        name.rsplit(".", 1)[-1]
        for name, path in modules.items()
        if "skcontrast._distributed" in _imports(name, path, modules)
    }
    assert importers and importers <= plumbing, importers - plumbing
