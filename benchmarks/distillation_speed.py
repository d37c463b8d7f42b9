"""One distillation epoch of the article's MLP pair on 60,000 MNIST-shaped inputs: our trainer against the
article's loop, side by side in one run, printed as ratios of samples per second.

- article loop (as written): torchvision's MNIST dataset with transforms.ToTensor() (here over 60,000
  synthetic images written as MNIST IDX files in a temporary folder, so nothing is downloaded), a
  DataLoader with batch 64, the teacher forward every step in train mode, its graph built and
  back-propagated through, as in the article's snippet.
- DataLoader over tensors + no_grad: a kinder baseline: a DataLoader (batch 64) over a TensorDataset, the
  teacher in eval() under no_grad each step, our kd_loss.
- this trainer: the data as one tensor on the device, batches as index slices, teacher logits computed once
  (included in the time) and indexed with each batch's shuffled indices: `trainer.student_epoch`.

Then the accuracy check on real data (digits): the student distilled with our epoch function and with the
DataLoader loop (same teacher, init, loss, epochs) reach the same test accuracy, averaged over seeds.

    .venv/bin/python benchmarks/distillation_speed.py [--threads 1] [--device cpu] [--n 60000]
"""

from __future__ import annotations

import argparse
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from compression.distillation.data import load_dataset  # noqa: E402
from compression.distillation.losses import kd_loss  # noqa: E402
from compression.distillation.models import ModelSpec, build_model  # noqa: E402
from compression.distillation.trainer import _logits, make_adam, student_epoch  # noqa: E402

TEACHER = ModelSpec("mlp", (256, 128))
STUDENT = ModelSpec("mlp", (128,))
T, ALPHA, LR, BATCH = 4.0, 0.9, 1e-3, 64


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def write_fake_mnist(root: Path, x: torch.Tensor, y: torch.Tensor) -> None:
    """The tensors as MNIST IDX files in torchvision's layout (root/MNIST/raw), test split = first 100."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    images = (x.squeeze(1).clamp(-3, 3) * 40 + 128).to(torch.uint8).numpy()
    labels = y.to(torch.uint8).numpy()
    for prefix, sl in (("train", slice(None)), ("t10k", slice(0, 100))):
        img, lab = images[sl], labels[sl]
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", *img.shape) + img.tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", len(lab)) + lab.tobytes()
        )


def article_epoch(teacher, student, dataset, device, teacher_no_grad: bool, generator) -> None:  # noqa: ANN001
    loader = DataLoader(dataset, batch_size=BATCH, shuffle=True, generator=generator)
    optimizer = torch.optim.Adam(student.parameters(), lr=LR)
    if teacher_no_grad:
        teacher.eval()
    else:
        teacher.train()
    student.train()
    for data, target in loader:
        data, target = data.to(device), target.to(device)
        if teacher_no_grad:
            with torch.no_grad():
                teacher_logits = teacher(data)
            loss = kd_loss(student(data), teacher_logits, target, T, ALPHA)
        else:  # the article: probabilities from a teacher with a graph, CE against them, 0.5 added
            teacher_output = torch.softmax(teacher(data), dim=1)
            student_output = student(data)
            loss = F.cross_entropy(student_output, target) + 0.5 * F.cross_entropy(student_output, teacher_output)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def our_epoch(teacher, student, x, y, device, generator) -> None:  # noqa: ANN001
    x, y = x.to(device), y.to(device)
    teacher_logits = _logits(teacher, x)  # once; counted in the epoch's time
    optimizer = make_adam(list(student.parameters()), LR, device)
    batches = list(torch.split(torch.randperm(len(y), generator=generator).to(device), BATCH))
    student_epoch(
        student,
        optimizer,
        None,
        x,
        y,
        batches,
        lambda logits, yb, idx: kd_loss(logits, teacher_logits[idx], yb, T, ALPHA),
    )


def speed(args: argparse.Namespace, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(args.n, 1, 28, 28, generator=g)  # MNIST-shaped inputs (data stay on the CPU for the DataLoader)
    y = torch.randint(0, 10, (args.n,), generator=g)
    torch.manual_seed(0)
    teacher = build_model(TEACHER, (1, 28, 28), 10).to(device)
    student0 = build_model(STUDENT, (1, 28, 28), 10).to(device)
    import copy

    from torchvision import datasets, transforms

    folder = tempfile.TemporaryDirectory()
    write_fake_mnist(Path(folder.name), x, y)
    mnist = datasets.MNIST(root=folder.name, train=True, download=False, transform=transforms.ToTensor())
    tensors = TensorDataset(x, y)
    variants = {
        "article loop (as written)": lambda s, gen: article_epoch(teacher, s, mnist, device, False, gen),
        "DataLoader over tensors + no_grad": lambda s, gen: article_epoch(teacher, s, tensors, device, True, gen),
        "this trainer": lambda s, gen: our_epoch(teacher, s, x, y, device, gen),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    for repeat in range(args.repeats):  # interleaved, so a busy neighbour slows every variant alike
        for name, run in variants.items():
            student = copy.deepcopy(student0)
            gen = torch.Generator().manual_seed(repeat)
            sync(device)
            start = time.perf_counter()
            run(student, gen)
            sync(device)
            times[name].append(time.perf_counter() - start)
    folder.cleanup()
    best = {name: min(ts) for name, ts in times.items()}
    print(f"One distillation epoch, {args.n:,} MNIST-shaped inputs, batch {BATCH}, article MLP pair, {device}, "
          f"{torch.get_num_threads()} thread(s); best of {args.repeats}:")  # fmt: skip
    ours = best["this trainer"]
    for name, seconds in best.items():
        print(f"  {name:32s} {seconds:7.2f} s/epoch  {args.n / seconds:10,.0f} samples/s  "
              f"this trainer is {seconds / ours:5.1f}x faster")  # fmt: skip


def accuracy(args: argparse.Namespace, device: torch.device) -> None:
    """Same teacher, init, loss and epochs on real data: our epoch function vs the DataLoader loop."""
    ours_acc, loader_acc = [], []
    for seed in range(args.seeds):
        data = load_dataset("digits", seed=seed, train_fraction=0.5, device=device)
        torch.manual_seed(seed)
        teacher = build_model(TEACHER, data.input_shape, 10).to(device)
        opt = torch.optim.Adam(teacher.parameters(), lr=LR)
        gen = torch.Generator().manual_seed(seed)
        for _ in range(60):
            for idx in torch.split(torch.randperm(len(data.y_train), generator=gen).to(device), BATCH):
                loss = F.cross_entropy(teacher(data.x_train[idx]), data.y_train[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        teacher.eval()
        student0 = build_model(STUDENT, data.input_shape, 10).to(device)
        for name, bucket in (("ours", ours_acc), ("loader", loader_acc)):
            import copy

            student = copy.deepcopy(student0)
            gen = torch.Generator().manual_seed(seed + 100)
            for _ in range(args.acc_epochs):
                if name == "ours":
                    our_epoch(teacher, student, data.x_train, data.y_train, device, gen)
                else:
                    article_epoch(teacher, student, TensorDataset(data.x_train, data.y_train), device, True, gen)
            pred = _logits(student, data.x_test).argmax(1)
            bucket.append(float((pred == data.y_test).float().mean()))
    print(f"Accuracy on real data (digits, 50% train, {args.acc_epochs} epochs, fresh Adam per epoch as in one-epoch "
          f"timing, {args.seeds} seeds): this trainer {100 * statistics.fmean(ours_acc):.2f}% "
          f"± {100 * statistics.stdev(ours_acc):.2f}, DataLoader loop {100 * statistics.fmean(loader_acc):.2f}% "
          f"± {100 * statistics.stdev(loader_acc):.2f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (the machine is shared)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--acc-epochs", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    speed(args, device)
    accuracy(args, device)


if __name__ == "__main__":
    main()
