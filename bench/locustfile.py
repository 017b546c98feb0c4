# Locust as a peer client (bench/locust-peer.ts): each user sends back-to-back GETs of one path
# with FastHttpUser (geventhttpclient, Locust's fastest client) and no wait between them, one
# keep-alive connection per user. Run headless in one process:
#
#   LT_BENCH_PATH=/ping locust -f bench/locustfile.py --headless -u N -r N --host URL -t Ss --only-summary
#
# At exit it prints one line, "lt-bench-result {json}", with the request count, failures and
# percentiles (ms): the summary table is meant for people, and --csv files are written on a timer
# that a short run can end before.
# With LT_BENCH_ONE_REQUEST=1 each user sends one request and then waits out the run: the
# start-up run, whose CPU and requests the harness takes off the counted run's.
import json
import os

from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

PATH = os.environ.get("LT_BENCH_PATH", "/")
ONE_REQUEST = os.environ.get("LT_BENCH_ONE_REQUEST") == "1"

_environment = None


@events.init.add_listener
def _keep_environment(environment, **_kwargs):
    global _environment
    _environment = environment


# `quit` fires after the runner stopped every user, so no request is still being counted.
@events.quit.add_listener
def _print_result(**_kwargs):
    total = _environment.stats.total
    result = {
        "requests": total.num_requests,
        "failures": total.num_failures,
        "p50_ms": total.get_response_time_percentile(0.5) if total.num_requests else None,
        "p99_ms": total.get_response_time_percentile(0.99) if total.num_requests else None,
    }
    print("lt-bench-result " + json.dumps(result), flush=True)


class BackToBackGet(FastHttpUser):
    # An hour: longer than any run, so a start-up run's user sends once and idles until the end.
    wait_time = constant(3600) if ONE_REQUEST else constant(0)

    @task
    def get(self):
        self.client.get(PATH)
