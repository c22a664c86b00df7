"""The assistant as a conversation participant: it answers customers, briefs agents who take
over, and drafts replies for agents, all in background tasks the app owns.

Nothing here runs in a socket handler's await path: actions call the hooks (which only start a
task) and return. State changes go through actions (assistant_owner, assistant_runs); this
module decides *when* to make them and streams the answer while it is written.

Which process answers: the one that stored the customer's message. Each new message is stored
by exactly one process (a retried client id stores nothing), so each is answered once. Whoever
takes a conversation from the assistant, in any process, marks its answer in flight as stopped;
the answering process checks the mark before every streamed piece and twice a second, and
PostgreSQL refuses the final post anyway (parley_post's owner guard).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any
from uuid import UUID, uuid4

import msgspec

from ..actions import assistant_owner, assistant_runs
from ..actions.assistant_runs import Outcome
from ..actions.context import Services, publish_all
from ..background import cancel_and_wait
from ..core import participant as texts
from ..core.errors import NotOwner
from ..core.events import (
    Event,
    assistant_delta_event,
    assistant_stream_ended_event,
    assistant_typing_event,
    to_wire,
)
from ..core.intents import Intent, classify
from ..core.models import (
    AgentPrincipal,
    CustomerPrincipal,
    Message,
    SenderKind,
    Visibility,
)
from ..core.participant import HandoffReason
from ..core.wire_events import Citation, ReplySuggestion, Usage
from .service import Assistant

log = logging.getLogger(__name__)

HISTORY_MESSAGES = 40  # what an answer reads of the conversation
BRIEF_MESSAGES = 200
WATCH_SECONDS = 0.5  # how often an answer checks whether another process stopped it


class _Stopped(Exception):
    """Another process took the conversation from the assistant (or replaced this answer)."""


def split_question(history: Sequence[Message]) -> tuple[str, list[Message]]:
    """The customer's messages since anyone else last spoke (the question; customers often
    split one over several messages), and everything before them."""
    public = [m for m in history if m.visibility is Visibility.PUBLIC and m.body.strip()]
    start = len(public)
    while start > 0 and public[start - 1].sender_kind is SenderKind.CUSTOMER:
        start -= 1
    question = "\n".join(m.body.strip() for m in public[start:])
    return question, public[:start]


def offered_person(history: Sequence[Message], before_seq: int) -> bool:
    """Did the assistant's last word before this message offer a person (a declined answer)?"""
    for message in reversed(history):
        if message.seq >= before_seq or message.visibility is not Visibility.PUBLIC:
            continue
        if message.sender_kind is SenderKind.ASSISTANT:
            return bool(message.metadata.get("handoff"))
        if message.sender_kind is not SenderKind.CUSTOMER:
            return False
    return False


class AssistantParticipant:
    def __init__(self, services: Services, assistant: Assistant) -> None:
        self.services = services
        self.assistant = assistant
        self._tasks: set[asyncio.Task[None]] = set()
        self._runs: dict[UUID, asyncio.Task[None]] = {}
        self._stopped: set[UUID] = set()
        self._replaced: set[UUID] = set()
        self._closing = False
        self._recovery: asyncio.Task[None] | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._recovery = self._spawn(self._recover_forever())

    async def settled(self) -> None:
        """Return once the work started so far (answers, briefs, drafts) is done, including
        any work it started in turn: after it, nothing more comes from what already happened."""
        while busy := [task for task in self._tasks if task is not self._recovery]:
            await asyncio.wait(busy)

    async def aclose(self) -> None:
        """Cancel everything in flight. An answer cut off here keeps its run mark, so another
        process hands the conversation to a person after the deadline."""
        self._closing = True
        await cancel_and_wait(list(self._tasks))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> asyncio.Task[None] | None:
        if self._closing:
            work.close()
            return None
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- hooks (services.participant) -------------------------------------------------------
    def customer_posted(self, message: Message) -> None:
        self._spawn(self._on_customer_message(message))

    def stop(self, run: UUID) -> None:
        task = self._runs.get(run)
        if task is None or task.done() or task is asyncio.current_task():
            return
        self._stopped.add(run)
        task.cancel()

    def handed_over(self, conversation_id: UUID, agent_id: UUID, handover: dict[str, Any]) -> None:
        self._spawn(self._brief(conversation_id, agent_id, handover))

    def suggest(self, principal: AgentPrincipal, conversation_id: UUID, reply_to: str) -> UUID:
        request_id = uuid4()
        self._spawn(self._suggest(principal, conversation_id, request_id, reply_to))
        return request_id

    # -- a customer message -----------------------------------------------------------------
    async def _on_customer_message(self, message: Message) -> None:
        conversation_id = message.conversation_id
        try:
            state = await assistant_runs.owner_state(self.services, conversation_id)
            if state is None or not state.assistant_answers:
                return
            intent = classify(message.body)
            if intent is Intent.YES:
                history = await assistant_runs.recent_messages(
                    self.services, conversation_id, with_notes=False, limit=10
                )
                if offered_person(history, message.seq):
                    intent = Intent.HUMAN
            customer = CustomerPrincipal(state.customer_id)
            if intent is Intent.HUMAN:
                await assistant_owner.request_human(self.services, customer, conversation_id)
            elif intent is Intent.SOLVED:
                await assistant_owner.resolve_by_customer(
                    self.services, customer, conversation_id, via="message"
                )
            elif intent in texts.SMALL_TALK:
                await assistant_runs.reply_in_passing(
                    self.services, message, texts.SMALL_TALK[intent]
                )
            else:
                await self._answer(conversation_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the assistant failed to handle a message in %s", conversation_id)

    async def _answer(self, conversation_id: UUID) -> None:
        run = uuid4()
        begun = await assistant_runs.begin(self.services, conversation_id, run)
        if begun.outcome is Outcome.TURN_LIMIT:
            await assistant_owner.step_back(
                self.services,
                conversation_id,
                HandoffReason.TURN_LIMIT,
                say_text=texts.turn_limit_reached,
            )
            return
        if begun.outcome is not Outcome.STARTED:
            return
        if begun.replaced is not None:
            self._replaced.add(begun.replaced)
            self.stop(begun.replaced)
        task = asyncio.current_task()
        assert task is not None
        self._runs[run] = task
        try:
            await self._write(conversation_id, run, task)
        except asyncio.CancelledError:
            if self._closing or run not in self._stopped:
                raise
            task.uncancel()
            log.info("answer %s in %s stopped: it changed hands", run, conversation_id)
        except (_Stopped, NotOwner):
            log.info("answer %s in %s dropped: it changed hands", run, conversation_id)
        except Exception:
            log.exception("the assistant failed to answer in %s", conversation_id)
            await self._fail(conversation_id, run)
        finally:
            self._runs.pop(run, None)
            self._stopped.discard(run)
            self._replaced.discard(run)
        if not self._closing:
            await assistant_runs.release(self.services, conversation_id, run)

    async def _write(self, conversation_id: UUID, run: UUID, task: asyncio.Task[None]) -> None:
        """Stream the answer as `assistant_delta` events, then post it (guarded)."""
        typing = asyncio.create_task(self._keep_typing(conversation_id))
        watch = asyncio.create_task(self._watch(run, task))
        shown = posted = False
        try:
            async with asyncio.timeout(self.services.settings.assistant_deadline_seconds):
                history = await assistant_runs.recent_messages(
                    self.services, conversation_id, with_notes=False, limit=HISTORY_MESSAGES
                )
                question, earlier = split_question(history)
                if not question:
                    return
                stream = self.assistant.answer(question, earlier)
                try:
                    async for delta in stream:
                        if await assistant_runs.stopped(self.services, run):
                            raise _Stopped
                        event = assistant_delta_event(
                            conversation_id, run, delta.text, restart=delta.restart
                        )
                        await publish_all(self.services, [event])
                        shown = True
                    result = await stream.result()
                finally:
                    await stream.aclose()
                if await assistant_runs.stopped(self.services, run):
                    raise _Stopped
                await assistant_runs.post_answer(
                    self.services,
                    conversation_id,
                    run,
                    body=result.answer,
                    citations=result.citations,
                    handoff=result.handoff,
                    mode=result.mode,
                    usage=result.usage,
                )
                posted = True
        finally:
            await cancel_and_wait((typing, watch))
            if shown and not posted and not self._closing:
                # Tell the clients, so the provisional bubble disappears (docs/protocol.md).
                stopped = run in self._stopped or await assistant_runs.stopped(self.services, run)
                ended = assistant_stream_ended_event(
                    conversation_id, run, "stopped" if stopped else "failed"
                )
                await publish_all(self.services, [ended])
            if not self._closing and run not in self._replaced:
                await self._typing(conversation_id, False)

    async def _watch(self, run: UUID, task: asyncio.Task[None]) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            if await assistant_runs.stopped(self.services, run):
                self._stopped.add(run)
                task.cancel()
                return

    async def _keep_typing(self, conversation_id: UUID) -> None:
        # Receivers drop a typing indicator after expires_in without news.
        interval = max(0.5, self.services.settings.typing_timeout_seconds / 2)
        while True:
            await self._typing(conversation_id, True)
            await asyncio.sleep(interval)

    async def _typing(self, conversation_id: UUID, typing: bool) -> None:
        settings = self.services.settings
        event = assistant_typing_event(
            conversation_id, settings.assistant_name, typing, settings.typing_timeout_seconds
        )
        await publish_all(self.services, [event])

    async def _fail(self, conversation_id: UUID, run: UUID) -> None:
        """The customer is told, and a person takes it from here: it stays routable."""
        try:
            await assistant_owner.step_back(
                self.services,
                conversation_id,
                HandoffReason.ASSISTANT_ERROR,
                say_text=texts.answer_failed,
                run=run,
            )
        except Exception:
            log.exception("handing %s to a person after a failure failed too", conversation_id)

    # -- agents -----------------------------------------------------------------------------
    async def _brief(self, conversation_id: UUID, agent_id: UUID, handover: dict[str, Any]) -> None:
        """A generated summary for the agent who took over (the extractive one is in the
        `assigned` event already)."""
        try:
            messages = await assistant_runs.recent_messages(
                self.services, conversation_id, with_notes=True, limit=BRIEF_MESSAGES
            )
            summary = await self.assistant.summarize(messages)
            await assistant_runs.write_brief(
                self.services,
                conversation_id,
                agent_id,
                handover,
                summary=summary.text,
                mode=summary.mode,
                usage=summary.usage,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the hand-over brief for %s failed", conversation_id)

    async def _suggest(
        self, principal: AgentPrincipal, conversation_id: UUID, request_id: UUID, reply_to: str
    ) -> None:
        draft = ReplySuggestion(
            conversation_id=conversation_id,
            request_id=request_id,
            text="",
            citations=(),
            found=False,
            mode=None,
            error=None,
        )
        try:
            messages = await assistant_runs.recent_messages(
                self.services, conversation_id, with_notes=True
            )
            suggestion = await self.assistant.suggest_reply(messages)
            draft = msgspec.structs.replace(
                draft,
                text=suggestion.text,
                citations=tuple(
                    Citation(slug=c.slug, title=c.title, url=c.url) for c in suggestion.citations
                ),
                found=suggestion.found,
                mode=suggestion.mode,
                usage=msgspec.convert(to_wire(suggestion.usage), Usage),
            )
            await assistant_runs.record_suggestion(
                self.services,
                conversation_id,
                principal.agent_id,
                mode=suggestion.mode,
                usage=suggestion.usage,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("drafting a reply in %s failed", conversation_id)
            draft = msgspec.structs.replace(
                draft, error="the assistant could not draft a reply; try again"
            )
        event = Event(draft, staff_rooms=(reply_to,))
        await publish_all(self.services, [event])

    # -- recovery ---------------------------------------------------------------------------
    async def _recover_forever(self) -> None:
        interval = max(5.0, self.services.settings.assistant_deadline_seconds / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                await assistant_owner.recover_abandoned_runs(self.services)
            except Exception:
                log.exception("recovering abandoned answers failed; retrying next interval")
