"""The baseline for `python -m bench http`: FastAPI and uvicorn with nothing of Huoqi.

One ``GET /bare`` answering a tiny JSON object, served exactly as ``huoqi serve`` serves
the real app (``uvicorn.run`` with a factory, the same workers, no log config, no access log;
uvloop and httptools when installed, as for Huoqi). The endpoint is a plain ``def``, like
Huoqi's routes, so it takes the same hop into the thread pool. What this answers at a
given rate is what the machine, uvicorn and FastAPI cost before any Huoqi code runs.

Run by the benchmark as ``python -m bench.http_bare_app --port N`` (loopback only).
"""

from __future__ import annotations

import argparse

from fastapi import FastAPI


def create_app() -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/bare")
    def bare() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.http_bare_app")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    options = parser.parse_args()
    uvicorn.run(
        "bench.http_bare_app:create_app", factory=True, host="127.0.0.1", port=options.port,
        workers=options.workers,
        log_config=None, access_log=False,
    )  # fmt: skip


if __name__ == "__main__":
    main()
