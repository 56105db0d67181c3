"""Golden vectors for the trigger EMA (test/fixtures/ema-golden.json), from pandas
ewm(adjust=False): fixed alpha, and half-life over irregular times.
Run: python3 scripts/ema-golden.py  (needs pandas >= 2; the vectors are committed)."""
import json
import numpy as np
import pandas as pd

rng = np.random.default_rng(2)
cases = []
for alpha in (0.05, 0.3, 0.9, 1.0):
    xs = rng.normal(100, 15, 200).tolist()
    ys = pd.Series(xs).ewm(alpha=alpha, adjust=False).mean().tolist()
    cases.append({"alpha": alpha, "values": xs, "times": [i * 1000 for i in range(len(xs))], "expected": ys})
for halflife in (1.0, 7.5, 60.0):
    xs = rng.normal(0, 1, 200).tolist()
    gaps = rng.exponential(5.0, 200)
    gaps[0] = 0
    ms = np.round(np.cumsum(gaps) * 1000).astype(np.int64)
    times = pd.to_datetime(ms, unit="ms")
    ys = pd.Series(xs).ewm(halflife=pd.Timedelta(seconds=halflife), times=times, adjust=False).mean().tolist()
    cases.append({"halfLifeSeconds": halflife, "values": xs, "times": ms.tolist(), "expected": ys})
with open("test/fixtures/ema-golden.json", "w") as f:
    json.dump({"generator": f"pandas {pd.__version__} ewm(adjust=False)", "cases": cases}, f)
