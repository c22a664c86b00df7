"""Every Redis key Parley uses, in one place. All keys share a prefix so deployments and tests
can share one Redis without colliding.

Nothing here is the system of record: presence and rate limits are ephemeral by nature, and the
routing queue (later) is rebuilt from PostgreSQL when Redis loses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class RedisKeys:
    prefix: str = "parley:"

    # -- presence ---------------------------------------------------------------------------
    def agent_connections(self, agent_id: UUID | str) -> str:
        """ZSET of one agent's live socket connections, member "<process>:<sid>", score = expiry
        (unix seconds). A connection whose process stops heart-beating expires by itself."""
        return f"{self.prefix}presence:agent:{agent_id}:conns"

    def agent_status(self, agent_id: UUID | str) -> str:
        """HASH {chosen: online|away|offline, effective: ..., since: unix seconds}. `chosen` is
        what the agent picked; `effective` is what others see (offline without connections)."""
        return f"{self.prefix}presence:agent:{agent_id}:status"

    def presence_expiry_index(self) -> str:
        """ZSET over all agents' connections, member "<agent>|<process>:<sid>", score = expiry;
        the sweeper reads it to find connections of crashed processes."""
        return f"{self.prefix}presence:expiry"

    def online_agents(self) -> str:
        """SET of agent ids whose effective status is not offline."""
        return f"{self.prefix}presence:online"

    # -- login throttling -------------------------------------------------------------------
    def login_failures_account(self, email: str) -> str:
        """Counter of failed logins for one account (lower-cased email); expires with the window."""
        return f"{self.prefix}login:fail:acct:{email.lower()}"

    def login_failures_ip(self, address: str) -> str:
        """Counter of failed logins from one client address; expires with the window."""
        return f"{self.prefix}login:fail:ip:{address}"

    # -- readiness --------------------------------------------------------------------------
    def ready_probe(self) -> str:
        return f"{self.prefix}ready"
