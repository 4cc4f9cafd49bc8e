"""Names for the synthetic set: the team's given- and family-name lists with
Zipf-like weights (and the weighted sampler they, and the postcode
districts, are drawn with), the nickname and twin-spelling tables, a name's
display form and one-keystroke typos."""

import bisect
import os

HERE = os.path.dirname(os.path.abspath(__file__))

# Built-in nickname mapping (formal name -> what an officer may write).
NICKNAMES = {
    "william": ["bill", "billy", "will", "liam"],
    "elizabeth": ["liz", "lizzie", "beth", "betty", "eliza"],
    "robert": ["rob", "robbie", "bob", "bobby"],
    "richard": ["rich", "richie", "ricky"],
    "james": ["jim", "jimmy", "jamie"],
    "thomas": ["tom", "tommy"],
    "joseph": ["joe", "joey"],
    "michael": ["mike", "mikey", "mickey"],
    "christopher": ["chris", "kit"],
    "alexander": ["alex", "xander", "al"],
    "daniel": ["dan", "danny"],
    "samuel": ["sam", "sammy"],
    "benjamin": ["ben", "benji", "benny"],
    "matthew": ["matt", "matty"],
    "nathaniel": ["nate", "nat"],
    "nathan": ["nate", "nat"],
    "jonathan": ["jon", "jonny"],
    "edward": ["ed", "eddie", "ted", "teddy", "ned"],
    "henry": ["harry", "hal"],
    "frederick": ["fred", "freddie", "freddy"],
    "alfred": ["alf", "alfie"],
    "theodore": ["theo", "teddy"],
    "anthony": ["tony", "ant"],
    "andrew": ["andy", "drew"],
    "charles": ["charlie", "chas"],
    "zachary": ["zach", "zac"],
    "joshua": ["josh"],
    "oliver": ["ollie", "olly"],
    "harrison": ["harry"],
    "sebastian": ["seb"],
    "nicholas": ["nick", "nicky"],
    "patrick": ["pat", "paddy"],
    "dominic": ["dom"],
    "stanley": ["stan"],
    "gabriel": ["gabe"],
    "louis": ["lou"],
    "maximilian": ["max"],
    "timothy": ["tim", "timmy"],
    "jacob": ["jake"],
    "muhammad": ["mo"],
    "mohammed": ["mo"],
    "katherine": ["kate", "katie", "kat", "kathy"],
    "catherine": ["cath", "cathy", "kate", "katie"],
    "margaret": ["maggie", "meg", "peggy"],
    "victoria": ["vicky", "tori"],
    "rebecca": ["becky", "becca"],
    "abigail": ["abi", "abby"],
    "samantha": ["sam", "sammy"],
    "jennifer": ["jen", "jenny"],
    "alexandra": ["alex", "lexi", "sasha"],
    "charlotte": ["lottie", "charlie"],
    "isabella": ["bella", "izzy", "issy"],
    "isabelle": ["izzy", "belle"],
    "annabelle": ["annie", "bella"],
    "eleanor": ["ellie", "nell", "nora"],
    "josephine": ["jo", "josie"],
    "amelia": ["millie", "amy"],
    "matilda": ["tilly", "tilda"],
    "florence": ["flo", "flossie"],
    "penelope": ["penny"],
    "harriet": ["hattie"],
    "philippa": ["pippa"],
    "georgina": ["georgie"],
    "olivia": ["liv", "livvy"],
    "sophia": ["sophie"],
    "evelyn": ["evie"],
    "emily": ["em", "emmy"],
    "jessica": ["jess", "jessie"],
    "gabriella": ["gabby", "ella"],
    "natasha": ["tash", "tasha"],
    "madeleine": ["maddie"],
    "christina": ["chrissy", "tina"],
    "megan": ["meg"],
}

# Near-identical spellings parents give twins (each maps to its partner).
TWIN_VARIANTS = {}
for _a, _b in [("aiden", "aidan"), ("jayden", "jaden"), ("isabel", "isabelle"),
               ("layla", "leila"), ("ellie", "elly"), ("sophie", "sofia"),
               ("hannah", "hanna"), ("holly", "hollie"), ("ava", "eva"),
               ("leo", "leon"), ("katie", "kate"), ("mohammed", "mohammad"),
               ("elliot", "ellis"), ("mia", "maya"), ("harley", "harvey"),
               ("jake", "jack"), ("lily", "libby"), ("amelia", "emilia"),
               ("noah", "noel"), ("amber", "amba"), ("fennimore", "fenwicka"),
               ("freya", "freda"), ("oliver", "olivia"), ("ella", "ellie"),
               ("harry", "harvey"), ("isla", "isaac"), ("evie", "eve"),
               ("ruby", "rubin"), ("alfie", "albie"), ("grace", "gracie"),
               ("thomas", "tomas"), ("emily", "emilie"), ("lucas", "luca"),
               ("charlotte", "charlie"), ("george", "georgia"), ("max", "maxine")]:
    TWIN_VARIANTS[_a] = _b
    TWIN_VARIANTS[_b] = _a

KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbours():
    """{key: the keys next to it} on a QWERTY keyboard."""
    pos = {}
    for r, row in enumerate(KEYBOARD):
        for c, ch in enumerate(row):
            pos[ch] = (r, c)
    out = {}
    for ch, (r, c) in pos.items():
        out[ch] = "".join(o for o, (r2, c2) in pos.items()
                          if o != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1)
    return out


NEAR_KEYS = _neighbours()


class Sampler:
    """Picks from (item, weight) pairs in proportion to the weights."""

    def __init__(self, pairs):
        self.names = [n for n, _ in pairs]
        self.cum = []
        t = 0
        for _, w in pairs:
            t += w
            self.cum.append(t)
        self.total = t

    def pick(self, rng):
        return self.names[bisect.bisect_right(self.cum, rng.random() * self.total)]


def load_list(path):
    """{section: [(name, weight), ...]} from a list file; names before any
    `# [X]` heading are in section ""."""
    sections = {}
    sec = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s:
                continue
            if s.startswith("#"):
                if s.startswith("# [") and s.endswith("]"):
                    sec = s[3:-1]
                continue
            name, w = s.split()
            sections.setdefault(sec, []).append((name, int(w)))
    return sections


class NamePool:
    """Given names by sex and family names, drawn by popularity."""

    def __init__(self):
        g = load_list(os.path.join(HERE, "names_given.txt"))
        f = load_list(os.path.join(HERE, "names_family.txt"))
        self.given = {"M": Sampler(g["M"]), "F": Sampler(g["F"])}
        self.given_names = {"M": set(n for n, _ in g["M"]), "F": set(n for n, _ in g["F"])}
        self.family = Sampler(f[""])

    def family_name(self, rng):
        """A family name, now and then double-barrelled."""
        a = self.family.pick(rng)
        # ~2.5% double-barrelled on top of the hyphenated names in the list
        if "-" not in a and rng.random() < 0.025:
            b = self.family.pick(rng)
            if b != a and "-" not in b and "'" not in b:
                return a + "-" + b
        return a

    def given_name(self, rng, sex, avoid):
        """A given name for sex (either sex for "U"), not in avoid if 50
        draws can manage it."""
        s = sex if sex in ("M", "F") else rng.choice("MF")
        for _ in range(50):
            n = self.given[s].pick(rng)
            if n not in avoid:
                return n
        return n


_DISPLAY = {}


def display(name):
    """oliver -> Oliver, o'brien -> O'Brien, smith-jones -> Smith-Jones,
    mcdonald -> McDonald."""
    d = _DISPLAY.get(name)
    if d is not None:
        return d
    out = []
    part = ""
    for ch in name + "\0":
        if ch in "-' \0":
            if part:
                if part.startswith("mc") and len(part) > 2:
                    out.append("Mc" + part[2].upper() + part[3:])
                else:
                    out.append(part[0].upper() + part[1:])
            part = ""
            if ch != "\0":
                out.append(ch)
        else:
            part += ch
    d = "".join(out)
    _DISPLAY[name] = d
    return d


def typo(rng, name):
    """One keyboard error in a lower-case name: substitution, insertion,
    deletion or transposition of letters (never of - or ')."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    for _ in range(20):
        # the first letter is rarely the wrong one
        pool = letters if rng.random() < 0.1 or len(letters) < 3 else letters[1:]
        i = rng.choice(pool)
        op = rng.random()
        ch = name[i]
        if op < 0.35:
            near = NEAR_KEYS.get(ch) or "aeiou"
            rep = rng.choice(near) if rng.random() < 0.7 else rng.choice("abcdefghijklmnopqrstuvwxyz")
            out = name[:i] + rep + name[i + 1:]
        elif op < 0.6:
            ins = ch if rng.random() < 0.5 else rng.choice(NEAR_KEYS.get(ch) or "e")
            out = name[:i + 1] + ins + name[i + 1:]
        elif op < 0.8:
            if len(letters) < 3:
                continue
            out = name[:i] + name[i + 1:]
        else:
            if i + 1 >= len(name) or not name[i + 1].isalpha() or name[i] == name[i + 1]:
                continue
            out = name[:i] + name[i + 1] + name[i] + name[i + 2:]
        if out != name and out[0].isalpha():
            return out
    return name + "e" if not name.endswith("e") else name[:-1]
