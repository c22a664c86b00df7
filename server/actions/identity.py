"""Identity verification: binding a visitor to a site's signed-in user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from uuid import UUID

from ..auth.identity import verify_identity
from ..core.errors import ErrorCode, ParleyError
from ..core.models import CustomerPrincipal
from ..store import customers as customer_store
from ..store import locks
from .auth import visitor_token
from .context import Services, unit_of_work


@dataclass(frozen=True, slots=True)
class Identified:
    customer_id: UUID
    # True when the visitor became another customer (the one this user id was bound to before,
    # from another browser or device).
    switched: bool
    # The customer's new token: identify always rotates it.
    visitor_token: str


async def identify(
    services: Services,
    principal: CustomerPrincipal,
    *,
    user_id: str,
    user_hash: str,
    name: str | None,
    email: str | None,
) -> Identified:
    """Verify hash = HMAC-SHA256(secret, user_id) and bind the visitor to that user.

    A user id belongs to one customer. The first verified visitor becomes that customer; a
    visitor who proves the same id later (another device) switches to it and so sees the same
    conversations. A browser already bound to another user id gets a fresh customer rather than
    handing the earlier user's conversations to this one.
    """
    secret = services.settings.identity_secret
    if not secret:
        raise ParleyError(
            ErrorCode.FORBIDDEN, "identity verification is not enabled on this server"
        )
    if not verify_identity(secret, user_id, user_hash):
        raise ParleyError(ErrorCode.FORBIDDEN, "the identity hash does not match the user id")
    async with unit_of_work(services) as work:
        # Two first visits of the same user at once must not create two owners.
        await locks.external_identity(work.conn, user_id)
        target = await customer_store.owner_of_external_id(work.conn, user_id)
        if target is None:
            bound_to = await customer_store.external_id_of(work.conn, principal.customer_id)
            target = principal.customer_id if bound_to is None else uuid.uuid4()
        await customer_store.bind_identity(
            work.conn, target, external_id=user_id, name=name, email=email
        )
        # A new token for the verified customer: the anonymous one issued before this proof
        # (which anyone who saw it could replay) no longer opens them.
        version = await customer_store.bump_token_version(work.conn, target)
    services.visitor_versions.remember(target, version)
    token = visitor_token(services, target, version)
    return Identified(target, switched=target != principal.customer_id, visitor_token=token)
