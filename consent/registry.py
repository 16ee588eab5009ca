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
- a contact-page panel: ``register_contact_panel(name, template, context_fn, permission=None)`` adds a
  section to the staff contact page (e.g. a person's event invitations), rendered in a loop.
"""

from collections.abc import Callable

from crm.models import Contact

_personal_data_sections: dict[str, Callable[[Contact], object]] = {}
_erasure_steps: dict[str, Callable[[Contact], dict]] = {}
_contact_panels: dict[str, tuple[str, Callable[[Contact], object], str | None]] = {}


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


# --- panels on the staff contact page -----------------------------------------------------------

def register_contact_panel(name: str, template: str, context_fn: Callable[[Contact], object],
                           permission: str | None = None) -> None:
    """A section of the staff contact page: ``template`` is rendered with ``panel = context_fn(contact)``,
    for staff with ``permission`` (None: everyone who may see the contact page)."""
    _contact_panels[name] = (template, context_fn, permission)


def unregister_contact_panel(name: str) -> None:
    _contact_panels.pop(name, None)


def contact_panels(contact: Contact, user) -> list[tuple[str, object]]:
    """(template, panel) for each registered panel this user may see, in registration order."""
    return [(template, build(contact)) for template, build, permission in _contact_panels.values()
            if permission is None or user.has_perm(permission)]
