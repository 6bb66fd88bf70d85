#!/usr/bin/env bash
# A sweep over T and ntl: one experiment per point, all queued at once; the scheduler runs them one per
# free GPU (or one at a time on CPU). Compare afterwards with examples/queries.sql or `xlqa`.
set -euo pipefail
CONFIG=${1:-examples/quickstart.toml}
for T in 1 2 4; do
  for NTL in 1 2 5; do
    xlqa-run launch "$CONFIG" --set name="sweep-T${T}-ntl${NTL}" --set distill.temperature="$T" --set data.ntl="$NTL"
  done
done
