"""read_usecase and discover: every problem of a conf is found before Spark starts."""

from __future__ import annotations

import re

import pytest

from datashark.config.usecase import discover, read_usecase
from datashark.errors import ConfigError
from tests.unit.conftest import usecase_conf

STREAMING_KEYS = {"type": "streaming", "file": None, "training": "train.txt"}


def test_valid_batch_usecase(make_usecase):
    path = make_usecase()
    usecase = read_usecase(path)
    assert usecase.path == path.resolve()
    assert usecase.name == "uc"
    assert usecase.type == "batch"
    assert usecase.enabled is True
    assert usecase.output == "csv"
    assert usecase.code_path == path.parent.resolve() / "uc.py"


def test_batch_without_file_names_file(make_usecase):
    path = make_usecase(conf=usecase_conf(file=None))
    with pytest.raises(ConfigError) as err:
        read_usecase(path)
    assert str(err.value) == (
        f"{path.resolve()}: key 'file' is required for a batch use case "
        "(or an input that reads batches: input = elasticsearch)"
    )


def test_streaming_without_training_is_valid(make_usecase):
    """``training`` is optional: load() then gets an empty trainingData."""
    path = make_usecase(conf=usecase_conf(**{**STREAMING_KEYS, "training": None}), files={})
    usecase = read_usecase(path)
    assert usecase.type == "streaming"
    assert usecase.data_path() is None


def test_streaming_with_training(make_usecase):
    path = make_usecase(conf=usecase_conf(**STREAMING_KEYS), files={"train.txt": "t\n"})
    usecase = read_usecase(path)
    assert usecase.type == "streaming"
    assert usecase.data_path() == str(path.parent.resolve() / "train.txt")


def test_missing_code_file(make_usecase):
    path = make_usecase(code=None)
    with pytest.raises(ConfigError) as err:
        read_usecase(path)
    message = str(err.value)
    assert message.startswith(f"{path.resolve()}: key 'code'")
    assert "uc.py" in message


def test_missing_local_data_file(make_usecase):
    path = make_usecase(files={})
    with pytest.raises(ConfigError) as err:
        read_usecase(path)
    message = str(err.value)
    assert message.startswith(f"{path.resolve()}: key 'file'")
    assert str(path.parent.resolve() / "data.txt") in message


def test_glob_without_match_is_an_error(make_usecase):
    path = make_usecase(conf=usecase_conf(file="logs/*.log"), files={"logs/a.txt": "x\n"})
    with pytest.raises(ConfigError, match=r"key 'file': no such file or directory: .*logs/\*\.log"):
        read_usecase(path)


def test_glob_with_a_match_passes(make_usecase):
    path = make_usecase(conf=usecase_conf(file="logs/*.log"), files={"logs/a.log": "x\n"})
    assert read_usecase(path).data_path() == str(path.parent.resolve() / "logs" / "*.log")


def test_missing_file_uri_is_checked(make_usecase, tmp_path):
    missing = tmp_path / "elsewhere" / "gone.txt"
    path = make_usecase(conf=usecase_conf(file=f"file://{missing}"), files={})
    with pytest.raises(ConfigError, match=re.escape(str(missing))):
        read_usecase(path)


def test_hdfs_file_is_not_checked(make_usecase):
    path = make_usecase(conf=usecase_conf(file="hdfs://namenode:9000/logs/*.gz"), files={})
    assert read_usecase(path).data_path() == "hdfs://namenode:9000/logs/*.gz"


def test_relative_paths_resolve_against_conf_folder(make_usecase, monkeypatch, tmp_path):
    path = make_usecase(conf=usecase_conf(file="sub/data.csv"), files={"sub/data.csv": "a\n"})
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    usecase = read_usecase(path)
    assert usecase.data_path() == str(path.parent.resolve() / "sub" / "data.csv")
    assert usecase.resolve("out.csv") == str(path.parent.resolve() / "out.csv")


def test_absolute_paths_pass_through(make_usecase, tmp_path):
    data = tmp_path / "shared" / "data.txt"
    data.parent.mkdir()
    data.write_text("x\n")
    path = make_usecase(conf=usecase_conf(file=str(data)), files={})
    usecase = read_usecase(path)
    assert usecase.data_path() == str(data)
    assert usecase.resolve("/tmp/out.csv") == "/tmp/out.csv"


def test_whole_conf_is_kept(make_usecase):
    extra = """\
    threshold = 10
    ip_regex = ^\\d{1,3}(\\.\\d{1,3}){3}$
    [out_csv]
    path = /tmp/x.csv
    separator = ';'
    [my_section]
    key = value
        [[nested]]
        deep = "a, b"
    """
    usecase = read_usecase(make_usecase(conf=usecase_conf(extra=extra)))
    conf = usecase.conf
    assert conf["threshold"] == "10"
    assert conf["ip_regex"] == r"^\d{1,3}(\.\d{1,3}){3}$"
    assert conf["out_csv"] == {"path": "/tmp/x.csv", "separator": ";"}
    assert conf["my_section"]["key"] == "value"
    assert conf["my_section"]["nested"] == {"deep": "a, b"}
    assert conf["name"] == "uc"
    assert conf["enabled"] is True


# --- discover -----------------------------------------------------------------------


def test_discover_reports_broken_conf_and_loads_the_good_one(home, make_usecase):
    good = make_usecase("good", conf=usecase_conf(name="good"))
    broken = make_usecase("broken", conf=usecase_conf(name="broken", type="sometimes"))
    found = discover(home, enabled_only=False)
    assert [u.path for u in found.usecases] == [good.resolve()]
    assert len(found.problems) == 1
    assert str(broken.resolve()) in found.problems[0]
    assert "key 'type'" in found.problems[0]


def test_discover_reports_unparseable_conf(home, make_usecase):
    make_usecase("good", conf=usecase_conf(name="good"))
    broken = make_usecase("broken", conf="name = a\nname = b\n")
    found = discover(home, enabled_only=False)
    assert [u.name for u in found.usecases] == ["good"]
    assert len(found.problems) == 1
    assert str(broken) in found.problems[0] or str(broken.resolve()) in found.problems[0]


def test_discover_enabled_only_skips_disabled(home, make_usecase):
    make_usecase("on", conf=usecase_conf(name="on", enabled="TRUE"))
    make_usecase("off", conf=usecase_conf(name="off", enabled="false"))
    make_usecase("unset", conf=usecase_conf(name="unset", enabled=None))
    assert [u.name for u in discover(home, enabled_only=True).usecases] == ["on"]
    everything = discover(home, enabled_only=False)
    assert sorted(u.name for u in everything.usecases) == ["off", "on", "unset"]
    assert everything.problems == []


def test_discover_without_conf_folder(home):
    found = discover(home, enabled_only=True)
    assert found.usecases == []
    assert found.problems == []


# ----------------------------------------------------------------------------- optional training


def test_streaming_training_named_but_missing_is_still_an_error(make_usecase):
    path = make_usecase(conf=usecase_conf(**STREAMING_KEYS), files={})
    with pytest.raises(ConfigError, match=r"key 'training': no such file or directory: .*train\.txt"):
        read_usecase(path)


def test_no_training_has_no_data_location_staged_or_not(make_usecase, home):
    from datashark.cluster.staging import StagingArea
    from datashark.config.settings import load_settings
    from datashark.run.context import RunContext

    usecase = read_usecase(make_usecase(conf=usecase_conf(**{**STREAMING_KEYS, "training": None}), files={}))
    settings = load_settings(home)
    assert RunContext(settings).data_location(usecase) is None
    staged = RunContext(settings, StagingArea("hdfs://nn:9000", "/staging/run"))
    assert staged.data_location(usecase) is None


def test_validate_accepts_a_streaming_use_case_without_training(make_usecase, home, monkeypatch, capsys):
    from datashark.cli import main

    conf = usecase_conf(
        **{**STREAMING_KEYS, "training": None, "input": "file"}, extra="[in_file]\nfolder_path = in\n"
    )
    path = make_usecase(conf=conf, files={"in/.keep": ""})
    monkeypatch.setenv("DATASHARK_HOME", str(home))
    assert main(["validate", str(path)]) == 0, capsys.readouterr()


def test_a_batch_use_case_s_training_is_checked_and_staged_with_its_file(make_usecase, home):
    """A batch load() may take trainingData: its ``training`` must exist, and a staged run reads
    the staged copy of it, as it does of ``file``."""
    from datashark.cluster.staging import StagingArea
    from datashark.config.settings import load_settings
    from datashark.run.context import RunContext

    missing = make_usecase(conf=usecase_conf(training="model.txt"))
    with pytest.raises(ConfigError, match=r"key 'training': no such file or directory: .*model\.txt$"):
        read_usecase(missing)
    path = make_usecase(
        conf=usecase_conf(training="model.txt"), files={"data.txt": "x\n", "model.txt": "m\n"}
    )
    usecase = read_usecase(path)
    assert [p.rsplit("/", 1)[1] for p in usecase.read_paths()] == ["data.txt", "model.txt"]
    staged = RunContext(load_settings(home), StagingArea("hdfs://nn:9000", "/staging/run"))
    assert staged.data_location(usecase, "training") == "hdfs://nn:9000/staging/run/uc/model.txt"


def test_code_is_required_unless_api_is_sigma(make_usecase):
    path = make_usecase(conf=usecase_conf(code=None))
    with pytest.raises(
        ConfigError, match=r"key 'code' is required \(the Python file with load\(\)\), unless api"
    ):
        read_usecase(path)
    sigma = make_usecase(folder="sig", conf=usecase_conf(code=None, api="sigma", rules="rules"), code=None)
    usecase = read_usecase(sigma)
    assert usecase.api == "sigma" and usecase.reads_frames
    assert usecase.conf["pipeline"] == "sysmon, windows-logsources"  # sigma.spec's defaults
    assert usecase.conf["sigma.window_minutes"] == 60


def test_a_sigma_use_case_names_its_rules_and_no_code(make_usecase):
    no_rules = make_usecase(folder="a", conf=usecase_conf(code=None, api="sigma"), code=None)
    with pytest.raises(ConfigError, match=r"key 'rules' is required"):
        read_usecase(no_rules)
    with_code = make_usecase(folder="b", conf=usecase_conf(api="sigma", rules="rules"))
    with pytest.raises(ConfigError, match=r"key 'code' is not used by api = sigma"):
        read_usecase(with_code)
    bad_level = make_usecase(
        folder="c",
        conf=usecase_conf(code=None, api="sigma", rules="r", **{"sigma.min_level": "severe"}),
        code=None,
    )
    with pytest.raises(ConfigError, match=r"key 'sigma.min_level'"):
        read_usecase(bad_level)
