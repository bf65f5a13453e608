"""ImageNet harness: folder reading and splits, transforms, top-k, training (loss falls, accuracy rises), exact
resume, DDP code path (gloo, world size 1), the train / eval commands, and bad input."""
from __future__ import annotations

import json
import math
import socket
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("timm")
pytest.importorskip("torchvision")

import typer  # noqa: E402
from PIL import Image  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from codesign.cli.accuracy import register  # noqa: E402
from codesign.evaluation.imagenet import (  # noqa: E402
    IMAGENET_MEAN,
    IMAGENET_STD,
    ImageDataset,
    build_transform,
    check_resolution,
    collate_skip,
    eval_resize,
    find_split_dirs,
    scan_image_folder,
    write_synthetic_image_folder,
)
from codesign.evaluation.training import (  # noqa: E402
    TrainSettings,
    accuracy,
    build_network,
    evaluate_classifier,
    load_checkpoint,
    topk_correct,
    train_classifier,
)

RES = 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """8 classes x (6 train + 2 val) JPEGs of 32x32, one flat colour + noise per class."""
    return write_synthetic_image_folder(tmp_path_factory.mktemp("imagenet"), classes=8, train_per_class=6,
                                        val_per_class=2, size=32)


def tiny_net(num_classes: int = 8) -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, num_classes),
    )


def datasets(folder: Path, holdout: int = 2):
    split = scan_image_folder(folder / "train", holdout_per_class=holdout, split_seed=0)
    train = ImageDataset(split.train, build_transform(RES, train=True), split.classes)
    held = ImageDataset(split.heldout, build_transform(RES, train=False), split.classes)
    return train, held


# -- folders ---------------------------------------------------------------------------------------------------
def test_scan_subsets_caps_and_holdout(folder):
    train_dir, val_dir = find_split_dirs(folder)
    assert train_dir == folder / "train" and val_dir == folder / "val"
    full = scan_image_folder(train_dir)
    assert full.num_classes == 8 and len(full.train) == 48 and full.heldout == ()
    assert full.classes == tuple(f"n{c:08d}" for c in range(8))
    assert all(Path(p).parent.name == full.classes[label] for p, label in full.train)
    sub = scan_image_folder(train_dir, classes=3, max_per_class=2, holdout_per_class=3, split_seed=1)
    assert sub.num_classes == 3 and list(sub.classes) == sorted(sub.classes)
    assert len(sub.train) == 6 and len(sub.heldout) == 9
    assert not {p for p, _ in sub.train} & {p for p, _ in sub.heldout}
    assert np.bincount([lab for _, lab in sub.heldout]).tolist() == [3, 3, 3]
    assert all(Path(p).parent.name == sub.classes[label] for p, label in sub.train + sub.heldout)
    # deterministic in the seed, different for another seed
    assert scan_image_folder(train_dir, classes=3, max_per_class=2, holdout_per_class=3, split_seed=1) == sub
    other = scan_image_folder(train_dir, classes=3, max_per_class=2, holdout_per_class=3, split_seed=2)
    assert (other.classes, other.heldout) != (sub.classes, sub.heldout)
    named = scan_image_folder(train_dir, classes=["n00000005", "n00000002"])
    assert named.classes == ("n00000005", "n00000002") and named.train[0][1] == 0
    # a folder without train/ is read as a train folder
    assert find_split_dirs(folder / "val") == (folder / "val", None)


def test_scan_errors(tmp_path, folder):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "missing")):
        find_split_dirs(tmp_path / "missing")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(FileNotFoundError, match="not a folder"):
        find_split_dirs(tmp_path / "file.txt")
    (tmp_path / "flat").mkdir()
    with pytest.raises(ValueError, match="no class folders"):
        scan_image_folder(tmp_path / "flat")
    empty = tmp_path / "data" / "train"
    for c in ("a", "b"):
        (empty / c).mkdir(parents=True)
    Image.new("RGB", (8, 8)).save(empty / "a" / "x.png")
    (empty / "b" / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=f"class folder {empty / 'b'} has no images"):
        scan_image_folder(empty)
    with pytest.raises(ValueError, match="too few to hold out"):
        scan_image_folder(folder / "train", holdout_per_class=6)
    with pytest.raises(ValueError, match="no class folder named 'n99'"):
        scan_image_folder(folder / "train", classes=["n99"])
    with pytest.raises(ValueError, match="classes=9 but"):
        scan_image_folder(folder / "train", classes=9)
    with pytest.raises(ValueError, match="max_per_class"):
        scan_image_folder(folder / "train", max_per_class=0)


# -- transforms ------------------------------------------------------------------------------------------------
def test_transform_shapes_and_normalisation():
    rgb = (200, 100, 50)
    img = Image.new("RGB", (50, 40), rgb)
    want = torch.tensor([(v / 255.0 - m) / s for v, m, s in zip(rgb, IMAGENET_MEAN, IMAGENET_STD)])
    for train in (False, True):
        out = build_transform(24, train=train)(img)
        assert out.shape == (3, 24, 24) and out.dtype == torch.float32
        torch.testing.assert_close(out, want.view(3, 1, 1).expand(3, 24, 24), atol=1e-5, rtol=0)
    assert eval_resize(224) == 256 and eval_resize(224, 1.0) == 224 and eval_resize(160) == 182


def test_eval_transform_geometry():
    # 64x32 image, left half white, right half black: the eval transform resizes the shorter side to
    # floor(res / crop_pct) and centre-crops res x res
    a = np.zeros((32, 64, 3), np.uint8)
    a[:, :32] = 255
    img = Image.fromarray(a)
    white = (1.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    black = (0.0 - IMAGENET_MEAN[0]) / IMAGENET_STD[0]
    out = build_transform(16, train=False, crop_pct=0.5)(img)  # resize 32 -> 32 (no-op), crop x 24..40
    assert out.shape == (3, 16, 16)
    torch.testing.assert_close(out[0, :, :8], torch.full((16, 8), white), atol=1e-5, rtol=0)
    torch.testing.assert_close(out[0, :, 8:], torch.full((16, 8), black), atol=1e-5, rtol=0)
    out = build_transform(8, train=False, crop_pct=0.5)(img)  # resize 32 -> 16 (32x16 image), crop x 12..20
    assert out.shape == (3, 8, 8)
    assert float(out[0, :, 0].mean()) == pytest.approx(white, abs=1e-5)
    assert float(out[0, :, -1].mean()) == pytest.approx(black, abs=1e-5)


def test_bad_resolution():
    with pytest.raises(ValueError, match="resolution=4"):
        build_transform(4, train=False)
    with pytest.raises(ValueError, match="resolution=0"):
        build_transform(0, train=True)
    with pytest.raises(ValueError, match="crop_pct"):
        build_transform(32, train=False, crop_pct=1.5)
    vit = build_network("vit_tiny_patch16_224", num_classes=4)
    with pytest.raises(ValueError, match="cannot take resolution=64"):
        check_resolution(vit, 64, name="vit")
    assert check_resolution(tiny_net(5), 16) == 5


# -- metrics ---------------------------------------------------------------------------------------------------
def test_topk_on_hand_made_logits():
    logits = torch.tensor([
        [0.1, 0.9, 0.0, 0.3, 0.2, 0.5],    # target 1: top-1 hit
        [0.8, 0.1, 0.7, 0.0, 0.6, 0.5],    # target 2: rank 2
        [0.0, 0.1, 0.2, 0.3, 0.4, 0.5],    # target 0: rank 6 (last)
        [0.5, 0.4, 0.3, 0.2, 0.1, 0.6],    # target 3: rank 5
    ])
    target = torch.tensor([1, 2, 0, 3])
    assert topk_correct(logits, target, (1, 2, 5, 6)) == [1, 2, 3, 4]
    assert accuracy(logits, target, (1, 5)) == [0.25, 0.75]
    # k above the number of classes counts everything
    assert topk_correct(logits[:, :3], torch.tensor([1, 2, 0, 0]), (1, 5)) == [2, 4]  # rows 1 and 4 hit
    assert topk_correct(torch.zeros(0, 6), torch.zeros(0, dtype=torch.long)) == [0, 0]
    with pytest.raises(ValueError, match="logits must be"):
        topk_correct(logits, target[:2])


# -- corrupt images ----------------------------------------------------------------------------------------------
def test_corrupt_image_is_skipped_counted_and_named(tmp_path):
    root = write_synthetic_image_folder(tmp_path / "d", classes=2, train_per_class=3, val_per_class=0, size=16)
    bad = root / "train" / "n00000001" / "broken.JPEG"
    bad.write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    split = scan_image_folder(root / "train")
    assert len(split.train) == 7
    ds = ImageDataset(split.train, build_transform(RES, train=False))
    x, y, paths = collate_skip([ds[i] for i in range(len(ds))])
    assert x.shape == (6, 3, RES, RES) and y.tolist() == [0, 0, 0, 1, 1, 1] and paths == [str(bad)]
    with pytest.warns(RuntimeWarning, match="broken.JPEG"):
        r = evaluate_classifier(tiny_net(2), ds, batch_size=4, workers=0)
    assert r.images == 6 and r.skipped == 1 and 0 <= r.top1 <= 1 and r.top5 == 1.0


# -- training ----------------------------------------------------------------------------------------------------
def test_settings_validation_and_lr_scaling():
    assert TrainSettings(batch_size=64).peak_lr() == pytest.approx(0.025)
    assert TrainSettings(batch_size=64, optimizer="rmsprop").peak_lr(world_size=4) == pytest.approx(0.016)
    assert TrainSettings(lr=0.3).peak_lr(8) == 0.3
    for bad in ({"optimizer": "adam"}, {"lr": -1.0}, {"label_smoothing": 1.0}, {"epochs": 0},
                {"ema_decay": 1.0}, {"amp_dtype": "int8"}, {"warmup_epochs": math.nan}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            TrainSettings(**bad)


def test_loss_falls_and_accuracy_rises(folder):
    train, held = datasets(folder)
    model = tiny_net()
    before = evaluate_classifier(model, held, workers=0)
    s = TrainSettings(epochs=6, batch_size=8, lr=0.2, warmup_epochs=1, weight_decay=0.0, label_smoothing=0.0,
                      workers=0)
    res = train_classifier(model, train, held, s, progress=False)
    losses = [h.train_loss for h in res.history]
    assert len(res.history) == 6 and res.params == sum(p.numel() for p in model.parameters())
    assert losses[-1] < 0.8 * losses[0], losses
    assert res.top1 >= 0.5 > before.top1 + 0.2, (before.top1, res.top1)  # chance is 1/8
    assert res.top5 >= res.top1 and res.images_per_s > 0 and res.history[-1].lr == pytest.approx(0.0, abs=1e-9)


def test_interrupted_run_resumes_to_the_same_result(folder, tmp_path):
    train, held = datasets(folder)
    s = TrainSettings(epochs=3, batch_size=8, lr=0.1, warmup_epochs=0.5, ema_decay=0.8, workers=0)
    full = train_classifier(tiny_net(), train, held, s, out_dir=tmp_path / "a", progress=False)

    class Interrupt(Exception):
        pass

    def stop_after_first(rec):
        if rec.epoch == 1:
            raise Interrupt

    with pytest.raises(Interrupt):
        train_classifier(tiny_net(), train, held, s, out_dir=tmp_path / "b", progress=False,
                         on_epoch_end=stop_after_first)
    assert load_checkpoint(tmp_path / "b" / "last.pt")["epoch"] == 1
    with pytest.raises(ValueError, match="exists: resume it"):
        train_classifier(tiny_net(), train, held, s, out_dir=tmp_path / "b", progress=False)
    with pytest.raises(ValueError, match="checkpoint has lr=0.1, resuming with lr=0.2"):
        train_classifier(tiny_net(), train, held, TrainSettings(**{**s.to_dict(), "lr": 0.2}),
                         out_dir=tmp_path / "b", resume=True, progress=False)
    resumed = train_classifier(tiny_net(), train, held, s, out_dir=tmp_path / "b", resume=True, progress=False)
    assert resumed.resumed_from == 1 and len(resumed.history) == 3
    a, b = load_checkpoint(tmp_path / "a" / "last.pt"), load_checkpoint(tmp_path / "b" / "last.pt")
    for part in ("model", "ema"):
        for k in a[part]:
            assert torch.equal(a[part][k], b[part][k]), (part, k)
    assert [h.train_loss for h in full.history] == [h.train_loss for h in resumed.history]
    assert (full.top1, full.ema_top1) == (resumed.top1, resumed.ema_top1)
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(line)["epoch"] for line in lines] == [1, 2, 3]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_ddp_code_path_gloo_world_size_one(folder, monkeypatch):
    if not torch.distributed.is_available():
        pytest.skip("torch.distributed not available")
    train, held = datasets(folder)
    s = TrainSettings(epochs=1, batch_size=8, lr=0.1, workers=0)
    plain = train_classifier(tiny_net(), train, held, s, progress=False)
    for k, v in {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "RANK": "0", "WORLD_SIZE": "1",
                 "LOCAL_RANK": "0"}.items():
        monkeypatch.setenv(k, v)
    wrapped = []
    real_ddp = torch.nn.parallel.DistributedDataParallel

    def spy(module, *args, **kwargs):
        wrapped.append(torch.distributed.get_backend())
        return real_ddp(module, *args, **kwargs)

    monkeypatch.setattr(torch.nn.parallel, "DistributedDataParallel", spy)
    ddp = train_classifier(tiny_net(), train, held, s, progress=False, device="cpu")
    assert wrapped == ["gloo"]
    assert not torch.distributed.is_initialized()  # the group this call created is gone again
    assert ddp.history[0].train_loss == pytest.approx(plain.history[0].train_loss, rel=1e-5)
    assert ddp.top1 == plain.top1


# -- commands ------------------------------------------------------------------------------------------------------
def test_train_and_eval_commands(folder, tmp_path):
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    net = "ds_r1_k3_s1_c8 ir_r1_k3_s2_e2_c16"
    out = tmp_path / "run"
    r = runner.invoke(app, ["train", "--network", net, "--data", str(folder), "--out", str(out), "--resolution",
                            str(RES), "--epochs", "2", "--batch-size", "8", "--workers", "0", "--holdout-per-class",
                            "2", "--classes", "4", "--ema-decay", "0.9", "--no-progress", "--format", "json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert len(doc["history"]) == 2 and doc["resumed_from"] == 0 and 0 <= doc["top1"] <= 1
    meta = load_checkpoint(out / "last.pt")["meta"]
    assert len(meta["classes"]) == 4 and meta["resolution"] == RES and meta["eval_split"] == "holdout"
    r = runner.invoke(app, ["eval", "--network", net, "--data", str(folder), "--checkpoint", str(out / "last.pt"),
                            "--split", "holdout", "--workers", "0", "--no-progress", "--format", "json"])
    assert r.exit_code == 0, r.output
    ev = json.loads(r.stdout)
    assert ev["images"] == 8 and ev["top1"] == pytest.approx(doc["ema_top1"])
    r = runner.invoke(app, ["eval", "--network", net, "--data", str(folder), "--checkpoint", str(out / "last.pt"),
                            "--workers", "0", "--no-progress", "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["images"] == 8  # val/: 2 images x the 4 trained classes
    # a timm model by name, random weights, as `codesign eval --network efficientnet_es --data DIR`
    r = runner.invoke(app, ["eval", "--network", "efficientnet_es", "--data", str(folder), "--resolution", "32",
                            "--workers", "0", "--no-progress"])
    assert r.exit_code == 0, r.output
    assert "top-1" in r.stdout and "images/s" in r.stdout


def test_commands_reject_bad_input(folder, tmp_path):
    app = typer.Typer()
    register(app)
    runner = CliRunner()

    def fails(*args, match):
        r = runner.invoke(app, list(args))
        assert r.exit_code == 2, r.output
        assert match in r.output and r.output.count("error:") == 1, r.output

    fails("eval", "--network", "resnet18", "--data", str(tmp_path / "nope"), match=str(tmp_path / "nope"))
    fails("eval", "--network", "no_such_net", "--data", str(folder), "--workers", "0", match="'no_such_net'")
    fails("eval", "--network", "resnet18", "--data", str(folder), "--resolution", "4", match="resolution=4")
    empty = tmp_path / "e" / "train" / "n1"
    empty.mkdir(parents=True)
    fails("train", "--network", "resnet18", "--data", str(tmp_path / "e"), "--out", str(tmp_path / "o"),
          match=f"class folder {empty} has no images")
    fails("train", "--network", "resnet18", "--data", str(folder), "--out", str(tmp_path / "o"), "--opt", "adam",
          match="optimizer='adam'")
    fails("eval", "--network", "resnet18", "--data", str(folder), "--checkpoint", str(tmp_path / "x.pt"),
          match="checkpoint not found")


def test_build_network_from_block_strings():
    from codesign.space import NetworkCandidate, NetworkSpace

    space = NetworkSpace()
    cand = NetworkCandidate.mobilenet_v2()
    blocks = [b for stage in space.to_block_strings(cand) for b in stage]
    ref = space.build_model(cand, num_classes=10)
    for spec in (blocks, " ".join(blocks)):
        m = build_network(spec, num_classes=10)
        assert sum(p.numel() for p in m.parameters()) == sum(p.numel() for p in ref.parameters())
        assert any(isinstance(x, torch.nn.ReLU6) for x in m.modules())
    relu = build_network(blocks, num_classes=10, act="relu")
    assert not any(isinstance(x, torch.nn.ReLU6) for x in relu.modules())
    with pytest.raises(ValueError, match="act must be one of"):
        build_network(blocks, num_classes=10, act="tanh")
    with pytest.raises(ValueError, match="not valid timm block strings"):
        build_network("ir_r1_k3_s1_e6_cX zz_r1_k3_c8", num_classes=10)


_DDP_SCRIPT = r'''
import json, os, sys
from pathlib import Path
import torch
torch.set_num_threads(1)
from codesign.evaluation.imagenet import ImageDataset, build_transform, scan_image_folder
from codesign.evaluation.training import TrainSettings, train_classifier

folder, out, res = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
split = scan_image_folder(folder / "train", holdout_per_class=2, split_seed=0)
train = ImageDataset(split.train, build_transform(res, train=True), split.classes)
held = ImageDataset(split.heldout, build_transform(res, train=False), split.classes)
torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 8, 3, padding=1, bias=False), torch.nn.BatchNorm2d(8), torch.nn.ReLU(),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(8, 8))
rank = int(os.environ["RANK"])
s = TrainSettings(epochs=2, batch_size=4, lr=0.1, workers=0)
r = train_classifier(net, train, held, s, out_dir=out if rank == 0 else None, progress=False, device="cpu")
torch.save({k: v.detach().clone() for k, v in net.state_dict().items()}, out / f"weights{rank}.pt")
(out / f"result{rank}.json").write_text(json.dumps({"top1": r.top1, "loss": [h.train_loss for h in r.history],
                                                   "world": int(os.environ["WORLD_SIZE"])}))
'''


def test_ddp_world_size_two_keeps_ranks_in_step(folder, tmp_path):
    # Two CPU processes under torchrun (gloo): DDP must average the gradients so that both ranks hold identical
    # weights after every step, and the evaluation (each rank scores half the held-out set, counts all-reduced)
    # must report the same top-1 on both. A broken gradient sync or a per-rank evaluation fails this.
    import subprocess
    import sys

    if not torch.distributed.is_available():
        pytest.skip("torch.distributed not available")
    script = tmp_path / "ddp.py"
    script.write_text(_DDP_SCRIPT)
    out = tmp_path / "out"
    out.mkdir()
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK",
                                                                           "MASTER_ADDR", "MASTER_PORT")}
    env["OMP_NUM_THREADS"] = "1"
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                           "--master_port", str(_free_port()), str(script), str(folder), str(out), str(RES)],
                          capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    w0, w1 = torch.load(out / "weights0.pt"), torch.load(out / "weights1.pt")
    for k in w0:
        if k.endswith("running_mean") or k.endswith("running_var") or k.endswith("num_batches_tracked"):
            continue  # BatchNorm statistics are per process (no SyncBN), as in torch's DDP
        assert torch.equal(w0[k], w1[k]), k
    r0, r1 = (json.loads((out / f"result{i}.json").read_text()) for i in (0, 1))
    assert r0["world"] == r1["world"] == 2
    assert r0["top1"] == r1["top1"]
    assert len(r0["loss"]) == 2
    assert (out / "last.pt").is_file()
