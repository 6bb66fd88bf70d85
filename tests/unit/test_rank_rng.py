"""Each DDP rank resumes its own RNG stream; a 2-rank checkpoint resumes on 1 (issue 20 §2)."""
import torch

from engine.train.checkpoint import rank_rng_state, rng_state, set_rng_state


def test_each_rank_resumes_its_own_stream_and_fewer_ranks_take_the_first_ones():
    torch.manual_seed(1)
    r0 = rng_state()
    torch.manual_seed(2)
    r1 = rng_state()
    state = {"rng": r0, "rng_ranks": [r0, r1]}
    set_rng_state(rank_rng_state(state, 1))
    a = torch.rand(3)
    torch.manual_seed(2)
    assert torch.equal(a, torch.rand(3))  # rank 1 continues rank 1's stream, not rank 0's
    assert rank_rng_state(state, 0) is r0
    assert rank_rng_state({"rng": r0}, 1) is r0  # a checkpoint of one process
    assert rank_rng_state(state, 2) is r0        # more ranks than saved: rank 0's
