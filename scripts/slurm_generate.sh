#!/usr/bin/env bash
# Generate a sweep over every GPU of several hosts under SLURM: one task per GPU, each doing its share.
#
#   sbatch --nodes=2 --ntasks-per-node=4 --gpus-per-node=4 scripts/slurm_generate.sh SPEC OUT [amorph sweep options]
#
# srun starts SLURM_NTASKS tasks; each maps SLURM_PROCID / SLURM_NTASKS / SLURM_LOCALID onto RANK / WORLD_SIZE /
# LOCAL_RANK, works out the same global plan and generates its batches on GPU LOCAL_RANK of its host (or on the one
# GPU SLURM bound to it). The tasks never talk to each other; OUT must be on a file system all hosts share. Run the
# same command again to resume (finished files are kept, saved trajectories continued), with any number of tasks.
# Add --plan to print each task's share without generating. AMORPH: the command to run (default: amorph).
#SBATCH --job-name=amorph-sweep
#SBATCH --nodes=1
#SBATCH --ntasks-per-node=4
#SBATCH --gpus-per-node=4
#SBATCH --cpus-per-task=4
#SBATCH --time=24:00:00
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: sbatch [options] $0 SPEC OUT [amorph sweep options]" >&2
  exit 2
fi
export AMORPH="${AMORPH:-amorph}"
# shellcheck disable=SC2016  # expanded by each task, not here
exec srun --kill-on-bad-exit=1 bash -c \
  'export RANK=$SLURM_PROCID WORLD_SIZE=$SLURM_NTASKS LOCAL_RANK=${SLURM_LOCALID:-0}; exec $AMORPH sweep "$@"' \
  amorph-sweep "$1" --out "$2" "${@:3}"
