"""Identity verification: a site proves which of its users a visitor is.

The site's backend computes HMAC-SHA256(identity secret, user id) as hex and hands it to the
widget with the id. Only someone holding the secret can produce it, so a visitor cannot claim
another user's id (and with it, that user's conversations).
"""

from __future__ import annotations

import hashlib
import hmac


def identity_hash(secret: str, user_id: str) -> str:
    return hmac.new(secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def verify_identity(secret: str, user_id: str, claimed: str) -> bool:
    return bool(secret) and hmac.compare_digest(identity_hash(secret, user_id), claimed.lower())
