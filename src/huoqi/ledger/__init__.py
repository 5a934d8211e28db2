"""The double-entry ledger: the one source of truth for money in Huoqi.

Read `huoqi.ledger.domain` for the design: entries of balanced postings, four running
totals per account bounded by a balance rule, holds for two-phase transfers, and
idempotency keys with payload fingerprints. `Ledger` (in `service`) is the entry point.
"""
