"""The money-fund current account (活期宝)."""
