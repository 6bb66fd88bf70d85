#!/usr/bin/env bash
# The paper's sweep on a Slurm cluster, as one command (read it, set the URL, then run it).
# The store must be a server database every node reaches; the scheduler runs where you launch (a login
# node), submits each run when the run it depends on is done, and exits when the sweep is finished.
set -euo pipefail
export XLQA_DB=postgresql+psycopg://me@dbhost/xlqa      # pip install 'xlqa[postgres]'

# 1. the teacher (one job, 1 GPU)
xlqa-run launch examples/paper_teacher.toml --executor slurm --partition gpu --gpus-per-node 1 --time 12:00:00

# 2. the grid: ntl 0..6 x T 2/4/8/16 x 3 seeds = 84 points, each a sample -> distill -> evaluate chain
#    (the teacher's checkpoint: RUNS/exp0001-paper-teacher/teacher/checkpoint, once step 1 is done)
xlqa-run sweep examples/paper_xquad_to_mlqa.toml \
  --set model.init_from="$HOME/.local/share/xlqa/runs/exp0001-paper-teacher/teacher/checkpoint" \
  --grid data.ntl=0,1,2,3,4,5,6 --grid distill.temperature=2,4,8,16 --seeds 3 \
  --executor slurm --partition gpu --gpus-per-node 4 --nodes 1 --time 24:00:00

# 3. watch, fix, finish: `xlqa-run list` shows the sweep's progress; a job Slurm ended (timeout, preemption,
#    node failure) is `lost` with Slurm's state; the same sweep command again resumes what failed and skips
#    what is done; `xlqa-run cancel RUN` calls scancel.
# 4. the paper's figure: G-XLT F1 of MLQA-dev, mean over seeds, ntl x T
xlqa-run table 1-400 --by data.ntl,distill.temperature --suite mlqa-dev --png ntl_T.png
