"""load() is called with what its signature accepts; import_code checks it before Spark starts."""

from __future__ import annotations

import inspect
import sys

import pytest

from datashark.config.usecase import read_usecase
from datashark.errors import UseCaseError
from datashark.loading.load_call import (
    OptionalData,
    bind_load_arguments,
    call_load,
    import_code,
    load_arguments,
)
from tests.unit.conftest import usecase_conf

CONF = {"name": "uc"}
CONTEXT = object()
NAMED = {"conf": CONF, "context": CONTEXT}


def received(load, *data):
    """What ``load`` returns (by convention: what it received) when called by dataShark."""
    return call_load(load, list(data), dict(NAMED))


def test_batch_data_only():
    def load(batchData):
        return batchData

    assert received(load, "rdd") == "rdd"


def test_batch_data_and_conf():
    def load(batchData, conf):
        return batchData, conf

    assert received(load, "rdd") == ("rdd", CONF)


def test_optional_conf_and_context():
    def load(data, conf=None, context=None):
        return data, conf, context

    assert received(load, "rdd") == ("rdd", CONF, CONTEXT)


def test_original_streaming_signature():
    def load(streamingData, trainingData, context, conf):
        return streamingData, trainingData, context, conf

    assert received(load, "stream", "train") == ("stream", "train", CONTEXT, CONF)


def test_conf_before_data():
    def load(conf, batchData):
        return conf, batchData

    assert received(load, "rdd") == (CONF, "rdd")


def test_var_args_and_kwargs():
    def load(*args, **kwargs):
        return args, kwargs

    assert received(load, "stream", "train") == (("stream", "train"), NAMED)


def test_keyword_only_conf():
    def load(batchData, *, conf):
        return batchData, conf

    assert received(load, "rdd") == ("rdd", CONF)


def test_positional_only_data():
    def load(data, /, conf):
        return data, conf

    assert received(load, "rdd") == ("rdd", CONF)


def test_positional_only_streaming_data():
    def load(streamingData, trainingData, /, context):
        return streamingData, trainingData, context

    assert received(load, "stream", "train") == ("stream", "train", CONTEXT)


def test_first_data_named_then_var_args():
    """``load(streamingData, *rest)``: the training data lands in ``rest``."""

    def load(streamingData, *rest):
        return streamingData, rest

    assert received(load, "stream", "train") == ("stream", ("train",))


def test_first_data_named_then_var_args_and_kwargs():
    def load(streamingData, *rest, **named):
        return streamingData, rest, named

    assert received(load, "stream", "train") == ("stream", ("train",), NAMED)


def test_extra_data_is_not_passed_to_a_one_argument_load():
    def load(streamingData):
        return streamingData

    assert received(load, "stream", "train") == "stream"


def test_unknown_required_parameter_is_named():
    def load(batchData, sparkSession):
        return batchData

    with pytest.raises(UseCaseError, match=r"load\(\) parameter 'sparkSession' cannot be supplied") as err:
        bind_load_arguments(inspect.signature(load), [None], dict(NAMED))
    assert "<data 1>, conf, context" in str(err.value)


def test_unknown_required_keyword_only_parameter_is_named():
    def load(batchData, *, spark):
        return batchData

    with pytest.raises(UseCaseError, match="'spark'"):
        received(load, "rdd")


def test_unknown_parameter_with_default_is_left_alone():
    def load(batchData, limit=5):
        return batchData, limit

    assert received(load, "rdd") == ("rdd", 5)


def test_too_few_data_for_streaming_signature_is_an_error():
    def load(streamingData, trainingData):
        return streamingData

    with pytest.raises(UseCaseError, match="'trainingData'"):
        received(load, "batch only")


# --- a batch use case's training data -------------------------------------------------


class Built:
    """A training-data builder that counts its calls: built only when load() takes it."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        return "training"


def batch_received(load, make_usecase, training: Built):
    """What ``load`` receives as a batch use case's load(), its data being "rdd"."""
    usecase = read_usecase(make_usecase())
    return call_load(load, *load_arguments(usecase, CONTEXT, "rdd", training=training))


def test_a_batch_load_written_for_streaming_gets_the_training_data(make_usecase):
    def load(streamingData, trainingData, context, conf):
        return streamingData, trainingData, context, conf["name"]

    training = Built()
    assert batch_received(load, make_usecase, training) == ("rdd", "training", CONTEXT, "uc")
    assert training.calls == 1


def test_a_batch_load_given_training_by_name_after_conf(make_usecase):
    def load(batchData, conf, trainingData):
        return batchData, trainingData

    assert batch_received(load, make_usecase, Built()) == ("rdd", "training")


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        (lambda batchData: (batchData,), ("rdd",)),
        (lambda batchData, conf: (batchData,), ("rdd",)),
        (lambda data, conf=None, context=None: (data, context), ("rdd", CONTEXT)),
        (lambda batchData, limit=5: (batchData, limit), ("rdd", 5)),
        (lambda batchData, trainingData=None: (batchData, trainingData), ("rdd", None)),
        (lambda *args, **kwargs: args, ("rdd",)),
        (lambda batchData, *rest: (batchData, rest), ("rdd", ())),
    ],
)
def test_batch_loads_without_a_required_second_data_parameter_are_called_as_before(
    make_usecase, load, expected
):
    training = Built()
    assert batch_received(load, make_usecase, training) == expected
    assert training.calls == 0


def test_optional_data_without_a_builder_is_none():
    def load(batchData, trainingData):
        return batchData, trainingData

    assert call_load(load, ["rdd", OptionalData()], dict(NAMED)) == ("rdd", None)


def test_streaming_arguments_have_no_optional_data(make_usecase):
    conf = usecase_conf(type="streaming", file=None)
    data, _ = load_arguments(read_usecase(make_usecase(conf=conf)), CONTEXT, "stream", "train")
    assert data == ["stream", "train"]


# --- import_code --------------------------------------------------------------------


def test_import_code_returns_module_with_load(make_usecase):
    module = import_code(read_usecase(make_usecase()))
    assert module.load("rdd", CONF) == "rdd"


def test_import_code_without_load(make_usecase):
    usecase = read_usecase(make_usecase(code="def other(batchData):\n    return batchData\n"))
    with pytest.raises(UseCaseError) as err:
        import_code(usecase)
    assert str(err.value) == f"{usecase.code_path}: no load() function defined"


def test_import_code_load_not_callable(make_usecase):
    usecase = read_usecase(make_usecase(code="load = 42\n"))
    with pytest.raises(UseCaseError, match=r"no load\(\) function"):
        import_code(usecase)


def test_import_code_raising_at_import(make_usecase):
    usecase = read_usecase(make_usecase(code="import nonexistent_module_for_datashark_tests\n"))
    with pytest.raises(UseCaseError) as err:
        import_code(usecase)
    message = str(err.value)
    assert message.startswith(f"{usecase.code_path}: import failed: ModuleNotFoundError")
    assert "nonexistent_module_for_datashark_tests" in message


def test_import_code_syntax_error(make_usecase):
    usecase = read_usecase(make_usecase(code="def load(batchData)\n    return 1\n"))
    with pytest.raises(UseCaseError, match=r"import failed: SyntaxError"):
        import_code(usecase)


def test_import_code_checks_the_signature(make_usecase):
    code = "def load(batchData, trainingData, spark):\n    return batchData\n"
    usecase = read_usecase(make_usecase(code=code))
    with pytest.raises(UseCaseError) as err:
        import_code(usecase)
    assert str(err.value) == (
        f"{usecase.code_path}: load() parameter 'spark' cannot be supplied "
        "(dataShark passes: <data 1>, <training data>, conf, context, lookups)"
    )


def test_import_code_takes_a_streaming_signature_for_a_batch_usecase(make_usecase):
    usecase = read_usecase(make_usecase(code="def load(s, t, context, conf):\n    return s\n"))
    assert usecase.type == "batch"
    assert callable(import_code(usecase).load)


def test_import_code_streaming_needs_two_data_parameters(make_usecase):
    conf = usecase_conf(type="streaming", file=None, training="data.txt")
    usecase = read_usecase(make_usecase(conf=conf, code="def load(s, t, context, conf):\n    return s\n"))
    assert callable(import_code(usecase).load)


HELPER_USER = """
from utils import VALUE

def load(batchData):
    return VALUE
"""

PACKAGE_USER = """
from helpers.values import VALUE

def load(batchData):
    return VALUE
"""


def test_same_named_helpers_of_two_usecases_stay_apart(make_usecase):
    first = make_usecase("first", code=HELPER_USER, files={"data.txt": "x", "utils.py": "VALUE = 'one'\n"})
    second = make_usecase("second", code=HELPER_USER, files={"data.txt": "x", "utils.py": "VALUE = 'two'\n"})
    module_one = import_code(read_usecase(first))
    module_two = import_code(read_usecase(second))
    assert module_one.load(None) == "one"
    assert module_two.load(None) == "two"


@pytest.fixture
def forget_helpers():
    """Drop any ``helpers`` module a failing import left in sys.modules, so it cannot leak."""
    yield
    for name in [n for n in sys.modules if n == "helpers" or n.startswith("helpers.")]:
        del sys.modules[name]


@pytest.mark.usefixtures("forget_helpers")
def test_same_named_helper_packages_of_two_usecases_stay_apart(make_usecase):
    """Helper packages with submodules (``helpers/values.py``) must not leak between use cases."""
    files_one = {"data.txt": "x", "helpers/__init__.py": "", "helpers/values.py": "VALUE = 'one'\n"}
    files_two = {"data.txt": "x", "helpers/__init__.py": "", "helpers/values.py": "VALUE = 'two'\n"}
    first = make_usecase("first", code=PACKAGE_USER, files=files_one)
    second = make_usecase("second", code=PACKAGE_USER, files=files_two)
    module_one = import_code(read_usecase(first))
    module_two = import_code(read_usecase(second))
    assert module_one.load(None) == "one"
    assert module_two.load(None) == "two"


def test_helper_does_not_stay_importable(make_usecase):
    path = make_usecase(code=HELPER_USER, files={"data.txt": "x", "utils.py": "VALUE = 'mine'\n"})
    import_code(read_usecase(path))
    assert str(path.parent) not in sys.path
    leftover = getattr(sys.modules.get("utils"), "__file__", None) or ""
    assert str(path.parent) not in leftover
