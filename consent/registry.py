"""Where higher layers (segments, bulletins) hook their rows about a person into consent's duties.

Consent may not import them (imports flow bulletins → segments → consent → crm), yet "everything
held about a person" and "erase everything about a person" must include deliveries, comments,
invitations and imports. Those apps register here from their AppConfig.ready():

- a personal-data section: ``build(contact)`` returns JSON-ready data, added under its name to
  ``consent.exports.personal_data_for`` (download my data, subject access export);
- an erasure step: ``erase(contact)`` deletes that app's rows about the person and returns anonymous
  counts (``{"deliveries": 12}``). Steps run inside the deleting transaction, before the contact row
  goes, for erasure, retention deletion and merging away a duplicate. A step that raises undoes
  the whole deletion.
"""

from collections.abc import Callable

from crm.models import Contact

_personal_data_sections: dict[str, Callable[[Contact], object]] = {}
_erasure_steps: dict[str, Callable[[Contact], dict]] = {}


def register_personal_data_section(name: str, build: Callable[[Contact], object]) -> None:
    """Registering a name again replaces its builder (ready() may run more than once in tests)."""
    _personal_data_sections[name] = build


def unregister_personal_data_section(name: str) -> None:
    _personal_data_sections.pop(name, None)


def register_erasure_step(name: str, erase: Callable[[Contact], dict]) -> None:
    _erasure_steps[name] = erase


def unregister_erasure_step(name: str) -> None:
    _erasure_steps.pop(name, None)


def personal_data_sections(contact: Contact) -> dict[str, object]:
    return {name: build(contact) for name, build in _personal_data_sections.items()}


def run_erasure_steps(contact: Contact) -> dict[str, dict[str, int]]:
    """Every registered step's counts, by step name. Counts must be anonymous: names → whole numbers."""
    counts = {}
    for name, erase in _erasure_steps.items():
        result = erase(contact)
        if not isinstance(result, dict) or not all(
            isinstance(key, str) and isinstance(value, int) and not isinstance(value, bool)
            for key, value in result.items()
        ):
            raise TypeError(f"Erasure step {name!r} must return a dict of counts, e.g. {{'deliveries': 12}}")
        counts[name] = result
    return counts
