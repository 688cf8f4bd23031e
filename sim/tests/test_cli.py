import pytest

from chordsim.cli import main


def test_vectors_command_writes_files(tmp_path, capsys):
    assert main(["vectors", "--out", str(tmp_path / "v.json"),
                 "--vnodes-out", str(tmp_path / "vn.json")]) == 0
    assert (tmp_path / "v.json").read_text().startswith("{")
    assert (tmp_path / "vn.json").read_text().startswith("{")


def test_experiment_command_writes_csv_and_png(tmp_path):
    assert main(["load", "--small", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "load.csv").exists() and (tmp_path / "load.png").exists()


def test_unknown_command_exits():
    with pytest.raises(SystemExit):
        main(["nope"])


def test_hyphenated_experiment_writes_files_named_after_the_command(tmp_path):
    assert main(["pathlen-cache", "--small", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "pathlen-cache.csv").exists() and (tmp_path / "pathlen-cache.png").exists()
