"""Shared test set-up. scripts/test.sh runs the suite on two pytest-xdist workers; each worker then computes on
one CPU thread (torch, OpenMP, BLAS, numba), so that two workers on a 2-core machine do not fight over the cores,
and the processes a test starts inherit that. Results do not depend on it: reproducibility is promised at a
fixed thread count, and the tests that compare thread counts set them themselves."""
import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ[_var] = "1"
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
