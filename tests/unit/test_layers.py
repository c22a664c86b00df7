"""Layer rules the import contracts (.importlinter) cannot see, checked on the source itself.

Each exception below is a known, documented one (docs/architecture.md, "Layer rules"); an
exception that no longer applies fails too, so the lists only shrink.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import grimp

SERVER = Path(__file__).resolve().parents[2] / "server"
_SQL = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|TRUNCATE|LOCK)\s")

# SQL outside store/: the embedded cluster's own administration (it creates the database the
# store then uses), the readiness probe, and the knowledge base's long-running import locks.
SQL_EXCEPTIONS = {
    "embedded/postgres.py",
    "api/health.py",
    "actions/knowledge.py",
    "actions/knowledge_import.py",
}
# os.environ outside config.py: the embedded PostgreSQL's child processes get a cleaned copy
# of the environment.
ENVIRON_EXCEPTIONS = {"embedded/pg_cluster.py"}
# Socket.IO emits: the publisher, and the manager (with its fan-out mixin) that delivers it.
EMIT_PLACES = {"realtime/publisher.py", "realtime/manager.py", "realtime/fanout.py"}
# The publisher: built by the lifecycle, used by the unit of work alone.
PUBLISHER_PLACES = {"actions/context.py", "lifecycle.py"}


def _modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SERVER.rglob("*.py")):
        yield str(path.relative_to(SERVER)), ast.parse(path.read_text())


def _places(predicate) -> set[str]:  # type: ignore[no-untyped-def]
    return {name for name, tree in _modules() if any(predicate(n) for n in ast.walk(tree))}


def _is_sql(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and bool(_SQL.match(node.value))
    )


def _reads_environ(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr in {"environ", "getenv"}:
        return isinstance(node.value, ast.Name) and node.value.id == "os"
    return False


def _emits(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "emit"
    )


def _uses_publisher(node: ast.AST) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "publisher":
        return True
    return isinstance(node, ast.keyword) and node.arg == "publisher"


def test_sql_lives_in_the_store() -> None:
    outside = {p for p in _places(_is_sql) if not p.startswith("store/")}
    assert outside == SQL_EXCEPTIONS


def test_only_config_reads_the_environment() -> None:
    assert _places(_reads_environ) - {"config.py"} == ENVIRON_EXCEPTIONS


def test_only_the_publisher_emits() -> None:
    assert _places(_emits) == EMIT_PLACES


def test_events_reach_the_publisher_only_through_the_unit_of_work() -> None:
    assert _places(_uses_publisher) == PUBLISHER_PLACES


def test_actions_import_each_other_without_cycles() -> None:
    """What follows a change lives above the modules it uses (posting.py, claims.py), so no
    action module imports itself back through others."""
    graph = grimp.build_graph("server")
    actions = {m for m in graph.modules if m.startswith("server.actions.")}
    for module in actions:
        for imported in graph.find_modules_directly_imported_by(module) & actions:
            back = graph.find_shortest_chain(importer=imported, imported=module)
            assert back is None, f"{module} -> {imported} -> ... -> {module}: {back}"
