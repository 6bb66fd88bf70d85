"""engine.cost: a stage's seconds leave out the stages nested in it, open stages count up to now, and the rows
reach the sink at the end of a block, also when it raises."""

import pytest

import engine.cost as cost_module
from engine.cost import CostMeter, recorded
from engine.testing import MemorySink


@pytest.fixture
def clock(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(cost_module.time, "perf_counter", lambda: now[0])
    return now


def seconds(meter):
    return {r["stage"]: r["seconds"] for r in meter.rows()}


def test_nested_stages_are_counted_once(clock):
    meter = CostMeter(devices=2)
    with meter.stage("featurize"):
        clock[0] += 3
    meter.start("train")
    clock[0] += 10
    with meter.stage("teacher"):
        clock[0] += 4
    with meter.stage("evaluate"):
        clock[0] += 1
    clock[0] += 2
    assert seconds(meter) == {"featurize": 3, "train": 12, "teacher": 4, "evaluate": 1}  # train still open
    meter.start("teacher")
    clock[0] += 5
    assert seconds(meter) == {"featurize": 3, "train": 12, "teacher": 9, "evaluate": 1}  # both open
    meter.stop("teacher")
    clock[0] += 1
    meter.stop("train")
    clock[0] += 50                                                     # after the last stage: nobody's
    rows = {r["stage"]: r for r in meter.rows()}
    assert seconds(meter) == {"featurize": 3, "train": 13, "teacher": 9, "evaluate": 1}
    assert rows["train"]["device_seconds"] == 26 and rows["train"]["devices"] == 2
    assert rows["train"]["peak_host_gb"] > 0.01 and rows["train"]["peak_device_gb"] is None   # a CPU run


def test_stages_must_nest_and_have_known_names():
    meter = CostMeter()
    with pytest.raises(ValueError, match="cost stage 'warmup'"):
        meter.start("warmup")
    meter.start("train")
    meter.start("teacher")
    with pytest.raises(RuntimeError, match="'train' stopped while 'teacher' is open"):
        meter.stop("train")


class FlushCounter(MemorySink):
    flushes = 0

    def flush(self):
        self.flushes += 1


def test_recorded_writes_at_the_end_and_keeps_a_failed_blocks_cost(clock):
    sink = FlushCounter()
    with recorded(CostMeter(), sink) as meter, meter.stage("sample"):
        clock[0] += 2
    assert sink.costs["sample"]["seconds"] == 2 and sink.flushes == 1
    sink = FlushCounter()
    with pytest.raises(KeyError), recorded(CostMeter(), sink) as meter, meter.stage("evaluate"):
        clock[0] += 7
        raise KeyError("boom")
    assert sink.costs["evaluate"]["seconds"] == 7 and sink.flushes == 0   # the worker's last flush writes it
    sink = FlushCounter()
    with recorded(CostMeter(), sink, main=False) as meter, meter.stage("train"):
        clock[0] += 1
    assert sink.costs == {} and sink.flushes == 0                          # DDP: rank 0 writes


@pytest.mark.cuda
def test_a_cuda_stage_records_its_own_device_peak_and_the_gpu_name():
    import torch
    device = torch.device("cuda", 0)
    meter = CostMeter(device=device)
    with meter.stage("teacher"):
        big = torch.empty(256 * 2**20, dtype=torch.uint8, device=device)   # 256 MiB
        del big
    with meter.stage("train"):
        small = torch.empty(16 * 2**20, dtype=torch.uint8, device=device)  # 16 MiB
        del small
    rows = {r["stage"]: r for r in meter.rows()}
    assert rows["teacher"]["peak_device_gb"] >= 0.268 > rows["train"]["peak_device_gb"] >= 0.016
    assert rows["train"]["device"] == torch.cuda.get_device_name(device)
