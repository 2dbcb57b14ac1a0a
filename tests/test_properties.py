"""Property-based tests: every validator either accepts a value as valid or says why not.

For arbitrary input (numbers of every kind, text, bytes, JSON), a validator returns a
value that satisfies its contract or raises `lr_lessons.checks.InputError`; the results
reader returns whole `Results` or raises `CorruptResults`.
Any other exception (a TypeError, an AttributeError, a traceback from deep inside) is
a failure.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lr_lessons import checks, cli, config
from lr_lessons.checks import InputError
from lr_lessons.lab import runner
from lr_lessons.lab.results import CorruptResults, Results
from lr_lessons.lab.studies import Setting, Study

settings.register_profile(
    "lr_lessons", deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("lr_lessons")
ROOT = Path(__file__).resolve().parents[1]

anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=3),
    st.just(np.float32("nan")),
    st.just(np.int64(3)),
    st.just(np.bool_(True)),
)


BOUNDS = [
    dict(above=0, at_most=1),
    dict(at_least=0, below=1),
    dict(above=1),
    dict(at_least=1),
    dict(below=2),
]


@given(anything, st.sampled_from(BOUNDS))
def test_number_in_gives_a_float_within_its_bounds_or_one_line_naming_the_value(value, bounds):
    try:
        got = checks.number_in(value, "x", **bounds)
    except InputError as err:
        message = str(err)
        assert "\n" not in message and message.startswith("x must be a number ")
        assert message.endswith(f"got {value!r}")
        return
    assert type(got) is float and math.isfinite(got) and got == value
    assert not isinstance(value, (bool, np.bool_))
    assert got > bounds.get("above", -math.inf) and got >= bounds.get("at_least", -math.inf)
    assert got < bounds.get("below", math.inf) and got <= bounds.get("at_most", math.inf)


@given(anything, st.sampled_from([None, 0, 1, 2]), st.sampled_from([None, 5]))
def test_whole_number_gives_an_int_within_its_bounds_or_one_line_naming_it(value, low, high):
    try:
        got = checks.whole_number(value, "n", minimum=low, maximum=high)
    except InputError as err:
        assert "\n" not in str(err) and str(err).startswith("n must be ")
        assert str(err).endswith(f"got {value!r}")
        return
    assert type(got) is int and got == value and not isinstance(value, (bool, np.bool_))
    assert (low is None or got >= low) and (high is None or got <= high)


@given(anything)
def test_boolean_accepts_true_and_false_only(value):
    try:
        got = checks.boolean(value, "switch")
    except InputError as err:
        assert str(err) == f"switch must be True or False, got {value!r}"
        return
    assert type(got) is bool and isinstance(value, (bool, np.bool_)) and got == value


@given(anything)
def test_a_learning_rate_is_a_positive_finite_float_or_refused(value):
    try:
        s = Setting("x", "sgd", value)
    except InputError:
        assert value is not None
        return
    assert s.learning_rate is None if value is None else (s.learning_rate > 0)
    assert value is None or math.isfinite(s.learning_rate)


@given(st.sampled_from(["momentum", "beta_1", "epsilon", "nesterov", "weight_decay"]), anything)
def test_optimizer_options_are_valid_or_refused(key, value):
    optimizer = "adam" if key in ("beta_1", "epsilon") else "sgd"
    try:
        s = Setting("x", optimizer, 0.01, {key: value})
    except InputError:
        return
    v = s.options[key]
    if key in ("momentum", "beta_1"):
        assert v is None or 0 <= v < 1
    elif key == "nesterov":
        assert isinstance(v, bool) or v is None
    else:
        assert v is None or (math.isfinite(v) and v >= 0)
    s.make_optimizer()


@given(st.text(max_size=12), st.one_of(st.integers(-3, 500), anything), anything)
def test_a_study_has_a_safe_name_and_positive_whole_sizes(name, epochs, batch_size):
    try:
        study = Study(name, "t", (Setting("a"),), epochs=epochs, batch_size=batch_size)
    except InputError:
        return
    assert study.name and "/" not in study.name and "\\" not in study.name
    assert not study.name.startswith(".") and ".." not in study.name
    assert Path(study.name).name == study.name
    assert isinstance(study.epochs, int) and study.epochs >= 1
    assert isinstance(study.batch_size, int) and study.batch_size >= 1


@given(st.one_of(st.lists(anything, max_size=5), st.lists(st.integers(-2, 2**33), max_size=120)))
def test_seeds_are_distinct_whole_numbers_in_range_or_refused(seeds):
    try:
        checked = runner._check_seeds(seeds)
    except InputError:
        return
    assert 1 <= len(checked) <= config.MAX_SEEDS and len(set(checked)) == len(checked)
    assert all(type(s) is int and 0 <= s <= runner.MAX_SEED for s in checked)


@given(st.text(max_size=12))
def test_seed_counts_from_text_are_in_range_or_refused(raw):
    try:
        n = config.parse_seed_count(raw)
    except InputError as err:
        assert "\n" not in str(err)
        return
    assert 1 <= n <= config.MAX_SEEDS and int(raw) == n


CHAPTERS = cli.find_chapters(ROOT)


@given(st.text(max_size=10))
def test_chapter_choices_match_by_number_or_name_start_or_word(wanted):
    try:
        hits = cli.match_chapters(CHAPTERS, [wanted])[wanted]
    except InputError as err:
        assert "matches no chapter" in str(err)
        return
    w = wanted.strip().lower().replace("-", "_")
    for c in hits:
        topic = c.stem[3:]
        by_number = w.isascii() and w.isdigit() and int(w) == int(c.stem[:2])
        assert by_number or c.stem == w or topic.startswith(w) or w in topic.split("_")


@given(st.text(max_size=8))
def test_switches_are_true_false_or_refused(raw):
    try:
        value = checks.true_or_false(raw, "LR_LESSONS_QUICK")
    except InputError as err:
        assert raw.strip().lower() not in checks.TRUE_WORDS | checks.FALSE_WORDS
        assert str(err).startswith(f"LR_LESSONS_QUICK={raw!r}")
        return
    assert value == (raw.strip().lower() in checks.TRUE_WORDS)


@given(st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=8))
def test_the_engine_switch_names_an_engine_or_is_refused(raw):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LR_LESSONS_ENGINE", raw)
        try:
            name = config.engine()
        except InputError:
            assert raw.strip().lower() not in ("", "fit", "stacked")
            return
    assert name in config.ENGINES


def _read(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.npz"
        path.write_bytes(data)
        try:
            r = Results.load(path)
        except CorruptResults:
            return
        assert r.get(next(iter(r.metrics))).shape[:2] == (len(r.settings), len(r.seeds))


@given(st.binary(max_size=300))
def test_arbitrary_bytes_are_results_or_corrupt(data):
    _read(data)


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
headers = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {"study": json_values, "settings": json_values, "seeds": json_values},
    ),
    st.fixed_dictionaries(
        {
            "study": st.text(max_size=5),
            "settings": st.lists(st.text(max_size=3), max_size=3),
            "seeds": st.lists(st.integers(0, 9), max_size=3),
        }
    ),
)
metrics = st.one_of(
    st.just(np.zeros((2, 1, 3))),
    st.just(np.zeros((1, 1, 1))),
    st.just(np.zeros((0, 0, 4))),
    st.just(np.array(["a", "b"])),
    st.just(np.zeros(3)),
)


@given(headers, json_values, metrics, st.booleans())
def test_arbitrary_json_and_arrays_are_results_or_corrupt(header, meta, metric, as_text):
    arrays = {"header": np.array(json.dumps(header)), "meta": np.array(json.dumps(meta))}
    if as_text:
        arrays["metric_loss"] = metric
    _read(_npz(**arrays))


@given(st.binary(min_size=1, max_size=200))
def test_a_zip_of_arbitrary_members_is_results_or_corrupt(member):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("header.npy", member)
        z.writestr("meta.npy", member)
    _read(buffer.getvalue())


@given(st.one_of(st.binary(max_size=100), st.builds(lambda m: _npz(meta=np.array(m)), st.text())))
def test_the_runner_treats_any_unreadable_file_as_a_cache_miss(data):
    study = Study("prop", "t", (Setting("a"),))
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as mp:
        mp.setenv("LR_LESSONS_OUTPUT", folder)
        path = runner.results_path(study)
        path.parent.mkdir(parents=True)
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert runner.load_cached(study, "some key") is None
            assert runner.results_path(study, seeds=[0], source="blobs") == path
