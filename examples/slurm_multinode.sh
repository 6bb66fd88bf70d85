#!/usr/bin/env bash
# Multi-node DDP under Slurm with a shared PostgreSQL store: every node runs the same worker through
# `accelerate launch`; rank 0 writes the store. Queue the runs first (on any machine that reaches the DB):
#   export XLQA_DB=postgresql+psycopg://user@dbhost/xlqa
#   xlqa-run launch examples/paper_xquad_to_mlqa.toml      # prints the run ids; do not start a scheduler
#   sbatch --export=ALL,RUN_ID=<distill run id> examples/slurm_multinode.sh
#SBATCH --job-name=xlqa
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
#SBATCH --gpus-per-node=4
#SBATCH --time=24:00:00
set -euo pipefail
: "${XLQA_DB:?set XLQA_DB to the shared PostgreSQL URL}" "${RUN_ID:?set RUN_ID}"
MASTER=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n1)
srun bash -c "accelerate launch --multi_gpu --num_machines $SLURM_NNODES --machine_rank \$SLURM_NODEID \
  --num_processes $((SLURM_NNODES * 4)) --main_process_ip $MASTER --main_process_port 29500 \
  -m engine.jobs.worker --db \"$XLQA_DB\" --run $RUN_ID"
