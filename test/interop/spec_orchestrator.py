#!/usr/bin/env python3
"""An orchestrator that knows only the spec, for the interop tests.

It waits for --drivers registrations, sends a test_config with the spec's fields only and a
trigger YES, then reads metrics until no report has come for --quiet seconds, and prints what it
saw as one JSON line: per driver, its reports and the keys of every `metrics` object.
"""
import argparse
import json
import time
import uuid

from kafka import KafkaConsumer, KafkaProducer


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--drivers", type=int, required=True)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--quiet", type=float, default=3)
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()
    topic = lambda name: args.prefix + name

    producer = KafkaProducer(bootstrap_servers=args.kafka, value_serializer=lambda v: json.dumps(v).encode())
    consumer = KafkaConsumer(
        bootstrap_servers=args.kafka,
        group_id="spec-orchestrator-" + uuid.uuid4().hex[:6],
        auto_offset_reset="earliest",
        value_deserializer=lambda b: json.loads(b.decode()),
    )
    consumer.subscribe([topic("register"), topic("metrics")])
    deadline = time.monotonic() + args.timeout
    drivers = set()
    while len(drivers) < args.drivers and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                if record.topic == topic("register"):
                    drivers.add(record.value["node_id"])

    test_id = "spec-" + uuid.uuid4().hex[:8]
    producer.send(topic("test_config"), {"test_id": test_id, "test_type": "AVALANCHE", "test_message_delay": 0, "message_count_per_driver": args.count})
    producer.flush()
    time.sleep(1)  # the spec orders nothing between topics: give the config a head start
    producer.send(topic("trigger"), {"test_id": test_id, "trigger": "YES"})
    producer.flush()

    seen = {}
    last_report = time.monotonic()
    while time.monotonic() < deadline and (not seen or time.monotonic() - last_report < args.quiet):
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                message = record.value
                if record.topic != topic("metrics") or message.get("test_id") != test_id:
                    continue
                last_report = time.monotonic()
                entry = seen.setdefault(message["node_id"], {"reports": 0, "metrics_keys": [], "last_metrics": None})
                entry["reports"] += 1
                entry["metrics_keys"].append(sorted(message["metrics"].keys()))
                entry["last_metrics"] = message["metrics"]
    print(json.dumps({"test_id": test_id, "registered": sorted(drivers), "drivers": seen}), flush=True)


if __name__ == "__main__":
    main()
