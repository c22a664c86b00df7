"""Quick responses: shortcut rules and who may use or change which. Pure, no I/O."""

from __future__ import annotations

import re
from uuid import UUID

from .errors import forbidden, invalid
from .models import AgentPrincipal, QuickResponse, QuickResponseScope

_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def normalize_shortcut(raw: str) -> str:
    """ "/Refund" and "refund" are the same shortcut; anything else must fit the pattern."""
    shortcut = raw.strip().removeprefix("/").lower()
    if not _SHORTCUT.match(shortcut):
        raise invalid(
            "a shortcut is 1 to 40 lowercase letters, digits, '-' or '_', starting with a "
            "letter or digit",
            field="shortcut",
        )
    return shortcut


def check_target(scope: QuickResponseScope, team_id: UUID | None) -> None:
    if scope is QuickResponseScope.TEAM and team_id is None:
        raise invalid("a team quick response needs a team_id", field="team_id")
    if scope is not QuickResponseScope.TEAM and team_id is not None:
        raise invalid(f"a {scope} quick response has no team_id", field="team_id")


def ensure_can_manage(
    principal: AgentPrincipal, scope: QuickResponseScope, owner: UUID | None
) -> None:
    """Agents manage their personal ones; global and team ones are for admins. Nobody, admins
    included, manages another agent's personal quick responses."""
    if scope is QuickResponseScope.PERSONAL:
        if owner == principal.agent_id:
            return
        raise forbidden("personal quick responses belong to their owner")
    if not principal.is_admin:
        raise forbidden("only admins may manage global and team quick responses")


def can_use(principal: AgentPrincipal, response: QuickResponse) -> bool:
    if response.scope is QuickResponseScope.GLOBAL:
        return True
    if response.scope is QuickResponseScope.TEAM:
        return principal.is_admin or response.team_id in principal.team_ids
    return response.owner_agent_id == principal.agent_id
