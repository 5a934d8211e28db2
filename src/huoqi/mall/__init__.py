"""The demo Mall: a small shop that is a separate merchant of Huoqi.

It runs as its own FastAPI app on its own port (8001 by default) with its own SQLite file,
and speaks to Huoqi only through the signed merchant gateway (``/gateway/v1``, see
``docs/payments.md``) over HTTP, as any third-party merchant would:

- `catalog`: the products and the cart (pure functions over plain data);
- `events`: what a notification from Huoqi does to the shop's copy of an order (pure);
- `gateway`: the signed HTTP client of the gateway, and the check of Huoqi's signature
  on the notifications it sends;
- `store`: the shop's orders, refunds and received notifications in SQLite;
- `app`: the FastAPI app and ``POST /notify``; `pages` (shop, cart, checkout, order) and
  `admin` (orders, notifications, balance, refunds) are its routers, `web` what they share;
- `config` (``MALL_*`` settings), `i18n` (Chinese and English texts);
- `cli`: ``python -m huoqi.mall`` / ``huoqi mall serve``.
"""
