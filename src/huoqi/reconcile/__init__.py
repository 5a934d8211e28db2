"""Reconciliation: the bank statement and the fund confirmation file against the ledger."""
