"""Reference data shipped with the service (loaded by migrations, reused by demo data).

Localities and their postcode districts belong to the organisation running the service: they come
from its organisation file (crm/organisation.py), read when asked for, so the data migration and
``manage.py load_organisation`` load whichever organisation is configured.
"""

# Health topics people choose from. Ways of taking part (events, surveys) are purposes, not topics.
TOPICS = [
    "Cancer", "End of life care", "Heart and circulation", "Respiratory", "Integrated care",
    "Children and maternity", "Urgent and emergency care", "Planned care", "Mental health",
    "Learning disabilities and autism", "Dementia", "Alcohol and drugs", "Primary care and GP services",
    "Community services",
]


def locality_districts() -> dict[str, list[str]]:
    """The configured organisation's localities → postcode districts (outward codes)."""
    from crm.organisation import current

    return {name: list(codes) for name, codes in current().localities.items()}


def __getattr__(name: str):
    # ``from crm.reference_data import LOCALITY_DISTRICTS`` (the 0002 data migration) reads the file now.
    if name == "LOCALITY_DISTRICTS":
        return locality_districts()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
