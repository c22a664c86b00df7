"""Settings: one frozen struct, read once from the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .core.business_hours import WeeklyHours
from .core.rates import Rate


class ConfigError(ValueError):
    """An environment variable has a value Parley cannot use."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Every tunable of a Parley process. Field docs are the README's configuration table."""

    host: str = "127.0.0.1"
    port: int = 8080
    # Empty means: start the embedded PostgreSQL / Valkey under data_dir.
    database_url: str = ""
    redis_url: str = ""
    data_dir: Path = Path(".parley")
    # Where migrations are read from; None means the ones shipped in the package.
    sql_dir: Path | None = None
    # HMAC key for visitor and agent tokens; generated and kept in data_dir when empty.
    secret_key: str = ""
    redis_prefix: str = "parley:"
    redis_pool_max: int = 64
    db_pool_min: int = 2
    db_pool_max: int = 10
    # auto | transaction | none: whether DATABASE_URL goes through a transaction-mode pooler
    # (PgBouncer, Supabase's port 6543); auto decides from the URL (store/pooler.py).
    db_pooler: str = "auto"
    max_message_length: int = 5000
    agent_token_ttl_seconds: int = 12 * 3600
    # Login throttling: failures allowed per window, per account and per client address.
    login_max_failures_per_account: int = 5
    login_max_failures_per_ip: int = 20
    login_failure_window_seconds: int = 900
    # Password hashes running at once (argon2id, ~50 ms of a core each); the rest wait in line.
    password_hash_concurrency: int = 2
    password_min_length: int = 10
    # How long an admin's one-time password-reset link stays valid.
    password_reset_ttl_seconds: int = 24 * 3600
    # Rate limits, "<count>/<seconds>": a burst of `count`, refilled over `seconds`
    # (docs/protocol.md#rate-limits). Over a limit: rate_limited with retry_after, or HTTP 429.
    rate_messages_per_socket: str = "120/60"
    rate_messages_per_conversation: str = "300/60"
    rate_visitors_per_address: str = "1000/600"
    rate_conversations_per_address: str = "500/600"
    rate_conversations_per_visitor: str = "20/600"
    rate_uploads_per_visitor: str = "60/3600"
    rate_upload_bytes_per_visitor: str = "500000000/3600"
    rate_rest_per_token: str = "1200/60"
    rate_rest_per_address: str = "6000/60"
    # Reverse proxies in front of Parley that append to X-Forwarded-For (0: clients connect
    # directly). Client addresses are read that many entries from the right, never further.
    proxy_hops: int = 0
    presence_ttl_seconds: float = 30.0
    presence_heartbeat_seconds: float = 10.0
    presence_sweep_seconds: float = 5.0
    # Freeze the heap after start-up and whenever this many more sockets connected since the
    # last freeze (server/heap.py); 0 turns freezing off.
    gc_freeze_step: int = 500
    # Engine.IO handshakes under way at once (realtime/admission.py); the rest wait their
    # turn, so a storm of connects leaves room for live conversations. 0: no bound.
    connect_concurrency: int = 64
    # New connections, and Socket.IO connects, that start per event-loop turn
    # (connect_pacing.py); the rest wait for later turns. 0: no bound.
    connect_pace: int = 16
    # New connections accepted ahead of their first paced turn, at most (bounded_accept.py);
    # the rest wait in the kernel's listen queue. 0: accept the whole queue at once.
    accept_ahead: int = 256
    typing_timeout_seconds: float = 6.0
    # Routing defaults; each team may override them (teams.settings).
    default_max_chats: int = 5
    agent_grace_seconds: float = 60.0
    unanswered_seconds: float = 120.0
    abandon_seconds: float = 120.0
    routing_tick_seconds: float = 0.5
    reconcile_seconds: float = 30.0
    # How long a stopping process waits for in-flight acks before closing its sockets.
    drain_seconds: float = 10.0
    attachment_max_bytes: int = 10 * 1024 * 1024
    attachment_content_types: tuple[str, ...] = (
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "text/plain",
        "text/csv",
        "application/zip",
    )
    attachment_dir: Path | None = None
    attachment_url_ttl_seconds: int = 3600
    # Uploads never sent in a message are deleted (row and bytes) after this long.
    attachment_unsent_ttl_seconds: int = 24 * 3600
    attachment_sweep_seconds: float = 600.0
    # Origins allowed to open sockets; ("*",) allows any (the zero-config demo default).
    allowed_origins: tuple[str, ...] = ("*",)
    # With DATABASE_URL set, `serve` refuses to start on the "*" default unless this is set
    # (PARLEY_ALLOW_ANY_ORIGIN or `--allow-any-origin`): any website could open sockets.
    allow_any_origin: bool = False
    websocket_only: bool = False
    # Transport limits (docs/protocol.md, "Transport limits"). An HTTP request must send its
    # headers within this long of connecting (or of the previous response): slowloris.
    http_header_timeout_seconds: float = 15.0
    # A request body (REST JSON, a long-polling POST) must arrive within this long.
    http_body_timeout_seconds: float = 30.0
    # The largest Socket.IO packet or long-polling POST body, in bytes.
    socket_max_packet_bytes: int = 1_000_000
    # Socket.IO connections open at once from one client address (0: no cap). Behind a proxy,
    # set proxy_hops, or the proxy's own address is everyone's.
    max_connections_per_address: int = 200
    # Connections one process keeps open (0: its open-files limit less a reserve); past it 503.
    max_connections: int = 0
    create_demo_accounts: bool = True
    log_level: str = "INFO"
    # plain (for a terminal) or json (one object per line, for log collectors).
    log_format: str = "plain"
    # Bearer token that GET /metrics requires; empty turns the endpoint off (404).
    metrics_token: str = ""
    # This process's `instance` label on every metric; empty: host:pid.
    instance: str = ""
    # The AI assistant (docs/assistant.md). Without an API key it answers by quoting articles.
    openai_api_key: str = ""
    openai_base_url: str = ""
    assistant_model: str = "gpt-4o-mini"
    assistant_timeout_seconds: float = 20.0
    assistant_retries: int = 2
    assistant_max_tokens: int = 500
    assistant_breaker_failures: int = 5
    assistant_breaker_cooldown_seconds: float = 30.0
    # Offer the model a `decline` tool; false for servers without function calling, which
    # then decline with the NO_ANSWER token (docs/assistant.md, "Declining").
    assistant_decline_tool: bool = True
    # Decline below this decline score (best hybrid score + 0.06 x specificity, - 0.5 for a
    # name the knowledge base never mentions); measured for the local MiniLM (docs/retrieval.md).
    assistant_threshold: float = 0.50  # retrieval_eval.DECLINE_THRESHOLD
    embedder: str = "local"  # local | openai
    embedding_model: str = "text-embedding-3-small"  # with embedder = openai
    embedding_dimensions: int = 1536  # with embedder = openai
    kb_seed_demo: bool = True
    # Agent sign-in: password | supabase | both (docs/supabase.md). With Supabase, the server
    # verifies the project's access tokens itself: keys from its JWKS (asymmetric signing
    # keys) and/or the legacy shared JWT secret.
    agent_sign_in: str = "password"
    supabase_url: str = ""
    # The project's anon key: public by design, handed to the console's supabase-js.
    supabase_anon_key: str = ""
    supabase_jwt_secret: str = ""
    supabase_jwt_audience: str = "authenticated"
    # Empty: derived from supabase_url (<url>/auth/v1 and its /.well-known/jwks.json).
    supabase_jwt_issuer: str = ""
    supabase_jwks_url: str = ""
    # Auto-provisioning of agents at their first Supabase sign-in: verified emails in these
    # domains become agents; a claim path (e.g. app_metadata.parley_role) saying "agent" or
    # "admin" gives that role. Both empty: only existing agents may sign in.
    supabase_agent_domains: tuple[str, ...] = ()
    supabase_role_claim: str = ""
    # With supabase_url, attachments go to this Supabase Storage bucket (created when missing)
    # instead of local disk. The service role key never leaves the server.
    supabase_service_key: str = ""
    supabase_bucket: str = "parley-attachments"
    # Off by default: row-level security policies letting the project's `authenticated` users
    # whose claim (supabase_role_claim, else app_metadata.parley_role) says "admin" read
    # conversations, messages and the report tables directly (docs/supabase.md).
    supabase_admin_read: bool = False
    # Identity verification: the key a site signs its user ids with (HMAC-SHA256, hex). Empty
    # turns verification off: `identify` is then refused, and nobody can claim a user id.
    identity_secret: str = ""
    # Widget defaults, served by GET /api/v1/widget/settings (no admin UI yet).
    widget_color: str = "#1f5fbf"
    widget_position: str = "right"
    # Empty greeting / team name: the widget's own greeting, the default team's name.
    widget_greeting: str = ""
    widget_team_name: str = ""
    # Pre-chat fields: "required", "optional" or "hidden".
    widget_prechat_name: str = "optional"
    widget_prechat_email: str = "optional"
    # Weekly opening hours, e.g. "mon-fri 09:00-17:00; sat 10:00-14:00"; empty means always open.
    widget_business_hours: str = ""
    widget_timezone: str = "UTC"
    # Shown to visitors next to the hours, e.g. "Mon–Fri, 9am–5pm CET".
    widget_hours_text: str = ""
    # Empty: the widget follows the page's language.
    widget_language: str = ""
    # The assistant as a participant. Teams may override the mode (teams.settings).
    assistant_mode: str = "when_no_agent"  # off | when_no_agent | first
    assistant_name: str = "Parley Assistant"
    assistant_avatar_url: str = ""
    # Answers per conversation, across reopens; then it hands over to a person.
    assistant_max_turns: int = 10
    # Longest an answer may take from the customer's message to the posted reply.
    assistant_deadline_seconds: float = 90.0
    # The customer's wait for an answer or the hand-over offer, all model tries included;
    # past it the assistant quotes the help center instead (assistant/answer.py). Never more
    # than assistant_deadline_seconds, which bounds the whole run.
    assistant_answer_budget_seconds: float = 10.0

    @property
    def embedded(self) -> bool:
        return not (self.database_url and self.redis_url)

    @property
    def supabase_issuer(self) -> str:
        return self.supabase_jwt_issuer or f"{self.supabase_url.rstrip('/')}/auth/v1"

    @property
    def supabase_jwks(self) -> str:
        if self.supabase_jwks_url or not self.supabase_url:
            return self.supabase_jwks_url
        return f"{self.supabase_issuer}/.well-known/jwks.json"

    @property
    def supabase_admin_claim(self) -> tuple[str, ...] | None:
        """The claim path of the optional admin-read policies; None when they are off."""
        if not self.supabase_admin_read:
            return None
        return tuple((self.supabase_role_claim or "app_metadata.parley_role").split("."))

    @property
    def supabase_storage(self) -> bool:
        return bool(self.supabase_url and self.supabase_service_key)

    @property
    def attachments_path(self) -> Path:
        return self.attachment_dir or (self.data_dir / "attachments")

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


# Environment variable -> field name. Kept explicit so the README table and the code agree.
ENVIRONMENT: dict[str, str] = {
    "PARLEY_HOST": "host",
    "PORT": "port",
    "PARLEY_PORT": "port",
    "DATABASE_URL": "database_url",
    "REDIS_URL": "redis_url",
    "PARLEY_DATA_DIR": "data_dir",
    "PARLEY_SQL_DIR": "sql_dir",
    "PARLEY_SECRET_KEY": "secret_key",
    "PARLEY_REDIS_PREFIX": "redis_prefix",
    "PARLEY_REDIS_POOL_MAX": "redis_pool_max",
    "PARLEY_DB_POOL_MIN": "db_pool_min",
    "PARLEY_DB_POOL_MAX": "db_pool_max",
    "PARLEY_DB_POOLER": "db_pooler",
    "PARLEY_MAX_MESSAGE_LENGTH": "max_message_length",
    "PARLEY_AGENT_TOKEN_TTL": "agent_token_ttl_seconds",
    "PARLEY_LOGIN_MAX_FAILURES_ACCOUNT": "login_max_failures_per_account",
    "PARLEY_LOGIN_MAX_FAILURES_IP": "login_max_failures_per_ip",
    "PARLEY_LOGIN_FAILURE_WINDOW": "login_failure_window_seconds",
    "PARLEY_PASSWORD_HASH_CONCURRENCY": "password_hash_concurrency",
    "PARLEY_PASSWORD_MIN_LENGTH": "password_min_length",
    "PARLEY_PASSWORD_RESET_TTL": "password_reset_ttl_seconds",
    "PARLEY_RATE_MESSAGES_PER_SOCKET": "rate_messages_per_socket",
    "PARLEY_RATE_MESSAGES_PER_CONVERSATION": "rate_messages_per_conversation",
    "PARLEY_RATE_VISITORS_PER_ADDRESS": "rate_visitors_per_address",
    "PARLEY_RATE_CONVERSATIONS_PER_ADDRESS": "rate_conversations_per_address",
    "PARLEY_RATE_CONVERSATIONS_PER_VISITOR": "rate_conversations_per_visitor",
    "PARLEY_RATE_UPLOADS_PER_VISITOR": "rate_uploads_per_visitor",
    "PARLEY_RATE_UPLOAD_BYTES_PER_VISITOR": "rate_upload_bytes_per_visitor",
    "PARLEY_RATE_REST_PER_TOKEN": "rate_rest_per_token",
    "PARLEY_RATE_REST_PER_ADDRESS": "rate_rest_per_address",
    "PARLEY_PROXY_HOPS": "proxy_hops",
    "PARLEY_PRESENCE_TTL": "presence_ttl_seconds",
    "PARLEY_PRESENCE_HEARTBEAT": "presence_heartbeat_seconds",
    "PARLEY_PRESENCE_SWEEP": "presence_sweep_seconds",
    "PARLEY_GC_FREEZE_STEP": "gc_freeze_step",
    "PARLEY_CONNECT_CONCURRENCY": "connect_concurrency",
    "PARLEY_CONNECT_PACE": "connect_pace",
    "PARLEY_ACCEPT_AHEAD": "accept_ahead",
    "PARLEY_TYPING_TIMEOUT": "typing_timeout_seconds",
    "PARLEY_DEFAULT_MAX_CHATS": "default_max_chats",
    "PARLEY_AGENT_GRACE": "agent_grace_seconds",
    "PARLEY_UNANSWERED_TIMEOUT": "unanswered_seconds",
    "PARLEY_ABANDON_AFTER": "abandon_seconds",
    "PARLEY_ROUTING_TICK": "routing_tick_seconds",
    "PARLEY_RECONCILE_INTERVAL": "reconcile_seconds",
    "PARLEY_DRAIN_SECONDS": "drain_seconds",
    "PARLEY_ATTACHMENT_MAX_BYTES": "attachment_max_bytes",
    "PARLEY_ATTACHMENT_TYPES": "attachment_content_types",
    "PARLEY_ATTACHMENT_DIR": "attachment_dir",
    "PARLEY_ATTACHMENT_URL_TTL": "attachment_url_ttl_seconds",
    "PARLEY_ATTACHMENT_UNSENT_TTL": "attachment_unsent_ttl_seconds",
    "PARLEY_ATTACHMENT_SWEEP_INTERVAL": "attachment_sweep_seconds",
    "PARLEY_ALLOWED_ORIGINS": "allowed_origins",
    "PARLEY_ALLOW_ANY_ORIGIN": "allow_any_origin",
    "PARLEY_WEBSOCKET_ONLY": "websocket_only",
    "PARLEY_HTTP_HEADER_TIMEOUT": "http_header_timeout_seconds",
    "PARLEY_HTTP_BODY_TIMEOUT": "http_body_timeout_seconds",
    "PARLEY_SOCKET_MAX_PACKET_BYTES": "socket_max_packet_bytes",
    "PARLEY_MAX_CONNECTIONS_PER_ADDRESS": "max_connections_per_address",
    "PARLEY_MAX_CONNECTIONS": "max_connections",
    "PARLEY_DEMO_ACCOUNTS": "create_demo_accounts",
    "PARLEY_LOG_LEVEL": "log_level",
    "PARLEY_LOG_FORMAT": "log_format",
    "PARLEY_METRICS_TOKEN": "metrics_token",
    "PARLEY_INSTANCE": "instance",
    "OPENAI_API_KEY": "openai_api_key",
    "OPENAI_BASE_URL": "openai_base_url",
    "PARLEY_ASSISTANT_MODEL": "assistant_model",
    "PARLEY_ASSISTANT_TIMEOUT": "assistant_timeout_seconds",
    "PARLEY_ASSISTANT_RETRIES": "assistant_retries",
    "PARLEY_ASSISTANT_MAX_TOKENS": "assistant_max_tokens",
    "PARLEY_ASSISTANT_BREAKER_FAILURES": "assistant_breaker_failures",
    "PARLEY_ASSISTANT_BREAKER_COOLDOWN": "assistant_breaker_cooldown_seconds",
    "PARLEY_ASSISTANT_DECLINE_TOOL": "assistant_decline_tool",
    "PARLEY_ASSISTANT_THRESHOLD": "assistant_threshold",
    "PARLEY_EMBEDDER": "embedder",
    "PARLEY_EMBEDDING_MODEL": "embedding_model",
    "PARLEY_EMBEDDING_DIMENSIONS": "embedding_dimensions",
    "PARLEY_KB_DEMO": "kb_seed_demo",
    "PARLEY_IDENTITY_SECRET": "identity_secret",
    "PARLEY_AGENT_SIGN_IN": "agent_sign_in",
    "SUPABASE_URL": "supabase_url",
    "SUPABASE_ANON_KEY": "supabase_anon_key",
    "SUPABASE_JWT_SECRET": "supabase_jwt_secret",
    "PARLEY_SUPABASE_AUDIENCE": "supabase_jwt_audience",
    "PARLEY_SUPABASE_ISSUER": "supabase_jwt_issuer",
    "PARLEY_SUPABASE_JWKS_URL": "supabase_jwks_url",
    "PARLEY_SUPABASE_AGENT_DOMAINS": "supabase_agent_domains",
    "PARLEY_SUPABASE_ROLE_CLAIM": "supabase_role_claim",
    "SUPABASE_SERVICE_ROLE_KEY": "supabase_service_key",
    "PARLEY_SUPABASE_BUCKET": "supabase_bucket",
    "PARLEY_SUPABASE_ADMIN_READ": "supabase_admin_read",
    "PARLEY_WIDGET_COLOR": "widget_color",
    "PARLEY_WIDGET_POSITION": "widget_position",
    "PARLEY_WIDGET_GREETING": "widget_greeting",
    "PARLEY_WIDGET_TEAM_NAME": "widget_team_name",
    "PARLEY_WIDGET_PRECHAT_NAME": "widget_prechat_name",
    "PARLEY_WIDGET_PRECHAT_EMAIL": "widget_prechat_email",
    "PARLEY_WIDGET_BUSINESS_HOURS": "widget_business_hours",
    "PARLEY_WIDGET_TIMEZONE": "widget_timezone",
    "PARLEY_WIDGET_HOURS_TEXT": "widget_hours_text",
    "PARLEY_WIDGET_LANGUAGE": "widget_language",
    "PARLEY_ASSISTANT_MODE": "assistant_mode",
    "PARLEY_ASSISTANT_NAME": "assistant_name",
    "PARLEY_ASSISTANT_AVATAR_URL": "assistant_avatar_url",
    "PARLEY_ASSISTANT_MAX_TURNS": "assistant_max_turns",
    "PARLEY_ASSISTANT_DEADLINE": "assistant_deadline_seconds",
    "PARLEY_ASSISTANT_ANSWER_BUDGET": "assistant_answer_budget_seconds",
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _parse(name: str, field_name: str, raw: str, current: Any) -> Any:
    try:
        if isinstance(current, bool):
            lowered = raw.strip().lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError("expected true or false")
            return lowered in _TRUE
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
        if isinstance(current, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if isinstance(current, Path) or field_name in ("attachment_dir", "sql_dir"):
            return Path(raw)
        return raw
    except ValueError as exc:
        raise ConfigError(f"{name}: cannot use {raw!r} ({exc})") from exc


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from the environment (and explicit overrides, which win)."""
    environ = os.environ if environ is None else environ
    defaults = Settings()
    values: dict[str, Any] = {}
    for variable, field_name in ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is None or raw == "":
            continue
        values[field_name] = _parse(variable, field_name, raw, getattr(defaults, field_name))
    values.update(overrides)
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"unknown settings: {sorted(unknown)}")
    settings = replace(defaults, **values)
    _validate(settings)
    return settings


def refuse_open_origins(settings: Settings, environ: Mapping[str, str] | None = None) -> None:
    """A production server (DATABASE_URL set) accepts sockets from any website only by choice;
    the zero-config demo keeps "*"."""
    environ = os.environ if environ is None else environ
    if (
        settings.database_url
        and not environ.get("PARLEY_ALLOWED_ORIGINS")
        and settings.allowed_origins == ("*",)
        and not settings.allow_any_origin
    ):
        raise ConfigError(
            "DATABASE_URL is set but PARLEY_ALLOWED_ORIGINS is not, so any website could open "
            "chat sockets as its visitors. Set PARLEY_ALLOWED_ORIGINS to your sites (for example "
            "https://www.example.com,https://support.example.com), or pass --allow-any-origin "
            "(PARLEY_ALLOW_ANY_ORIGIN=true) to accept every origin on purpose."
        )


def prepare_data_dir(settings: Settings) -> None:
    """Create the data directory (the token key, attachments, embedded services), or say in a
    ConfigError why it cannot be used."""
    path = Path(settings.data_dir)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"PARLEY_DATA_DIR: {path} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"PARLEY_DATA_DIR: cannot create {path}: {exc.strerror}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"PARLEY_DATA_DIR: {path} is not writable")


def _validate(settings: Settings) -> None:
    if not 1 <= settings.max_message_length <= 100_000:
        raise ConfigError("PARLEY_MAX_MESSAGE_LENGTH must be between 1 and 100000")
    if settings.presence_heartbeat_seconds >= settings.presence_ttl_seconds:
        raise ConfigError("PARLEY_PRESENCE_HEARTBEAT must be shorter than PARLEY_PRESENCE_TTL")
    if settings.db_pool_min > settings.db_pool_max:
        raise ConfigError("PARLEY_DB_POOL_MIN must not exceed PARLEY_DB_POOL_MAX")
    if settings.db_pooler not in ("auto", "transaction", "none"):
        raise ConfigError("PARLEY_DB_POOLER must be auto, transaction or none")
    if not 0 <= settings.proxy_hops <= 10:
        raise ConfigError("PARLEY_PROXY_HOPS must be between 0 and 10")
    _validate_accounts(settings)
    if settings.log_format not in ("plain", "json"):
        raise ConfigError("PARLEY_LOG_FORMAT must be plain or json")
    if settings.metrics_token and len(settings.metrics_token) < 16:
        raise ConfigError("PARLEY_METRICS_TOKEN must be at least 16 characters")
    if not 0 <= settings.drain_seconds <= 300:
        raise ConfigError("PARLEY_DRAIN_SECONDS must be between 0 and 300")
    if settings.http_header_timeout_seconds <= 0 or settings.http_body_timeout_seconds <= 0:
        raise ConfigError("PARLEY_HTTP_HEADER_TIMEOUT and PARLEY_HTTP_BODY_TIMEOUT must be > 0")
    if settings.socket_max_packet_bytes < 1024:
        raise ConfigError("PARLEY_SOCKET_MAX_PACKET_BYTES must be at least 1024")
    if settings.max_connections_per_address < 0:
        raise ConfigError("PARLEY_MAX_CONNECTIONS_PER_ADDRESS must be 0 (no cap) or more")
    if settings.max_connections < 0:
        raise ConfigError("PARLEY_MAX_CONNECTIONS must be 0 (from the open-files limit) or more")
    if settings.connect_concurrency < 0:
        raise ConfigError("PARLEY_CONNECT_CONCURRENCY must be 0 (no bound) or more")
    if settings.connect_pace < 0:
        raise ConfigError("PARLEY_CONNECT_PACE must be 0 (no bound) or more")
    if settings.accept_ahead < 0:
        raise ConfigError("PARLEY_ACCEPT_AHEAD must be 0 (no bound) or more")
    _validate_assistant(settings)
    _validate_widget(settings)
    _validate_supabase(settings)


def _validate_supabase(settings: Settings) -> None:
    if settings.supabase_role_claim and not re.fullmatch(
        r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*", settings.supabase_role_claim
    ):
        raise ConfigError("PARLEY_SUPABASE_ROLE_CLAIM must be a dotted path like app_metadata.role")
    if settings.agent_sign_in not in ("password", "supabase", "both"):
        raise ConfigError("PARLEY_AGENT_SIGN_IN must be password, supabase or both")
    if settings.agent_sign_in == "password":
        return
    if not (settings.supabase_url or settings.supabase_jwt_issuer):
        raise ConfigError(f"PARLEY_AGENT_SIGN_IN={settings.agent_sign_in} needs SUPABASE_URL")
    if not (settings.supabase_jwks or settings.supabase_jwt_secret):
        raise ConfigError("Supabase sign-in needs SUPABASE_URL or SUPABASE_JWT_SECRET")


def _validate_accounts(settings: Settings) -> None:
    if not 1 <= settings.password_hash_concurrency <= 64:
        raise ConfigError("PARLEY_PASSWORD_HASH_CONCURRENCY must be between 1 and 64")
    if not 8 <= settings.password_min_length <= 128:
        raise ConfigError("PARLEY_PASSWORD_MIN_LENGTH must be between 8 and 128")
    for f in fields(Settings):
        if f.name.startswith("rate_"):
            try:
                Rate.parse(getattr(settings, f.name))
            except ValueError as exc:
                raise ConfigError(f"PARLEY_{f.name.upper()}: {exc}") from exc


def _validate_assistant(settings: Settings) -> None:
    if settings.embedder not in ("local", "openai"):
        raise ConfigError("PARLEY_EMBEDDER must be local or openai")
    if settings.embedder == "openai" and not settings.openai_api_key:
        raise ConfigError("PARLEY_EMBEDDER=openai needs OPENAI_API_KEY")
    if not 1 <= settings.embedding_dimensions <= 2000:
        raise ConfigError("PARLEY_EMBEDDING_DIMENSIONS must be between 1 and 2000")
    if not -1.0 <= settings.assistant_threshold <= 2.0:
        raise ConfigError("PARLEY_ASSISTANT_THRESHOLD is a decline score: between -1 and 2")
    if settings.assistant_timeout_seconds <= 0:
        raise ConfigError("PARLEY_ASSISTANT_TIMEOUT must be positive")
    if not 0 <= settings.assistant_retries <= 5:
        raise ConfigError("PARLEY_ASSISTANT_RETRIES must be between 0 and 5")
    if settings.assistant_breaker_failures < 1:
        raise ConfigError("PARLEY_ASSISTANT_BREAKER_FAILURES must be at least 1")
    if settings.assistant_max_tokens < 16:
        raise ConfigError("PARLEY_ASSISTANT_MAX_TOKENS must be at least 16")
    if settings.assistant_mode not in ("off", "when_no_agent", "first"):
        raise ConfigError("PARLEY_ASSISTANT_MODE must be off, when_no_agent or first")
    if not 1 <= len(settings.assistant_name.strip()) <= 200:
        raise ConfigError("PARLEY_ASSISTANT_NAME must be 1 to 200 characters")
    if not 0 <= settings.assistant_max_turns <= 1000:
        raise ConfigError("PARLEY_ASSISTANT_MAX_TURNS must be between 0 and 1000")
    if settings.assistant_deadline_seconds < settings.assistant_timeout_seconds:
        raise ConfigError("PARLEY_ASSISTANT_DEADLINE must not be shorter than the model timeout")
    if settings.assistant_answer_budget_seconds <= 0:
        raise ConfigError("PARLEY_ASSISTANT_ANSWER_BUDGET must be positive")


_PRECHAT_MODES = ("required", "optional", "hidden")


def _validate_widget(settings: Settings) -> None:
    # These values end up in the widget's CSS and markup: only well-formed ones get through.
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", settings.widget_color):
        raise ConfigError("PARLEY_WIDGET_COLOR must be a colour like #1f5fbf")
    if settings.widget_position not in ("left", "right"):
        raise ConfigError("PARLEY_WIDGET_POSITION must be left or right")
    for name, value in (
        ("PARLEY_WIDGET_PRECHAT_NAME", settings.widget_prechat_name),
        ("PARLEY_WIDGET_PRECHAT_EMAIL", settings.widget_prechat_email),
    ):
        if value not in _PRECHAT_MODES:
            raise ConfigError(f"{name} must be one of {', '.join(_PRECHAT_MODES)}")
    if settings.widget_language and not re.fullmatch(
        r"[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*", settings.widget_language
    ):
        raise ConfigError("PARLEY_WIDGET_LANGUAGE must be a language tag like de or en-GB")
    if settings.identity_secret and len(settings.identity_secret) < 16:
        raise ConfigError("PARLEY_IDENTITY_SECRET must be at least 16 characters")
    try:
        zone = ZoneInfo(settings.widget_timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"PARLEY_WIDGET_TIMEZONE: unknown time zone {settings.widget_timezone!r}"
        ) from exc
    try:
        WeeklyHours.parse(settings.widget_business_hours, zone)
    except ValueError as exc:
        raise ConfigError(f"PARLEY_WIDGET_BUSINESS_HOURS: {exc}") from exc
