"""Slot values for the cortex-demo corpus, split into training and held-out pools.

Every held-out value is a string the training corpus never contains; `corpus.py`
checks that after generation. Training pools mix real names with generated
pseudo-words so the model learns to copy arguments instead of memorising them.
"""

import random

TRAIN_CITIES = [
    "Paris", "London", "Berlin", "Madrid", "Rome", "Lisbon", "Dublin", "Vienna", "Prague", "Warsaw",
    "Budapest", "Athens", "Oslo", "Stockholm", "Helsinki", "Copenhagen", "Amsterdam", "Brussels",
    "Zurich", "Geneva", "Munich", "Hamburg", "Milan", "Naples", "Barcelona", "Seville", "Porto",
    "Lyon", "Marseille", "Edinburgh", "Manchester", "Krakow", "Bucharest", "Sofia", "Belgrade",
    "Zagreb", "Istanbul", "Cairo", "Lagos", "Nairobi", "Accra", "Casablanca", "Tunis", "Dakar",
    "Johannesburg", "Cape Town", "Tokyo", "Osaka", "Kyoto", "Seoul", "Busan", "Beijing", "Shanghai",
    "Shenzhen", "Hong Kong", "Taipei", "Manila", "Hanoi", "Bangkok", "Jakarta", "Singapore",
    "Kuala Lumpur", "Delhi", "Mumbai", "Chennai", "Kolkata", "Dhaka", "Karachi", "Lahore", "Tehran",
    "Dubai", "Doha", "Riyadh", "Baghdad", "Sydney", "Melbourne", "Perth", "Brisbane", "Auckland",
    "Wellington", "New York", "Boston", "Chicago", "Denver", "Seattle", "Portland", "San Francisco",
    "Los Angeles", "San Diego", "Phoenix", "Dallas", "Houston", "Austin", "Miami", "Atlanta",
    "Toronto", "Montreal", "Vancouver", "Ottawa", "Mexico City", "Havana", "Bogota", "Lima",
    "Quito", "Santiago", "Buenos Aires", "Montevideo", "Sao Paulo", "Rio de Janeiro", "Caracas",
]

HELD_OUT_CITIES = [
    "Reykjavik", "Tallinn", "Riga", "Vilnius", "Ljubljana", "Bratislava", "Valletta", "Nicosia",
    "Tbilisi", "Yerevan", "Baku", "Almaty", "Tashkent", "Ulaanbaatar", "Kathmandu", "Colombo",
    "Yangon", "Phnom Penh", "Vientiane", "Brunei", "Hobart", "Darwin", "Suva", "Apia", "Honolulu",
    "Anchorage", "Winnipeg", "Halifax", "Calgary", "Oaxaca", "Medellin", "La Paz", "Asuncion",
    "Kigali", "Kampala", "Lusaka", "Harare", "Windhoek", "Gaborone", "Maputo",
]

TRAIN_WORDS = [
    "notes", "report", "draft", "budget", "photos", "music", "docs", "backup", "config", "data",
    "logs", "src", "build", "scripts", "assets", "images", "tests", "papers", "recipes", "todo",
    "readme", "main", "index", "server", "client", "utils", "models", "people", "invoices", "games",
    "letters", "travel", "garden", "books", "movies", "work", "school", "archive", "design", "sales",
    "summary", "results", "plan", "ideas", "journal", "inbox", "tasks", "events", "weather", "maps",
]

HELD_OUT_WORDS = [
    "orchard", "lantern", "quartz", "harbor", "meadow", "falcon", "saffron", "glacier", "tundra",
    "beacon", "cobalt", "juniper", "velvet", "marble", "thimble", "kestrel", "paprika", "galaxy",
    "obsidian", "willow", "zephyr", "pebble", "sprocket", "walnut", "canyon", "ember", "lagoon",
    "mosaic", "ripple", "tangerine",
]

TRAIN_USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
HELD_OUT_USERS = ["mallory", "oscar", "peggy", "trent", "victor", "wendy"]

EXTENSIONS = ["txt", "md", "py", "json", "log", "toml", "ts", "csv", "yaml", "sh", "rs", "html"]

CONDITIONS = [
    "sunny", "cloudy", "rainy", "snowy", "windy", "foggy", "stormy", "clear", "partly cloudy", "drizzly",
]

_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_ALL_CONSONANTS = "bcdfghjklmnpqrstvwxyz"
_ONSETS = list(_ALL_CONSONANTS) + ["ch", "sh", "th", "kr", "st", "br", "pl", "gr", "tr", "sk", "wh", "qu"]
_CODAS = list("bcdfgklmnprstxz") + ["ng", "ck", "sh", "rt", "nd", "st"]

# Numbers 10..999 that the training corpus never uses as add() operands.
_NUMBER_RNG = random.Random(9)
HELD_OUT_NUMBERS = sorted(_NUMBER_RNG.sample(range(10, 1000), 120))
_HELD_OUT_NUMBER_SET = set(HELD_OUT_NUMBERS)
TRAIN_NUMBERS = [n for n in range(0, 1000) if n not in _HELD_OUT_NUMBER_SET]


HELD_OUT_LOWER = {v.lower() for v in HELD_OUT_CITIES + HELD_OUT_WORDS + HELD_OUT_USERS}


def pseudo_word(rng: random.Random, syllables: int | None = None) -> str:
    """A lowercase non-word such as 'tavolik' or 'xqerwa', never a held-out value.

    Three shapes (simple syllables, clustered syllables, random letters) cover the whole
    alphabet, so the model learns to copy any spelling rather than a few familiar pieces.
    """
    while True:
        count = syllables if syllables is not None else rng.choice([2, 2, 3, 3, 4])
        shape = rng.random()
        if shape < 0.35:
            parts = [rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(count)]
            if rng.random() < 0.5:
                parts.append(rng.choice(_CONSONANTS))
        elif shape < 0.75:
            parts = [rng.choice(_ONSETS) + rng.choice(_VOWELS + "y") for _ in range(count)]
            if rng.random() < 0.6:
                parts.append(rng.choice(_CODAS))
        else:
            parts = [rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randrange(3, 10))]
        word = "".join(parts)
        if word not in HELD_OUT_LOWER:
            return word


def piece_word(rng: random.Random, pieces: list[str]) -> str:
    """A made-up word glued from 1-4 random letter tokens of the tokenizer's vocabulary.

    Syllable words are built from a few dozen common pieces, so a model trained only on them
    copies those pieces and stumbles on the rest: it cannot copy `file` or `ant` inside a word
    (`lantern`), because it has only ever seen them as words of their own. Gluing random
    vocabulary tokens makes every token a copy target inside words.
    """
    while True:
        word = "".join(rng.choice(pieces) for _ in range(rng.choice([1, 2, 2, 3, 3, 4])))
        if 2 <= len(word) <= 16 and word not in HELD_OUT_LOWER:
            return word


class Pools:
    """One side of the split: the values a generator may draw from."""

    def __init__(self, held_out: bool, rng: random.Random, pieces: list[str] | None = None) -> None:
        self.held_out = held_out
        self.rng = rng
        self.pieces = pieces

    def made_up(self, syllables: int | None = None) -> str:
        """A made-up word: half the time glued from vocabulary pieces (when given), else syllables."""
        if self.pieces and self.rng.random() < 0.5:
            return piece_word(self.rng, self.pieces)
        return pseudo_word(self.rng, syllables)

    def city(self) -> str:
        if self.held_out:
            return self.rng.choice(HELD_OUT_CITIES)
        if self.rng.random() < 0.45:
            word = self.made_up()
            return word[0].upper() + word[1:]
        return self.rng.choice(TRAIN_CITIES)

    def word(self) -> str:
        if self.held_out:
            return self.rng.choice(HELD_OUT_WORDS)
        if self.rng.random() < 0.5:
            return self.made_up()
        return self.rng.choice(TRAIN_WORDS)

    def user(self) -> str:
        if self.held_out:
            return self.rng.choice(HELD_OUT_USERS)
        if self.rng.random() < 0.4:
            return self.made_up(2)
        return self.rng.choice(TRAIN_USERS)

    def number(self) -> int:
        return self.rng.choice(HELD_OUT_NUMBERS if self.held_out else TRAIN_NUMBERS)

    def file_name(self) -> str:
        return f"{self.word()}.{self.rng.choice(EXTENSIONS)}"

    def dir_path(self) -> str:
        r = self.rng.random()
        if r < 0.3:
            return f"/home/{self.user()}/{self.word()}"
        if r < 0.45:
            return f"/tmp/{self.word()}"
        if r < 0.6:
            return f"~/{self.word()}"
        if r < 0.75:
            return f"./{self.word()}/{self.word()}"
        if r < 0.88:
            return f"/var/{self.word()}"
        return f"/srv/{self.word()}/{self.word()}"

    def file_path(self) -> str:
        r = self.rng.random()
        if r < 0.25:
            return self.file_name()
        if r < 0.5:
            return f"{self.dir_path()}/{self.file_name()}"
        if r < 0.7:
            return f"./{self.file_name()}"
        return f"/home/{self.user()}/{self.file_name()}"

    def command(self) -> tuple[str, str]:
        """A shell command and a plausible one-line output."""
        rng = self.rng
        kind = rng.randrange(10)
        if kind == 0:
            text = " ".join(self.word() for _ in range(rng.choice([1, 1, 2, 3])))
            return f"echo {text}", text
        if kind == 1:
            path = self.file_path()
            return f"wc -l {path}", f"{rng.randrange(1, 500)} {path}"
        if kind == 2:
            path = self.dir_path()
            return f"ls {path}", f"{self.file_name()} {self.file_name()}"
        if kind == 3:
            path = self.file_path()
            return f"cat {path}", f"{self.word()} {self.word()} {self.word()}"
        if kind == 4:
            path = self.dir_path()
            return f"du -sh {path}", f"{rng.randrange(1, 999)}K\t{path}"
        if kind == 5:
            path = self.dir_path()
            return f"mkdir -p {path}", "(no output)"
        if kind == 6:
            word, path = self.word(), self.file_path()
            return f"grep -c {word} {path}", str(rng.randrange(0, 60))
        if kind == 7:
            path = self.file_path()
            return f"head -n 1 {path}", f"{self.word()} {self.word()}"
        if kind == 8:
            user = self.user()
            return f"cd /home/{user} && pwd", f"/home/{user}"
        path = self.file_path()
        return f"touch {path}", "(no output)"
