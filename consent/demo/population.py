"""Invented people of south Sefton for the demo: who they are, what they asked for and when.

Pure generation, no database: the loader (consent.demo.loader) turns these into rows. Everything
comes from one seeded ``random.Random`` in a fixed order, so a seed always gives the same people
(timestamps are relative to the moment of loading).

Addresses use the reserved example.org / example.net / example.com domains, so no demo message can
reach a real mailbox. Equality answers follow Sefton's Census 2021 proportions (crm/data), adjusted
by ENGAGEMENT_SKEW for age and sex, because real engagement lists over-represent older people and
women; the representation report then has a realistic gap to show.
"""

import random
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

from django.conf import settings

from crm.models import CommunicationNeed, Contact, EqualityProfile, Organisation
from crm.normalise import normalise_postcode
from crm.organisation import load, read_baseline

HISTORY_DAYS = 3 * 365

FIRST_NAMES = [
    "Aisha", "Alan", "Alice", "Amelia", "Andrew", "Angela", "Anne", "Anthony", "Barbara", "Bernadette",
    "Brian", "Carol", "Catherine", "Chloe", "Christine", "Ciaran", "Claire", "Colin", "Daniel", "David",
    "Deborah", "Denise", "Dorothy", "Edward", "Eileen", "Elizabeth", "Ellie", "Emma", "Fatima", "Frank",
    "Gareth", "Gary", "Grace", "Hannah", "Helen", "Ian", "Irene", "Jack", "Jacqueline", "James", "Jan",
    "Janet", "Jean", "Jennifer", "Joan", "John", "Joseph", "Julie", "Karen", "Kathleen", "Kevin", "Keith",
    "Laura", "Leanne", "Lesley", "Linda", "Lucy", "Margaret", "Maria", "Marie", "Mark", "Martin", "Mary",
    "Maureen", "Michael", "Mohammed", "Nadia", "Neil", "Nicola", "Noah", "Olivia", "Patricia", "Paul",
    "Pauline", "Peter", "Philip", "Priya", "Rachel", "Raymond", "Rebecca", "Richard", "Robert", "Ruth",
    "Ryan", "Samira", "Sandra", "Sarah", "Sean", "Sharon", "Siobhan", "Stephen", "Susan", "Thomas",
    "Tomasz", "Tracey", "Valerie", "Wei", "William", "Yusuf", "Zofia",
]
SURNAMES = [
    "Ahmed", "Atherton", "Bailey", "Barnes", "Bennett", "Boyle", "Brennan", "Brown", "Burke", "Byrne",
    "Campbell", "Carroll", "Chen", "Clarke", "Collins", "Connolly", "Corrigan", "Davies", "Dempsey",
    "Doherty", "Doyle", "Duffy", "Edwards", "Evans", "Fitzgerald", "Gallagher", "Green", "Griffiths",
    "Hall", "Harris", "Hughes", "Hussain", "Jackson", "Johnson", "Jones", "Kavanagh", "Kelly", "Kennedy",
    "Khan", "Kowalski", "Lee", "Lewis", "Lynch", "McCann", "McDonald", "McGrath", "Moore", "Morgan",
    "Morris", "Murphy", "Nowak", "O'Brien", "O'Connor", "O'Neill", "Owen", "Parry", "Patel", "Quinn",
    "Rimmer", "Roberts", "Robinson", "Rogers", "Ryan", "Shaw", "Singh", "Smith", "Sullivan", "Taylor",
    "Thomas", "Thompson", "Tierney", "Walker", "Walsh", "Ward", "Watson", "White", "Whittaker", "Williams",
    "Wilson", "Wood", "Wright", "Yates",
]
EMAIL_DOMAINS = {"example.org": 50, "example.net": 30, "example.com": 20}
DEMO_DOMAINS = tuple(EMAIL_DOMAINS)

# Outward codes of south Sefton weighted roughly by population; some people live elsewhere or
# give no postcode, so some contacts have no locality.
DISTRICT_WEIGHTS = {
    "L20": 14, "L30": 12, "L21": 10, "L22": 6, "L23": 14, "L31": 9, "L29": 2, "L10": 3,
    "L37": 2, "PR8": 2, "L4": 2, "": 8,
}
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # Royal Mail never uses C, I, K, M, O, V in the inward code

KIND_WEIGHTS = {
    Contact.Kind.PUBLIC: 74, Contact.Kind.CARER: 10, Contact.Kind.PATIENT_REP: 6,
    Contact.Kind.PARTNER: 6, Contact.Kind.PRACTICE_STAFF: 4,
}

ORGANISATIONS = [
    ("Linacre Lane Surgery", Organisation.Kind.GP_PRACTICE),
    ("Marsh Lane Medical Centre", Organisation.Kind.GP_PRACTICE),
    ("Crosby Village Practice", Organisation.Kind.GP_PRACTICE),
    ("Waterloo Park Surgery", Organisation.Kind.GP_PRACTICE),
    ("Maghull Town Health Centre", Organisation.Kind.GP_PRACTICE),
    ("Lydiate Road Practice", Organisation.Kind.GP_PRACTICE),
    ("Seaforth Vale Surgery", Organisation.Kind.GP_PRACTICE),
    ("Litherland Green Practice", Organisation.Kind.GP_PRACTICE),
    ("Netherton Way Medical Centre", Organisation.Kind.GP_PRACTICE),
    ("South Sefton Carers' Circle", Organisation.Kind.VOLUNTARY),
    ("Bootle Community Voice", Organisation.Kind.VOLUNTARY),
    ("Crosby Men's Shed", Organisation.Kind.VOLUNTARY),
    ("Maghull Dementia Friends", Organisation.Kind.VOLUNTARY),
    ("Litherland Young Parents Group", Organisation.Kind.VOLUNTARY),
    ("Sefton Deaf Community Network", Organisation.Kind.VOLUNTARY),
    ("Sefton Council", Organisation.Kind.LOCAL_AUTHORITY),
    ("Healthwatch Sefton", Organisation.Kind.HEALTHWATCH),
    ("Mersey Care NHS Foundation Trust", Organisation.Kind.NHS_TRUST),
    ("Liverpool University Hospitals NHS Foundation Trust", Organisation.Kind.NHS_TRUST),
    ("Alder Hey Children's NHS Foundation Trust", Organisation.Kind.NHS_TRUST),
]

LANGUAGE_WEIGHTS = {
    "English": 950, "Polish": 12, "Arabic": 6, "Portuguese": 5, "Chinese (Cantonese)": 5, "Bengali": 4,
    "Romanian": 4, "Kurdish": 3, "Farsi": 3, "Tigrinya": 2, "Latvian": 2, "Malayalam": 2, "Ukrainian": 2,
}
NEED_WEIGHTS = {
    CommunicationNeed.Need.PLAIN_TEXT_EMAIL: 30, CommunicationNeed.Need.LARGE_PRINT: 25,
    CommunicationNeed.Need.EASY_READ: 15, CommunicationNeed.Need.VIA_CARER: 10,
    CommunicationNeed.Need.BSL: 6, CommunicationNeed.Need.BRAILLE: 4,
}
TOPIC_WEIGHTS = {
    "Primary care and GP services": 30, "Mental health": 20, "Urgent and emergency care": 16,
    "Community services": 14, "Cancer": 13, "Dementia": 12, "Heart and circulation": 11, "Planned care": 10,
    "Children and maternity": 10, "Integrated care": 9, "Respiratory": 8, "End of life care": 7,
    "Learning disabilities and autism": 7, "Alcohol and drugs": 5,
}
TOPIC_COUNT_WEIGHTS = {1: 15, 2: 25, 3: 25, 4: 15, 5: 10, 6: 6, 8: 4}

# Chance of each purpose being chosen at sign-up, of a later withdrawal, and of coming back after one.
PURPOSE_CHANCE = {"bulletin": 0.92, "events": 0.38, "involvement": 0.28}
WITHDRAWAL_CHANCE = {"bulletin": 0.08, "events": 0.06, "involvement": 0.06}
RETURN_CHANCE = 0.12
NEEDS_CHANCE = 0.08
EQUALITY_CHANCE = 0.35
TARGETING_CHANCE = 0.4

# --- equality answers -----------------------------------------------------------------------
Eq = EqualityProfile
PREFER_NOT = "prefer_not_to_say"
PREFER_NOT_CHANCE = 0.02
ENGAGEMENT_SKEW = {
    "age": {"16-19": 0.4, "20-29": 0.6, "30-39": 0.8, "40-49": 0.9, "50-59": 1.1, "60-69": 1.35,
            "70-79": 1.35, "80+": 0.9},
    "sex": {"female": 1.25, "male": 1.0},
}
CENSUS_SEX = {"Female": Eq.Sex.FEMALE, "Male": Eq.Sex.MALE}
CENSUS_RELIGION = {
    "Christian": Eq.Religion.CHRISTIAN, "Muslim": Eq.Religion.MUSLIM, "Hindu": Eq.Religion.HINDU,
    "Sikh": Eq.Religion.SIKH, "Buddhist": Eq.Religion.BUDDHIST, "Jewish": Eq.Religion.JEWISH,
    "Other religion": Eq.Religion.OTHER, "No religion": Eq.Religion.NONE, "Not stated": PREFER_NOT,
}
# The census file gives broad groups; people answer in the 19 categories. Shares within each
# broad group are approximately those of England and Wales in 2021.
CENSUS_ETHNIC_GROUP = {
    "White": {Eq.EthnicGroup.WHITE_BRITISH: 0.972, Eq.EthnicGroup.WHITE_IRISH: 0.009,
              Eq.EthnicGroup.WHITE_GYPSY: 0.001, Eq.EthnicGroup.WHITE_ROMA: 0.001,
              Eq.EthnicGroup.WHITE_OTHER: 0.017},
    "Asian": {Eq.EthnicGroup.ASIAN_INDIAN: 0.3, Eq.EthnicGroup.ASIAN_PAKISTANI: 0.12,
              Eq.EthnicGroup.ASIAN_BANGLADESHI: 0.08, Eq.EthnicGroup.ASIAN_CHINESE: 0.25,
              Eq.EthnicGroup.ASIAN_OTHER: 0.25},
    "Black": {Eq.EthnicGroup.BLACK_AFRICAN: 0.6, Eq.EthnicGroup.BLACK_CARIBBEAN: 0.2,
              Eq.EthnicGroup.BLACK_OTHER: 0.2},
    "Arab": {Eq.EthnicGroup.OTHER_ARAB: 1.0},
    "Mixed or multiple": {Eq.EthnicGroup.MIXED_WHITE_BLACK_CARIBBEAN: 0.3,
                          Eq.EthnicGroup.MIXED_WHITE_BLACK_AFRICAN: 0.15,
                          Eq.EthnicGroup.MIXED_WHITE_ASIAN: 0.3, Eq.EthnicGroup.MIXED_OTHER: 0.25},
    "Other ethnic group": {Eq.EthnicGroup.OTHER_ANY: 1.0},
}
# Questions the census file does not cover: plausible national shares (blank = not answered).
OTHER_ANSWERS = {
    "gender_identity": {Eq.GenderIdentity.SAME: 93.5, Eq.GenderIdentity.DIFFERENT: 0.5, PREFER_NOT: 3, "": 3},
    "disability": {Eq.Disability.YES_A_LOT: 10, Eq.Disability.YES_A_LITTLE: 12, Eq.Disability.NO: 74,
                   PREFER_NOT: 4},
    "sexual_orientation": {Eq.SexualOrientation.STRAIGHT: 88, Eq.SexualOrientation.GAY_LESBIAN: 2,
                           Eq.SexualOrientation.BISEXUAL: 1.5, Eq.SexualOrientation.OTHER: 0.5, PREFER_NOT: 8},
    "marital_status": {Eq.MaritalStatus.NEVER: 35, Eq.MaritalStatus.MARRIED: 43,
                       Eq.MaritalStatus.CIVIL_PARTNERSHIP: 0.5, Eq.MaritalStatus.SEPARATED: 2.5,
                       Eq.MaritalStatus.DIVORCED: 10, Eq.MaritalStatus.WIDOWED: 7, PREFER_NOT: 2},
    "carer": {Eq.YesNo.YES: 12, Eq.YesNo.NO: 85, PREFER_NOT: 3},
}


class Weighted:
    """A fixed set of weighted choices, drawn with a shared Random (cumulative weights built once)."""

    def __init__(self, weights: dict):
        # Plain str, not the TextChoices members: database drivers and comparisons see the same value.
        self.values = [str(value) if isinstance(value, str) else value for value in weights]
        self.cum = list(accumulate(weights.values()))

    def draw(self, rng: random.Random):
        return rng.choices(self.values, cum_weights=self.cum)[0]


def sefton_baseline() -> dict[str, dict[str, int]]:
    """The demo's people live in south Sefton whatever organisation is configured: Sefton's census counts."""
    return read_baseline(load(str(settings.DEMO_ORGANISATION_FILE)).baseline_file)


def census_age_weights() -> dict[str, float]:
    """Adults only: the census 10-19 band is cut to its 16-19 part (4 of 10 years)."""
    ages = sefton_baseline()["age"]
    weights = {band: count for band, count in ages.items() if band not in {"0-9", "10-19"}}
    weights = {"16-19": ages["10-19"] * 0.4, **weights}
    return {band: weight * ENGAGEMENT_SKEW["age"][band] for band, weight in weights.items()}


def census_sex_weights() -> dict[str, float]:
    sexes = sefton_baseline()["sex"]
    return {CENSUS_SEX[name]: count * ENGAGEMENT_SKEW["sex"][CENSUS_SEX[name]] for name, count in sexes.items()}


def census_ethnic_group_weights() -> dict[str, float]:
    broad = sefton_baseline()["ethnic_group"]
    return {
        category: broad[group] * share
        for group, categories in CENSUS_ETHNIC_GROUP.items()
        for category, share in categories.items()
    }


def census_religion_weights() -> dict[str, float]:
    return {CENSUS_RELIGION[name]: count for name, count in sefton_baseline()["religion"].items()}


@dataclass(slots=True)
class PurposeHistory:
    """When a purpose was granted and, perhaps, withdrawn and granted again (by the person)."""

    granted_at: datetime
    withdrawn_at: datetime | None = None
    returned_at: datetime | None = None


@dataclass(slots=True)
class DemoPerson:
    email: str
    name: str
    postcode: str
    kind: str
    organisation: str | None
    language: str
    created_at: datetime
    confirmed_at: datetime
    topics: list[str]
    purposes: dict[str, PurposeHistory]
    needs: dict[str, str] = field(default_factory=dict)
    equality: dict[str, str] | None = None
    equality_targeting: bool = False


class Population:
    """Draws ``DemoPerson`` objects one after another from a seed."""

    def __init__(self, *, seed: int, now: datetime, size: int):
        self.rng = random.Random(seed)
        self.now = now
        self.size = max(size, 1)
        self.domains = Weighted(EMAIL_DOMAINS)
        self.districts = Weighted(DISTRICT_WEIGHTS)
        self.kinds = Weighted(KIND_WEIGHTS)
        self.languages = Weighted(LANGUAGE_WEIGHTS)
        self.needs = Weighted(NEED_WEIGHTS)
        self.topics = Weighted(TOPIC_WEIGHTS)
        self.topic_counts = Weighted(TOPIC_COUNT_WEIGHTS)
        self.gp_practices = [n for n, k in ORGANISATIONS if k == Organisation.Kind.GP_PRACTICE]
        self.voluntary = [n for n, k in ORGANISATIONS if k == Organisation.Kind.VOLUNTARY]
        self.partners = [n for n, k in ORGANISATIONS if k != Organisation.Kind.GP_PRACTICE]
        self.equality = {
            "age_band": Weighted(census_age_weights()),
            "sex": Weighted(census_sex_weights()),
            "ethnic_group": Weighted(census_ethnic_group_weights()),
            "religion": Weighted(census_religion_weights()),
            **{name: Weighted(weights) for name, weights in OTHER_ANSWERS.items()},
        }

    def person(self, index: int) -> DemoPerson:
        """The ``index``-th person (0-based). Call in order: each call advances the shared Random."""
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        kind = self.kinds.draw(rng)
        language = self.languages.draw(rng)
        created_at = self._created_at(index)
        confirmed_at = min(created_at + timedelta(minutes=rng.uniform(2, 2880)), self.now)
        topics = self._topics()
        person = DemoPerson(
            email=self._email(first, last, index + 1),
            name=f"{first} {last}",
            postcode=self._postcode(),
            kind=kind,
            organisation=self._organisation(kind),
            language=language,
            created_at=created_at,
            confirmed_at=confirmed_at,
            topics=topics,
            purposes=self._purposes(confirmed_at),
            needs=self._needs(language),
            equality=self._equality() if rng.random() < EQUALITY_CHANCE else None,
        )
        person.equality_targeting = person.equality is not None and rng.random() < TARGETING_CHANCE
        return person

    def _created_at(self, index: int) -> datetime:
        # Monotonic in the index (ids follow sign-up order) and denser towards today, as lists grow.
        remaining = max(0.0, 1 - index / self.size)
        return self.now - timedelta(days=HISTORY_DAYS * remaining**1.5)

    def _email(self, first: str, last: str, number: int) -> str:
        rng = self.rng
        first_l, last_l = (re.sub(r"[^a-z]", "", part.lower()) for part in (first, last))
        pattern = rng.randrange(4)
        local = (f"{first_l}.{last_l}", f"{first_l[0]}{last_l}", f"{first_l}{last_l}", f"{last_l}.{first_l}")[pattern]
        domain = self.domains.draw(rng)
        if rng.random() < 0.1:  # typed with capitals: kept for display, normalised for matching
            local, domain = local.title(), domain.capitalize()
        return f"{local}{number}@{domain}"

    def _postcode(self) -> str:
        district = self.districts.draw(self.rng)
        if not district:
            return ""
        rng = self.rng
        inward = f"{rng.randrange(10)}{rng.choice(_INWARD_LETTERS)}{rng.choice(_INWARD_LETTERS)}"
        return normalise_postcode(f"{district} {inward}")

    def _organisation(self, kind: str) -> str | None:
        rng = self.rng
        if kind == Contact.Kind.PRACTICE_STAFF:
            return rng.choice(self.gp_practices)
        if kind == Contact.Kind.PARTNER:
            return rng.choice(self.partners)
        if kind == Contact.Kind.PATIENT_REP and rng.random() < 0.6:
            return rng.choice(self.gp_practices)  # a member of the practice's patient participation group
        if kind == Contact.Kind.CARER and rng.random() < 0.2:
            return rng.choice(self.voluntary)
        return None

    def _topics(self) -> list[str]:
        wanted = min(self.topic_counts.draw(self.rng), len(TOPIC_WEIGHTS))
        chosen: list[str] = []
        while len(chosen) < wanted:
            topic = self.topics.draw(self.rng)
            if topic not in chosen:
                chosen.append(topic)
        return chosen

    def _purposes(self, granted_at: datetime) -> dict[str, PurposeHistory]:
        rng = self.rng
        codes = [code for code, chance in PURPOSE_CHANCE.items() if rng.random() < chance] or ["bulletin"]
        return {code: self._history(code, granted_at) for code in codes}

    def _history(self, code: str, granted_at: datetime) -> PurposeHistory:
        rng = self.rng
        history = PurposeHistory(granted_at=granted_at)
        if rng.random() < WITHDRAWAL_CHANCE[code] and self.now - granted_at > timedelta(hours=2):
            history.withdrawn_at = self._between(granted_at + timedelta(hours=1), self.now)
            if rng.random() < RETURN_CHANCE and self.now - history.withdrawn_at > timedelta(hours=2):
                history.returned_at = self._between(history.withdrawn_at + timedelta(hours=1), self.now)
        return history

    def _between(self, start: datetime, end: datetime) -> datetime:
        return start + (end - start) * self.rng.random()

    def _needs(self, language: str) -> dict[str, str]:
        rng = self.rng
        needs: dict[str, str] = {}
        if language != "English" and rng.random() < 0.6:
            needs[str(CommunicationNeed.Need.OTHER_LANGUAGE)] = language
        if rng.random() < NEEDS_CHANCE:
            for _ in range(1 + (rng.random() < 0.2)):
                needs.setdefault(self.needs.draw(rng), "")
        return needs

    def _equality(self) -> dict[str, str]:
        rng = self.rng
        answers = {name: choice.draw(rng) for name, choice in self.equality.items()}
        for name in ("age_band", "sex", "ethnic_group", "religion"):
            if rng.random() < PREFER_NOT_CHANCE:
                answers[name] = PREFER_NOT
        young_woman = answers["sex"] == Eq.Sex.FEMALE and answers["age_band"] in {"16-19", "20-29", "30-39", "40-49"}
        pregnant = rng.random() < 0.04
        answers["pregnancy_maternity"] = str(Eq.YesNo.YES if pregnant else Eq.YesNo.NO) if young_woman else ""
        if answers["age_band"] == "16-19" and answers["marital_status"] != PREFER_NOT:
            answers["marital_status"] = str(Eq.MaritalStatus.NEVER)
        return answers
