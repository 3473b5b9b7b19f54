"""PyTorch reference for the distrain training benchmark: the Fashion-MNIST MLP of examples/
(784-256-128-10, relu, dropout 0.2), Adam lr 1e-3, batch 128, on one CPU thread. Prints one JSON
line: samples/s and the seconds of training until the first epoch with test accuracy >= 0.85."""
import gzip, json, sys, time
import numpy as np
import torch

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
root = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/datasets/fashion-mnist"
torch.set_num_threads(1)
torch.manual_seed(42)


def idx(name, offset):
    with gzip.open(f"{root}/{name}.gz", "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


xtr = torch.tensor(idx("train-images-idx3-ubyte", 16).reshape(-1, 784), dtype=torch.float32) / 255
ytr = torch.tensor(idx("train-labels-idx1-ubyte", 8), dtype=torch.long)
xte = torch.tensor(idx("t10k-images-idx3-ubyte", 16).reshape(-1, 784), dtype=torch.float32) / 255
yte = torch.tensor(idx("t10k-labels-idx1-ubyte", 8), dtype=torch.long)
model = torch.nn.Sequential(
    torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Dropout(0.2),
    torch.nn.Linear(256, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
loss_fn = torch.nn.CrossEntropyLoss()
train_seconds, to_target, acc = 0.0, None, 0.0
for epoch in range(epochs):
    model.train()
    perm = torch.randperm(len(xtr))
    start = time.perf_counter()
    for i in range(0, len(xtr), 128):
        b = perm[i:i + 128]
        opt.zero_grad()
        loss = loss_fn(model(xtr[b]), ytr[b])
        loss.backward()
        opt.step()
    train_seconds += time.perf_counter() - start
    model.eval()
    with torch.no_grad():
        acc = (model(xte).argmax(1) == yte).float().mean().item()
    if to_target is None and acc >= 0.85:
        to_target = train_seconds
print(json.dumps({"samplesPerSecond": epochs * len(xtr) / train_seconds, "timeToTarget": to_target,
                  "accuracy": acc, "torch": torch.__version__}))
