"""Untrusted files: weights files checked before anything is built, atomic writes, and
checkpoints that match by content and do not outlive a finished fit."""

import os
import resource
import zipfile

import numpy as np
import pytest
import torch
from _helpers import tiny_btsf
from test_checkpoint import MAKERS, crash_at_step

from skcontrast import AimTSTransformer, BTSFTransformer
from skcontrast._training import BatchSampler
from skcontrast.nn.btsf import BTSFNetwork


@pytest.fixture
def weights(panel, tmp_path):
    """A tiny fitted BTSF, its weights file and that file's top-level dict."""
    X, _ = panel
    t = tiny_btsf(n_iters=2).fit(X)
    path = tmp_path / "w.pt"
    t.save_weights(path)
    return t, path, torch.load(path, weights_only=True)


def edited(tmp_path, blob, name="edited.pt", **changes):
    path = tmp_path / name
    torch.save({**blob, **changes}, path)
    return path


def test_a_huge_config_is_refused_before_any_network_is_built(weights, tmp_path, monkeypatch):
    _, _, blob = weights
    # the largest widths the parameter checks accept (4096): gigabytes as a real network
    huge = {**blob["params"], "hidden_channels": 4096, "repr_dims": 4096}
    path = edited(tmp_path, blob, params=huge)
    assert path.stat().st_size < 100_000
    built_on = []
    original = BTSFNetwork.__init__

    def record(self, *args, **kwargs):
        device = torch.empty(0).device  # the default device the network is built on
        built_on.append(device.type)
        if device.type != "meta":  # a real 4096-wide network: gigabytes
            raise AssertionError("the network was built for real from unchecked parameters")
        original(self, *args, **kwargs)

    monkeypatch.setattr(BTSFNetwork, "__init__", record)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match="do not fit the stored BTSFTransformer configuration"):
        BTSFTransformer.load_weights(path)
    assert built_on == ["meta"]
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB


def test_a_huge_layer_count_is_refused_before_building(weights, tmp_path):
    _, _, blob = weights
    path = edited(tmp_path, blob, params={**blob["params"], "temporal_depth": 200})
    with pytest.raises(
        ValueError,
        match=r"weights file: .*temporal_depth must be an integer in "
        r"\[0, 16\], got 200",
    ):
        BTSFTransformer.load_weights(path)
    # past the parameter checks' bound too: widths beyond it are refused as parameters
    path = edited(tmp_path, blob, params={**blob["params"], "hidden_channels": 8000})
    with pytest.raises(ValueError, match=r"hidden_channels must be an integer in \[1, 4096\]"):
        BTSFTransformer.load_weights(path)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"state": None}, "no valid 'state' entry"),
        ({"params": "x"}, "no valid 'params' entry"),
        ("drop n_iters_", r"lacks the fitted attributes \['n_iters_'\]"),
        ({"hidden_channels": "8"}, "hidden_channels must be an integer"),
        ({"lr": "fast"}, "invalid parameters in the weights file"),
        ({"standardize": "yes"}, "invalid value standardize='yes'"),
        ({"random_state": -1}, "invalid value random_state=-1"),
        ({"no_such_param": 1}, r"unknown BTSFTransformer parameters \['no_such_param'\]"),
        # a resampled copy of 10**9 times the length would be encoded by the width probe
        ({"input_scales": (1e9,)}, "input_scales must be a tuple or list of 1 to 8 values"),
        ({"input_scales": "2"}, "invalid parameters in the weights file: .*input_scales must"),
        ({"hidden_channels": (8,)}, r"invalid value hidden_channels=\(8,\)"),
        ({"n_channels_in_": "1"}, "invalid n_channels_in_='1'"),
        ({"n_iters_": 99}, "invalid n_iters_=99"),
        ({"feature_mean_": torch.zeros(3)}, "and 36 values, but the stored network outputs 36"),
        ({"feature_scale_": torch.zeros(36)}, "non-finite or non-positive"),
        ({"state_dict": {"U": torch.zeros(2)}}, "do not fit the stored"),
    ],
)  # fmt: skip
def test_damaged_files_are_a_clear_value_error(weights, tmp_path, change, match):
    _, _, blob = weights
    params, state = dict(blob["params"]), dict(blob["state"])
    if change == "drop n_iters_":
        del state["n_iters_"]
        path = edited(tmp_path, blob, state=state)
    elif set(change) & {"state", "params", "state_dict"}:
        path = edited(tmp_path, blob, **change)
    elif set(change) & set(state):
        path = edited(tmp_path, blob, state={**state, **change})
    else:
        path = edited(tmp_path, blob, params={**params, **change})
    with pytest.raises(ValueError, match=match):
        BTSFTransformer.load_weights(path)


def test_a_huge_channel_count_is_refused_before_encoding(panel, tmp_path):
    X, _ = panel
    t = tiny_btsf(n_iters=1, channel_independent=True).fit(X)  # any channel count fits it
    t.save_weights(tmp_path / "w.pt")
    blob = torch.load(tmp_path / "w.pt", weights_only=True)
    state = {**blob["state"], "n_channels_in_": 10**9, "n_features_in_": 32 * 10**9}
    with pytest.raises(ValueError, match="n_channels_in_=1000000000 in the weights file"):
        BTSFTransformer.load_weights(edited(tmp_path, blob, state=state))


def test_file_objects_still_work(weights):
    import io

    t, _, _ = weights
    buffer = io.BytesIO()
    t.save_weights(buffer)
    buffer.seek(0)
    assert BTSFTransformer.load_weights(buffer).n_iters_ == t.n_iters_


def test_tensors_claiming_more_than_the_file_holds_are_refused(weights, tmp_path):
    _, _, blob = weights
    n = 10**6  # a broadcast view of one stored value: listing it would materialise it
    claimed = torch.zeros(1, dtype=torch.float64).expand(n)
    state = {**blob["state"], "n_iters_": n, "loss_history_": claimed}
    path = edited(tmp_path, blob, state=state)
    assert path.stat().st_size < 100_000
    with pytest.raises(ValueError, match="claim .* bytes but hold"):
        BTSFTransformer.load_weights(path)


def test_a_compressed_member_is_refused(weights, tmp_path):
    _, path, _ = weights
    packed = tmp_path / "packed.pt"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info))
    with pytest.raises(ValueError, match="compressed members"):
        BTSFTransformer.load_weights(packed)


def test_environment_parameters_never_come_from_a_file(panel, tmp_path):
    X, _ = panel
    ckpt = tmp_path / "fit.ckpt"
    t = tiny_btsf(n_iters=2, checkpoint_path=str(ckpt), verbose=True).fit(X)
    t.save_weights(tmp_path / "w.pt")
    blob = torch.load(tmp_path / "w.pt", weights_only=True)
    assert not {"checkpoint_path", "device", "verbose"} & set(blob["params"])
    # a file that names them anyway (an older or crafted one): ignored
    planted = {**blob["params"], "checkpoint_path": str(tmp_path / "victim"), "device": "cpu",
               "verbose": True}  # fmt: skip
    path = edited(tmp_path, blob, params=planted)
    for loaded in map(BTSFTransformer.load_weights, (tmp_path / "w.pt", path)):
        defaults = BTSFTransformer().get_params()
        assert {k: loaded.get_params()[k] for k in ("checkpoint_path", "device", "verbose")} == {
            k: defaults[k] for k in ("checkpoint_path", "device", "verbose")
        }
        assert loaded.hidden_channels == t.hidden_channels


def test_aimts_path_parameters_never_come_from_a_file(tmp_path):
    X = np.random.default_rng(0).standard_normal((8, 1, 20)).astype(np.float32)
    small = {**AimTSTransformer.get_test_params()[1], "n_iters": 1}
    base = AimTSTransformer(**small).fit(X)
    base.save_weights(tmp_path / "base.pt")
    t = AimTSTransformer(**{**small, "pretrained": str(tmp_path / "base.pt")}).fit(X)
    t.save_weights(tmp_path / "w.pt")
    blob = torch.load(tmp_path / "w.pt", weights_only=True)
    path = edited(tmp_path, blob, params={**blob["params"], "image_encoder": "/etc/passwd"})
    loaded = AimTSTransformer.load_weights(path)
    assert loaded.pretrained is None and loaded.image_encoder == "scratch"


def test_save_weights_is_atomic(weights, monkeypatch):
    t, path, _ = weights
    good = path.read_bytes()

    def killed_mid_write(obj, f, *args, **kwargs):
        if hasattr(f, "write"):
            f.write(b"half a file")
        else:
            with open(f, "wb") as out:
                out.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", killed_mid_write)
    with pytest.raises(OSError, match="disk full"):
        t.save_weights(path)
    assert path.read_bytes() == good
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind


def test_checkpoint_save_does_not_follow_a_planted_symlink(panel, tmp_path):
    X, _ = panel
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    ckpt = tmp_path / "fit.ckpt"
    os.symlink(victim, tmp_path / "fit.ckpt.tmp")  # the old, predictable temporary name
    tiny_btsf(n_iters=2, checkpoint_path=str(ckpt), checkpoint_every=1).fit(X)
    assert victim.read_text() == "precious"


def _interrupted(make, X, monkeypatch, **params):
    """Fit until a crash at step 3, leaving a checkpoint of step 2."""
    with monkeypatch.context() as m:
        crash_at_step(m, 3)
        with pytest.raises(RuntimeError, match="simulated crash"):
            make(**params).fit(X)


def test_another_pretrained_encoder_with_equal_parameters_does_not_resume(tmp_path, monkeypatch):
    X = np.random.default_rng(0).standard_normal((8, 1, 20)).astype(np.float32)
    small = {**AimTSTransformer.get_test_params()[1], "n_iters": 1}
    first = AimTSTransformer(**small).fit(X)
    other = AimTSTransformer(**small).fit(X + 1)  # equal parameters, other weights

    def make(**kw):
        return AimTSTransformer(**AimTSTransformer._split_options({**small, **kw}))

    ckpt = str(tmp_path / "fit.ckpt")
    common = dict(n_iters=5, checkpoint_path=ckpt, checkpoint_every=1)
    _interrupted(make, X, monkeypatch, pretrained=first, **common)
    with pytest.raises(ValueError, match="other data or parameters"):
        make(pretrained=other, **common).fit(X)
    # a pretrained file: its content counts, not its name
    enc = tmp_path / "enc.pt"
    first.save_weights(enc)
    os.unlink(ckpt)
    _interrupted(make, X, monkeypatch, pretrained=str(enc), **common)
    other.save_weights(enc)
    with pytest.raises(ValueError, match="other data or parameters"):
        make(pretrained=str(enc), **common).fit(X)
    first.save_weights(enc)
    assert make(pretrained=str(enc), **common).fit(X).n_iters_ == 5


def test_a_random_state_object_resumes(panel, tmp_path, monkeypatch):
    X, _ = panel
    reference = MAKERS["btsf"](n_iters=5, random_state=np.random.RandomState(3)).fit(X)
    ckpt = str(tmp_path / "fit.ckpt")
    common = dict(n_iters=5, checkpoint_path=ckpt, checkpoint_every=1)
    _interrupted(MAKERS["btsf"], X, monkeypatch, random_state=np.random.RandomState(3), **common)
    resumed = MAKERS["btsf"](random_state=np.random.RandomState(3), **common).fit(X)
    assert resumed.loss_history_ == reference.loss_history_
    _interrupted(MAKERS["btsf"], X, monkeypatch, random_state=np.random.RandomState(3), **common)
    with pytest.raises(ValueError, match="RandomState object"):
        MAKERS["btsf"](random_state=np.random.RandomState(4), **common).fit(X)


def test_a_finished_fit_deletes_its_checkpoint_so_cv_works(panel, tmp_path, monkeypatch):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.pipeline import Pipeline

    X, y = panel
    ckpt = tmp_path / "fit.ckpt"
    MAKERS["btsf"](n_iters=3, checkpoint_path=str(ckpt), checkpoint_every=1).fit(X)
    assert not ckpt.exists()
    MAKERS["aimts_clf"](n_iters=3, checkpoint_path=str(ckpt), checkpoint_every=1).fit(X, y)
    assert not ckpt.exists()
    pipe = Pipeline([("rep", MAKERS["btsf"](checkpoint_path=str(ckpt), checkpoint_every=1)),
                     ("clf", LogisticRegression())])  # fmt: skip
    assert len(cross_val_score(pipe, X, y, cv=2, error_score="raise")) == 2
    # an unfinished fit keeps it: interrupted, or stopped by max_time (a rerun continues)
    with monkeypatch.context() as m:
        calls = {"n": 0}
        original = BatchSampler.next

        def interrupting(self):
            calls["n"] += 1
            if calls["n"] == 3:
                raise KeyboardInterrupt
            return original(self)

        m.setattr(BatchSampler, "next", interrupting)
        with pytest.raises(KeyboardInterrupt, match="interrupted"):
            MAKERS["btsf"](n_iters=5, checkpoint_path=str(ckpt), checkpoint_every=1).fit(X)
    assert ckpt.exists()
    os.unlink(ckpt)
    timed = dict(n_iters=10**6, max_time=1e-6, checkpoint_path=str(ckpt), checkpoint_every=1)
    MAKERS["btsf"](**timed).fit(X)
    assert ckpt.exists()


@pytest.mark.parametrize("kind", ["btsf", "aimts_clf"])
def test_a_missing_checkpoint_folder_is_found_at_the_start(kind, panel, tmp_path, monkeypatch):
    X, y = panel
    crash_at_step(monkeypatch, 1)  # no training step may run before the error
    with pytest.raises(ValueError, match="folder of checkpoint_path.*does not exist"):
        MAKERS[kind](checkpoint_path=str(tmp_path / "missing" / "fit.ckpt")).fit(X, y)
    with pytest.raises(ValueError, match="is a folder"):
        MAKERS[kind](checkpoint_path=str(tmp_path)).fit(X, y)


def test_damaged_loss_terms_are_refused_and_old_files_load(weights, tmp_path):
    _, _, blob = weights
    steps = blob["state"]["n_iters_"]
    for terms in ({"a": torch.zeros(steps + 1, dtype=torch.float64)}, {"a": [1.0] * steps},
                  {"a": torch.zeros(steps, dtype=torch.int64)}):  # fmt: skip
        path = edited(tmp_path, blob, state={**blob["state"], "loss_terms_": terms})
        with pytest.raises(ValueError, match="invalid loss_terms_"):
            BTSFTransformer.load_weights(path)
    older = {k: v for k, v in blob["state"].items() if k != "loss_terms_"}
    assert BTSFTransformer.load_weights(edited(tmp_path, blob, state=older)).loss_terms_ == {}


# -- issue 35 items 6 and 7: where a file is written ----------------------------------------
def test_save_weights_to_a_folder_names_the_folder(weights, tmp_path):
    t, _, _ = weights
    folder = tmp_path / "models"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match=r"models: it is a folder; give a file name"):
        t.save_weights(folder)
    assert os.listdir(folder) == []  # no temporary file left behind, inside or beside
    assert sorted(os.listdir(tmp_path)) == ["models", "w.pt"]
    with pytest.raises(ValueError, match="checkpoint_path=.* is a folder"):
        tiny_btsf(checkpoint_path=str(folder)).fit(np.zeros((4, 1, 8)))


@pytest.mark.parametrize(
    "content",
    [b"my measurements, not a checkpoint", b"", "zip", "torch dict"],
)
def test_a_file_that_is_not_a_checkpoint_is_named_and_left_untouched(panel, tmp_path, content):
    X, _ = panel
    path = tmp_path / "data.bin"
    if content == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("notes.txt", "a zip of mine")
    elif content == "torch dict":
        torch.save({"weights": torch.zeros(3)}, path)
    else:
        path.write_bytes(content)
    before = path.read_bytes(), os.stat(path).st_mtime_ns
    with pytest.raises(ValueError) as info:
        tiny_btsf(n_iters=3, checkpoint_path=str(path), checkpoint_every=1).fit(X)
    message = str(info.value)
    assert "is not a skcontrast training checkpoint" in message and "left untouched" in message
    assert "weights_only" not in message  # no torch advice to load it unsafely
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def _interrupting_fdopen(monkeypatch, at_write, real_signal):
    """The temporary file's writes raise Ctrl-C (or send SIGINT) at write ``at_write``."""
    import io
    import signal

    import skcontrast._checkpoint as checkpoint

    class Interrupting(io.FileIO):
        calls = 0

        def write(self, data):
            Interrupting.calls += 1
            if Interrupting.calls == at_write:
                if real_signal:  # delivered to this thread before raise_signal returns
                    signal.raise_signal(signal.SIGINT)
                else:
                    raise KeyboardInterrupt
            return super().write(data)

    monkeypatch.setattr(
        checkpoint.os, "fdopen", lambda fd, mode: Interrupting(fd, mode.replace("b", ""))
    )


@pytest.mark.parametrize("real_signal", [False, True])
@pytest.mark.parametrize("at_write", [1, 3])
def test_ctrl_c_during_save_weights_is_a_keyboard_interrupt(weights, monkeypatch, at_write,
                                                            real_signal):  # fmt: skip
    """torch's writer turned a Ctrl-C inside its write callback into a RuntimeError."""
    import signal

    t, path, _ = weights
    good = path.read_bytes()
    # Python's own Ctrl-C handler (what a user's Ctrl-C meets), whatever was installed
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with monkeypatch.context() as m:
            _interrupting_fdopen(m, at_write, real_signal)
            with pytest.raises(KeyboardInterrupt, match="interrupted while writing .*intact"):
                t.save_weights(path)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert path.read_bytes() == good
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind
    BTSFTransformer.load_weights(path)


def test_saving_over_a_read_only_file_is_refused_and_modes_are_kept(weights, tmp_path):
    t, path, _ = weights
    os.chmod(path, 0o444)
    good = path.read_bytes()
    with pytest.raises(PermissionError, match=r"read-only \(mode -r--r--r--\).*left unchanged"):
        t.save_weights(path)
    assert path.read_bytes() == good and os.stat(path).st_mode & 0o777 == 0o444
    # a checkpoint_path that is read-only: found when the fit starts
    with pytest.raises(ValueError, match="checkpoint_path: cannot write .* read-only"):
        tiny_btsf(checkpoint_path=str(path)).fit(np.zeros((4, 1, 8)))
    # a writable file keeps its own permissions (here private), as with a plain open()
    os.chmod(path, 0o600)
    t.save_weights(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    fresh = tmp_path / "fresh.pt"
    t.save_weights(fresh)
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(fresh).st_mode & 0o777 == 0o666 & ~umask
