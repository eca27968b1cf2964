"""``python -m skcontrast.pretrain``: corpus loading, encoder file, resume under 2 gloo ranks."""

import ddp_worker
import numpy as np
import pytest
import torch
from test_distributed import LOSS_RTOL, WEIGHTS_TOL, run_ranks

from skcontrast import AimTSTransformer, BTSFTransformer
from skcontrast.pretrain import load_corpus, main

TINY = ["--param", "hidden_channels=4", "--param", "repr_dims=8", "--param", "depth=1",
        "--param", "projection_dims=4", "--param", "image=None", "--param", "swa=False",
        "--batch-size", "8", "--device", "cpu", "--lr", "3e-3"]  # fmt: skip


def write_ts(path, panel, labels):
    lines = ["@problemName tiny", "@timeStamps false", "@missing false", "@univariate true",
             "@equalLength true", f"@seriesLength {panel.shape[-1]}", "@classLabel true a b", "@data"]  # fmt: skip
    lines += [",".join(f"{v:.5f}" for v in row[0]) + f":{lab}" for row, lab in zip(panel, labels)]
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
    with pytest.raises(SystemExit):
        load_corpus([corpus / "missing.npy"])


def test_pretrain_writes_an_encoder_that_pretrained_loads(corpus, tmp_path):
    out = tmp_path / "enc" / "encoder.pt"
    assert main([str(corpus), "--out", str(out), "--n-iters", "3", *TINY]) == 0
    encoder = AimTSTransformer.load_weights(out)
    assert encoder.n_iters_ == 3
    est = AimTSTransformer(pretrained=str(out), hidden_channels=4, repr_dims=8, depth=1,
                           projection_dims=4, image=None, n_iters=1, batch_size=4, device="cpu")  # fmt: skip
    assert est.fit_transform(ddp_worker.data()[:, :, :20]).shape[0] == 12


def test_pretrain_btsf(corpus, tmp_path):
    out = tmp_path / "btsf.pt"
    args = [str(corpus / "a.npy"), "--method", "btsf", "--out", str(out), "--n-iters", "2",
            "--batch-size", "4", "--device", "cpu", "--param", "hidden_channels=4", "--param", "repr_dims=4"]  # fmt: skip
    assert main(args) == 0
    assert BTSFTransformer.load_weights(out).transform(ddp_worker.data()).shape[0] == 12


def torchrun_like(args):
    """Run the CLI as 2 ranks with torchrun's environment variables."""
    return run_ranks(["-m", "skcontrast.pretrain", *args])


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
    for (k, a), b in zip(dist.network_.state_dict().items(), one.network_.state_dict().values()):
        torch.testing.assert_close(a, b, **WEIGHTS_TOL, msg=lambda m: f"{k}: {m}")


def test_param_without_a_value_is_a_clear_error(corpus, tmp_path):
    with pytest.raises(SystemExit, match="NAME=VALUE, got 'depth'"):
        main([str(corpus / "a.npy"), "--out", str(tmp_path / "e.pt"), "--param", "depth"])
