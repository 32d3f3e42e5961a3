#!/usr/bin/env python3
"""Computes, with PM4Py 2.7.23, the reference figures of the temporal profile for the shared event
logs (../shared/eventlogs) into reports/tests/reference/temporal_profile.json, which the reports'
tests compare Orgata's with.

usage: reference_temporal_profile.py EVENTLOGS_DIR OUT.json

Per log, following reference.json's conventions (where a log mixes lifecycle transitions, only its
`complete` events): the temporal profile (`pm4py.discover_temporal_profile`: per pair of activities
(a, b) with a's completion before b's start in a case, the mean and the sample standard deviation
of the time between them) and its conformance (`pm4py.conformance_temporal_profile`) at
ζ = 3 and 6: per case id, its deviations (a, b, time, ζ of the deviation; `null` where the
pair's standard deviation is 0, PM4Py's sys.maxsize).

Beside them, `outliers`: the anomalies report's case-level and step-level figures computed with
pandas, NumPy and SciPy as reports/src/predict/anomalies.rs defines them (its cases' order: time,
ties in file order): the duration limit (upper quartile + 3 interquartile ranges, NumPy's linear
quantiles) and the cases beyond it, the repeats limit (the 0.99 quantile, floored, at least 1) and
the cases beyond it, the cases whose path no other case followed, and the steps slower over the
14 days up to the last event than before (median at least 1.5 times, one-sided Mann–Whitney
p < 0.01, SciPy's asymptotic test; at least 5 recent and 20 earlier times).

And `prediction_baselines`: the prediction evaluation's temporal split and its baselines' errors
(see `baselines`).
"""
import json
import os
import sys

import numpy as np
import pandas as pd
import pm4py
from scipy.stats import mannwhitneyu

CASE, ACTIVITY, TIME, START, LIFECYCLE = (
    "case:concept:name", "concept:name", "time:timestamp", "start_timestamp", "lifecycle:transition")
ZETAS = (3.0, 6.0)


def read_xes(path):
    """An XES log as a frame in file order, its timestamps' offsets honoured (converted to UTC):
    PM4Py 2.7's `read_xes` drops them (it reads 00:00+02:00 as 00:00 UTC), which shifts times
    across daylight-saving changes; reference.json's figures, and Orgata's, are in true UTC."""
    import gzip
    import xml.etree.ElementTree as ET
    opener = gzip.open if path.endswith(".gz") else open
    rows, case = [], None
    with opener(path, "rb") as f:
        for event, element in ET.iterparse(f, events=("start", "end")):
            tag = element.tag.rsplit("}", 1)[-1]
            if event == "start" and tag == "trace":
                case = None
            elif event == "end" and tag == "event":
                attributes = {child.get("key"): child.get("value") for child in element}
                rows.append({CASE: case, ACTIVITY: attributes.get(ACTIVITY), TIME: attributes.get(TIME),
                             LIFECYCLE: attributes.get(LIFECYCLE)})
                element.clear()
            elif event == "end" and tag == "string" and element.get("key") == ACTIVITY and case is None:
                # The trace's own name (its attributes come before its events).
                case = element.get("value")
    df = pd.DataFrame(rows)
    df[TIME] = pd.to_datetime(df[TIME], utc=True, format="ISO8601")
    if df[LIFECYCLE].isna().all():
        df = df.drop(columns=[LIFECYCLE])
    return df


def read(path):
    if path.endswith(".csv"):
        df = pd.read_csv(path, dtype={CASE: str})
        df[TIME] = pd.to_datetime(df[TIME], utc=True, format="mixed")
        if START in df:
            df[START] = pd.to_datetime(df[START], utc=True, format="mixed")
        return df
    df = read_xes(path)
    if LIFECYCLE in df:
        transitions = set(df[LIFECYCLE].dropna().str.lower())
        if "complete" in transitions and transitions != {"complete"}:
            df = df[df[LIFECYCLE].str.lower() == "complete"].copy()
    df[CASE] = df[CASE].astype(str)
    return df


def outliers(df):
    """The anomalies report's case-level and step-level figures (see the module's doc)."""
    df = df.reset_index(drop=True)
    df["@@file"] = np.arange(len(df))
    df = df.sort_values([CASE, TIME, "@@file"], kind="stable")
    cases = df.groupby(CASE, sort=False)
    durations = (cases[TIME].max() - cases[TIME].min()).dt.total_seconds()
    q1, q3 = np.quantile(durations, [0.25, 0.75])
    duration_limit = q3 + 3 * (q3 - q1)
    repeats = cases.size() - cases[ACTIVITY].nunique()
    repeats_limit = max(int(np.floor(np.quantile(repeats, 0.99))), 1)
    paths = cases[ACTIVITY].agg(tuple)
    frequency = paths.map(paths.value_counts())
    df["@@since"] = cases[TIME].diff().dt.total_seconds()
    last = df[TIME].max()
    recent = df[TIME] >= last - pd.Timedelta(days=14)
    slower = []
    for activity, times in df[df["@@since"].notna()].groupby(ACTIVITY):
        now, before = times[recent[times.index]]["@@since"], times[~recent[times.index]]["@@since"]
        if len(now) < 5 or len(before) < 20 or before.median() <= 0:
            continue
        p = mannwhitneyu(now, before, alternative="greater", method="asymptotic").pvalue
        ratio = now.median() / before.median()
        if ratio >= 1.5 and p < 0.01:
            slower.append({"activity": activity, "recent": len(now), "earlier": len(before),
                           "recent_median_s": float(now.median()), "earlier_median_s": float(before.median()),
                           "p_value": float(p)})
    return {
        "duration_limit_s": float(duration_limit),
        "duration": sorted(str(c) for c in durations[durations > duration_limit].index),
        "repeats_limit": repeats_limit,
        "rework": sorted(str(c) for c in repeats[repeats > repeats_limit].index),
        "new_path": sorted(str(c) for c in frequency[frequency == 1].index),
        "slower_steps": slower,
    }


def baselines(df):
    """The prediction evaluation's split and baselines (reports/src/predict/evaluation.rs),
    computed apart: the earliest-started 80% of the cases learnt from, every prefix of the others
    scored; remaining time by the mean of the training prefixes with the same last activity and
    with the same length (before a case's last event), next activity by the most frequent next
    after the same last activity (the end counting as one)."""
    df = df.reset_index(drop=True)
    df["@@file"] = np.arange(len(df))
    df = df.sort_values([CASE, TIME, "@@file"], kind="stable")
    cases = df.groupby(CASE, sort=False)
    starts = cases[TIME].min().sort_values(kind="stable")
    split_at = starts.iloc[int(np.floor(len(starts) * 0.8))]
    training = set(starts[starts < split_at].index)
    df["@@k"] = cases.cumcount() + 1
    df["@@n"] = cases[ACTIVITY].transform("size")
    df["@@remaining"] = (cases[TIME].transform("max") - df[TIME]).dt.total_seconds()
    df["@@next"] = cases[ACTIVITY].shift(-1).fillna("@@end")
    learnt = df[df[CASE].isin(training)]
    tested = df[~df[CASE].isin(training)].copy()
    known = set(learnt[ACTIVITY])
    # Activities the training cases never had share one column: other.
    tested["@@last"] = tested[ACTIVITY].where(tested[ACTIVITY].isin(known), "@@other")
    tested["@@next"] = tested["@@next"].where(tested["@@next"].isin(known | {"@@end"}), "@@other")
    open_learnt = learnt[learnt["@@k"] < learnt["@@n"]]
    open_tested = tested[tested["@@k"] < tested["@@n"]]
    overall = open_learnt["@@remaining"].mean()
    by_last = open_learnt.groupby(ACTIVITY)["@@remaining"].mean()
    by_length = open_learnt.groupby("@@k")["@@remaining"].mean()
    mae_last = (open_tested["@@last"].map(by_last).fillna(overall) - open_tested["@@remaining"]).abs().mean()
    mae_length = (open_tested["@@k"].map(by_length).fillna(overall) - open_tested["@@remaining"]).abs().mean()
    # The classes in the encoding's order: activities by frequency (then name), other, the end.
    counts = learnt[ACTIVITY].value_counts()
    order = sorted(counts.index, key=lambda a: (-counts[a], a)) + ["@@other", "@@end"]
    rank = {a: i for i, a in enumerate(order)}
    pairs = learnt.groupby([ACTIVITY, "@@next"]).size().reset_index(name="n")
    pairs["rank"] = pairs["@@next"].map(rank)
    best = pairs.sort_values(["n", "rank"], ascending=[False, True]).groupby(ACTIVITY).head(1)
    next_after = dict(zip(best[ACTIVITY], best["@@next"]))
    totals = learnt["@@next"].value_counts()
    next_overall = sorted(totals.index, key=lambda a: (-totals[a], rank[a]))[0]
    hits = (tested["@@last"].map(lambda a: next_after.get(a, next_overall)) == tested["@@next"]).mean()
    return {
        "split_at": split_at.isoformat(),
        "training_cases": len(training),
        "test_cases": len(starts) - len(training),
        "test_prefixes": len(open_tested),
        "remaining_by_last_activity_mae_s": float(mae_last),
        "remaining_by_prefix_length_mae_s": float(mae_length),
        "next_activity_baseline_accuracy": float(hits),
    }


def main(eventlogs, out):
    logs = sorted(name for name in os.listdir(eventlogs) if name.endswith((".xes", ".xes.gz", ".csv")))
    result = []
    for name in logs:
        df = read(os.path.join(eventlogs, name))
        profile = pm4py.discover_temporal_profile(df)
        entry = {
            "log": name,
            "events": len(df),
            "profile": [
                {"from": a, "to": b, "mean_s": float(mean), "stdev_s": float(std)}
                for (a, b), (mean, std) in sorted(profile.items())
            ],
            "conformance": {},
            "outliers": outliers(df.copy()),
            "prediction_baselines": baselines(df.copy()),
        }
        cases = list(pd.unique(df[CASE]))
        for zeta in ZETAS:
            per_case = pm4py.conformance_temporal_profile(df, profile, zeta=zeta)
            deviations = {}
            for case, found in zip(cases, per_case):
                if found:
                    deviations[str(case)] = sorted(
                        [a, b, float(time), None if z == sys.maxsize else float(z)] for a, b, time, z in found
                    )
            entry["conformance"][str(zeta)] = deviations
        result.append(entry)
        print(name, len(df), "events,", len(profile), "pairs,",
              {z: len(d) for z, d in entry["conformance"].items()}, "deviating cases", file=sys.stderr)
    with open(out, "w") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
