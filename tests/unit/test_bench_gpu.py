"""The device check's script cannot rot on a machine without a GPU: its arithmetic (FLOPs per token, MFU, the
stage-2 estimate), its host-sync counter, and its CPU smoke mode end to end (benchmarks/bench_gpu.py), and the
shell script's syntax (benchmarks/gpu_check.sh; its --dry-run is in tests/integration/test_gpu_check.py)."""

import importlib.util
import json
import subprocess
import warnings
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("bench_gpu", ROOT / "benchmarks" / "bench_gpu.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_matmul_params_are_the_linear_weights_of_a_bert_qa_model():
    shape = bench.SMOKE_SHAPE
    model = bench.bert(shape, torch.device("cpu"))
    linear = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear))
    assert bench.matmul_params(shape["hidden"], shape["layers"], shape["ffn"]) == linear


def test_flops_per_token_of_mbert_at_384_is_6n_plus_the_attention_term():
    m = bench.MBERT
    n = 12 * (4 * 768 ** 2 + 2 * 768 * 3072) + 2 * 768                  # 84,936,192 weights multiply each token
    assert bench.matmul_params(m["hidden"], m["layers"], m["ffn"]) == n == 84_936_192
    assert bench.train_flops_per_token(768, 12, 3072, 384) == 6 * n + 12 * 12 * 768 * 384 == 552_084_480
    assert bench.forward_flops_per_token(768, 12, 3072, 384) * 3 == bench.train_flops_per_token(768, 12, 3072, 384)
    # 1,000 features/s of 384 tokens at 552 MFLOP each = 212 TFLOP/s: 21.2% of a 1,000 TFLOP/s peak
    assert bench.mfu(1000, 384, 552_084_480, 1e15) == pytest.approx(0.21200044)


def test_stage2_estimate_is_three_epochs_of_training_plus_a_teacher_pass_each():
    # 163,664 features x 3 epochs: at 1,500 train and 6,000 teacher features/s, 327.3 s + 81.8 s
    assert bench.stage2_minutes(1500, 6000) == pytest.approx(3 * 163_664 * (1 / 1500 + 1 / 6000) / 60)
    assert bench.stage2_minutes(1500, 6000) == pytest.approx(6.8193, abs=1e-4)
    assert bench.stage2_minutes(1000, 1e12, features=100, epochs=2) == pytest.approx(0.2 / 60)


def test_the_sync_counter_attributes_syncs_to_the_step_that_made_them():
    counter = bench.SyncCounter(torch.device("cpu"))
    with counter:
        for step, syncs in ((0, 7), (1, 1), (2, 0), (3, 3), (4, 5)):   # 0: setup, 4: after the last step
            counter.on_step(step)
            for _ in range(syncs):
                warnings.warn("called a synchronizing CUDA operation", UserWarning, stacklevel=1)
        warnings.warn("something else", UserWarning, stacklevel=1)                 # passed on, not counted
    got = counter.per_step(1, 4)
    assert got["per_step"] == pytest.approx(4 / 3, abs=1e-3) and got["max_in_a_step"] == 3 and got["steps"] == 3
    assert got["top"][0].endswith("x16") and "test_bench_gpu.py" in got["top"][0]


@pytest.fixture
def one_thread():
    """The smoke run as the 2-core CI box runs it fastest: more threads than free cores spin."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
def test_the_cpu_smoke_run_measures_every_configuration_and_writes_json_and_summary(tmp_path, capsys):
    assert bench.main(["--device", "cpu", "--smoke", "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "bench_gpu.json").read_text())
    rows = report["throughput"]
    assert [(r["precision"], r["micro_batch"], r["grad_accum"]) for r in rows] == bench.CONFIGS
    assert all("error" not in r for r in rows), rows
    for r in rows:
        assert r["train_features_per_s"] > 0 and 0 < r["mfu"] and r["stage2_minutes"] > 0
        assert r["mfu"] == pytest.approx(bench.mfu(r["train_features_per_s"], r["seq"], bench.train_flops_per_token(
            r["shape"]["hidden"], r["shape"]["layers"], r["shape"]["ffn"], r["seq"]), report["peak"]["peak_tflops"] * 1e12),
            rel=1e-3, abs=1e-5)
        assert r["coef_group"] == (6 if r["micro_batch"] == 24 else 0)
    syncs = report["syncs"]
    assert syncs["counted"] is False and syncs["fresh"]["steps"] == 3 and syncs["resumed"]["steps"] == 3
    printed = capsys.readouterr().out.splitlines()
    assert printed == report["summary"] and len(printed) == 1 + len(rows) + 2
    assert "not judged here" in printed[1] and "MISSED" not in "".join(printed)   # CPU numbers judge no target


def test_the_device_check_is_valid_bash():
    subprocess.run(["bash", "-n", str(ROOT / "benchmarks" / "gpu_check.sh")], check=True)
