"""The data sets of the lessons: the three-blobs problem and MNIST.

Both come back as a `Dataset` that also says where the data came from, so every
result and figure can name its source (`"blobs"`, `"mnist (full, keras loader)"` or
`"mnist (10k subset: ...)"`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from lr_lessons import config
from lr_lessons.checks import InputError, one_of, whole_number

BLOBS_SPEC = dict(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=2)
N_BLOBS_TRAIN = 500
MNIST_FULL_TRAIN = 60_000
MIN_MNIST_IMAGES = 100  # per split: the chapters' batches (up to 250) need a few hundred


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays plus a human-readable name of their source.

    Args:
        x_train: The training inputs.
        y_train: The training targets (one-hot rows or integer labels).
        x_test: The test inputs (the studies' validation data).
        y_test: The test targets.
        source: Where the data came from, e.g. `"mnist (full, keras loader: ...)"`.

    Raises:
        InputError: If a split is empty or its inputs and targets differ in length.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __post_init__(self) -> None:
        for split, x, y in (
            ("train", self.x_train, self.y_train),
            ("test", self.x_test, self.y_test),
        ):
            if len(x) == 0:
                raise InputError(f"the {split} split of {self.source!r} is empty")
            if len(x) != len(y):
                raise InputError(
                    f"{split} inputs and targets differ in length: {len(x)} vs {len(y)}"
                )

    @cached_property
    def fingerprint(self) -> str:
        """A hash of the data's contents (every array's dtype, shape and bytes).

        Results are keyed by it, not by the file's name: the same file name holding
        other images or labels gives other results.

        Returns:
            16 hex digits.
        """
        digest = hashlib.sha256()
        for name in ("x_train", "y_train", "x_test", "y_test"):
            array = np.ascontiguousarray(getattr(self, name))
            digest.update(f"{name} {array.dtype.str} {array.shape}".encode())
            digest.update(memoryview(array).cast("B"))
        return digest.hexdigest()[:16]

    @property
    def n_classes(self) -> int:
        """Number of classes (one-hot width, or 1 + the largest integer label)."""
        y = self.y_train
        return int(y.shape[1]) if y.ndim == 2 else int(y.max()) + 1


def load_blobs() -> Dataset:
    """The blobs problem of chapters 1-5, exactly as the originals made it.

    `make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=2)`,
    one-hot targets, the first 500 rows for training and the last 500 for testing.
    """
    from sklearn.datasets import make_blobs

    x, y = make_blobs(**BLOBS_SPEC)
    x = x.astype("float32")
    onehot = np.eye(3, dtype="float32")[y]
    n = N_BLOBS_TRAIN
    return Dataset(x[:n], onehot[:n], x[n:], onehot[n:], source="blobs")


def blobs_labels() -> tuple[np.ndarray, np.ndarray]:
    """All 1,000 blobs points and their integer labels (for the scatter figure)."""
    from sklearn.datasets import make_blobs

    x, y = make_blobs(**BLOBS_SPEC)
    return x, y


_MNIST_HELP = (
    "No MNIST data could be loaded. Either let Keras download it once on a machine with "
    "internet access (python -c 'import keras; keras.datasets.mnist.load_data()'), which "
    "caches ~/.keras/datasets/mnist.npz, or name a Keras-format .npz file (keys x_train, "
    "y_train, x_test, y_test) with LR_LESSONS_MNIST=/path/to/file.npz."
)


MNIST_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _read_mnist_npz(path: Path) -> tuple[np.ndarray, ...]:
    where = str(path)
    if not path.exists():
        raise InputError(f"the MNIST file {where!r} does not exist. " + _MNIST_HELP)
    if path.is_dir():
        raise InputError(f"the MNIST file {where!r} is a folder. " + _MNIST_HELP)
    not_npz = (
        f"{where!r} is not a Keras-format .npz: expected a NumPy .npz archive with keys "
        f"{', '.join(MNIST_KEYS)} (as keras.datasets.mnist.load_data() caches it)"
    )
    try:
        loaded = np.load(path, allow_pickle=False)
    except Exception as err:
        raise InputError(f"{not_npz}; reading it said: {err}") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise InputError(f"{not_npz}; it is a single .npy array")
    with loaded as f:
        missing = [k for k in MNIST_KEYS if k not in f.files]
        if missing:
            raise InputError(f"{not_npz}; it has keys {sorted(f.files)}, missing {missing}")
        try:
            arrays = tuple(f[k] for k in MNIST_KEYS)
        except Exception as err:
            raise InputError(f"{not_npz}; reading its arrays said: {err}") from None
    check_mnist_arrays(*arrays, where=where)
    return arrays


def check_mnist_arrays(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    where: str = "MNIST",
) -> None:
    """Refuse MNIST arrays that would train silently wrong, naming what is wrong and the fix.

    Each split must hold at least `MIN_MNIST_IMAGES` images (checked first). Images must
    be `(n, 28, 28)` grey levels 0..255 (unsigned integers, or floats holding such
    values); refused are images already scaled to [0, 1] or scaled twice (the loader
    divides by 255), binarized images (only 0 and 1) and constant images (all pixels
    alike). Labels must be `(n,)` whole numbers 0..9, as many as the images.

    Args:
        x_train: Training images.
        y_train: Training labels.
        x_test: Test images.
        y_test: Test labels.
        where: The file's name, for the messages.
    """
    for split, x in (("train", x_train), ("test", x_test)):
        n = len(x) if np.ndim(x) else 0
        if 0 < n < MIN_MNIST_IMAGES:
            raise InputError(
                f"{where}: the data file holds only {n} images in x_{split}; the chapters need "
                f"at least {MIN_MNIST_IMAGES} per split: use Keras' MNIST or the 10k offline "
                "subset (LR_LESSONS_MNIST=/path/to/mnist.npz)"
            )
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        xname, yname = f"x_{split}", f"y_{split}"
        if x.dtype.kind not in "uif":
            raise InputError(f"{where}: {xname} holds {x.dtype}, expected pixel values 0..255")
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            hint = " (flat images: save x.reshape(-1, 28, 28))" if x.shape[1:] == (784,) else ""
            raise InputError(f"{where}: {xname} has shape {x.shape}, expected (n, 28, 28){hint}")
        if len(x) == 0:
            raise InputError(f"{where}: {xname} holds no images")
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            bad = int((~np.isfinite(x)).sum())
            raise InputError(f"{where}: {xname} holds {bad} NaN or infinite pixel values")
        low, high = x.min(), x.max()
        if low < 0 or high > 255:
            raise InputError(
                f"{where}: {xname} ranges {low:g} .. {high:g}; expected raw pixel values 0..255"
            )
        if low == high:
            raise InputError(
                f"{where}: every pixel of {xname} is {low:g}: the images are blank; save the "
                "raw grey levels 0..255 of the MNIST images"
            )
        if x.dtype.kind == "f" and high <= 1 / 255 + 1e-6:
            raise InputError(
                f"{where}: {xname} ranges {low:g} .. {high:g}: the images look scaled twice "
                "(divided by 255 more than once), and the loader divides by 255 again; save "
                "the raw 0..255 values"
            )
        if x.dtype.kind in "ui" and high <= 1:
            raise InputError(
                f"{where}: {xname} holds only the values 0 and 1: the images look binarized, "
                "and the chapters train on grey levels; save the raw 0..255 values of the "
                "MNIST images"
            )
        if x.dtype.kind == "f" and high <= 1:
            raise InputError(
                f"{where}: {xname} ranges {low:g} .. {high:g}: the images look already scaled to "
                "[0, 1], and the loader divides by 255; save the raw 0..255 values "
                "(e.g. (x * 255).round().astype('uint8'))"
            )
        if y.ndim != 1:
            hint = " (one-hot labels: save y.argmax(1))" if y.ndim == 2 else ""
            raise InputError(
                f"{where}: {yname} has shape {y.shape}, expected (n,) class numbers{hint}"
            )
        if len(y) != len(x):
            raise InputError(f"{where}: {len(x)} {xname} images but {len(y)} {yname} labels")
        if y.dtype.kind not in "uif":
            raise InputError(f"{where}: {yname} holds {y.dtype}, expected class numbers 0..9")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise InputError(f"{where}: {yname} holds NaN or infinite labels")
        bad = (y < 0) | (y > 9) | (y != np.round(y))
        if bad.any():
            first = y[bad][0].item()
            raise InputError(
                f"{where}: {yname} holds {int(bad.sum())} labels that are not class numbers "
                f"0..9 (e.g. {first!r})"
            )


def load_mnist(path: str | Path | None = None, limit: int | None = None) -> Dataset:
    """MNIST as float32 images in [0, 1] of shape (n, 28, 28, 1) with integer labels.

    Without a file Keras' own loader is used (it downloads once, then reads its cache).
    The result's `source` says whether this is the full set or a subset.

    Args:
        path: A Keras-format `.npz` (`x_train`, `y_train`, `x_test`, `y_test`); default:
            the `LR_LESSONS_MNIST` variable, if set.
        limit: Keep only the first `limit` training and test images (quick runs).

    Returns:
        The `Dataset`.

    Raises:
        InputError: If the file is missing, is not a Keras-format `.npz` or holds
            arrays that are not MNIST images and labels.
        RuntimeError: If there is no file and Keras' loader cannot download.
    """
    path = Path(path) if path is not None else config.mnist_path()
    if path is not None:
        x_train, y_train, x_test, y_test = _read_mnist_npz(path)
        origin = f"file {path.name}"
    else:
        import keras

        try:
            (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
        except Exception as err:  # no cache and no internet
            raise RuntimeError(f"{_MNIST_HELP} (Keras' loader said: {err})") from None
        check_mnist_arrays(x_train, y_train, x_test, y_test, where="Keras' MNIST")
        origin = "keras loader"
    n = len(x_train)
    size = "full" if n >= MNIST_FULL_TRAIN else f"{n + len(x_test):,}-image subset"
    if limit is not None:
        whole_number(limit, "limit", minimum=1)
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:limit], y_test[:limit]
        size += f", first {len(x_train):,} train / {len(x_test):,} test"

    def prep(x: np.ndarray) -> np.ndarray:
        return (x.astype("float32") / 255.0)[..., None]

    return Dataset(
        prep(x_train),
        y_train.astype("int64"),
        prep(x_test),
        y_test.astype("int64"),
        source=f"mnist ({size}, {origin}: {len(x_train):,} train, {len(x_test):,} test)",
    )


def load(problem: str) -> Dataset:
    """The data set a study names: `"blobs"` or `"mnist"`."""
    loaders = {"blobs": load_blobs, "mnist": load_mnist}
    one_of(problem, loaders, "problem")
    return loaders[problem]()
