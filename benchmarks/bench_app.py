"""App-layer costs, as ratios against a baseline in the same process.

1. Job-manager overhead: generating through JobManager (worker thread, progress events, atomic status
   writes) vs calling generate_structures directly, same request (ratio; 1.0 = no overhead).
2. 3D viewer payload: viewer_html time and size for 3k / 24k / 96k-atom glasses (replicated reference glass),
   relative to 3k; plus defect classification time.

Usage: python benchmarks/bench_app.py [--model DIR] [--atoms 192] [--schedule draft]
"""
import argparse
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app's pages/ package

from amorph_core.analysis.defects import defect_classes  # noqa: E402
from amorph_core.generate import GenerationRequest, RunOptions, generate_structures  # noqa: E402
from amorph_core.jobs import JobManager, generate_job_params  # noqa: E402
from amorph_core.structures import reference_glasses  # noqa: E402
from pages import _viewer  # noqa: E402


def bench_jobs(model, n_atoms, schedule, repeats=2):
    req = GenerationRequest(cooling_rate_k_ps=1.0, n_atoms=n_atoms, seeds=(0,), schedule=schedule, device="cpu",
                            model=model)
    run = RunOptions(entropy_every=10)
    direct, managed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        m = JobManager(os.path.join(tmp, "jobs"))
        for r in range(repeats):
            t0 = time.perf_counter()
            generate_structures(req, os.path.join(tmp, f"d{r}"), run, progress=lambda e: None,
                                cancel=threading.Event())
            direct.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s = m.wait(m.submit("generate", generate_job_params(req, run)), timeout=3600, poll_s=0.01)
            managed.append(time.perf_counter() - t0)
            assert s["state"] == "done", s.get("error")
        m.shutdown()
    d, g = min(direct), min(managed)
    print(f"generate {n_atoms} atoms ({schedule}, entropy every 10 steps): direct {d:.2f} s, "
          f"via JobManager {g:.2f} s, ratio {g / d:.3f}")


def bench_viewer():
    base = reference_glasses("sio2", 1.0)[0]
    defect_classes(base, "sio2")  # warm-up (imports, neighbour-list set-up)
    rows = []
    for reps in ((1, 1, 1), (2, 2, 2), (4, 4, 2)):
        atoms = base.repeat(reps)
        t0 = time.perf_counter()
        html = _viewer.viewer_html(atoms)
        t_html = time.perf_counter() - t0
        t0 = time.perf_counter()
        d = defect_classes(atoms, "sio2")
        t_def = time.perf_counter() - t0
        rows.append((len(atoms), t_html, len(html), t_def, _viewer.auto_style(len(atoms)),
                     sum(map(len, d.values()))))
    b = rows[0]
    for n, t, size, td, style, nd in rows:
        print(f"viewer {n:6d} atoms: html {t * 1e3:7.1f} ms ({t / b[1]:5.1f}x), {size / 1e6:5.2f} MB "
              f"({size / b[2]:5.1f}x), style '{style}', defects {td * 1e3:6.1f} ms ({td / b[3]:5.1f}x), {nd} defect atoms")


def bench_browser(port=8765):
    """Seconds until headless Chromium (software WebGL) has drawn the viewer, 3k vs 96k atoms (ratio)."""
    import io
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np
    from PIL import Image
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By

    root = Path(tempfile.mkdtemp())
    (root / "app" / "static").mkdir(parents=True)
    shutil.copy(Path(__file__).resolve().parents[1] / "static" / "3Dmol-min.js", root / "app" / "static")
    base = reference_glasses("sio2", 1.0)[0]
    names = []
    for reps, style in (((1, 1, 1), "auto"), ((4, 4, 2), "auto"), ((4, 4, 2), "sticks")):
        a = base.repeat(reps)
        name = f"v{len(a)}_{style}"
        (root / f"{name}.html").write_text("<html><body>" + _viewer.viewer_html(a, style=style, width=800, height=600)
                                           + "</body></html>")
        names.append((name, len(a), style))
    srv = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "-d", str(root)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1)
    o = webdriver.ChromeOptions()
    o.binary_location = shutil.which("chromium")
    for f in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--window-size=900,700"]:
        o.add_argument(f)
    drv = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=o)
    times = {}
    try:
        for name, n, style in names:
            t0 = time.time()
            drv.get(f"http://127.0.0.1:{port}/{name}.html")
            while time.time() - t0 < 120:
                c = drv.find_elements(By.TAG_NAME, "canvas")
                if c:
                    img = np.asarray(Image.open(io.BytesIO(c[0].screenshot_as_png)).convert("RGB")).astype(int)
                    if (np.abs(img - img[2, 2]).sum(-1) > 30).mean() > 0.01:
                        break
                time.sleep(0.2)
            times[name] = time.time() - t0
            print(f"browser {n:6d} atoms '{style}': drawn after {times[name]:.1f} s "
                  f"({times[name] / times[names[0][0]]:.1f}x the 3k view)")
    finally:
        drv.quit()
        srv.terminate()


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--atoms", type=int, default=192)
    ap.add_argument("--schedule", default="draft")
    ap.add_argument("--browser", action="store_true", help="also time drawing in headless Chromium")
    a = ap.parse_args()
    bench_viewer()
    if a.browser:
        bench_browser()
    bench_jobs(a.model, a.atoms, a.schedule)
