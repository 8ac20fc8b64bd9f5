#!/usr/bin/env python3
"""Sums a libtorch profiler trace (bench_train --profile FILE, a chrome trace) by op name.

    tools/profile_ops.py FILE [--top 30]

Prints, per op name, its self time (its own span minus the ops nested inside it on the same thread), its total
time, the call count, and the share of all self time: where a training step's time goes, op by op.
"""
import argparse
import collections
import json


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("trace")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    with open(args.trace) as f:
        data = json.load(f)
    events = data["traceEvents"] if isinstance(data, dict) else data
    spans = [e for e in events if e.get("ph") == "X" and "dur" in e]
    by_thread = collections.defaultdict(list)
    for e in spans:
        by_thread[e.get("tid")].append(e)
    self_time = collections.Counter()
    total_time = collections.Counter()
    calls = collections.Counter()
    for thread_spans in by_thread.values():
        thread_spans.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, name, child time]
        def close(until):
            while stack and stack[-1][0] <= until:
                end, name, children, dur = stack.pop()
                self_time[name] += dur - children
                if stack:
                    stack[-1][2] += dur
        for e in thread_spans:
            start, dur = float(e["ts"]), float(e["dur"])
            close(start)
            stack.append([start + dur, e["name"], 0.0, dur])
            total_time[e["name"]] += dur
            calls[e["name"]] += 1
        close(float("inf"))
    all_self = sum(self_time.values()) or 1.0
    print(f"{'op':48} {'self ms':>10} {'total ms':>10} {'calls':>8} {'self %':>7}")
    for name, t in self_time.most_common(args.top):
        print(f"{name[:48]:48} {t / 1000:10.1f} {total_time[name] / 1000:10.1f} {calls[name]:8d} {100 * t / all_self:6.1f}%")


if __name__ == "__main__":
    main()
