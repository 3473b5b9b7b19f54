"""PyTorch reference for the distrain training benchmark, one process on one thread: the MLP of
torchbench.py, batch 128, test accuracy every `--eval-every` steps (evaluation time excluded). Prints one
JSON line: samples/s, seconds and steps of training until the first evaluation at >= 85% test accuracy,
the final accuracy, and which BLAS torch really used (torchbench.blas_info)."""
import argparse, json, time
import torch
import torchbench

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=3)
p.add_argument("--eval-every", type=int, default=50)
p.add_argument("--root", default=torchbench.ROOT)
args = p.parse_args()
torch.set_num_threads(1)
blas = torchbench.blas_info()
torch.manual_seed(42)
xtr, ytr, xte, yte = torchbench.load(args.root)
model = torchbench.mlp()
opt = torchbench.adam(model)
loss_fn = torch.nn.CrossEntropyLoss()
train_seconds, to_target, steps_to_target, acc, step = 0.0, None, None, 0.0, 0
model.train()
for epoch in range(args.epochs):
    perm = torch.randperm(len(xtr))
    start = time.perf_counter()
    for i in range(0, len(xtr), 128):
        b = perm[i:i + 128]
        opt.zero_grad()
        loss_fn(model(xtr[b]), ytr[b]).backward()
        opt.step()
        step += 1
        if to_target is None and step % args.eval_every == 0:
            train_seconds += time.perf_counter() - start
            if torchbench.accuracy(model, xte, yte) >= 0.85:
                to_target, steps_to_target = train_seconds, step
            start = time.perf_counter()
    train_seconds += time.perf_counter() - start
    acc = torchbench.accuracy(model, xte, yte)
print(json.dumps({"samplesPerSecond": args.epochs * len(xtr) / train_seconds, "timeToTarget": to_target,
                  "stepsToTarget": steps_to_target, "accuracy": acc, "torch": torch.__version__,
                  "blas": blas}))
