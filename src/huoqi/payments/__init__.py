"""Payments: merchants, the signed merchant gateway, paying from the balance or by card,
notifications from an outbox, refunds, settlement and reconciliation."""
