"""The benchmark suite runs and writes what it promises (`scratchnn bench --quick`).

This checks files and fields, never speed: timings are the benchmark's job (`make bench`),
not a unit test's. Keras is timed too, so the test lives with the parity tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import machine as machine_module
from benchmarks import models

ROOT = Path(__file__).resolve().parents[1]


def _bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scratchnn.cli", "bench", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    out = tmp_path_factory.mktemp("bench")
    return out, _bench("--quick", "--out", str(out))


def test_quick_run_writes_json_markdown_and_charts(quick_run):
    out, done = quick_run
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("latest.json", "latest.md", "speedups.png", "scaling_batch.png",
                 "scaling_width.png"):
        assert (out / name).stat().st_size > 0, name
    assert "written:" in done.stdout


def test_json_times_every_seed_model_on_both_engines(quick_run):
    out, _ = quick_run
    result = json.loads((out / "latest.json").read_text())
    seen = {(row["model"], row["work"]) for row in result["rows"]}
    assert seen == {(name, work) for name in models.SPECS for work in ("train", "predict")}
    for row in result["rows"]:
        for engine in ("scratchnn_ms", "keras_ms"):
            stats = row[engine]
            assert 0 < stats["min"] <= stats["median"] <= stats["max"], (row["model"], engine)
            assert len(stats["runs"]) == result["repeats"]
        assert row["speedup"] == pytest.approx(row["keras_ms"]["min"] / row["scratchnn_ms"]["min"])
        onednn = result["machine"]["tensorflow_onednn"]       # the CNN targets depend on it
        assert row["target"] == models.SPECS[row["model"]].target(row["work"], onednn)


def test_json_describes_the_machine_and_the_load(quick_run):
    out, _ = quick_run
    result = json.loads((out / "latest.json").read_text())
    machine = result["machine"]
    for key in ("python", "numpy", "cpu_model", "cpu_count", "blas", "keras", "tensorflow"):
        assert key in machine, key
    # the vector extensions that choose the kernels, and whether TensorFlow's oneDNN is on
    assert set(machine["cpu_flags"]) <= set(machine_module.VECTOR_FLAGS)
    assert machine["tensorflow_onednn"] == machine_module.tensorflow_onednn(machine["cpu_flags"])
    assert machine_module.cpu_summary(machine) in (out / "latest.md").read_text()
    assert "threadpools" in machine["blas"] and "env" in machine["blas"]
    assert isinstance(result["load_before"], float) and isinstance(result["load_after"], float)
    assert isinstance(result["warnings"], list)
    # CPU taken by other processes, for the whole run and each row (Linux: /proc/stat)
    for watched in (result["during"], *result["rows"]):
        assert 0 <= watched["others_cpus"] <= machine_module.os.cpu_count()
        assert watched["steal_cpus"] >= 0


def test_json_has_flops_import_time_memory_and_scaling(quick_run):
    out, _ = quick_run
    result = json.loads((out / "latest.json").read_text())
    assert {h["model"] for h in result["hardware"]} == set(models.SPECS)
    for h in result["hardware"]:
        assert h["train_mflop"] > 0 and h["train_gflops"]["machine"] > 0
    imports = result["processes"]["import"]
    assert imports["scratchnn"]["min"] > 0 and imports["keras"]["min"] > 0
    for engines in result["processes"]["rss"].values():
        assert engines["scratchnn"] > 0 and engines["keras"] > 0
    assert result["scaling"], "the scaling sweep is missing"


def test_markdown_table_names_the_command_and_the_minimum_of_interleaved_runs(quick_run):
    out, _ = quick_run
    table = (out / "latest.md").read_text()
    assert "scratchnn bench" in table
    assert "interleaved" in table
    for spec in models.SPECS.values():
        assert spec.title in table


def test_profile_prints_where_a_training_step_goes():
    done = _bench("--profile", "circles")
    assert done.returncode == 0, done.stderr[-3000:]
    for phase in ("forward", "backward", "loss", "optimizer", "metrics", "loop overhead",
                  "shuffled epoch order"):
        assert phase in done.stdout, phase


def test_unknown_model_is_one_clear_line():
    done = _bench("--profile", "no-such-model")
    assert done.returncode != 0
    assert "no-such-model" in done.stderr and "Traceback" not in done.stderr


def test_cpu_watch_sees_a_neighbour():
    """A process spinning beside the benchmark shows as others' CPU and makes the row
    'disturbed'. (That our own work is NOT counted cannot be asserted here: pytest-xdist
    runs another worker beside this test.)"""
    import time
    neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)                           # let it start
        watch = machine_module.CpuWatch()
        time.sleep(1.0)
        seen = watch.stop()["others_cpus"]
    finally:
        neighbour.kill()
        neighbour.wait()
    assert seen > 0.5, seen
    assert machine_module.disturbed({"others_cpus": seen, "steal_cpus": 0.0})


def test_compare_prints_this_runs_ratios_beside_an_earlier_runs(quick_run, tmp_path):
    out, _ = quick_run
    done = _bench("--quick", "--models", "circles", "--no-scaling", "--no-processes",
                  "--out", str(tmp_path), "--compare", str(out / "latest.json"))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "## Compared with the run of" in done.stdout
    earlier = {(r["model"], r["work"]): r for r in
               json.loads((out / "latest.json").read_text())["rows"]}
    for row in json.loads((tmp_path / "latest.json").read_text())["rows"]:
        then = earlier[(row["model"], row["work"])]["speedup"]
        assert f"| {then:.2f}x | {row['speedup']:.2f}x |" in done.stdout
    assert "Not timed in this run: mlp-4-4-10 train" in done.stdout


def test_compare_refuses_a_file_that_is_not_a_result_in_one_line(tmp_path):
    (tmp_path / "x.json").write_text("[1, 2]")
    done = _bench("--quick", "--compare", str(tmp_path / "x.json"))
    assert done.returncode == 2 and "not a benchmark result" in done.stderr
    assert "Traceback" not in done.stderr
