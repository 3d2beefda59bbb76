"""A development test bed of administrative shape: Spanish multi-source registers (es_ES Faker)
with many households and a national identity number on some channels.

Spanish naming gives every person two surnames (the father's first, then the mother's first),
and spouses keep their own: so children share one surname with each parent, siblings share both,
and a household is many people at one address and landline with overlapping surnames. The
national number is the DNI (8 digits and a check letter), or the NIE of a foreign resident
(X/Y/Z, 7 digits, letter); python-stdnum validates both, and one person holds one number.

Corruptions are the ones registers show: the second surname dropped (outside Spanish forms),
accents lost and names in capitals, a DNI typed with a wrong digit or without its letter,
street types abbreviated (Calle → C/), a postcode typo, day/month swapped, the odd move to a
new address. Ground truth goes to truth.csv as for `mdm generate`. Nothing here is tuned to a
published data set.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import yaml

from mdm.testbed.evaluate import write_truth

FIELDS = (
    "record_id", "nombre", "apellido1", "apellido2", "nombre_completo", "sexo", "fecha_nacimiento",
    "documento", "tipo_documento", "domicilio", "municipio", "codigo_postal", "telefono",
    "movil", "email", "actualizado",
)  # fmt: skip
_STREET_ABBREVIATIONS = {"Calle": "C/", "Avenida": "Avda.", "Plaza": "Pza.", "Paseo": "Pº"}


@dataclass(frozen=True)
class Resident:
    person_id: str
    given: str
    surname1: str
    surname2: str
    gender: str  # M / F
    birth: date
    street: str
    city: str
    postcode: str
    landline: str  # the household's
    mobile: str  # the person's own, or "" (children)
    email: str
    document: str  # DNI or NIE
    document_type: str  # ES_DNI / ES_NIE


@dataclass(frozen=True)
class AdminSummary:
    out_dir: Path
    persons: int
    records: int
    households: int


def _document(rng: random.Random) -> tuple[str, str]:
    from stdnum.es import dni, nie

    if rng.random() < 0.1:
        body = rng.choice("XYZ") + f"{rng.randrange(10**7):07d}"
        return body + nie.calc_check_digit(body), "ES_NIE"
    body = f"{rng.randrange(10**7, 10**8)}"
    return body + dni.calc_check_digit(body), "ES_DNI"


def _phone(rng: random.Random, first: str) -> str:
    return f"+34{first}{rng.randrange(10**7, 10**8)}"


def _email(given: str, surname: str, rng: random.Random) -> str:
    local = _plain(f"{given}.{surname}").lower().replace(" ", "")
    return f"{local}{rng.randint(1, 99)}@{rng.choice(('gmail.com', 'hotmail.es', 'yahoo.es'))}"


def _plain(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _residents(
    count: int, rng: random.Random, household_share: float
) -> tuple[list[Resident], int]:
    from faker import Faker

    faker = Faker("es_ES")
    faker.seed_instance(rng.randrange(1 << 30))
    people: list[Resident] = []
    households = 0

    def person(
        gender: str, surname1: str, surname2: str, birth: date, home: Resident | None
    ) -> Resident:
        given = faker.first_name_male() if gender == "M" else faker.first_name_female()
        document, document_type = _document(rng)
        adult = (date(2025, 1, 1) - birth).days > 18 * 365
        resident = Resident(
            person_id=f"E{len(people):06d}",
            given=given,
            surname1=surname1,
            surname2=surname2,
            gender=gender,
            birth=birth,
            street=faker.street_address(),
            city=faker.city(),
            postcode=faker.postcode(),
            landline=_phone(rng, rng.choice("89")),
            mobile=_phone(rng, rng.choice("67")) if adult else "",
            email=_email(given, surname1, rng) if adult else "",
            document=document,
            document_type=document_type,
        )
        if home is None:
            return resident
        return replace(
            resident,
            street=home.street,
            city=home.city,
            postcode=home.postcode,
            landline=home.landline,
        )

    while len(people) < count:
        gender = rng.choice("MF")
        birth = date(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 50))
        head = person(gender, faker.last_name(), faker.last_name(), birth, None)
        people.append(head)
        if rng.random() >= household_share:
            continue
        households += 1
        partner_birth = birth + timedelta(days=rng.randrange(-3000, 3000))
        partner = person("F" if gender == "M" else "M", faker.last_name(), faker.last_name(),
                         partner_birth, head)  # fmt: skip
        people.append(partner)
        father, mother = (head, partner) if gender == "M" else (partner, head)
        first_child = max(birth, partner_birth) + timedelta(days=rng.randrange(365 * 20, 365 * 35))
        for child in range(rng.choice([0, 1, 2, 2, 3])):
            if len(people) >= count:
                break
            twin = child > 0 and rng.random() < 0.1
            born = first_child + timedelta(days=0 if twin else rng.randrange(300, 365 * 8) * child)
            if born > date(2024, 6, 1):
                break
            people.append(person(rng.choice("MF"), father.surname1, mother.surname1, born, head))
    return people[:count], households


def _typo(text: str, rng: random.Random) -> str:
    if len(text) < 4:
        return text
    at = rng.randrange(1, len(text) - 1)
    if rng.random() < 0.5:
        return text[:at] + rng.choice("aeiourslnm") + text[at + 1 :]
    return text[: at - 1] + text[at] + text[at - 1] + text[at + 1 :]


def _digit_typo(number: str, rng: random.Random) -> str:
    at = rng.randrange(0, len(number) - 1)
    others = [d for d in "0123456789" if d != number[at]]
    wrong = rng.choice(others) if number[at].isdigit() else "0"
    return number[:at] + wrong + number[at + 1 :]


def _record(person: Resident, number: int, channel: str, rng: random.Random) -> dict[str, str]:
    given, surname1, surname2 = person.given, person.surname1, person.surname2
    if rng.random() < 0.1:
        given = _typo(given, rng)
    if rng.random() < 0.08:
        surname1 = _typo(surname1, rng)
    if rng.random() < 0.25:
        surname2 = ""  # forms with one surname field
    if rng.random() < 0.3:  # registers in capitals without accents
        given, surname1, surname2 = (_plain(v).upper() for v in (given, surname1, surname2))
    birth = person.birth
    if rng.random() < 0.04 and birth.day <= 12:
        birth = date(birth.year, birth.day, birth.month)
    elif rng.random() < 0.03:
        birth += timedelta(days=rng.choice([-1, 1, 30, -30]))
    street = person.street
    for word, short in _STREET_ABBREVIATIONS.items():
        if street.startswith(word) and rng.random() < 0.4:
            street = short + street[len(word) :]
    if rng.random() < 0.08:
        street = _typo(street, rng)
    document = person.document
    roll = rng.random()
    if roll < 0.05:
        document = _digit_typo(document, rng)
    elif roll < 0.1:
        document = document[:-1]  # the check letter left off
    surnames = " ".join(s for s in (surname1, surname2) if s)
    return {
        "record_id": f"{channel[:3].upper()}{number:07d}",
        "nombre": given,
        "apellido1": surname1,
        "apellido2": surname2,
        "nombre_completo": f"{surnames}, {given}" if rng.random() < 0.5 else f"{given} {surnames}",
        "sexo": person.gender,
        "fecha_nacimiento": birth.strftime("%d/%m/%Y") if rng.random() > 0.05 else "",
        "documento": document if rng.random() > 0.15 else "",
        "tipo_documento": person.document_type,
        "domicilio": street,
        "municipio": person.city if rng.random() > 0.05 else _typo(person.city, rng),
        "codigo_postal": (
            person.postcode if rng.random() > 0.05 else _digit_typo(person.postcode, rng)
        ),
        "telefono": person.landline if rng.random() > 0.2 else "",
        "movil": person.mobile if rng.random() > 0.2 else "",
        "email": person.email if rng.random() > 0.3 else "",
        "actualizado": f"2025-0{rng.randint(1, 6)}-1{rng.randint(0, 9)}",
    }


CHANNELS: dict[str, dict[str, object]] = {
    # the municipal register: split names, DNI, the household's address and landline
    "padron": {
        "given_name": "nombre", "family_name": ["apellido1", "apellido2"], "gender": "sexo",
        "birth_date": "fecha_nacimiento", "id_number": "documento", "id_type": "tipo_documento",
        "address": "domicilio", "city": "municipio", "postal_code": "codigo_postal",
        "phone_other": "telefono",
    },
    # the tax office: one name string, DNI, address
    "tributos": {
        "full_name": "nombre_completo", "id_number": "documento", "id_type": "tipo_documento",
        "address": "domicilio", "city": "municipio", "postal_code": "codigo_postal",
    },
    # a health centre: split names, birth date, phones, no document
    "salud": {
        "given_name": "nombre", "family_name": ["apellido1", "apellido2"], "gender": "sexo",
        "birth_date": "fecha_nacimiento", "city": "municipio", "postal_code": "codigo_postal",
        "phone_other": "telefono", "mobile": "movil", "email": "email",
    },
}  # fmt: skip


def generate_admin(
    out_dir: Path, *, persons: int, seed: int, household_share: float = 0.6
) -> AdminSummary:
    """Write channels.yaml, one CSV per channel and truth.csv into ``out_dir``."""
    rng = random.Random(seed)
    people, households = _residents(persons, rng, household_share)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows: dict[str, list[dict[str, str]]] = {name: [] for name in CHANNELS}
    truth: list[tuple[str, str, str]] = []
    counter = 0
    for person in people:
        for channel in rng.sample(list(CHANNELS), k=rng.choice([1, 2, 2, 3, 3])):
            counter += 1
            row = _record(person, counter, channel, rng)
            rows[channel].append(row)
            truth.append((channel, row["record_id"], person.person_id))
    channels: dict[str, dict[str, object]] = {}
    for name, mapping in CHANNELS.items():
        with (out_dir / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=FIELDS)
            writer.writeheader()
            writer.writerows(rows[name])
        channels[name] = {
            "path": f"{name}.csv",
            "format": "csv",
            "encoding": "utf-8",
            "record_id": "record_id",
            "trust": {"padron": 90, "tributos": 80, "salud": 60}[name],
            "columns": {**mapping, "source_updated_at": "actualizado"},
        }
        if "birth_date" in mapping:
            channels[name]["formats"] = {"birth_date": "%d/%m/%Y"}
    header = "# Administrative test bed (mdm/testbed/admin.py)"
    text = yaml.safe_dump({"channels": channels}, sort_keys=False, allow_unicode=True)
    (out_dir / "channels.yaml").write_text(f"{header}, seed {seed}\n" + text, encoding="utf-8")
    write_truth(out_dir / "truth.csv", truth)
    return AdminSummary(out_dir, len(people), len(truth), households)
