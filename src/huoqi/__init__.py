"""Huoqi (活期): a money-market-fund current account, payments, credit reporting and a fund
supermarket on one double-entry ledger."""

__version__ = "0.1.0"
