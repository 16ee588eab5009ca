"""The rule builder page's form: segment rules as plain form fields, so the page works without JavaScript.

Every row of the builder is a node with a path ("0", "1", "1.0" for the first row inside group 1).
A hidden ``node`` input lists the paths in page order; each node's fields are named after its path:
``<path>-kind`` ("condition" or "group"), ``<path>-match`` (groups), ``<path>-field``, ``<path>-op``,
``<path>-value`` (one or more) and ``<path>-shown`` (the field the operator and value inputs were
drawn for: when the field changes, they no longer apply). Buttons post ``action`` back
("add_condition:<group path or root>", "add_group", "remove:<path>", "refresh", "count", "save") and
the page is drawn again from the nodes, with one row more or less.

Rules are validated by ``segments.rules`` (and the compiler, for names of rows); its errors are put
back on the row they concern.
"""

import dataclasses
import re
from dataclasses import dataclass

from consent.models import Purpose
from crm.models import CommunicationNeed, Contact, EqualityProfile, Locality, Organisation, Topic
from segments.models import Event
from segments.rules import FIELD_LABELS, FIELDS, PROTECTED_FIELDS, RulesInvalid
from segments.services import EQUALITY_PERMISSION

ROOT = "root"
MAX_ROWS = 50
_PATH = re.compile(r"^\d{1,2}(\.\d{1,2}){0,2}$")

OPERATOR_LABELS = {
    "in": "is one of", "not_in": "is not one of",
    "any": "includes any of", "all": "includes all of", "none": "includes none of",
    "reachable": "can be contacted now for", "not_reachable": "cannot be contacted now for",
    "granted": "agreed to", "pending": "has not yet confirmed", "withdrawn": "withdrew from",
    "not_asked": "was never asked about",
    "before": "before", "on_or_after": "on or after",
    "invited": "was invited to", "not_invited": "was not invited to", "responded_yes": "said yes to",
    "attended": "came to", "not_attended": "was invited to but did not come to",
}
# A sensible order for each field's operators (FIELDS holds them as sets).
OPERATOR_ORDER = list(OPERATOR_LABELS)
NEED_OPERATOR_LABELS = {"any": "has any of", "none": "has none of"}


def operators_for(field_name: str) -> list[tuple[str, str]]:
    ops, _kind = FIELDS[field_name]
    labels = NEED_OPERATOR_LABELS if field_name == "communication_need" else OPERATOR_LABELS
    return [(op, labels.get(op, OPERATOR_LABELS[op])) for op in OPERATOR_ORDER if op in ops]


def fields_for(user) -> list[tuple[str, str]]:
    """The fields a user may build on: protected characteristics only with the equality permission."""
    allowed = user.has_perm(EQUALITY_PERMISSION)
    return [(name, FIELD_LABELS[name]) for name in FIELDS if allowed or name not in PROTECTED_FIELDS]


def value_choices(field_name: str) -> list[tuple[str, str]]:
    """The values offered for a field (value, label); empty for fields typed as text or a date."""
    kind = FIELDS[field_name][1]
    if field_name == "locality":
        return list(Locality.objects.order_by("name").values_list("slug", "name"))
    if field_name == "topics":
        return list(Topic.objects.order_by("name").values_list("slug", "name"))
    if field_name == "organisation":
        return [(str(pk), name) for pk, name in Organisation.objects.order_by("name").values_list("pk", "name")[:300]]
    if field_name == "event":
        from crm.templatetags.nhs_dates import day  # noqa: PLC0415

        return [(str(e.pk), f"{e.title} ({day(e.starts_at)})") for e in Event.objects.order_by("-starts_at")[:200]]
    if kind == "purpose":
        return list(Purpose.objects.order_by("display_order").values_list("code", "name"))
    if kind.startswith("choice:"):
        return _choice_labels(field_name)
    return []


def _choice_labels(field_name: str) -> list[tuple[str, str]]:
    if field_name == "kind":
        return list(Contact.Kind.choices)
    if field_name == "organisation_kind":
        return list(Organisation.Kind.choices)
    if field_name == "communication_need":
        return list(CommunicationNeed.Need.choices)
    return [(v, str(label)) for v, label in EqualityProfile._meta.get_field(field_name).choices if v]


def value_kind(field_name: str) -> str:
    """How the page asks for the value: "checkboxes", "select" (one purpose), "date" or "text"."""
    kind = FIELDS[field_name][1]
    return {"purpose": "select", "date": "date", "codes": "text"}.get(kind, "checkboxes")


@dataclass
class Node:
    kind: str = "condition"
    match: str = "all"
    field: str = ""
    op: str = ""
    values: list[str] = dataclasses.field(default_factory=list)
    children: list["Node"] = dataclasses.field(default_factory=list)
    path: str = ""
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def is_group(self) -> bool:
        return self.kind == "group"

    @property
    def dom(self) -> str:
        """The row's path in element ids ("1_0"): a dot would read as a class in CSS selectors."""
        return self.path.replace(".", "_")

    @property
    def number(self) -> str:
        """The row as staff count it: "2", or "2.1" for the first row inside group 2."""
        return ".".join(str(int(part) + 1) for part in self.path.split(".")) if self.path else ""

    @property
    def text(self) -> str:
        return ", ".join(self.values)


@dataclass
class Builder:
    match: str = "all"
    nodes: list[Node] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)  # about the rules as a whole

    # --- from and to the saved JSON --------------------------------------------------------
    @classmethod
    def from_rules(cls, rules: dict) -> "Builder":
        builder = cls(match=rules.get("match", "all"), nodes=[_node_from(r) for r in rules.get("rules", [])])
        builder.number()
        return builder

    def to_rules(self) -> dict:
        return {"version": 1, "match": self.match, "rules": [_rule_from(n) for n in self.nodes]}

    # --- from the posted form ----------------------------------------------------------------
    @classmethod
    def from_post(cls, data) -> "Builder":
        builder = cls(match=_one_of(data.get("match"), ("all", "any"), "all"))
        by_path: dict[str, Node] = {}
        for path in data.getlist("node")[:MAX_ROWS * 2]:
            if not _PATH.match(path) or path in by_path:
                continue
            node = _node_from_post(data, path)
            parent = path.rpartition(".")[0]
            if not parent:
                builder.nodes.append(node)
            elif parent in by_path and by_path[parent].is_group:
                by_path[parent].children.append(node)
            else:
                continue
            by_path[path] = node
        builder.number()
        return builder

    def number(self) -> None:
        def walk(nodes, prefix):
            for index, node in enumerate(nodes):
                node.path = f"{prefix}{index}"
                walk(node.children, f"{node.path}.")
        walk(self.nodes, "")

    def all_nodes(self):
        def walk(nodes):
            for node in nodes:
                yield node
                yield from walk(node.children)
        return walk(self.nodes)

    def find(self, path: str) -> Node | None:
        return next((n for n in self.all_nodes() if n.path == path), None)

    # --- buttons -----------------------------------------------------------------------------
    def apply(self, action: str) -> bool:
        """Do what a builder button asks; True if the rows changed (the page is drawn again, no count)."""
        verb, _, where = (action or "").partition(":")
        count = sum(1 for _ in self.all_nodes())
        if verb == "add_condition" and count < MAX_ROWS:
            target = self.nodes if where in ("", ROOT) else getattr(self.find(where), "children", None)
            if target is None:
                return False
            target.append(Node())
        elif verb == "add_group" and count < MAX_ROWS - 1:
            self.nodes.append(Node(kind="group", children=[Node()]))
        elif verb == "remove":
            node = self.find(where)
            if node is None:
                return False
            parent = self.find(where.rpartition(".")[0]) if "." in where else None
            (parent.children if parent else self.nodes).remove(node)
        else:
            return False
        self.number()
        return True

    # --- checking ----------------------------------------------------------------------------
    def check_complete(self) -> bool:
        """Rows not yet filled in, said plainly before the rules validator sees them."""
        for node in self.all_nodes():
            if node.is_group:
                continue
            if not node.field:
                node.errors.append("Choose what this condition is about")
            elif node.field not in FIELDS:
                node.errors.append("Choose what this condition is about from the list")
            elif not node.values:
                node.errors.append(_missing_value_message(node.field))
        return not self.has_errors

    def show_errors(self, error: RulesInvalid) -> None:
        """Put each validation error beside the row it concerns."""
        conditions = [n for n in self.all_nodes() if not n.is_group]
        for item in error.errors:
            loc = [str(part) for part in item["loc"]]
            node = None
            if loc[:1] == ["condition"] and len(loc) > 1 and loc[1].isdigit():  # the compiler counts conditions from 1
                index = int(loc[1]) - 1
                node = conditions[index] if 0 <= index < len(conditions) else None
            else:
                path = [part for part in loc if part.isdigit()]
                node = self.find(".".join(path)) if path else None
            message = _readable(item["msg"], node)
            (node.errors if node else self.errors).append(message)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(n.errors for n in self.all_nodes())

    def error_links(self) -> list[tuple[str, str]]:
        links = [("rules-match", message) for message in self.errors]
        for node in self.all_nodes():
            links += [(f"row-{node.dom}-field" if not node.is_group else f"row-{node.dom}-match", message)
                      for message in node.errors]
        return links

    def uses_protected(self) -> bool:
        return any(n.field in PROTECTED_FIELDS for n in self.all_nodes())


def _one_of(value, allowed, default):
    return value if value in allowed else default


def _node_from(rule: dict) -> Node:
    if "match" in rule:
        return Node(kind="group", match=rule.get("match", "all"), children=[_node_from(r) for r in rule.get("rules", [])])
    value = rule.get("value")
    values = [str(v) for v in value] if isinstance(value, list) else ([] if value in (None, "") else [str(value)])
    return Node(field=rule.get("field", ""), op=rule.get("op", ""), values=values)


def _node_from_post(data, path: str) -> Node:
    if data.get(f"{path}-kind") == "group":
        return Node(kind="group", match=_one_of(data.get(f"{path}-match"), ("all", "any"), "all"))
    field_name = (data.get(f"{path}-field") or "").strip()
    node = Node(field=field_name, op=(data.get(f"{path}-op") or "").strip())
    if field_name not in FIELDS:
        return node
    if data.get(f"{path}-shown") != field_name:
        # The field changed since the row was drawn: its operator and values were for another field.
        node.op = operators_for(field_name)[0][0]
        return node
    raw = [v.strip() for v in data.getlist(f"{path}-value")[:300] if v.strip()]
    if value_kind(field_name) == "text":
        raw = [part for v in raw for part in re.split(r"[\s,;]+", v) if part]
    node.values = raw
    if node.op not in FIELDS[field_name][0]:
        node.op = operators_for(field_name)[0][0]
    return node


def _rule_from(node: Node) -> dict:
    if node.is_group:
        return {"match": node.match, "rules": [_rule_from(child) for child in node.children]}
    kind = FIELDS[node.field][1] if node.field in FIELDS else ""
    value: object = list(node.values)
    if kind == "ids":
        value = [int(v) if v.isdigit() else v for v in node.values]
    elif kind in ("purpose", "date"):
        value = node.values[0] if node.values else ""
    return {"field": node.field, "op": node.op, "value": value}


def _missing_value_message(field_name: str) -> str:
    label = FIELD_LABELS[field_name].lower()
    return {
        "select": "Choose a purpose",
        "date": "Enter the date, for example 12 March 2026",
        "text": "Enter one or more postcode districts, for example L20, L21",
    }.get(value_kind(field_name), f"Choose at least one {label} option")


def _readable(message: str, node: Node | None) -> str:
    """The validator's wording, with field codes replaced by the labels staff see."""
    if node is not None and node.field in FIELD_LABELS:
        message = message.replace(f"{node.field!r}", FIELD_LABELS[node.field])
    return message[:1].upper() + message[1:]
