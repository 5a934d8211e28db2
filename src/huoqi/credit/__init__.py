"""Credit reporting from consented phone data: consent, events, features, models, reasons."""
