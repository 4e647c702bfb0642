"""Log lines for device scripts: printed with the seconds since t0 and appended to a file, so a call cut off by
its time limit still leaves its log."""
import time
from pathlib import Path


def timed_log(path, t0: float, *msg) -> None:
    """Print '[  12.3s] msg ...' (seconds since t0) and append the line to path."""
    line = f"[{time.time() - t0:7.1f}s] " + " ".join(str(m) for m in msg)
    print(line, flush=True)
    with open(Path(path), "a") as fh:
        fh.write(line + "\n")
