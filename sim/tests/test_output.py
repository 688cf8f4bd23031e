from chordsim.output import new_figure, save, write_csv


def test_csv_has_header_and_rounded_floats(tmp_path):
    path = write_csv(tmp_path / "x.csv", [{"n": 1, "v": 1 / 3}, {"n": 2, "v": 0.5}])
    assert path.read_text() == "n,v\n1,0.333333\n2,0.5\n"


def test_png_is_written(tmp_path):
    fig, ax = new_figure("t", "x", "y")
    ax.plot([0, 1], [0, 1])
    path = save(fig, tmp_path / "p.png")
    assert path.read_bytes()[:4] == b"\x89PNG"
