"""The data sets of the lessons: the three-blobs problem and MNIST.

Both come back as a :class:`Dataset` that also says where the data came from, so every
result and figure can name its source (``"blobs"``, ``"mnist (full, keras loader)"`` or
``"mnist (10k subset: ...)"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lr_lessons import config

BLOBS_SPEC = dict(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=2)
N_BLOBS_TRAIN = 500
MNIST_FULL_TRAIN = 60_000


@dataclass(frozen=True)
class Dataset:
    """Train and test arrays plus a human-readable name of their source."""

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
                raise ValueError(f"the {split} split of {self.source!r} is empty")
            if len(x) != len(y):
                raise ValueError(
                    f"{split} inputs and targets differ in length: {len(x)} vs {len(y)}"
                )

    @property
    def n_classes(self) -> int:
        """Number of classes (one-hot width, or 1 + the largest integer label)."""
        y = self.y_train
        return int(y.shape[1]) if y.ndim == 2 else int(y.max()) + 1


def load_blobs() -> Dataset:
    """The blobs problem of chapters 1-5, exactly as the originals made it.

    ``make_blobs(n_samples=1000, centers=3, n_features=2, cluster_std=2, random_state=2)``,
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


def _read_mnist_npz(path: Path) -> tuple[np.ndarray, ...]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = tuple(f[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"LR_LESSONS_MNIST names {str(path)!r}, which does not exist. " + _MNIST_HELP
        ) from None
    except KeyError as err:
        raise ValueError(f"{str(path)!r} is not a Keras-format MNIST file: missing {err}") from None
    x_train = arrays[0]
    if x_train.ndim != 3 or x_train.shape[1:] != (28, 28):
        raise ValueError(f"{str(path)!r}: x_train has shape {x_train.shape}, expected (n, 28, 28)")
    return arrays


def load_mnist(path: str | Path | None = None, limit: int | None = None) -> Dataset:
    """MNIST as float32 images in [0, 1] of shape (n, 28, 28, 1) with integer labels.

    ``path`` (or the ``LR_LESSONS_MNIST`` variable) names a Keras-format ``.npz``;
    otherwise Keras' own loader is used (it downloads once, then reads its cache).
    ``limit`` keeps only the first ``limit`` training and test images (quick runs).
    The result's ``source`` says whether this is the full set or a subset.
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
        origin = "keras loader"
    n = len(x_train)
    size = "full" if n >= MNIST_FULL_TRAIN else f"{n + len(x_test):,}-image subset"
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be positive, got {limit}")
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
    """The data set a study names: ``"blobs"`` or ``"mnist"``."""
    loaders = {"blobs": load_blobs, "mnist": load_mnist}
    if problem not in loaders:
        raise ValueError(f"unknown problem {problem!r}; choose one of {sorted(loaders)}")
    return loaders[problem]()
