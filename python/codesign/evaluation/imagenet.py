"""ImageNet-style data: folder reading, class subsets, held-out splits, and the standard transforms.

Layout (torchvision's ``ImageFolder``, the layout of ImageNet's ILSVRC-2012 as usually unpacked)::

    DATA/train/<wnid>/*.JPEG        e.g. DATA/train/n01440764/n01440764_10026.JPEG
    DATA/val/<wnid>/*.JPEG          (optional; the 50 000 validation images sorted into class folders)

Class folders are the sub-folders of ``train/``, sorted by name; a class's label is its index in that sorted
list (after any class subset is taken). Image files are found recursively below each class folder and must end
in one of torchvision's ``IMG_EXTENSIONS`` (``.jpg .jpeg .png .ppm .bmp .pgm .tif .tiff .webp``, any case).
A folder without ``train/`` but with class folders directly inside is read as a train folder.

Proxy tasks (MnasNet, Tan et al. CVPR 2019, sec. 4: "we directly perform our architecture search on the
ImageNet training set but with fewer training steps", holding out 50K training images as the validation set;
ProxylessNAS and FBNet similarly search on 100-class subsets) are taken with :func:`scan_image_folder`:

* ``classes``: an int ``n`` keeps ``n`` classes drawn at random with ``split_seed`` (then sorted, so labels
  follow wnid order), or an explicit sequence of class-folder names;
* ``holdout_per_class``: per class, that many training images are set apart as the held-out split (the
  images of each class are shuffled with ``split_seed`` first; the split never depends on directory order);
* ``max_per_class``: per class, at most that many of the remaining images are used for training.

Transforms (:func:`build_transform`) are timm's (``timm.data.create_transform``) with the ImageNet recipe:

* train: ``RandomResizedCrop(resolution, scale=(0.08, 1), ratio=(3/4, 4/3))`` (Szegedy et al. 2015, the
  "Inception" crop) + horizontal flip with probability 0.5; colour jitter off unless asked for;
* eval: resize the shorter side to ``floor(resolution / crop_pct)`` (``crop_pct`` = 0.875 = 224/256 by default,
  so 256 px for 224) then centre-crop ``resolution x resolution``;
* both: ``ToTensor`` (``(3, H, W)`` float32 in [0, 1]) then per-channel ``(x - mean) / std`` with ImageNet's
  ``mean = (0.485, 0.456, 0.406)``, ``std = (0.229, 0.224, 0.225)``.

Bad input: a missing data folder, a folder with no class folders, a class folder with no images, too few images
for the requested held-out split, a class subset naming unknown classes, or an unusable resolution raise
``FileNotFoundError`` / ``ValueError`` naming the path or value. A corrupt (undecodable) image does not stop a
run: :class:`ImageDataset` returns ``None`` for it, :func:`collate_skip` drops it from the batch and reports
its path, and the training / evaluation loops warn once per file and count it.

Needs torch, torchvision and timm (``pip install 'codesign[search]'``).
"""
from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "DEFAULT_CROP_PCT",
    "IMG_EXTENSIONS",
    "FolderSplit",
    "find_split_dirs",
    "scan_image_folder",
    "ImageDataset",
    "collate_skip",
    "build_transform",
    "check_resolution",
    "load_image",
    "scan_eval_folder",
    "SkipCounter",
    "eval_resize",
    "write_synthetic_image_folder",
]

#: ImageNet per-channel mean and standard deviation of RGB values in [0, 1] (the torchvision / timm constants).
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: Eval centre crop as a fraction of the resized shorter side (224 / 256).
DEFAULT_CROP_PCT = 0.875
#: File name endings read as images (torchvision's list).
IMG_EXTENSIONS: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


# -- folders -----------------------------------------------------------------------------------------------------
def find_split_dirs(data: str | os.PathLike[str]) -> tuple[Path, Path | None]:
    """``(train_dir, val_dir or None)`` of an ImageNet-layout folder.

    ``DATA/train`` (and ``DATA/val`` if present) when ``DATA/train`` exists; otherwise ``DATA`` itself is the
    train folder (its sub-folders are the classes) and there is no val folder. Raises FileNotFoundError naming
    ``data`` when it does not exist or is not a folder.
    """
    root = Path(data)
    if not root.exists():
        raise FileNotFoundError(f"data folder not found: {root}")
    if not root.is_dir():
        raise FileNotFoundError(f"data path is not a folder: {root}")
    train = root / "train"
    if train.is_dir():
        val = root / "val"
        return train, (val if val.is_dir() else None)
    return root, None


def _class_folders(root: Path) -> list[str]:
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
    if not classes:
        raise ValueError(f"{root}: no class folders (expected the ImageFolder layout {root}/<class>/<image>)")
    return classes


def _list_images(folder: Path, extensions: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames.sort()
        for name in sorted(filenames):
            if name.lower().endswith(extensions) and not name.startswith("."):
                out.append(os.path.join(dirpath, name))
    return out


@dataclass(frozen=True)
class FolderSplit:
    """A scanned image folder, split into training and held-out images.

    Attributes:
        root: the folder scanned (class folders inside).
        classes: class-folder names, label ``i`` is ``classes[i]``.
        train: ``(path, label)`` of the training images, class by class.
        heldout: ``(path, label)`` of the held-out images; shuffled across classes with ``split_seed`` so any
            prefix is a class-balanced-in-expectation sample.
        images_per_class: images found per class (before the split and caps).
    """

    root: Path
    classes: tuple[str, ...]
    train: tuple[tuple[str, int], ...]
    heldout: tuple[tuple[str, int], ...]
    images_per_class: tuple[int, ...] = field(default=())

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def scan_image_folder(
    root: str | os.PathLike[str],
    *,
    classes: int | Sequence[str] | None = None,
    max_per_class: int | None = None,
    holdout_per_class: int = 0,
    split_seed: int = 0,
    extensions: Sequence[str] = IMG_EXTENSIONS,
) -> FolderSplit:
    """Scan ``root/<class>/...`` into a :class:`FolderSplit` (see the module docstring).

    Args:
        root: folder holding one sub-folder per class.
        classes: None (all), an int ``n`` (``n`` classes chosen at random with ``split_seed``) or class names.
        max_per_class: cap on training images per class (None: all).
        holdout_per_class: images per class set apart as the held-out split (0: none).
        split_seed: seed of the class choice and of the per-class shuffles.
        extensions: file endings read as images (case-insensitive).

    Raises FileNotFoundError if ``root`` is missing, ValueError naming the folder or value for: no class
    folders, an empty class folder, unknown class names, ``classes`` > number of classes, or a class with no
    image left for training after ``holdout_per_class``.
    """
    root = Path(root)
    all_classes = _class_folders(root)
    for name, v in (("max_per_class", max_per_class),):
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1):
            raise ValueError(f"{name} must be a positive int or None, got {name}={v!r}")
    if isinstance(holdout_per_class, bool) or not isinstance(holdout_per_class, (int, np.integer)) or holdout_per_class < 0:
        raise ValueError(f"holdout_per_class must be a non-negative int, got holdout_per_class={holdout_per_class!r}")
    rng = np.random.default_rng(split_seed)
    if classes is None:
        chosen = all_classes
    elif isinstance(classes, (int, np.integer)) and not isinstance(classes, bool):
        if not 1 <= classes <= len(all_classes):
            raise ValueError(f"classes={classes} but {root} has {len(all_classes)} class folders")
        chosen = sorted(all_classes[i] for i in rng.choice(len(all_classes), size=int(classes), replace=False))
    else:
        chosen = list(classes)
        if not chosen:
            raise ValueError("classes must not be empty")
        missing = [c for c in chosen if c not in set(all_classes)]
        if missing:
            raise ValueError(f"{root}: no class folder named {missing[0]!r} ({len(missing)} of the requested "
                             f"classes missing)")
        if len(set(chosen)) != len(chosen):
            raise ValueError(f"classes has duplicates: {chosen!r}")
    exts = tuple(e.lower() for e in extensions)
    train: list[tuple[str, int]] = []
    held: list[tuple[str, int]] = []
    counts: list[int] = []
    for label, name in enumerate(chosen):
        files = _list_images(root / name, exts)
        if not files:
            raise ValueError(f"class folder {root / name} has no images (looked for {' '.join(exts)})")
        counts.append(len(files))
        if holdout_per_class:
            order = np.random.default_rng([split_seed, label]).permutation(len(files))
            files = [files[i] for i in order]
            if len(files) <= holdout_per_class:
                raise ValueError(f"class folder {root / name} has {len(files)} images, too few to hold out "
                                 f"holdout_per_class={holdout_per_class} and keep one for training")
            held.extend((f, label) for f in files[:holdout_per_class])
            files = files[holdout_per_class:]
        elif max_per_class is not None and len(files) > max_per_class:
            order = np.random.default_rng([split_seed, label]).permutation(len(files))
            files = [files[i] for i in sorted(order[:max_per_class])]
        if max_per_class is not None:
            files = files[:max_per_class]
        train.extend((f, label) for f in files)
    if held:
        perm = rng.permutation(len(held))
        held = [held[i] for i in perm]
    return FolderSplit(root, tuple(chosen), tuple(train), tuple(held), tuple(counts))


def scan_eval_folder(root: str | os.PathLike[str], classes: Sequence[str], *,
                     extensions: Sequence[str] = IMG_EXTENSIONS) -> tuple[tuple[str, int], ...]:
    """``(path, label)`` of every image of ``root/<class>`` for the given (training) class names, labels in
    their order: how a ``val/`` folder is read so that labels match the training classes. Raises ValueError
    naming the folder if a class folder is missing or empty."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    exts = tuple(e.lower() for e in extensions)
    out: list[tuple[str, int]] = []
    for label, name in enumerate(classes):
        folder = root / name
        if not folder.is_dir():
            raise ValueError(f"{root}: no class folder {name!r} (the training classes must all be present)")
        files = _list_images(folder, exts)
        if not files:
            raise ValueError(f"class folder {folder} has no images (looked for {' '.join(exts)})")
        out.extend((f, label) for f in files)
    return tuple(out)


# -- images ------------------------------------------------------------------------------------------------------
def load_image(path: str | os.PathLike[str], *, draft: int | None = None) -> Image.Image:
    """Decode ``path`` to an RGB PIL image (fully loaded, so a truncated file fails here, not later).

    ``draft``: for JPEGs, let libjpeg decode at a reduced scale with the shorter side still >= ``draft`` px
    (several times faster for large images when a small resolution is wanted). Raises OSError (PIL's
    ``UnidentifiedImageError`` or a decoding error) for a corrupt file.
    """
    with open(path, "rb") as fh:
        img = Image.open(fh)
        if draft is not None and img.format == "JPEG":
            w, h = img.size
            s = min(w, h)
            if s > draft:
                img.draft("RGB", (max(1, round(w * draft / s)), max(1, round(h * draft / s))))
        img = img.convert("RGB")
        img.load()
    return img


class ImageDataset(Dataset):
    """``(path, label)`` samples read as ``(transform(image), label)``; ``None`` for an undecodable file.

    Args:
        samples: ``(path, label)`` pairs (e.g. :attr:`FolderSplit.train`).
        transform: callable PIL image -> tensor (e.g. :func:`build_transform`); None returns the PIL image.

    Use with ``DataLoader(..., collate_fn=collate_skip)`` so that corrupt images are dropped and reported.
    """

    def __init__(self, samples: Sequence[tuple[str, int]], transform: Callable[[Image.Image], Any] | None = None,
                 classes: Sequence[str] | None = None) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.classes = tuple(classes) if classes is not None else None

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, int, str] | tuple[None, int, str]:
        path, label = self.samples[index]
        try:
            img = load_image(path)
        except (OSError, ValueError, Image.DecompressionBombError):
            return None, int(label), path
        return (self.transform(img) if self.transform is not None else img), int(label), path

    @property
    def targets(self) -> list[int]:
        return [int(label) for _, label in self.samples]


def collate_skip(batch: Sequence[tuple[Any, int, str]]) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Collate ``ImageDataset`` items into ``(images (B, C, H, W), labels (B,) int64, bad_paths)``, leaving out
    the items whose image could not be decoded (their paths are returned in ``bad_paths``). An all-bad batch
    gives ``images.shape == (0,)``."""
    good = [(x, y) for x, y, _ in batch if x is not None]
    bad = [p for x, _, p in batch if x is None]
    if not good:
        return torch.empty(0), torch.empty(0, dtype=torch.int64), bad
    images = torch.stack([x for x, _ in good])
    labels = torch.tensor([y for _, y in good], dtype=torch.int64)
    return images, labels, bad


class SkipCounter:
    """Warns once per corrupt image path and counts them (the loops' bookkeeping for :func:`collate_skip`)."""

    def __init__(self) -> None:
        self.paths: set[str] = set()

    def add(self, paths: Sequence[str]) -> None:
        for p in paths:
            if p not in self.paths:
                self.paths.add(p)
                warnings.warn(f"skipping corrupt image {p}", RuntimeWarning, stacklevel=3)

    def __len__(self) -> int:
        return len(self.paths)


# -- transforms ----------------------------------------------------------------------------------------------------
def _check_resolution_value(resolution: Any) -> int:
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 8:
        raise ValueError(f"resolution must be an int >= 8 (pixels), got resolution={resolution!r}")
    return int(resolution)


def build_transform(
    resolution: int,
    *,
    train: bool,
    crop_pct: float = DEFAULT_CROP_PCT,
    scale: tuple[float, float] = (0.08, 1.0),
    ratio: tuple[float, float] = (3.0 / 4.0, 4.0 / 3.0),
    hflip: float = 0.5,
    color_jitter: float = 0.0,
    interpolation: str = "bilinear",
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> Callable[[Image.Image], torch.Tensor]:
    """The standard ImageNet transform at ``resolution`` px (see the module docstring), via timm.

    Args:
        resolution: output height = width (pixels, >= 8).
        train: True for random-resized crop + flip, False for resize + centre crop.
        crop_pct: eval only: the centre crop as a fraction of the resized shorter side (0 < crop_pct <= 1).
        scale, ratio: train only: area fraction and aspect-ratio ranges of the random crop.
        hflip: train only: probability of a horizontal flip.
        color_jitter: train only: brightness/contrast/saturation jitter factor (0 = off).
        interpolation: "bilinear", "bicubic", ... (train and eval).
        mean, std: per-channel normalisation constants (RGB, on [0, 1] values).

    Returns a callable mapping an RGB PIL image to a float32 tensor ``(3, resolution, resolution)``.
    """
    from timm.data import create_transform

    res = _check_resolution_value(resolution)
    if not (isinstance(crop_pct, (int, float)) and 0 < crop_pct <= 1):
        raise ValueError(f"crop_pct must be in (0, 1], got crop_pct={crop_pct!r}")
    if len(tuple(mean)) != 3 or len(tuple(std)) != 3 or any(s <= 0 for s in std):
        raise ValueError(f"mean and std need 3 values each (std > 0), got mean={mean!r}, std={std!r}")
    if train:
        return create_transform(res, is_training=True, scale=tuple(scale), ratio=tuple(ratio), hflip=hflip,
                                color_jitter=color_jitter if color_jitter else None, interpolation=interpolation,
                                mean=tuple(mean), std=tuple(std))
    return create_transform(res, is_training=False, crop_pct=crop_pct, interpolation=interpolation,
                            mean=tuple(mean), std=tuple(std))


def check_resolution(model: torch.nn.Module, resolution: int, *, in_chans: int = 3, name: str = "model",
                     device: torch.device | str | None = None) -> int:
    """Check that ``model`` takes ``(2, in_chans, resolution, resolution)`` input and returns ``(2, classes)``
    logits; return the number of classes. Raises ValueError naming ``name`` and ``resolution`` otherwise
    (e.g. a ViT built for 224 px given 160 px, or a resolution below 8)."""
    res = _check_resolution_value(resolution)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            x = torch.zeros(2, in_chans, res, res, device=device)
            out = model(x)
    except (RuntimeError, ValueError, AssertionError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ValueError(f"{name} cannot take resolution={res} (input {(2, in_chans, res, res)}): {msg}") from None
    finally:
        model.train(was_training)
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[0] != 2:
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(f"{name} at resolution={res} returns {shape}, expected (batch, classes) logits")
    if not torch.isfinite(out).all():
        raise ValueError(f"{name} at resolution={res} returns non-finite logits")
    return int(out.shape[1])


def eval_resize(resolution: int, crop_pct: float = DEFAULT_CROP_PCT) -> int:
    """Shorter side (px) an eval image is resized to before the centre crop: ``floor(resolution / crop_pct)``."""
    return int(math.floor(resolution / crop_pct))


def write_synthetic_image_folder(
    root: str | os.PathLike[str],
    *,
    classes: int = 8,
    train_per_class: int = 6,
    val_per_class: int = 2,
    size: int | tuple[int, int] = 32,
    noise: float = 20.0,
    seed: int = 0,
    fmt: str = "JPEG",
) -> Path:
    """Write a small learnable ImageNet-layout folder (``root/train/<class>/``, ``root/val/<class>/``) for tests
    and smoke runs: class ``i`` is a flat colour (a fixed palette of 8 distinct RGB colours, then seeded
    random ones) plus Gaussian pixel noise of ``noise`` grey levels; class folders are named
    ``n%08d`` like ImageNet wnids. ``size`` is (width, height) or one int. Returns ``root``."""
    root = Path(root)
    w, h = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    palette = [(230, 25, 25), (25, 230, 25), (25, 25, 230), (230, 230, 25), (230, 25, 230), (25, 230, 230),
               (240, 240, 240), (15, 15, 15)]
    ext = {"JPEG": ".JPEG", "PNG": ".png"}.get(fmt, "." + fmt.lower())
    for c in range(classes):
        colour = np.array(palette[c] if c < len(palette) else rng.integers(0, 256, 3), dtype=np.float64)
        for split, n in (("train", train_per_class), ("val", val_per_class)):
            if n <= 0:
                continue
            d = root / split / f"n{c:08d}"
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                a = (colour + rng.normal(0.0, noise, (h, w, 3))).clip(0, 255).astype(np.uint8)
                Image.fromarray(a).save(d / f"n{c:08d}_{i}{ext}", format=fmt)
    return root
