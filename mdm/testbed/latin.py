"""A development test bed of another shape than `mdm generate`: Latin-script people of several
locales (Faker), in two or three channels, with or without an identifier, with households
(spouses and children sharing a family name, an address and a phone) and twins.

Ground truth goes to truth.csv as for `mdm generate`. Corruptions are the ones people make:
nicknames (Bill for William), initials, swapped given/family order, typos, day/month swaps,
missing fields, re-typed e-mail local parts. Nothing here is tuned to a published data set.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import yaml

from mdm.testbed.evaluate import write_truth

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR")
DOMAINS = ("com", "org", "net")
FIELDS = (
    "record_id", "full_name", "given_name", "family_name", "gender", "birth_date",
    "address", "city", "postal_code", "phone", "email", "id_number", "updated",
)  # fmt: skip


@dataclass(frozen=True)
class Person:
    person_id: str
    given: str
    family: str
    gender: str  # M / F
    birth: date
    street: str  # "12 High Street"
    city: str
    postcode: str
    phone: str  # E.164
    email: str
    passport: str


@dataclass(frozen=True)
class LatinSummary:
    out_dir: Path
    persons: int
    records: int
    households: int


def _passport(rng: random.Random) -> str:
    return rng.choice("CGHKLMNPRTVXYZ") + "".join(rng.choice("0123456789") for _ in range(8))


def _people(count: int, rng: random.Random, household_share: float) -> tuple[list[Person], int]:
    from faker import Faker

    fakers = {locale: Faker(locale) for locale in LOCALES}
    for number, faker in enumerate(fakers.values()):
        faker.seed_instance(rng.randrange(1 << 30) + number)
    people: list[Person] = []
    households = 0
    while len(people) < count:
        locale = rng.choice(LOCALES)
        faker = fakers[locale]
        gender = rng.choice("MF")
        given = faker.first_name_male() if gender == "M" else faker.first_name_female()
        family = faker.last_name()
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 62))
        head = Person(
            person_id=f"P{len(people):06d}",
            given=given,
            family=family,
            gender=gender,
            birth=birth,
            street=f"{rng.randint(1, 250)} {faker.street_name()}",
            city=faker.city(),
            postcode=faker.postcode(),
            phone=f"+1{rng.randint(201, 989)}{rng.randint(2000000, 9999999)}",
            email=_email(given, family, rng),
            passport=_passport(rng),
        )
        people.append(head)
        if rng.random() < household_share:  # relatives at the same address, often one phone
            households += 1
            for _ in range(rng.randint(1, 3)):
                if len(people) >= count:
                    break
                relative_gender = rng.choice("MF")
                relative_given = (
                    faker.first_name_male() if relative_gender == "M" else faker.first_name_female()
                )
                twin = rng.random() < 0.1
                relative_birth = (
                    birth
                    if twin
                    else birth + timedelta(days=rng.choice([-1, 1]) * rng.randrange(300, 365 * 30))
                )
                people.append(
                    replace(
                        head,
                        person_id=f"P{len(people):06d}",
                        given=relative_given,
                        gender=relative_gender,
                        birth=relative_birth,
                        phone=head.phone if rng.random() < 0.6 else _other_number(head, rng),
                        email=_email(relative_given, head.family, rng),
                        passport=_passport(rng),
                    )
                )
    return people, households


def _email(given: str, family: str, rng: random.Random) -> str:
    return f"{given}.{family}{rng.randint(1, 99)}@example.{rng.choice(DOMAINS)}".lower()


def _other_number(person: Person, rng: random.Random) -> str:
    return person.phone[:-3] + f"{rng.randint(100, 999)}"


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    at = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.4:
        return text[:at] + rng.choice("aeiourstnl") + text[at + 1 :]
    if kind < 0.7:
        return text[:at] + text[at + 1 :]
    return text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]


def _nickname(given: str, rng: random.Random) -> str:
    from nicknames import NickNamer

    options = sorted(NickNamer().nicknames_of(given.lower()))
    return options[rng.randrange(len(options))].title() if options else given


def _record(
    person: Person, number: int, channel: str, rng: random.Random, with_ids: bool
) -> dict[str, str]:
    given, family = person.given, person.family
    roll = rng.random()
    if roll < 0.15:
        given = _nickname(given, rng)
    elif roll < 0.22:
        given = given[0] + "."
    elif roll < 0.40:
        given = _typo(given, rng)
    if rng.random() < 0.15:
        family = _typo(family, rng)
    birth = person.birth
    if rng.random() < 0.05 and birth.day <= 12:
        birth = date(birth.year, birth.day, birth.month)
    elif rng.random() < 0.05:
        birth = birth + timedelta(days=rng.choice([-1, 1, 10, -10]))
    email = person.email
    if rng.random() < 0.1:
        local, _, domain = email.partition("@")
        email = _typo(local, rng) + "@" + domain
    swapped = rng.random() < 0.1
    row = {
        "record_id": f"{channel[:2].upper()}{number:07d}",
        "full_name": f"{family} {given}" if swapped else f"{given} {family}",
        "given_name": given,
        "family_name": family,
        "gender": person.gender if rng.random() > 0.05 else "",
        "birth_date": birth.isoformat() if rng.random() > 0.08 else "",
        "address": person.street if rng.random() > 0.1 else _typo(person.street, rng),
        "city": person.city if rng.random() > 0.1 else _typo(person.city, rng),
        "postal_code": person.postcode if rng.random() > 0.1 else "",
        "phone": person.phone if rng.random() > 0.25 else "",
        "email": email if rng.random() > 0.3 else "",
        "id_number": (person.passport if rng.random() > 0.1 else _typo(person.passport, rng))
        if with_ids and rng.random() > 0.3
        else "",
        "updated": f"2025-0{rng.randint(1, 6)}-1{rng.randint(0, 9)}",
    }
    return row


CHANNELS = {
    # a CRM extract: split names, everything it knows
    "crm": {
        "given_name": "given_name", "family_name": "family_name", "gender": "gender",
        "birth_date": "birth_date", "address": "address", "city": "city",
        "postal_code": "postal_code", "phone_other": "phone", "email": "email",
    },
    # a marketing list: one name string, no birth date or gender
    "list": {"full_name": "full_name", "address": "address", "city": "city",
             "postal_code": "postal_code", "email": "email", "phone_other": "phone"},
    # a sign-up form: one name string, birth date, e-mail
    "web": {"full_name": "full_name", "birth_date": "birth_date", "email": "email",
            "city": "city", "gender": "gender"},
}  # fmt: skip


def generate_latin(
    out_dir: Path,
    *,
    persons: int,
    seed: int,
    with_ids: bool = False,
    household_share: float = 0.25,
) -> LatinSummary:
    """Write channels.yaml, one CSV per channel and truth.csv into ``out_dir``."""
    rng = random.Random(seed)
    people, households = _people(persons, rng, household_share)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in CHANNELS}
    truth: list[tuple[str, str, str]] = []
    counter = 0
    for person in people:
        channels = rng.sample(list(CHANNELS), k=rng.choice([1, 1, 2, 2, 3]))
        for channel in channels:
            for _ in range(2 if rng.random() < 0.08 else 1):  # the odd repeat within a channel
                counter += 1
                row = _record(person, counter, channel, rng, with_ids)
                rows[channel].append(row)
                truth.append((channel, row["record_id"], person.person_id))
    config: dict[str, dict[str, object]] = {"channels": {}}
    for name, mapping in CHANNELS.items():
        columns: dict[str, str] = {**mapping, "source_updated_at": "updated"}
        if with_ids and name != "web":
            columns.update(id_number="id_number", id_type="id_type")
        with (out_dir / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=[*FIELDS, "id_type"])
            writer.writeheader()
            for row in rows[name]:
                writer.writerow({**row, "id_type": "PASSPORT" if row["id_number"] else ""})
        config["channels"][name] = {
            "path": f"{name}.csv",
            "format": "csv",
            "encoding": "utf-8",
            "record_id": "record_id",
            "trust": {"crm": 80, "web": 60, "list": 40}[name],
            "columns": columns,
        }
    header = "# Latin-script test bed (mdm/testbed/latin.py)"
    (out_dir / "channels.yaml").write_text(
        f"{header}, seed {seed}\n" + yaml.safe_dump(config, sort_keys=False), encoding="utf-8"
    )
    write_truth(out_dir / "truth.csv", truth)
    return LatinSummary(out_dir, len(people), len(truth), households)
