"""The sweep's files are listed with checksums (codesign.sweep_store): a resume or a reader trusts only what the
sweep wrote, and names a damaged, changed or stray file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from typer.testing import CliRunner  # noqa: E402

import codesign  # noqa: E402
from codesign import sweep as sw  # noqa: E402
from codesign.cli import app  # noqa: E402

TOPO = Path(__file__).resolve().parent / "data" / "scalesim" / "topologies" / "alexnet_conv5.csv"
SPACE = {"name": "small-sys", "base": "systolic", "grid": {"rows": [8, 32], "cols": [8, 64], "dataflow": ["os", "ws"]}}


def net():
    L = codesign.Layer
    return codesign.Workload("n", [L.conv("a", c=8, k=16, h=16, w=16, r=3, padding=1), L.fc("f", in_features=16,
                                                                                             out_features=4)])


def run(out, **kw):
    return sw.sweep(net(), SPACE, out=out, chunk_size=2, **kw)  # 8 configurations: 4 chunks


@pytest.fixture
def done(tmp_path):
    out = tmp_path / "sw"
    run(out)
    return out


def test_chunk_list_holds_rows_and_checksums(done):
    lines = [json.loads(x) for x in (done / "_chunks.jsonl").read_text().splitlines()]
    assert [r["chunk"] for r in lines] == [0, 1, 2, 3] and all(r["rows"] == 2 for r in lines)
    import hashlib

    for r in lines:
        assert hashlib.sha256((done / r["file"]).read_bytes()).hexdigest() == r["sha256"]


def test_stray_chunk_is_refused_by_resume_and_reader(done):
    shutil.copy(done / "part-000000.parquet", done / "part-000009.parquet")  # a file copied in
    with pytest.raises(ValueError, match=r"part-000009\.parquet: not a chunk this sweep wrote"):
        sw.read_sweep(done)
    with pytest.raises(ValueError, match=r"part-000009\.parquet: not a chunk this sweep wrote"):
        run(done, resume=True)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_damaged_chunk_is_named_on_resume(done, damage):
    p = done / "part-000002.parquet"
    data = bytearray(p.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
    else:
        data = data[: len(data) // 3]
    p.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"part-000002\.parquet: damaged or changed since the sweep wrote it"):
        run(done, resume=True)


def test_damaged_chunk_on_cli_resume_is_one_line(done, tmp_path):
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    out = tmp_path / "cli"
    args = ["sweep", "-n", str(TOPO), "--space", str(space), "--out", str(out), "--chunk-size", "2", "--no-progress"]
    assert CliRunner().invoke(app, args).exit_code == 0
    (out / "part-000001.parquet").write_bytes(b"PAR1 not really")
    r = CliRunner().invoke(app, [*args, "--resume"])
    assert r.exit_code == 2, r.output
    lines = [ln for ln in r.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "part-000001.parquet: damaged" in lines[0], r.output


def test_missing_or_unrenamed_chunk_is_computed_again(done, tmp_path):
    ref = sw.read_sweep(done)
    (done / "part-000001.parquet").unlink()  # deleted by hand, or killed after its line and before its rename
    with open(done / "_chunks.jsonl", "a") as f:
        f.write('{"chunk": 3, "file": "part-000003.parq')  # a cut-off append: ignored
    seen = []
    summ = run(done, resume=True, on_chunk=lambda k, n: seen.append(k))
    assert seen == [1] and summ.chunks_skipped == 3
    pd.testing.assert_frame_equal(sw.read_sweep(done), ref)
    assert all(line.endswith("}") for line in (done / "_chunks.jsonl").read_text().splitlines())


@pytest.mark.parametrize("text, where", [('{"version": 2,', "line 1, column"), ("[1, 2]", "a JSON object"),
                                         (b"\xff\xfe", "not UTF-8")])
def test_damaged_specification_names_the_file(done, text, where):
    (done / "_sweep.json").write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ValueError, match=r"_sweep\.json: .*" + where.replace("(", r"\(")):
        run(done, resume=True)


def test_damaged_chunk_list_names_file_and_line(done):
    lines = (done / "_chunks.jsonl").read_text().splitlines()
    lines[1] = lines[1].replace('"rows": 2', '"rows": "two"')
    (done / "_chunks.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"_chunks\.jsonl: line 2 is not a chunk record"):
        run(done, resume=True)


def test_csv_changed_inside_the_written_part_is_refused(tmp_path):
    out = tmp_path / "s.csv"
    run(out)
    text = out.read_text()
    out.write_text(text.replace(",os,", ",ws,", 1))  # same length, other bytes
    with pytest.raises(ValueError, match=r"s\.csv: damaged or changed since the sweep wrote it"):
        run(out, resume=True)


def test_csv_journal_of_the_wrong_shape_names_it(tmp_path):
    out = tmp_path / "s.csv"
    run(out)
    j = out.with_name("s.csv.sweep.json")
    doc = json.loads(j.read_text())
    doc["bytes"] = "many"
    j.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=r"s\.csv\.sweep\.json: not a sweep journal \(bytes is not a count"):
        run(out, resume=True)
