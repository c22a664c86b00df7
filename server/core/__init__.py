"""The domain core: models, errors, policies and pure decisions. No I/O imports here."""
