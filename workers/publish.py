"""Publishing fetch_shard messages in bulk, byte for byte the messages `send_task` sends.

`app.send_task` costs ~0.5 ms a message (routing, signals, one LPUSH and one PUBLISH of the
task-sent event, each a round trip): a minute per 100k shards. Here each message is built by
Celery's and kombu's own code (`amqp.create_task_message`, `Producer._prepare`,
`Channel.prepare_message`, the channel's in-place augmentation and priority-queue naming,
the body encoding of kombu's Redis transport), then a batch of them goes out as one LPUSH per
queue in one pipeline. Stock `celery worker` processes consume them unchanged.

What differs from `send_task`: no `task-sent` event (Flower still sees each task received,
started and finished: those events come from the worker), and no before/after_task_publish
signals (nothing here listens to them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from celery import Celery
from celery.utils.nodenames import anon_nodename
from celery.utils.saferepr import saferepr
from kombu.utils.json import dumps
from kombu.utils.uuid import uuid

from storage.keys import Keys
from storage.shards import Shard
from workers.routing import FETCH_TASK

#: messages per pipelined round trip: large enough that the round trip is noise, small
#: enough that a batch's payloads (~1 kB each) stay a few MB.
BATCH = 5000


@dataclass(frozen=True)
class Prototype:
    """A message built the whole way, and the list it goes to; its body before encoding."""

    name: str
    message: dict[str, Any]
    body: tuple[Any, ...]


class Publisher:
    """Builds and pushes fetch_shard messages for the dataset `namespace`, on one channel.

    The channel's client adds its connection's kombu `global_keyprefix` (storage/keys.py) to
    the list names, so a worker can also pass a shard on to another dataset's queue.
    """

    def __init__(self, app: Celery, namespace: str, channel: Any) -> None:
        self.app = app
        self.namespace = namespace
        self.channel = channel
        self.amqp = app.amqp
        self.producer = app.amqp.Producer(channel, auto_declare=False)
        conf = app.conf
        self.serializer = conf.task_serializer
        self.compression = conf.task_compression
        self.delivery_mode = conf.task_default_delivery_mode
        # send_task asks for these per message; they do not change within one process.
        self.reply_to = app.thread_oid
        self.origin = anon_nodename()
        # A message sent from inside a task names it as parent, as send_task does.
        parent = app.current_worker_task
        self.root_id = parent and (parent.request.root_id or parent.request.id)
        self.parent_id = parent and parent.request.id
        self.prototypes: dict[tuple[str, str], Prototype] = {}
        # Celery's saferepr of args and kwargs was half the cost of a message: kwargs take
        # a few values, and args are one shard key.
        self.kwargsreprs: dict[str, str] = {}
        self.args_max = self.amqp.argsrepr_maxsize
        self.kwargs_max = self.amqp.kwargsrepr_maxsize

    def _saferepr(self, value: object, maxsize: int) -> str:
        return saferepr(value, maxsize, maxlevels=self.app.conf.task_repr_maxlevels)

    def _argsrepr(self, args: list[str]) -> str:
        """saferepr([key]): a shard key has no quote to escape, and is far shorter than the
        limit; anything else goes through saferepr itself."""
        (key,) = args
        if "'" in key or "\\" in key or len(key) > self.args_max // 2:
            return self._saferepr(args, self.args_max)
        return f"['{key}']"

    def payload(self, shard: Shard, source: str) -> tuple[str, str]:
        """(the queue's list name without the key prefix, the encoded message) of one shard.

        The first shard of each queue and source goes the whole way (`build`); the others
        are stamped from its message, changing only what differs between two shards: the
        ids, args and their repr, and the body that carries the args.
        """
        proto = self.prototypes.get((shard.queue, source))
        if proto is None or self.compression:
            proto = self.prototypes[shard.queue, source] = self.build(shard, source)
            return proto.name, dumps(proto.message)
        task_id = uuid()
        args = [shard.key]
        data, _, _ = self.producer._prepare(
            (args, *proto.body[1:]), self.serializer, None, None, None, {}
        )
        body, _ = self.channel.encode_body(data, self.channel.body_encoding)
        message = proto.message
        headers = {**message["headers"], "id": task_id, "argsrepr": self._argsrepr(args)}
        if not self.root_id:
            headers["root_id"] = task_id
        properties = {
            **message["properties"],
            "correlation_id": task_id,
            "delivery_tag": self.channel._next_delivery_tag(),
        }
        stamped = {**message, "body": body, "headers": headers, "properties": properties}
        return proto.name, dumps(stamped)

    def build(self, shard: Shard, source: str) -> Prototype:
        """One shard's message the way `send_task` builds it, step by step."""
        qname = shard.queue  # workers/routing.py route_shard
        queue = self.amqp.queues[qname]
        args = [shard.key]
        kwargs = {"source": source, "dataset": self.namespace}
        kwargsrepr = self.kwargsreprs.get(source)
        if kwargsrepr is None:
            kwargsrepr = self.kwargsreprs[source] = self._saferepr(kwargs, self.kwargs_max)
        headers, properties, body, _ = self.amqp.create_task_message(
            uuid(),
            FETCH_TASK,
            args,
            kwargs,
            argsrepr=self._argsrepr(args),
            kwargsrepr=kwargsrepr,
            reply_to=self.reply_to,
            root_id=self.root_id,
            parent_id=self.parent_id,
            origin=self.origin,
            ignore_result=None,
        )
        # amqp.send_task_message and Producer.publish, for an anonymous direct exchange:
        mode = queue.exchange.delivery_mode or self.delivery_mode
        _, properties["delivery_mode"] = self.producer._delivery_details("", mode)
        data, content_type, encoding = self.producer._prepare(
            body, self.serializer, None, None, self.compression, headers
        )
        channel = self.channel
        message = channel.prepare_message(data, 0, content_type, encoding, headers, properties)
        # Channel.basic_publish then Channel._put of kombu's Redis transport:
        channel._inplace_augment_message(message, "", qname)
        priority = channel._get_message_priority(message, reverse=False)
        self.producer.maybe_declare(queue)
        return Prototype(channel._q_for_pri(qname, priority), message, body)

    def push(self, payloads: Iterable[tuple[str, str]]) -> None:
        """One LPUSH per list, all in one pipeline: the order within a list is kept, as if
        each message had been pushed alone."""
        lists: dict[str, list[str]] = {}
        for name, data in payloads:
            lists.setdefault(name, []).append(data)
        with self.channel.conn_or_acquire() as client:
            pipe = client.pipeline(transaction=False)
            for name, items in lists.items():
                pipe.lpush(name, *items)
            pipe.execute()


@contextmanager
def publisher(app: Celery, namespace: str, to: str | None = None) -> Iterator[Publisher]:
    """A Publisher of messages for the dataset `namespace`, on a connection to the queues of
    the dataset `to` (kombu's `global_keyprefix`), by default the app's own queues."""
    options = {"global_keyprefix": Keys(to).broker} if to else None
    with app.connection_for_write(transport_options=options) as connection:
        yield Publisher(app, namespace, connection.default_channel)


def publish(
    pub: Publisher,
    shards: Iterable[Shard],
    sources: str | Mapping[Shard, str],
    sent: list[Shard],
    batch: int = BATCH,
) -> list[Shard]:
    """Publish one message per shard, `batch` to a round trip, read from `sources` (one
    source for all, or per shard). Appends each batch to `sent` once it is on the broker;
    on a broker error the exception propagates and `sent` holds the batches sent before.
    """
    pending: list[Shard] = []
    payloads: list[tuple[str, str]] = []
    for shard in shards:
        source = sources if isinstance(sources, str) else sources.get(shard, "auto")
        payloads.append(pub.payload(shard, source))
        pending.append(shard)
        if len(pending) >= batch:
            pub.push(payloads)
            sent.extend(pending)
            pending, payloads = [], []
    if pending:
        pub.push(payloads)
        sent.extend(pending)
    return sent
