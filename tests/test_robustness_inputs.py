"""Property-based tests: random bad inputs thrown at fit, evaluate, predict, train_on_batch,
test_on_batch, compute_gradients and set_weights, for dense AND conv models and every
kind of loss.

The property: each call either succeeds or raises ValueError/TypeError whose message
names the argument (x, y, sample_weight, validation_data, batch_size, ...) or the layer;
never an IndexError, a KeyError or a NumPy/Python internal message. Inputs that are
certainly wrong (wrong rank or width, text, None, complex numbers, ragged lists,
mismatched lengths, labels out of range) MUST be refused: nothing broadcasts silently.
NaN/inf values, ints and bools may train (to NaN, as in Keras).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings, strategies as st

import scratchnn as snn

L = snn.layers
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")   # NaN/inf on purpose

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])

ARCHS = ["dense", "conv"]
INPUT = {"dense": (4,), "conv": (6, 6, 1)}
OUTPUT = {"binary_crossentropy": (1, "sigmoid"), "categorical_crossentropy": (3, "softmax"),
          "sparse_categorical_crossentropy": (3, "softmax"), "mse": (2, None), "mae": (2, None)}
LOSSES = list(OUTPUT)

NAMED = re.compile(r"\b(x|y|sample_weight|validation_data|batch_size|epochs|verbose|weight)\b"
                   r"|Layer '|Sequential '")
INTERNAL = re.compile(r"setting an array element|could not convert|invalid literal|"
                      r"not iterable|could not be broadcast|unhashable|out of bounds|"
                      r"unsupported operand|must be real number|object of type")


def _model(arch: str, loss: str):
    first = ([L.Dense(3, activation="relu")] if arch == "dense" else
             [L.Conv2D(2, 3, activation="relu"), L.MaxPooling2D(), L.Flatten()])
    units, activation = OUTPUT[loss]
    model = snn.Sequential([snn.Input(INPUT[arch]), *first, L.Dense(units, activation=activation)])
    model.compile(optimizer="adam", loss=loss,
                  metrics=["mae"] if loss in ("mse", "mae") else ["accuracy"])
    return model


def _valid(arch: str, loss: str, n: int, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *INPUT[arch])).astype("float32")
    labels = rng.integers(0, 3, size=n)
    y = {"binary_crossentropy": (labels % 2).astype("float32"),
         "categorical_crossentropy": np.eye(3, dtype="float32")[labels],
         "sparse_categorical_crossentropy": labels,
         "mse": rng.normal(size=(n, 2)), "mae": rng.normal(size=(n, 2))}[loss]
    return x, y


# -- mutations: (value, certainly_wrong) -------------------------------------------------
def _common(kind: str, a: np.ndarray):
    """Damage shared by x, y and sample_weight."""
    return {
        "None": (None, True),
        "text": (a.astype(str), True),
        "objects with None": (np.where(np.ones(a.shape, bool), None, a).astype(object), True),
        "complex": (a + 1j, True),
        "ragged list": ([[1.0, 2.0], [3.0]] + [[0.0]] * (len(a) - 2), True),
        "scalar": (np.float32(1.0), True),
        "fewer samples": (a[:-1], True),
        "no samples": (a[:0], True),
        "nan": (np.full(a.shape, np.nan), False),
        "inf": (np.full(a.shape, np.inf), False),
        "ints": (np.asarray(a).astype(np.int64), False),
        "bools": (np.asarray(a) > 0, False),
        "list": (np.asarray(a).tolist(), False),
        "valid": (a, False),
    }[kind]


COMMON = ["None", "text", "objects with None", "complex", "ragged list", "scalar",
          "fewer samples", "no samples", "nan", "inf", "ints", "bools", "list", "valid"]
X_ONLY = ["wider", "extra axis", "one axis fewer", "zero-size axis"]
Y_ONLY = ["wrong width", "extra axis of 2", "labels out of range", "negative labels"]


def _mutate_x(kind: str, x: np.ndarray):
    if kind == "wider":
        return np.concatenate([x, x[..., :1]], axis=-1), True
    if kind == "extra axis":
        return x[..., None], True
    if kind == "one axis fewer":
        return x[..., 0], True
    if kind == "zero-size axis":
        return x[..., :0], True
    return _common(kind, x)


def _mutate_y(kind: str, y: np.ndarray, loss: str):
    sparse = loss == "sparse_categorical_crossentropy"
    if kind == "wrong width":
        if y.ndim == 1:                                  # (N,) -> (N, 2): never a fit here
            return np.stack([y, y], axis=-1), True
        return np.concatenate([y, y[:, :1]], axis=-1), True
    if kind == "extra axis of 2":
        return np.stack([y, y], axis=-1), True
    if kind in ("labels out of range", "negative labels"):
        shifted = y + 3 if kind == "labels out of range" else y - 3
        return shifted, sparse                           # only sparse labels have a range
    value, wrong = _common(kind, y)
    if kind == "nan" and sparse:
        wrong = True                                     # NaN is no class index
    if kind == "bools" and loss in ("categorical_crossentropy",):
        wrong = False
    return value, wrong


def _mutate_weight(kind: str, n: int):
    w = np.linspace(0.5, 1.5, n)
    return {
        "absent": (None, False), "valid": (w, False), "column": (w[:, None], False),
        "negative": (-w, False), "nan": (np.full(n, np.nan), False),
        "two columns": (np.stack([w, w], axis=-1), True), "fewer": (w[:-1], True),
        "scalar": (np.float32(1.0), True), "text": (w.astype(str), True),
        "complex": (w + 1j, True), "ragged": ([[1.0], [1.0, 2.0]] + [[1.0]] * (n - 2), True),
    }[kind]


WEIGHT_KINDS = ["absent", "valid", "column", "negative", "nan", "two columns", "fewer",
                "scalar", "text", "complex", "ragged"]
BATCH_SIZES = [(None, False), (1, False), (4, False), (1000, False), (0, True), (-2, True),
               (2.5, True), ("8", True), (True, True)]


def _outcome(call, certainly_wrong: bool, names: str = "") -> str:
    """Run `call`: success, or a clear ValueError/TypeError whose message names the
    argument (`names`, a regex: the one that was damaged) or the layer; anything else
    fails the test."""
    try:
        call()
    except (ValueError, TypeError) as err:
        message = str(err)
        assert NAMED.search(message), f"the message names no argument or layer: {message!r}"
        assert not INTERNAL.search(message), f"an internal message leaked: {message!r}"
        assert re.search(names, message), f"the message does not name {names}: {message!r}"
        event(f"refused: {type(err).__name__}")
        return "refused"
    assert not certainly_wrong, "a certainly wrong input was accepted silently"
    event("accepted")
    return "accepted"


case = st.tuples(st.sampled_from(ARCHS), st.sampled_from(LOSSES), st.integers(2, 7),
                 st.integers(0, 2**16))
# One damaged argument per example, the others valid: each check is reached and must be
# the one that speaks.
damage = st.one_of(
    st.tuples(st.just("x"), st.sampled_from(COMMON + X_ONLY)),
    st.tuples(st.just("y"), st.sampled_from(COMMON + Y_ONLY)),
    st.tuples(st.just("sample_weight"), st.sampled_from(WEIGHT_KINDS)),
    st.tuples(st.just("batch_size"), st.sampled_from(range(len(BATCH_SIZES)))))


def _damaged(arch, loss, n, seed, target, kind):
    """(x, y, sample_weight, batch_size), one of them damaged; whether it is certainly
    wrong; a regex naming it."""
    x, y = _valid(arch, loss, n, seed)
    w, batch_size, wrong = None, 4, False
    if target == "x":
        x, wrong = _mutate_x(kind, x)
    elif target == "y":
        y, wrong = _mutate_y(kind, y, loss)
    elif target == "sample_weight":
        w, wrong = _mutate_weight(kind, n)
    else:
        batch_size, wrong = BATCH_SIZES[kind]
    names = {"x": r"\bx\b", "y": r"\by\b", "sample_weight": "sample_weight",
             "batch_size": "batch_size"}[target]
    return (x, y, w, batch_size), wrong, names


@SETTINGS
@given(case=case, damage=damage)
def test_fit_accepts_or_refuses_clearly(case, damage):
    (x, y, w, batch_size), wrong, names = _damaged(*case, *damage)
    model = _model(*case[:2])
    _outcome(lambda: model.fit(x, y, batch_size=batch_size, sample_weight=w, epochs=1,
                               verbose=0), wrong, names)


@SETTINGS
@given(case=case, damage=damage, as_list=st.booleans())
def test_fit_validation_data_accepts_or_refuses_clearly(case, damage, as_list):
    (xv, yv, wv, _), wrong, _ = _damaged(*case, *damage)
    x, y = _valid(*case)
    data = [xv, yv, wv] if as_list else (xv, yv, wv)
    model = _model(*case[:2])
    _outcome(lambda: model.fit(x, y, validation_data=data, epochs=1, verbose=0),
             wrong and damage[0] != "batch_size", "validation_data")


@pytest.mark.parametrize("data", [(1,), [1, 2, 3, 4], "xy", None, 3.0])
def test_fit_validation_data_of_the_wrong_form_is_refused(data):
    x, y = _valid("dense", "mse", 4, 0)
    expected = ValueError if data is not None else None
    if expected is None:                                  # None means: no validation
        _model("dense", "mse").fit(x, y, validation_data=data, verbose=0)
        return
    with pytest.raises(ValueError, match="validation_data must be a tuple"):
        _model("dense", "mse").fit(x, y, validation_data=data, verbose=0)


@SETTINGS
@given(case=case, damage=damage,
       method=st.sampled_from(["evaluate", "train_on_batch", "test_on_batch", "compute_gradients"]))
def test_evaluate_and_single_batch_calls_accept_or_refuse_clearly(case, damage, method):
    (x, y, w, batch_size), wrong, names = _damaged(*case, *damage)
    model = _model(*case[:2])
    if method == "evaluate":
        call = lambda: model.evaluate(x, y, sample_weight=w, batch_size=batch_size,  # noqa: E731
                                      verbose=0)
    else:
        wrong = wrong and damage[0] != "batch_size"      # they take no batch_size
        call = lambda: getattr(model, method)(x, y, sample_weight=w)  # noqa: E731
    _outcome(call, wrong, names)


@SETTINGS
@given(case=case, x_kind=st.sampled_from(COMMON + X_ONLY), batch=st.sampled_from(BATCH_SIZES),
       method=st.sampled_from(["predict", "predict_on_batch"]))
def test_predict_accepts_or_refuses_clearly_and_never_reshapes(case, x_kind, batch, method):
    x, _ = _valid(*case)
    x, bad_x = _mutate_x(x_kind, x)
    if x_kind in ("fewer samples", "no samples"):          # no y to disagree with
        bad_x = x_kind == "no samples" and method == "predict_on_batch"
    batch_size, bad_batch = batch
    model = _model(*case[:2])
    out = []
    if method == "predict":
        call = lambda: out.append(model.predict(x, batch_size=batch_size, verbose=0))  # noqa: E731
    else:
        call, bad_batch = (lambda: out.append(model.predict_on_batch(x))), False       # noqa: E731
    names = r"\bx\b|batch_size"
    if _outcome(call, bad_x or bad_batch, names) == "accepted":
        assert out[0].shape == (len(np.asarray(x)), OUTPUT[case[1]][0])


def _mutate_weights(kind: str, weights: list, index: int):
    w = [a.copy() for a in weights]
    i = index % len(w)
    if kind == "valid":
        return w, False
    if kind == "nan":
        w[i][...] = np.nan
        return w, False
    if kind == "ints":
        w[i] = w[i].astype(np.int64)
        return w, False
    if kind == "lists":
        return [a.tolist() for a in w], False
    if kind == "tuple":
        return tuple(w), False
    wrong = {
        "one fewer": lambda: w[:-1], "one more": lambda: w + [w[0]], "None": lambda: None,
        "an array": lambda: w[0], "a dict": lambda: {"w": w[0]}, "a string": lambda: "w",
    }
    if kind in wrong:
        return wrong[kind](), True
    entry = {
        "None entry": None, "text": w[i].astype(str), "complex": w[i] + 1j,
        "extra axis": w[i][..., None], "transposed": w[i].T if w[i].ndim > 1 else w[i][:-1],
        "flattened": w[i].ravel() if w[i].ndim > 1 else w[i][:, None],
        "ragged": [[1.0, 2.0], [3.0]], "scalar": 1.0, "objects with None": np.where(
            np.ones(w[i].shape, bool), None, w[i]).astype(object),
    }[kind]
    w[i] = entry
    return w, True


WEIGHTS_KINDS = ["valid", "nan", "ints", "lists", "tuple", "one fewer", "one more", "None",
                 "an array", "a dict", "a string", "None entry", "text", "complex",
                 "extra axis", "transposed", "flattened", "ragged", "scalar",
                 "objects with None"]


@SETTINGS
@given(arch=st.sampled_from(ARCHS), loss=st.sampled_from(LOSSES),
       kind=st.sampled_from(WEIGHTS_KINDS), index=st.integers(0, 5))
def test_set_weights_accepts_or_refuses_clearly_and_changes_nothing_when_refused(
        arch, loss, kind, index):
    model = _model(arch, loss)
    before = model.get_weights()
    if kind == "transposed" and before[index % len(before)].ndim > 1 \
            and before[index % len(before)].shape == before[index % len(before)].T.shape:
        kind = "extra axis"                              # a square kernel transposes to itself
    weights, wrong = _mutate_weights(kind, before, index)
    if _outcome(lambda: model.set_weights(weights), wrong) == "refused":
        for a, b in zip(model.get_weights(), before):
            np.testing.assert_array_equal(a, b)           # all or nothing


@pytest.mark.parametrize("kwargs, match", [
    ({"epochs": "2"}, "epochs must be an int"), ({"epochs": -1}, "epochs must be an int"),
    ({"initial_epoch": 1.5}, "initial_epoch must be an int"),
    ({"verbose": "loud"}, "verbose must be"), ({"verbose": 3}, "verbose must be"),
    ({"validation_split": "0.2"}, "validation_split must be a float"),
    ({"validation_split": 0.9}, "not sufficient to split .* `validation_split=0.9`"),
])
def test_fit_s_other_arguments_are_checked_by_name(kwargs, match):
    x, y = _valid("dense", "mse", 5, 0)
    with pytest.raises(ValueError, match=match):
        _model("dense", "mse").fit(x, y, **{"verbose": 0, **kwargs})


def test_validation_happens_before_any_layer_runs():
    # A refused call leaves the model untouched: no half-trained weights, no step counted.
    model = _model("dense", "sparse_categorical_crossentropy")
    before = model.get_weights()
    x, y = _valid("dense", "sparse_categorical_crossentropy", 6, 0)
    y[-1] = 3                                                # one label out of range
    with pytest.raises(ValueError, match=r"fit: y .* labels must be in \[0, 3\)"):
        model.fit(x, y, batch_size=2, epochs=1, verbose=0)
    assert model.optimizer.iterations == 0
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
