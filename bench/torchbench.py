"""Shared pieces of the PyTorch peers (reference.py, ddp.py): the BLAS probe, Fashion-MNIST, the MLP of
examples/fashion-mnist-mlp.yaml (784-256-128-10, relu, dropout 0.2), Adam lr 1e-3 eps 1e-7, and the test
evaluation run every N steps."""
import ctypes, gzip, re, time
import numpy as np
import torch

ROOT = "/usr/share/datasets/fashion-mnist"


def blas_info():
    """Which BLAS this process really uses (/proc/self/maps after a matmul), its kernel, its 1024^3 sgemm
    speed on one thread, and whether its answer is right (8 rows against an elementwise float64 product)."""
    torch.manual_seed(0)
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    c = torch.mm(a, b)
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        torch.mm(a, b)
        runs.append(time.perf_counter() - t)
    exact = (a[:8, :, None].double() * b[None].double()).sum(1)
    error = (c[:8].double() - exact).abs().max().item()
    libs = sorted({l.split()[-1] for l in open("/proc/self/maps")
                   if re.search(r"(blas|lapack)[^/]*\.so", l.split()[-1])})
    openblas = [p for p in libs if re.search(r"openblas[^/]*\.so", p)]
    core = None
    if openblas:
        try:
            f = ctypes.CDLL(openblas[0]).openblas_get_corename
            f.restype = ctypes.c_char_p
            core = f().decode()
        except (OSError, AttributeError):
            core = "unknown"
    return {"libraries": libs, "openblas": bool(openblas), "core": core,
            "sgemm1024GFlops": round(2 * 1024 ** 3 / sorted(runs)[2] / 1e9, 2),
            "maxAbsError": error, "correct": error < 1e-2}


def idx(root, name, offset):
    with gzip.open(f"{root}/{name}.gz", "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(root=ROOT):
    xtr = torch.tensor(idx(root, "train-images-idx3-ubyte", 16).reshape(-1, 784), dtype=torch.float32) / 255
    ytr = torch.tensor(idx(root, "train-labels-idx1-ubyte", 8), dtype=torch.long)
    xte = torch.tensor(idx(root, "t10k-images-idx3-ubyte", 16).reshape(-1, 784), dtype=torch.float32) / 255
    yte = torch.tensor(idx(root, "t10k-labels-idx1-ubyte", 8), dtype=torch.long)
    return xtr, ytr, xte, yte


def mlp():
    return torch.nn.Sequential(
        torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
        torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))


def adam(model):
    return torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)


def accuracy(model, xte, yte):
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    model.train()
    return acc
