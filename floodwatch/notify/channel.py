"""The channel contract: how a destination sends, and what it is given.

A destination's type names its sink in the registry (`notify/sinks.py`);
the sink's `channel` factory builds the channel from a `Wiring` (the
destination's model and what the service shares). `deliver.Deliverer` then owns it and
calls, in this order and only this way:

`start()`
    Once, before the first `deliver`; starts the channel's supervised
    connection if it holds one (`connection`, see `notify/connection.py`).
    Never waits for, nor fails on, an absent server.
`run()`
    Once, in its own task beside the destination's worker, until cancelled:
    the channel's own background work (the broadcast's refresh of standing
    warnings, InfluxDB's batched readings). Most channels have none.
`deliver(due)`
    By the destination's worker with the rows that are due (oldest first),
    never concurrently with itself; returns what happened to every row it was
    given (a row may go out together with others, e.g. an SMS grouping). It
    never raises for a failed delivery: failures are Outcomes, and the worker
    retries. With a `connection`, the worker calls it only while connected
    and gives it the rows strictly in the order they were made.
`reconfigure(compiled)`, `readings(readings)`
    From the service's thread between steps: a reloaded config; a stored
    step's readings (for channels that keep readings).
`aclose()`
    Once at shutdown, after the workers stopped, also when `start()` was never
    reached; closes the connection. Never raises.

Adding a sink is one module, `notify/<type>.py`, holding its destination
model (a `DestinationBase` with `type: Literal["<type>"]`), its channel and
factory, and `SINK = Sink(model, factory)`; and one entry in the registry.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import httpx

from floodwatch.config.destinations import DestinationBase, type_name
from floodwatch.config.models import KafkaSettings, MqttSettings
from floodwatch.config.notify import NotifySettings
from floodwatch.ingest.backoff import Backoff
from floodwatch.notify.connection import Connection
from floodwatch.notify.health import Health
from floodwatch.notify.outcome import Outcome, Sent
from floodwatch.notify.ports import DeliveryStore
from floodwatch.notify.records import Delivery
from floodwatch.readings import Reading
from floodwatch.rules.compile import CompiledConfig

log = logging.getLogger(__name__)

Send = Callable[[Delivery], Awaitable[Outcome]]


class Channel(Protocol):
    @property
    def connection(self) -> Connection | None:
        """The supervised connection it sends through, if it holds one."""
        ...

    async def start(self) -> None: ...

    async def run(self) -> None: ...

    async def deliver(self, due: list[Delivery]) -> list[Sent]: ...

    def reconfigure(self, compiled: CompiledConfig) -> None: ...

    def readings(self, readings: list[Reading]) -> None: ...

    async def aclose(self) -> None: ...


D = TypeVar("D", bound=DestinationBase)


@dataclass(frozen=True)
class Wiring(Generic[D]):
    """What a channel factory is given: its destination (the model of its
    type, in its sink's module) and what the service shares (one HTTP client,
    the store, the brokers' settings)."""

    name: str
    dest: D
    settings: NotifySettings
    store: DeliveryStore
    client: httpx.AsyncClient
    health: Health
    backoff: Callable[[], Backoff]  # a fresh reconnect backoff (1 s … retry_max)
    kafka: KafkaSettings | None = None
    mqtt: MqttSettings | None = None
    compiled: CompiledConfig | None = None
    config_dir: Path | None = None


ChannelFactory = Callable[[Wiring[Any]], Channel]  # given a Wiring of its own type


@dataclass(frozen=True)
class Sink(Generic[D]):
    """One sink: the model of its destinations (what `type: <name>` in
    `service.notify.destinations` may say, validated when the config is
    loaded) and the factory of its channel, given a destination of that model."""

    model: type[D]
    channel: Callable[[Wiring[D]], Channel]

    @property
    def type(self) -> str:
        """The `type:` it answers to."""
        return type_name(self.model)


class BaseChannel:
    """Defaults of the contract: no background work, nothing to reconfigure,
    no readings kept; the connection (if any) started and closed."""

    connection: Connection | None = None

    async def start(self) -> None:
        if self.connection is not None:
            await self.connection.start()

    async def run(self) -> None:
        return None

    def reconfigure(self, compiled: CompiledConfig) -> None:
        return None

    def readings(self, readings: list[Reading]) -> None:
        return None

    async def aclose(self) -> None:
        if self.connection is not None:
            await self.connection.aclose()


class OneByOne(BaseChannel):
    """A channel that sends each row on its own. `ordered`: stop at the first
    failure (the rows after it wait their turn). Unordered, a failure worth
    retrying (5xx, no answer) also ends the round: the rest wait for the retry
    with the same error, so a hanging destination costs one timeout before its
    failure is known, not one per waiting row. A refusal (4xx) is about its
    row only: the round goes on."""

    def __init__(
        self, send: Send, ordered: bool = False, connection: Connection | None = None
    ) -> None:
        self.send = send
        self.ordered = ordered
        self.connection = connection

    async def deliver(self, due: list[Delivery]) -> list[Sent]:
        out = []
        for n, row in enumerate(due):
            outcome = await self.send(row)
            out.append(Sent([row], outcome))
            if self.ordered and not outcome.ok:
                break
            if outcome.retry:
                later = Outcome(False, retry=True, after=outcome.after, error=outcome.error)
                out.extend(Sent([r], later) for r in due[n + 1 :])
                break
        return out
