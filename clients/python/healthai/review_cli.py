"""`healthai review list|next|show|accept|correct|reject`: the review queue from a terminal.

accept, correct and reject decide the items a task flagged: the named item(s) get the
decision, every other flagged item is accepted. `correct` copies the item as extracted and
changes the fields given with --set (dotted paths of the item, e.g. dose.value=1000).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sized

from google.protobuf import field_mask_pb2, json_format
from google.protobuf.message import Message

from healthai.client import ENTITY_TYPES, HealthAIClient
from healthai.v1 import clinical_pb2, review_service_pb2

pb = review_service_pb2
_LISTS = {"condition": "conditions", "medication": "medications", "vital_sign": "vital_signs", "allergy": "allergies"}
REASONS = {n.removeprefix("REVIEW_REASON_").lower(): v for n, v in pb.ReviewReason.items() if v}
STATES = {n.removeprefix("REVIEW_TASK_STATE_").lower(): v for n, v in pb.ReviewTaskState.items() if v}


def _type_name(value: int) -> str:
    return clinical_pb2.EntityType.Name(value).removeprefix("ENTITY_TYPE_").lower()  # type: ignore[arg-type]


def _reasons(values: object) -> str:
    return ",".join(pb.ReviewReason.Name(v).removeprefix("REVIEW_REASON_").lower() for v in values)  # type: ignore[attr-defined]


def _json(message: Message) -> str:
    return json_format.MessageToJson(message, preserving_proto_field_name=True, indent=2)


def _row(task: pb.ReviewTask) -> str:
    items = " ".join(f"{_type_name(i.item_type)}/{i.index}" for i in task.items)
    state = pb.ReviewTaskState.Name(task.state).removeprefix("REVIEW_TASK_STATE_").lower()
    return f"{task.name}  {state:<9} {task.create_time.ToJsonString()}  {_reasons(task.reasons):<32} {items}"


def _item_ref(text: str) -> tuple[int, int]:
    kind, _, index = text.partition("/")
    if kind not in _LISTS or not index.isdigit():
        raise ValueError(f"an item is type/index, e.g. medication/0 (types: {', '.join(_LISTS)})")
    return ENTITY_TYPES[kind], int(index)


def cmd_list(client: HealthAIClient, args: argparse.Namespace) -> int:
    response = client.list_review_tasks(
        state=STATES[args.state] if args.state else 0,
        item_type=ENTITY_TYPES[args.type] if args.type else 0,
        reason=REASONS[args.reason] if args.reason else 0,
        min_age_s=args.min_age_s,
        page_size=args.page_size,
        page_token=args.page_token,
    )
    if args.format == "json":
        print(_json(response))
        return 0
    for task in response.tasks:
        print(_row(task))
    if response.next_page_token:
        print(f"# more: --page-token {response.next_page_token}")
    return 0


def cmd_next(client: HealthAIClient, args: argparse.Namespace) -> int:
    task = client.claim_review_task(
        item_type=ENTITY_TYPES[args.type] if args.type else 0, reason=REASONS[args.reason] if args.reason else 0
    ).task
    print(
        _json(task)
        if args.format == "json"
        else f"{task.name} etag={task.etag} lease until {task.lease_expire_time.ToJsonString()}"
    )
    return 0


def cmd_show(client: HealthAIClient, args: argparse.Namespace) -> int:
    response = client.get_review_task(args.name)
    if args.format == "json":
        print(_json(response))
        return 0
    print(_row(response.task))
    print(f"etag={response.task.etag}")
    print("--- note ---")
    print(response.note_text)
    print("--- flagged items ---")
    for ref in response.task.items:
        item = getattr(response.data, _LISTS[_type_name(ref.item_type)])[ref.index]
        label = f"{_type_name(ref.item_type)}/{ref.index} [{_reasons(ref.reasons)}]"
        print(f"{label} confidence {ref.confidence:.2f}: {item.span.text!r}")
    return 0


def _set_field(message: Message, path: str, raw: str) -> None:
    *parents, leaf = path.split(".")
    for part in parents:
        message = getattr(message, part)
    field = message.DESCRIPTOR.fields_by_name.get(leaf)
    if field is None or field.message_type is not None or isinstance(getattr(message, leaf), Sized):
        raise ValueError(f"--set {path}: not a scalar field of the item")
    value: object = raw
    if field.type in (field.TYPE_DOUBLE, field.TYPE_FLOAT):
        value = float(raw)
    elif field.type in (field.TYPE_INT32, field.TYPE_INT64, field.TYPE_UINT32, field.TYPE_UINT64):
        value = int(raw)
    elif field.type == field.TYPE_BOOL:
        value = raw.lower() in {"1", "true", "yes"}
    elif field.enum_type is not None:
        value = field.enum_type.values_by_name[raw].number
    setattr(message, leaf, value)


def _decide(
    client: HealthAIClient,
    args: argparse.Namespace,
    special: dict[tuple[int, int], Callable[[Message], pb.ItemDecision]],
) -> int:
    response = client.get_review_task(args.name)
    etag = args.etag or response.task.etag
    decisions: list[pb.ItemDecision] = []
    refs = [(ref.item_type, ref.index) for ref in response.task.items]
    for key in [*refs, *(k for k in special if k not in refs)]:
        item = getattr(response.data, _LISTS[_type_name(key[0])])[key[1]]
        if key in special:
            decisions.append(special[key](item))
        else:
            decisions.append(pb.ItemDecision(kind=pb.REVIEW_DECISION_KIND_ACCEPT, item_type=key[0], index=key[1]))  # type: ignore[arg-type]
    done = client.submit_review_decision(args.name, etag, decisions).task
    print(f"{done.name} {pb.ReviewTaskState.Name(done.state).removeprefix('REVIEW_TASK_STATE_').lower()}")
    return 0


def cmd_accept(client: HealthAIClient, args: argparse.Namespace) -> int:
    return _decide(client, args, {})


def cmd_reject(client: HealthAIClient, args: argparse.Namespace) -> int:
    def rejection(ref: tuple[int, int]) -> Callable[[Message], pb.ItemDecision]:
        return lambda _item: pb.ItemDecision(
            kind=pb.REVIEW_DECISION_KIND_REJECT,
            item_type=ref[0],  # type: ignore[arg-type]
            index=ref[1],
        )

    return _decide(client, args, {ref: rejection(ref) for ref in (_item_ref(text) for text in args.item)})


def cmd_correct(client: HealthAIClient, args: argparse.Namespace) -> int:
    ref = _item_ref(args.item)
    changes = [change.partition("=") for change in args.set]
    if not changes or any(not sep for _path, sep, _value in changes):
        raise ValueError("correct needs at least one --set path=value")

    def corrected(item: Message) -> pb.ItemDecision:
        copy = type(item)()
        copy.CopyFrom(item)
        for path, _sep, value in changes:
            _set_field(copy, path, value)
        reviewed = pb.ReviewedItem()
        getattr(reviewed, _type_name(ref[0])).CopyFrom(copy)
        return pb.ItemDecision(
            kind=pb.REVIEW_DECISION_KIND_CORRECT,
            item_type=ref[0],  # type: ignore[arg-type]
            index=ref[1],
            item=reviewed,
            update_mask=field_mask_pb2.FieldMask(paths=[path for path, _s, _v in changes]),
        )

    return _decide(client, args, {ref: corrected})


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], run: Callable[..., int]) -> None:
    review = sub.add_parser("review", help="the human review queue (reviewer role)")
    commands = review.add_subparsers(dest="review_command", required=True)
    listing = commands.add_parser("list", help="tasks waiting (or in a state), oldest first")
    listing.add_argument("--state", choices=list(STATES), default="")
    listing.add_argument("--type", choices=list(_LISTS), default="")
    listing.add_argument("--reason", choices=list(REASONS), default="")
    listing.add_argument("--min-age-s", type=float, default=0.0)
    listing.add_argument("--page-size", type=int, default=50)
    listing.add_argument("--page-token", default="")
    listing.add_argument("--format", choices=["table", "json"], default="table")
    listing.set_defaults(handler=lambda a: run(cmd_list, a))
    nxt = commands.add_parser("next", help="claim the oldest waiting task")
    nxt.add_argument("--type", choices=list(_LISTS), default="")
    nxt.add_argument("--reason", choices=list(REASONS), default="")
    nxt.add_argument("--format", choices=["text", "json"], default="text")
    nxt.set_defaults(handler=lambda a: run(cmd_next, a))
    show = commands.add_parser("show", help="a task with its note text and flagged items (audited)")
    show.add_argument("name")
    show.add_argument("--format", choices=["text", "json"], default="text")
    show.set_defaults(handler=lambda a: run(cmd_show, a))
    for name, handler, help_text in (
        ("accept", cmd_accept, "accept every flagged item"),
        ("reject", cmd_reject, "reject the given items, accept the other flagged ones"),
        ("correct", cmd_correct, "correct one item's fields, accept the other flagged ones"),
    ):
        parser = commands.add_parser(name, help=help_text)
        parser.add_argument("name")
        parser.add_argument("--etag", default="", help="the etag from your claim (default: the task's current one)")
        if name == "reject":
            parser.add_argument("--item", action="append", required=True, help="type/index, e.g. medication/0")
        if name == "correct":
            parser.add_argument("--item", required=True, help="type/index, e.g. medication/0")
            parser.add_argument("--set", action="append", default=[], help="path=value, e.g. dose.value=1000")
        parser.set_defaults(handler=lambda a, h=handler: run(h, a))
