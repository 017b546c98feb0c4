#!/usr/bin/env python3
"""A driver agent that knows only the spec, as another team might write it, for the interop tests.

It registers, heartbeats with a timestamp in seconds, runs a test_config when its trigger says YES
(the target comes from --target: the spec's config names none), and reports each interval on its
own: the spec's metrics object ("" where the interval had no response), the interval's request
count as `num_requests` and its raw `latencies`. No test_status, no report_kind, nothing of ours.

Other ways other teams report, for the tests that must read them right:
  --cumulative   every report covers the whole test so far: requests counted when sent, the spec's
                 four figures over the responses so far, no latencies (so its count can stay while
                 its mean moves, as the last responses come in)
  --report-ids   uuid (default), numbered (1, 2, 3 ... per test, as a simple driver would), or none
"""
import argparse
import json
import statistics
import threading
import time
import urllib.request
import uuid

from kafka import KafkaConsumer, KafkaProducer


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kafka", required=True)
    parser.add_argument("--prefix", default="")
    parser.add_argument("--id", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--report-interval", type=float, default=0.25)
    parser.add_argument("--cumulative", action="store_true")
    parser.add_argument("--report-ids", choices=["uuid", "numbered", "none"], default="uuid")
    args = parser.parse_args()
    topic = lambda name: args.prefix + name

    producer = KafkaProducer(bootstrap_servers=args.kafka, value_serializer=lambda v: json.dumps(v).encode())
    consumer = KafkaConsumer(
        bootstrap_servers=args.kafka,
        group_id="spec-driver-" + args.id + "-" + uuid.uuid4().hex[:6],
        auto_offset_reset="latest",
        value_deserializer=lambda b: json.loads(b.decode()),
    )
    consumer.subscribe([topic("test_config"), topic("trigger")])
    while not consumer.assignment():  # join before registering, so no command is missed
        consumer.poll(timeout_ms=200)

    producer.send(topic("register"), {"node_id": args.id, "node_IP": "127.0.0.1", "message_type": "DRIVER_NODE_REGISTER"})
    producer.flush()
    print("registered", flush=True)

    def heartbeat():
        while True:
            producer.send(topic("heartbeat"), {"node_id": args.id, "heartbeat": "YES", "timestamp": int(time.time())})
            time.sleep(1)

    threading.Thread(target=heartbeat, daemon=True).start()

    configs = {}
    for record in consumer:
        message = record.value
        if record.topic == topic("test_config"):
            configs[message["test_id"]] = message
        elif record.topic == topic("trigger") and message.get("trigger") == "YES" and message["test_id"] in configs:
            run_test(producer, topic, args, configs[message["test_id"]])


def run_test(producer, topic, args, config):
    count = int(config["message_count_per_driver"])
    delay = float(config.get("test_message_delay") or 0) if config["test_type"] == "TSUNAMI" else 0
    interval = []
    everything = []
    sent_so_far = [0]
    reports = [0]
    lock = threading.Lock()
    done = threading.Event()

    def report():
        with lock:
            latencies = everything[:] if args.cumulative else interval[:]
            interval.clear()
            sent = sent_so_far[0]
        reports[0] += 1
        figures = (
            {"mean_latency": statistics.mean(latencies), "median_latency": statistics.median(latencies), "min_latency": min(latencies), "max_latency": max(latencies)}
            if latencies
            else {"mean_latency": "", "median_latency": "", "min_latency": "", "max_latency": ""}
        )
        message = {"node_id": args.id, "test_id": config["test_id"], "metrics": figures}
        if args.cumulative:
            message["num_requests"] = sent
        else:
            message["num_requests"] = len(latencies)
            message["latencies"] = latencies
        if args.report_ids == "uuid":
            message["report_id"] = uuid.uuid4().hex
        elif args.report_ids == "numbered":
            message["report_id"] = str(reports[0])
        producer.send(topic("metrics"), message)

    def reporter():
        while not done.wait(args.report_interval):
            report()

    thread = threading.Thread(target=reporter)
    thread.start()
    started = time.monotonic()
    for i in range(count):
        if delay:
            pause = started + i * delay - time.monotonic()
            if pause > 0:
                time.sleep(pause)
        with lock:
            sent_so_far[0] += 1
        sent = time.perf_counter()
        with urllib.request.urlopen(args.target, timeout=10) as response:
            response.read()
        latency = round((time.perf_counter() - sent) * 1000, 3)
        with lock:
            interval.append(latency)
            everything.append(latency)
    done.set()
    thread.join()
    report()
    producer.flush()
    print("test done", config["test_id"], flush=True)


if __name__ == "__main__":
    main()
