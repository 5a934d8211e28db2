"""Placeholder replaced below."""

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    return None
