"""Buyers and guests from many countries, with accents, apostrophes and CJK scripts."""

import random
import unicodedata
from dataclasses import dataclass

from api.seeding import seeded_random


@dataclass(frozen=True, slots=True)
class Culture:
    country: str
    language: str
    phone_prefix: str
    # Names as written, each with the ASCII form used for email addresses.
    first_names: tuple[tuple[str, str], ...]
    last_names: tuple[tuple[str, str], ...]
    weight: int


def _latin(*names: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, _ascii_fold(name)) for name in names)


# Letters that Unicode does not decompose into a base letter and an accent.
_UNDECOMPOSABLE_LETTERS = str.maketrans({"ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d"})


def _ascii_fold(name: str) -> str:
    """Spell a Latin-script name in lower-case ASCII letters: "Zoë D'Angelo" -> "zoedangelo"."""
    replaced = name.lower().translate(_UNDECOMPOSABLE_LETTERS)
    decomposed = unicodedata.normalize("NFKD", replaced)
    return "".join(char for char in decomposed if "a" <= char <= "z")


CULTURES = (
    Culture(
        "CH",
        "de-CH",
        "+41 79",
        _latin("Zoë", "Lukas", "Anna", "Jürg", "Mia", "Noah", "Léa", "Matthias", "Nicolò"),
        _latin("Müller", "Meier", "Schmid", "Keller", "Weber", "Zürcher", "Bühler", "Favre"),
        30,
    ),
    Culture(
        "DE",
        "de",
        "+49 151",
        _latin("Jürgen", "Käthe", "Björn", "Uwe", "Sönke", "Greta", "Maximilian"),
        _latin("Schröder", "Groß", "Fischer", "Wagner", "Becker", "Köhler"),
        10,
    ),
    Culture(
        "FR",
        "fr",
        "+33 6",
        _latin("Zoé", "Amélie", "François", "Hélène", "Jérôme", "Chloé", "Théo", "Inès"),
        _latin("Dubois", "Lefèvre", "Béranger", "Moreau", "Châtelain", "Fournier"),
        8,
    ),
    Culture(
        "IT",
        "it",
        "+39 347",
        _latin("Giulia", "Marco", "Niccolò", "Chiara", "Alessandro", "Federica"),
        _latin("D'Angelo", "Rossi", "Bianchi", "Esposito", "Di Stefano", "Dell'Orto"),
        6,
    ),
    Culture(
        "ES",
        "es",
        "+34 612",
        _latin("José", "María", "Ángel", "Lucía", "Iñigo", "Begoña"),
        _latin("Ñúñez", "García", "Muñoz", "Ibáñez", "Peña", "Fernández"),
        5,
    ),
    Culture(
        "IE",
        "en-IE",
        "+353 87",
        _latin("Siobhán", "Seán", "Aoife", "Niamh", "Liam", "Róisín"),
        _latin("O'Brien", "O'Connor", "Murphy", "McCarthy", "Ó Súilleabháin", "Kelly"),
        4,
    ),
    Culture(
        "GB",
        "en-GB",
        "+44 7700",
        _latin("Oliver", "Amelia", "Harry", "Isla", "George", "Poppy"),
        _latin("Smith", "Jones", "Taylor", "Brown", "Davies", "O'Neill"),
        6,
    ),
    Culture(
        "US",
        "en-US",
        "+1 202",
        _latin("Emma", "Liam", "Olivia", "Ethan", "Ava", "Mason"),
        _latin("Johnson", "Williams", "Miller", "Davis", "Garcia", "D'Souza"),
        8,
    ),
    Culture(
        "NL",
        "nl",
        "+31 6",
        _latin("Daan", "Sanne", "Joëlle", "Bram", "Fenna"),
        _latin("de Vries", "van den Berg", "Jansen", "Bakker", "van Dijk"),
        4,
    ),
    Culture(
        "SE",
        "sv",
        "+46 70",
        _latin("Åsa", "Björn", "Märta", "Linnéa", "Östen"),
        _latin("Åkesson", "Lindqvist", "Öberg", "Sjögren"),
        2,
    ),
    Culture(
        "PL",
        "pl",
        "+48 601",
        _latin("Łukasz", "Zofia", "Wojciech", "Małgorzata"),
        _latin("Wiśniewski", "Kowalczyk", "Nowak", "Żółkiewska"),
        2,
    ),
    Culture(
        "JP",
        "ja",
        "+81 90",
        (("太郎", "taro"), ("花子", "hanako"), ("翔", "sho"), ("陽菜", "hina"), ("健", "ken")),
        (("山田", "yamada"), ("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi")),
        5,
    ),
    Culture(
        "CN",
        "zh-CN",
        "+86 139",
        (("芳", "fang"), ("伟", "wei"), ("娜", "na"), ("静", "jing"), ("磊", "lei")),
        (("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen")),
        4,
    ),
    Culture(
        "KR",
        "ko",
        "+82 10",
        (("민준", "minjun"), ("서연", "seoyeon"), ("지우", "jiwoo"), ("하준", "hajun")),
        (("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi")),
        2,
    ),
    Culture(
        "IN",
        "en-IN",
        "+91 98",
        _latin("Aarav", "Priya", "Ananya", "Rohan", "Saanvi"),
        _latin("Sharma", "Patel", "Iyer", "Reddy", "Nair"),
        2,
    ),
    Culture(
        "BR",
        "pt-BR",
        "+55 11",
        _latin("João", "Conceição", "Luíza", "Thiago", "Gonçalo"),
        _latin("Gonçalves", "Araújo", "Simões", "Magalhães"),
        2,
    ),
)
CULTURE_WEIGHTS = [culture.weight for culture in CULTURES]
# Only reserved example domains, so no seeded address can reach a real mailbox.
EMAIL_DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "post.example"]


@dataclass(frozen=True, slots=True)
class Person:
    """A buyer's details as they type them, except the email, which is in lower case here."""

    first_name: str
    last_name: str
    email: str
    phone: str
    country: str
    language: str
    culture: Culture


def person_for(rng_seed: int, seller_slug: str, index: int) -> Person:
    """Derive the `index`-th buyer of a seller; the same arguments always give the same person."""
    rng = seeded_random("person", rng_seed, seller_slug, index)
    culture = rng.choices(CULTURES, CULTURE_WEIGHTS)[0]
    first_name, first_ascii = rng.choice(culture.first_names)
    last_name, last_ascii = rng.choice(culture.last_names)
    digits = "".join(str(rng.randrange(10)) for _ in range(7))
    return Person(
        first_name=first_name,
        last_name=last_name,
        email=f"{_email_local_part(rng, first_ascii, last_ascii)}@{rng.choice(EMAIL_DOMAINS)}",
        phone=f"{culture.phone_prefix} {digits[:3]} {digits[3:5]} {digits[5:]}",
        country=culture.country,
        language=culture.language,
        culture=culture,
    )


def _email_local_part(rng: random.Random, first: str, last: str) -> str:
    style = rng.randrange(4)
    if style == 0:
        return f"{first}.{last}"
    if style == 1:
        return f"{first[0]}{last}{rng.randrange(1, 100)}"
    if style == 2:
        return f"{last}.{first}{rng.randrange(1950, 2010)}"
    return f"{first}{last}{rng.randrange(100, 1000)}"


def email_as_entered(email: str, variant: int) -> str:
    """Spell an address the way a returning buyer might type it again; variant 0 keeps it."""
    if variant == 1:
        local, domain = email.split("@", 1)
        return ".".join(part.capitalize() for part in local.split(".")) + "@" + domain
    if variant == 2:
        return email.upper()
    if variant == 3:
        return f" {email} "
    return email
