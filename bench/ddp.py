"""PyTorch DDP peer of distrain's multi-trainer rows: `--world` processes on loopback (gloo backend, one
thread each), the MLP of torchbench.py, the same global batch of 128 split evenly across the ranks and
the same global shuffle on every rank; DDP averages the gradients. Rank 0 evaluates every `--eval-every`
steps while the others wait at a barrier (time excluded). Rank 0 prints one JSON line: samples/s (global),
seconds and steps of training until the first evaluation at >= 85%, final accuracy, the BLAS mapped."""
import argparse, json, os, re, socket, time
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel
import torchbench


def run(rank, args, port):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), GLOO_SOCKET_IFNAME="lo")
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=args.world)
    torch.manual_seed(42)
    xtr, ytr, xte, yte = torchbench.load(args.root)
    model = DistributedDataParallel(torchbench.mlp())
    opt = torchbench.adam(model)
    loss_fn = torch.nn.CrossEntropyLoss()
    per = 128 // args.world
    train_seconds, to_target, steps_to_target, step = 0.0, None, None, 0
    dist.barrier()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(xtr), generator=torch.Generator().manual_seed(1000 + epoch))
        start = time.perf_counter()
        for i in range(0, len(xtr), 128):
            g = perm[i:i + 128]
            n = len(g) // args.world
            b = g[rank * n:(rank + 1) * n]
            opt.zero_grad()
            loss_fn(model(xtr[b]), ytr[b]).backward()
            opt.step()
            step += 1
            if to_target is None and step % args.eval_every == 0:
                train_seconds += time.perf_counter() - start
                reached = torch.zeros(1)
                if rank == 0 and torchbench.accuracy(model.module, xte, yte) >= 0.85:
                    reached[0] = 1
                dist.broadcast(reached, 0)  # also the barrier that keeps the evaluation out of the time
                if reached[0] == 1:
                    to_target, steps_to_target = train_seconds, step
                start = time.perf_counter()
        dist.barrier()
        train_seconds += time.perf_counter() - start
    if rank == 0:
        libs = sorted({l.split()[-1] for l in open("/proc/self/maps")
                       if re.search(r"blas[^/]*\.so", l.split()[-1])})
        print(json.dumps({"world": args.world, "samplesPerSecond": args.epochs * len(xtr) / train_seconds,
                          "timeToTarget": to_target, "stepsToTarget": steps_to_target,
                          "accuracy": torchbench.accuracy(model.module, xte, yte), "perRankBatch": per,
                          "blasLibraries": libs}), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("--world", type=int, default=2)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--root", default=torchbench.ROOT)
    a = p.parse_args()
    if a.world < 1 or 128 % a.world != 0:
        raise SystemExit(f"ddp.py: --world must divide the global batch 128, got {a.world}")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free_port = s.getsockname()[1]
    mp.spawn(run, args=(a, free_port), nprocs=a.world, join=True)
