#!/usr/bin/env python3
"""Writes a synthetic event log for benchmarks, deterministic by seed: cases of a claims process
with a start and a completion time per event (rework loops, 8 activities, 40 resources), as CSV
(`case:concept:name,concept:name,org:resource,start_timestamp,time:timestamp`) or XES.

usage: gen_eventlog.py EVENTS OUTPUT [--seed N] [--format csv|xes]
"""
import argparse
import datetime as dt
import random

ACTIVITIES = ["register", "check", "assess", "request info", "approve", "reject", "pay", "close"]


def cases(events, rng):
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    written, case = 0, 0
    while written < events:
        case += 1
        t = start + dt.timedelta(minutes=case * 3)
        path = ["register", "check", "assess"]
        while rng.random() < 0.3:
            path += ["request info", "assess"]
        path += ["approve", "pay"] if rng.random() < 0.8 else ["reject"]
        path += ["close"]
        for activity in path[: events - written]:
            t += dt.timedelta(minutes=rng.expovariate(1 / 90))
            begun = t
            t += dt.timedelta(minutes=rng.expovariate(1 / 20))
            yield f"c{case}", activity, f"r{rng.randrange(40)}", begun, t
            written += 1


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+00:00"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("events", type=int)
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--format", choices=["csv", "xes"], default="csv")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with open(args.output, "w", encoding="utf-8") as out:
        if args.format == "csv":
            out.write("case:concept:name,concept:name,org:resource,start_timestamp,time:timestamp\n")
            for case, activity, resource, begun, done in cases(args.events, rng):
                out.write(f"{case},{activity},{resource},{iso(begun)},{iso(done)}\n")
            return
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="1.0">\n')
        current = None
        for case, activity, resource, begun, done in cases(args.events, rng):
            if case != current:
                if current is not None:
                    out.write("  </trace>\n")
                out.write(f'  <trace>\n    <string key="concept:name" value="{case}"/>\n')
                current = case
            out.write(
                f'    <event>\n      <string key="concept:name" value="{activity}"/>\n'
                f'      <string key="org:resource" value="{resource}"/>\n'
                f'      <string key="lifecycle:transition" value="complete"/>\n'
                f'      <date key="time:timestamp" value="{iso(done)}"/>\n'
                f'      <int key="cost" value="{rng.randrange(1000)}"/>\n    </event>\n'
            )
        if current is not None:
            out.write("  </trace>\n")
        out.write("</log>\n")


if __name__ == "__main__":
    main()
