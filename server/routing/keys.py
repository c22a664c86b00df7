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

    def presence_expiry_index(self, kind: str = "agent") -> str:
        """ZSET over all agents' (or customers') connections, member "<id>|<process>:<sid>",
        score = expiry; the sweeper reads it to find connections of crashed processes."""
        return (
            f"{self.prefix}presence:expiry"
            if kind == "agent"
            else f"{self.prefix}presence:expiry:{kind}"
        )

    def online_agents(self) -> str:
        """SET of agent ids whose effective status is not offline."""
        return f"{self.prefix}presence:online"

    def customer_connections(self, customer_id: UUID | str) -> str:
        """ZSET of a visitor's live sockets, like agent_connections: tells whether a customer who
        left a waiting conversation has come back (in any tab, on any process)."""
        return f"{self.prefix}presence:customer:{customer_id}:conns"

    def customer_status(self, customer_id: UUID | str) -> str:
        """HASH like agent_status, for visitors (effective online/offline)."""
        return f"{self.prefix}presence:customer:{customer_id}:status"

    def online_customers(self) -> str:
        """SET of visitors with at least one live socket."""
        return f"{self.prefix}presence:customers-online"

    # -- routing ------------------------------------------------------------------------------
    def team_queue(self, team_id: UUID | str) -> str:
        """ZSET of a team's waiting conversations; score = priority * 1e13 + queued-at ms, so
        the lowest score is served first (core.routing.queue_score)."""
        return f"{self.prefix}routing:queue:{team_id}"

    def team_members(self, team_id: UUID | str) -> str:
        """SET of the team's active agent ids."""
        return f"{self.prefix}routing:team:{team_id}:members"

    def agent_teams(self, agent_id: UUID | str) -> str:
        """SET of the team ids an agent belongs to."""
        return f"{self.prefix}routing:agent:{agent_id}:teams"

    def agent_routing(self, agent_id: UUID | str) -> str:
        """HASH {capacity, load, last_assigned}: load = open conversations assigned to them."""
        return f"{self.prefix}routing:agent:{agent_id}"

    def assignments(self) -> str:
        """HASH conversation id -> agent id for every open assigned conversation; a release
        only counts when it matches, so an agent's load is decremented once per conversation."""
        return f"{self.prefix}routing:assignments"

    def queue_positions(self, team_id: UUID | str) -> str:
        """HASH conversation id -> last position told to its customer (to push changes only)."""
        return f"{self.prefix}routing:queue:{team_id}:positions"

    def recent_assignments(self, team_id: UUID | str) -> str:
        """LIST of unix times of the team's latest assignments (newest first): wait estimates."""
        return f"{self.prefix}routing:team:{team_id}:assigned-at"

    def exclusions(self, conversation_id: UUID | str) -> str:
        """SET of agents not to offer this conversation to again for a while (unanswered)."""
        return f"{self.prefix}routing:exclude:{conversation_id}"

    def timers(self) -> str:
        """ZSET of due work, member "<kind>:<id>", score = unix deadline: grace periods of
        vanished agents, unanswered-chat deadlines, abandonment of waiting customers. Whoever
        removes a due member runs it, so each runs once."""
        return f"{self.prefix}routing:timers"

    def reconcile_lock(self) -> str:
        """A short lock so one process at a time rebuilds routing state from PostgreSQL."""
        return f"{self.prefix}routing:reconcile-lock"

    # -- the assistant ---------------------------------------------------------------------
    def assistant_stop(self, run_id: UUID | str) -> str:
        """STRING set when an answer in flight must stop (a person took over, the customer asked
        for one, a newer answer replaced it). The process writing that answer checks it before
        every streamed piece and twice a second; it expires long after any answer would end."""
        return f"{self.prefix}assistant:stop:{run_id}"

    # -- login throttling -------------------------------------------------------------------
    def login_failures_account(self, email: str) -> str:
        """Counter of failed logins for one account (lower-cased email); expires with the window."""
        return f"{self.prefix}login:fail:acct:{email.lower()}"

    def login_failures_ip(self, address: str) -> str:
        """Counter of failed logins from one client address; expires with the window."""
        return f"{self.prefix}login:fail:ip:{address}"

    # -- rate limits -------------------------------------------------------------------------
    def rate_bucket(self, limit: str, subject: object) -> str:
        """HASH {tokens, at}: one token bucket of the rate limit `limit` (routing/limits.py) for
        one subject: a socket, a conversation, a visitor, a client address or a token digest.
        Expires once it would be full again."""
        return f"{self.prefix}rate:{limit}:{subject}"

    # -- readiness --------------------------------------------------------------------------
    def ready_probe(self) -> str:
        return f"{self.prefix}ready"
