"""Reference data shipped with the service (loaded by migrations, reused by demo data)."""

# South Sefton's four GP localities and the postcode districts that map onto them.
LOCALITY_DISTRICTS = {
    "Bootle": ["L20", "L30"],
    "Crosby": ["L22", "L23"],
    "Maghull": ["L31", "L29", "L10"],
    "Seaforth & Litherland": ["L21"],
}

TOPICS = [
    "Cancer", "End of life care", "Heart and circulation", "Respiratory", "Integrated care",
    "Children and maternity", "Urgent and emergency care", "Planned care", "Mental health",
    "Learning disabilities and autism", "Dementia", "Alcohol and drugs", "Primary care and GP services",
    "Community services", "Big Chat events",
]
