"""The Mall's settings, from ``MALL_*`` variables (one place reads them)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from huoqi.errors import InvalidInput

DEFAULT_DATABASE = Path("var") / "mall.db"


@dataclass(frozen=True)
class MallSettings:
    huoqi_url: str = "http://127.0.0.1:8000"  # Huoqi's base URL: gateway and checkout page
    merchant_id: str = ""
    secret: str = ""
    public_url: str = "http://127.0.0.1:8001"  # where browsers and Huoqi reach the Mall
    database: str = str(DEFAULT_DATABASE)  # a file path or a SQLAlchemy URL
    admin_password: str = ""  # empty: the shop admin page is open (a local demo)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> MallSettings:
        env = os.environ if environ is None else environ
        settings = cls(
            huoqi_url=env.get("MALL_HUOQI_URL", "http://127.0.0.1:8000").strip().rstrip("/"),
            merchant_id=env.get("MALL_MERCHANT_ID", "").strip(),
            secret=env.get("MALL_SECRET", "").strip(),
            public_url=env.get("MALL_PUBLIC_URL", "http://127.0.0.1:8001").strip().rstrip("/"),
            database=env.get("MALL_DATABASE", str(DEFAULT_DATABASE)).strip(),
            admin_password=env.get("MALL_ADMIN_PASSWORD", ""),
        )
        settings.check()
        return settings

    def check(self) -> None:
        for name, url in (("MALL_HUOQI_URL", self.huoqi_url), ("MALL_PUBLIC_URL", self.public_url)):
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InvalidInput(f"{name} must be an http(s) URL such as http://host:port")
        if not self.merchant_id or not self.secret:
            raise InvalidInput(
                "MALL_MERCHANT_ID and MALL_SECRET are needed: the Mall signs every gateway "
                "request (an operator approves the merchant and gives out its key)"
            )

    @property
    def notify_url(self) -> str:
        return f"{self.public_url}/notify"

    def return_url(self, out_trade_no: str) -> str:
        return f"{self.public_url}/orders/{out_trade_no}"

    @property
    def huoqi_origin(self) -> str:
        parts = urlsplit(self.huoqi_url)
        return f"{parts.scheme}://{parts.netloc}"
