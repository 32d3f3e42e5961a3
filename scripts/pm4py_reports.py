#!/usr/bin/env python3
"""PM4Py's side of scripts/bench-reports: computes, over a generated log in Parquet, what one
Orgata report computes, with PM4Py's functions (pandas where PM4Py has none), and prints a short
summary of the result so that the work cannot be skipped. Timed by the caller as a whole process,
interpreter start and reading the file included, as `orgata report` is.

usage: pm4py_reports.py REPORT LOG.parquet

The equivalents (PM4Py 2.7's simplified interface):
  cases        get_all_case_durations, get_case_arrival_average
  variants     get_variants
  dfg          discover_performance_dfg (with start and end activities)
  activities   get_rework_cases_per_activity, get_service_time (mean)
  timeline     pandas: cases started and completed per week, open at each week's end
  bottlenecks  discover_performance_dfg, get_all_case_durations, get_variants,
               get_rework_cases_per_activity, get_service_time
  compare      filter cases by their first event (Q1 and Q2 2024), then per side
               get_all_case_durations, get_variants, get_rework_cases_per_activity
  sla          get_all_case_durations against a 1-day target
  resources    discover_handover_of_work_network, events per resource and per resource and week
"""
import sys

import pandas as pd
import pm4py

CASE, ACTIVITY, TIME, START, RESOURCE = (
    "case:concept:name", "concept:name", "time:timestamp", "start_timestamp", "org:resource")


def durations(df):
    """Case durations from the completion times, as Orgata's (PM4Py's case statistics would
    otherwise look for the start times in a frame of its own that lacks them)."""
    by_completion = df.copy(deep=False)
    by_completion.attrs = {**df.attrs, "pm4py:param:start_timestamp_key": TIME}
    return pm4py.get_all_case_durations(by_completion)


def cases(df):
    return len(durations(df)), pm4py.get_case_arrival_average(df)


def variants(df):
    return len(pm4py.get_variants(df))


def dfg(df):
    graph, starts, ends = pm4py.discover_performance_dfg(df)
    return len(graph), len(starts), len(ends)


def activities(df):
    rework = pm4py.get_rework_cases_per_activity(df)
    service = pm4py.get_service_time(df, start_timestamp_key=START, aggregation_measure="mean")
    return len(rework), len(service)


def timeline(df):
    spans = df.groupby(CASE)[TIME].agg(["min", "max"])
    started = spans["min"].dt.to_period("W").value_counts()
    completed = spans["max"].dt.to_period("W").value_counts()
    weeks = started.index.union(completed.index).sort_values()
    open_at_end = (started.reindex(weeks, fill_value=0) - completed.reindex(weeks, fill_value=0)).cumsum()
    return len(weeks), int(open_at_end.iloc[-1])


def bottlenecks(df):
    return dfg(df), cases(df)[0], variants(df), activities(df)


def compare(df):
    first = df.groupby(CASE)[TIME].transform("min")
    sides = []
    for start, end in (("2024-01-01", "2024-04-01"), ("2024-04-01", "2024-07-01")):
        side = df[(first >= pd.Timestamp(start, tz="UTC")) & (first < pd.Timestamp(end, tz="UTC"))]
        sides.append((len(durations(side)), len(pm4py.get_variants(side)), len(pm4py.get_rework_cases_per_activity(side))))
    return sides


def sla(df):
    spans = durations(df)
    return sum(1 for d in spans if d > 86400), len(spans)


def resources(df):
    handovers = pm4py.discover_handover_of_work_network(df)
    per_resource = df.groupby(RESOURCE).size()
    per_week = df.groupby([RESOURCE, df[TIME].dt.to_period("W")]).size()
    return len(handovers.connections), len(per_resource), len(per_week)


def main():
    report, path = sys.argv[1], sys.argv[2]
    df = pd.read_parquet(path)
    df = pm4py.format_dataframe(df, case_id=CASE, activity_key=ACTIVITY, timestamp_key=TIME, start_timestamp_key=START)
    print(report, globals()[report](df))


if __name__ == "__main__":
    main()
