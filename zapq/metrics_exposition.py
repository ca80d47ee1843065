"""The worker's Prometheus endpoint, run by the dramatiq CLI as a fork process.

Dramatiq's own exposition fork reads its port and directory from the environment of
the `dramatiq` main process, which never imports zapq; this one reads zapq's
settings, so `METRICS_PORT` and `ZAPQ_DATA_DIR` apply however the worker was started.
"""

from __future__ import annotations

import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from zapq.settings import get_settings


def serve_worker_metrics() -> int:
    settings = get_settings()
    directory = settings.prometheus_dir
    directory.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

    class MetricsHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(directory))
            payload = generate_latest(registry)
            self.send_response(200)
            self.send_header("content-type", CONTENT_TYPE_LATEST)
            self.send_header("content-length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((settings.metrics_host, settings.metrics_port), MetricsHandler)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
