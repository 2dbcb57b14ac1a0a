"""The PyTorch reference side of tests/test_mup.py, run in its own process.

TensorFlow and a CUDA build of torch in one process can crash at import (a segmentation
fault inside triton, seen in CI), so the test runs `mup` here, with torch alone, and
reads the answers from a file. Usage: ``python mup_reference.py IN.npz OUT.npz``.

IN holds ``d_in``, ``d_out``, ``base``, ``wide``, ``draws``, the starting weights
(``w/<torch name>``, float64, torch's layout), the batch ``x``, ``y`` and, per optimizer
kind, its settings. OUT holds, per kind, the rate multiplier of each parameter read from
`mup`'s parameter groups (``rate/<kind>/<name>``), the losses of 8 training steps from the
given weights (``losses/<kind>``) and, per parameter, the initial weights of ``draws``
seeded builds (``spread/<name>``, the readout's divided by its width multiplier).
"""

from __future__ import annotations

import sys

import numpy as np
import torch
from mup import MuAdam, MuReadout, MuSGD, set_base_shapes


def torch_mlp(d_in: int, d_out: int, width: int, float64: bool = False) -> torch.nn.Module:
    """The test's 2-hidden-layer ReLU MLP with `mup`'s readout."""

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inp = torch.nn.Linear(d_in, width)
            self.hid = torch.nn.Linear(width, width)
            self.out = MuReadout(width, d_out)

        def forward(self, x):
            relu = torch.nn.functional.relu
            return self.out(relu(self.hid(relu(self.inp(x)))))

    net = Net()
    return net.double() if float64 else net


def main(src: str, dst: str) -> None:
    """Answer the test's three questions (rates, initial spread, training) into `dst`."""
    arg = np.load(src)
    d_in, d_out, base, wide, draws = (
        int(arg[k]) for k in ("d_in", "d_out", "base", "wide", "draws")
    )
    out: dict[str, np.ndarray] = {}
    optimizers = {"adam": MuAdam, "sgd": MuSGD}

    def mup_model(float64: bool = False, rescale: bool = True) -> torch.nn.Module:
        net = torch_mlp(d_in, d_out, wide, float64)
        set_base_shapes(net, torch_mlp(d_in, d_out, base, float64), rescale_params=rescale)
        return net

    lr = 0.01
    for kind, cls in optimizers.items():
        net = mup_model()
        opt = cls(net.parameters(), lr=lr)
        names = {id(p): n for n, p in net.named_parameters()}
        for group in opt.param_groups:
            for p in group["params"]:
                out[f"rate/{kind}/{names[id(p)]}"] = np.float64(group["lr"] / lr)

    spread: dict[str, list[np.ndarray]] = {}
    for seed in range(draws):
        torch.manual_seed(seed)
        net = mup_model()
        for n, p in net.named_parameters():
            w = p.detach().double().numpy()
            if n == "out.weight":
                w = w / net.out.width_mult()
            spread.setdefault(n, []).append(w.ravel())
    out.update({f"spread/{n}": np.concatenate(ws) for n, ws in spread.items()})

    xt, yt = torch.from_numpy(arg["x"]), torch.from_numpy(arg["y"])
    for kind, cls in optimizers.items():
        net = mup_model(float64=True, rescale=False)
        params = dict(net.named_parameters())
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(torch.from_numpy(arg[f"w/{n}"]))
        lr = float(arg[f"lr/{kind}"])
        extra = {"betas": tuple(arg["betas"]), "eps": 1e-30} if kind == "adam" else {}
        opt = cls(net.parameters(), lr=lr, **extra)
        losses = []
        for _ in range(int(arg["steps"])):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(xt), yt)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        out[f"losses/{kind}"] = np.asarray(losses)
    np.savez(dst, **out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
