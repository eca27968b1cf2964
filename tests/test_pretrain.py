"""``python -m skcontrast.pretrain``: corpus loading, encoder file, resume under 2 gloo ranks."""

import os
import re
import subprocess
import sys
from pathlib import Path

import ddp_worker
import numpy as np
import pytest
import torch
from _helpers import LOSS_RTOL, WEIGHTS_TOL, run_ranks

from skcontrast import AimTSTransformer, BTSFTransformer
from skcontrast.pretrain import CorpusError, load_corpus, main

TINY = ["--param", "hidden_channels=4", "--param", "repr_dims=8", "--param", "depth=1",
        "--param", "projection_dims=4", "--param", "image=None", "--param", "swa=False",
        "--batch-size", "8", "--device", "cpu", "--lr", "3e-3"]  # fmt: skip


def write_ts(path, panel, labels):
    lines = ["@problemName tiny", "@timeStamps false", "@missing false", "@univariate true",
             "@equalLength true", f"@seriesLength {panel.shape[-1]}", "@classLabel true a b",
             "@data"]  # fmt: skip
    rows = zip(panel, labels, strict=True)
    lines += [",".join(f"{v:.5f}" for v in row[0]) + f":{lab}" for row, lab in rows]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    (folder / "sub").mkdir(parents=True)
    X = ddp_worker.data()
    np.save(folder / "a.npy", X)  # (12, 2, 24)
    np.savez(folder / "sub" / "b.npz", X=X[:8, 0, :16], y=np.arange(8))  # (8, 16), labels skipped
    write_ts(folder / "c.ts", X[:6, :1, :20], ["a", "b"] * 3)
    return folder


def test_load_corpus(corpus):
    panels = load_corpus([corpus])
    assert [p.shape for p in panels] == [(12, 2, 24), (6, 1, 20), (8, 1, 16)]
    assert all(p.dtype == np.float32 for p in panels)
    # a library function: a ValueError naming the file, not SystemExit (issue 34); the
    # command line's exit status 2 is tested below
    with pytest.raises(CorpusError, match="missing.npy does not exist") as info:
        load_corpus([corpus / "missing.npy"])
    assert isinstance(info.value, ValueError) and not isinstance(info.value, SystemExit)
    with pytest.raises(ValueError, match="not a"):
        load_corpus([corpus / "a.npy", Path(__file__)])


def test_pretrain_writes_an_encoder_that_pretrained_loads(corpus, tmp_path):
    out = tmp_path / "enc" / "encoder.pt"
    assert main([str(corpus), "--out", str(out), "--n-iters", "3", *TINY]) == 0
    encoder = AimTSTransformer.load_weights(out)
    assert encoder.n_iters_ == 3
    est = AimTSTransformer(
        pretrained=str(out),
        hidden_channels=4,
        repr_dims=8,
        depth=1,
        image=None,
        n_iters=1,
        batch_size=4,
        device="cpu",
        options=dict(projection_dims=4),
    )
    assert est.fit_transform(ddp_worker.data()[:, :, :20]).shape[0] == 12


def test_pretrain_btsf(corpus, tmp_path):
    out = tmp_path / "btsf.pt"
    args = [str(corpus / "a.npy"), "--method", "btsf", "--out", str(out), "--n-iters", "2",
            "--batch-size", "4", "--device", "cpu", "--param", "hidden_channels=4",
            "--param", "repr_dims=4"]  # fmt: skip
    assert main(args) == 0
    assert BTSFTransformer.load_weights(out).transform(ddp_worker.data()).shape[0] == 12


def torchrun_like(args):
    """Run the CLI as 2 ranks with torchrun's environment variables."""
    return run_ranks(["-m", "skcontrast.pretrain", *args])


@pytest.mark.slow
def test_two_ranks_resume_matches_one_uninterrupted_process(corpus, tmp_path):
    data = [str(corpus / "a.npy"), str(corpus / "sub")]
    ckpt, out = tmp_path / "run.ckpt", tmp_path / "dist.pt"
    common = [*data, "--n-iters", "6", "--checkpoint", str(ckpt), "--checkpoint-every", "1", *TINY]
    # interrupted: max_time stops both ranks together after the first step(s)
    logs = torchrun_like([*common, "--out", str(out), "--max-time", "1e-6"])
    assert "max_time" in logs[0] and ckpt.exists()
    first = AimTSTransformer.load_weights(out).n_iters_
    assert first < 6
    torchrun_like([*common, "--out", str(out)])  # the same command resumes
    dist = AimTSTransformer.load_weights(out)
    assert dist.n_iters_ == 6

    single = tmp_path / "single.pt"
    torch.set_num_threads(1)
    assert main([*data, "--n-iters", "6", "--out", str(single), *TINY]) == 0
    one = AimTSTransformer.load_weights(single)
    np.testing.assert_allclose(dist.loss_history_, one.loss_history_, rtol=LOSS_RTOL)
    states = dist.network_.state_dict(), one.network_.state_dict()
    for (k, a), b in zip(states[0].items(), states[1].values(), strict=True):
        torch.testing.assert_close(a, b, **WEIGHTS_TOL, msg=lambda m, k=k: f"{k}: {m}")


def test_param_without_a_value_is_a_clear_error(corpus, tmp_path):
    with pytest.raises(SystemExit, match="NAME=VALUE, got 'depth'"):
        main([str(corpus / "a.npy"), "--out", str(tmp_path / "e.pt"), "--param", "depth"])


def write_unlabelled_ts(folder):
    """Three valid .ts files without class labels: univariate, multivariate of unequal
    lengths, and with missing values."""
    head = "@problemName t\n@timeStamps false\n@classLabel false\n"
    equal = "@univariate true\n@equalLength true\n"
    (folder / "uni.ts").write_text(
        head + "@missing false\n" + equal + "@seriesLength 6\n@data\n"
        "1,2,3,4,5,6\n2,3,1,5,6,7\n3,4,5,6,8,1\n"
    )
    (folder / "multi.ts").write_text(
        head + "@missing false\n@univariate false\n@dimensions 2\n@equalLength false\n@data\n"
        "1,2,3,4,5:1,2,3,4,4\n2,3,4:5,6,1\n3,4,5,6,8:1,1,2,1,1\n2,7,4:1,6,1\n"
    )
    (folder / "gaps.ts").write_text(
        head + "@missing true\n" + equal + "@seriesLength 5\n@data\n"
        "1,?,3,4,5\n2,3,4,5,6\n3,4,5,?,8\n"
    )


def test_unlabelled_ts_files_load_and_pretrain(tmp_path, capsys):
    write_unlabelled_ts(tmp_path)
    panels = load_corpus([tmp_path / "uni.ts", tmp_path / "multi.ts", tmp_path / "gaps.ts"])
    assert [p.shape for p in panels] == [(3, 1, 6), (2, 2, 3), (2, 2, 5), (3, 1, 5)]
    assert np.isnan(panels[3]).sum() == 2
    out = tmp_path / "enc.pt"
    args = [str(tmp_path), "--out", str(out), "--n-iters", "1", *TINY, "--batch-size", "2"]
    assert main(args) == 0
    assert AimTSTransformer.load_weights(out).n_iters_ == 1


def test_npz_labels_are_skipped_without_being_read(tmp_path, monkeypatch):
    X = ddp_worker.data()
    np.savez_compressed(tmp_path / "d.npz", y=np.zeros(10**6), X=X, note=np.zeros(()))
    read = []
    original = np.lib.format.read_array

    def spy(*args, **kwargs):
        array = original(*args, **kwargs)
        read.append(array.ndim)
        return array

    monkeypatch.setattr(np.lib.format, "read_array", spy)
    panels = load_corpus([tmp_path / "d.npz"])
    assert [p.shape for p in panels] == [X.shape]
    assert read == [3]  # X once; y and the scalar never decompressed


def test_zero_steps_report_no_loss(corpus, tmp_path, capsys):
    args = [str(corpus / "a.npy"), "--out", str(tmp_path / "e.pt"), "--n-iters", "0", *TINY]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0 steps" in out and "nan" not in out


def test_help_examples_are_valid_commands():
    from skcontrast.pretrain import EPILOG, build_estimator, parser

    examples = [line.split()[3:] for line in EPILOG.splitlines() if line.startswith("  python -m")]
    assert len(examples) == 3
    for argv in examples:
        build_estimator(parser().parse_args(argv))  # parameter names and values accepted
    help_text = parser().format_help()
    assert help_text.count("(default:") >= 12 and ".npz" in help_text


def bad_inputs(tmp, corpus):
    """(arguments, expected message) pairs: every kind of user error the CLI may get."""
    a = str(corpus / "a.npy")
    (tmp / "empty").mkdir()
    files = {"empty.npy": b"", "empty.npz": b"", "junk.npz": b"PK\x03\x04 not a zip",
             "junk.ts": b"\x80\x81\x00", "empty.ts": b"", "data.csv": b"1,2,3\n"}  # fmt: skip
    for name, content in files.items():
        (tmp / name).write_bytes(content)
    np.savez(tmp / "labels.npz", y=np.arange(5), z=np.ones(3))
    np.save(tmp / "one_d.npy", np.arange(5.0))
    np.save(tmp / "four_d.npy", np.zeros((2, 2, 2, 2)))
    np.save(tmp / "strings.npy", np.array([["a", "b"], ["c", "d"]]))
    np.save(tmp / "objects.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    np.save(tmp / "no_rows.npy", np.zeros((0, 10)))
    np.save(tmp / "other_shape.npy", np.zeros((4, 1, 7), dtype=np.float32))
    out = ["--out", str(tmp / "enc.pt")]
    return [
        ([str(tmp / "missing.npy"), *out], "does not exist"),
        ([str(tmp / "empty"), *out], "no .npy/.npz/.ts files"),
        ([str(tmp / "data.csv"), *out], "is not a .npy/.npz/.ts file"),
        ([str(tmp / "empty.npy"), *out], "empty.npy cannot be read"),
        ([str(tmp / "empty.npz"), *out], "empty.npz cannot be read"),
        ([str(tmp / "junk.npz"), *out], "junk.npz cannot be read"),
        ([str(tmp / "labels.npz"), *out], "holds no 2-D or 3-D array"),
        ([str(tmp / "one_d.npy"), *out], "1-D array"),
        ([str(tmp / "four_d.npy"), *out], "4-D array"),
        ([str(tmp / "strings.npy"), *out], "expected numbers"),
        ([str(tmp / "objects.npy"), *out], "objects.npy cannot be read"),
        ([str(tmp / "no_rows.npy"), *out], "empty array"),
        ([str(tmp / "empty.ts"), *out], "empty.ts cannot be read"),
        ([str(tmp / "junk.ts"), *out], "junk.ts cannot be read"),
        ([a, *out, "--param", "nonsense=1"], "no parameter 'nonsense'; valid names: .*image_size"),
        ([a, *out, "--method", "btsf", "--param", "depth=4"], "no parameter .depth.*rank"),
        ([a, *out, "--param", "hidden_channels=abc"], "expected a number"),
        ([a, *out, "--param", "depth=2.5"], "depth must be an integer"),
        ([a, *out, "--param", "swa=maybe"], "expected True or False"),
        ([a, *out, "--param", "image=[1, 2]"], "expected a number, a string"),
        ([a, *out, "--param", "image=nope"], "image must be one of"),
        ([a, *out, "--param", "device=cpu"], "use the option --device"),
        ([a, *out, "--n-iters", "-1"], "n_iters must be an integer >= 0"),
        ([a, *out, "--n-iters", "many"], "invalid int value"),
        ([a, *out, "--batch-size", "0"], "batch_size must be an integer >= 1"),
        ([a, *out, "--lr", "-1"], "lr must be finite and > 0"),
        ([a, *out, "--seed", "-1"], "--seed"),
        ([a, *out, "--max-time", "0"], "max_time must be None or > 0"),
        ([a, *out, "--device", "tpu9"], "not a device torch knows"),
        ([a, *out, "--method", "nonsense"], "invalid choice"),
        ([a], "the following arguments are required: --out"),
        ([a, "--out", str(corpus / "a.npy" / "enc.pt")], "is a file, so no folder can be made"),
        ([a, "--out", str(tmp)], "is a folder"),
        ([a, *out, "--checkpoint", str(tmp / "missing" / "c.ckpt")], "folder of checkpoint_path"),
        ([a, str(tmp / "other_shape.npy"), *out, "--method", "btsf"], "BTSF trains on one shape"),
    ]  # fmt: skip


def test_every_bad_input_is_one_line_and_status_2(corpus, tmp_path, capsys, monkeypatch):
    import skcontrast.pretrain as cli

    def no_fit(*args, **kwargs):
        raise AssertionError("a bad input reached fit")

    monkeypatch.setattr(AimTSTransformer, "fit", no_fit)
    monkeypatch.setattr(BTSFTransformer, "fit", no_fit)
    cases = bad_inputs(tmp_path, corpus)
    assert len(cases) >= 30
    for argv, expected in cases:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        err = capsys.readouterr().err
        assert exit_info.value.code == 2, (argv, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("pretrain: "), (argv, err)
        assert "Traceback" not in err
        assert re.search(expected, lines[0]), (argv, lines[0])


def test_a_bad_input_from_the_command_line_exits_2(tmp_path):
    """One real process (start-up costs seconds): status and stderr as a shell sees them."""
    missing = tmp_path / "missing.npy"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "skcontrast.pretrain", str(missing), "--out", "e.pt"]
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [f"pretrain: {missing} does not exist"]
