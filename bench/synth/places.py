"""Places for the synthetic set: invented street addresses with Derbyshire
(DE) postcodes and UPRNs, and the primary and secondary schools of each
postcode district, which also hand out UPNs."""

from identifiers import LA_CODE, upn_check
from names import Sampler

STREET_A = ["Oak", "Elm", "Ash", "Birch", "Willow", "Hawthorn", "Rowan", "Holly",
            "Beech", "Chestnut", "Cedar", "Larch", "Maple", "Poplar", "Alder",
            "Hazel", "Linden", "Sycamore", "Juniper", "Laurel", "Meadow", "Brook",
            "Mill", "Church", "Station", "School", "Park", "Field", "Spring",
            "Orchard", "Quarry", "Chapel", "Forge", "Well", "Castle", "Canal",
            "Bridge", "Market", "Kiln", "Lark", "Wren", "Finch", "Swallow",
            "Heron", "Kestrel", "Plover", "Lapwing", "Otter", "Badger", "Vixen"]
STREET_B = ["Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way",
            "Crescent", "Grove", "Gardens", "Court", "Rise", "View", "Walk",
            "Place", "Terrace", "Mews"]
# Districts DE1..DE75 with rough weights (a city core and market towns).
DISTRICTS = [(1, 3), (3, 8), (4, 2), (5, 4), (6, 2), (7, 3), (11, 5), (12, 3),
             (13, 4), (14, 3), (15, 4), (21, 7), (22, 8), (23, 8), (24, 8),
             (45, 2), (55, 5), (56, 4), (65, 4), (72, 4), (73, 3), (74, 4),
             (75, 5)]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


class Places:
    """Postcode units, each with its own street, and the addresses in them."""

    def __init__(self, rng, n_households):
        # About five households per postcode unit that has any children in
        # it (a unit is ~15 addresses), bounded by the units the districts
        # can hold.
        n = max(200, min(n_households // 5, len(DISTRICTS) * 10 * len(INWARD_LETTERS) ** 2 * 4 // 5))
        dsam = Sampler([(d, w) for d, w in DISTRICTS])
        seen = set()
        self.postcodes, self.streets, self.district = [], [], []
        while len(self.postcodes) < n:
            d = dsam.pick(rng)
            pc = "DE%d %d%s%s" % (d, rng.randrange(10), rng.choice(INWARD_LETTERS),
                                  rng.choice(INWARD_LETTERS))
            if pc in seen:
                continue
            seen.add(pc)
            self.postcodes.append(pc)
            self.district.append(d)
            self.streets.append(rng.choice(STREET_A) + " " + rng.choice(STREET_B))
        self.next_no = [1] * n
        self.uprn_serial = 0
        self.by_district = {}
        for i, d in enumerate(self.district):
            self.by_district.setdefault(d, []).append(i)

    def new_address(self, rng, near=None):
        """An unused address; `near` (a postcode index) keeps it in that district."""
        if near is not None and rng.random() < 0.6:
            i = rng.choice(self.by_district[self.district[near]])
        else:
            i = rng.randrange(len(self.postcodes))
        no = self.next_no[i]
        self.next_no[i] += 1 + (rng.random() < 0.3)
        uprn = None
        if rng.random() < 0.8:
            self.uprn_serial += 1
            uprn = str(990000000000 + self.uprn_serial)
        return Address("%d %s" % (no, self.streets[i]), self.postcodes[i], uprn, i)

    def town(self, pc_index):
        """Derby for the city districts (DE1-7, DE21-24), else Derbyshire."""
        d = self.district[pc_index]
        return "Derby" if d <= 7 or 21 <= d <= 24 else "Derbyshire"


class Address:
    """A household's address; pc is its postcode unit's index in Places."""

    __slots__ = ("line1", "postcode", "uprn", "pc")

    def __init__(self, line1, postcode, uprn, pc):
        self.line1, self.postcode, self.uprn, self.pc = line1, postcode, uprn, pc


class Schools:
    """Primary and secondary schools (URN and establishment number) by
    district: about 450 children per primary and 3,000 per secondary."""

    def __init__(self, rng, n_children, places):
        n_prim = min(5000, max(8, n_children // 450))
        n_sec = min(1500, max(2, n_children // 3000))
        urns = rng.sample(range(100000, 200000), n_prim + n_sec)
        estabs = rng.sample(range(1000, 8000), n_prim + n_sec)
        dlist = sorted(places.by_district)
        dsam = Sampler([(d, w) for d, w in DISTRICTS if d in places.by_district])
        self.prim, self.sec = {}, {}
        for k in range(n_prim + n_sec):
            # spread schools over districts: round-robin first, then weighted
            d = dlist[k % len(dlist)] if k < len(dlist) else dsam.pick(rng)
            target = self.prim if k < n_prim else self.sec
            target.setdefault(d, []).append((str(urns[k]), "%04d" % estabs[k]))
        self.all_prim = [s for d in sorted(self.prim) for s in self.prim[d]]
        self.all_sec = [s for d in sorted(self.sec) for s in self.sec[d]]
        self.serial = {}

    def pick(self, rng, phase, district):
        """A school of phase "P" or "S", usually one in the district."""
        table, every = (self.prim, self.all_prim) if phase == "P" else (self.sec, self.all_sec)
        local = table.get(district)
        if local and rng.random() < 0.85:
            return rng.choice(local)
        return rng.choice(every)

    def upn(self, estab, year):
        """The next UPN for a pupil who started at estab in year, or None
        once its 1,000 serials are used."""
        key = (estab, year)
        n = self.serial.get(key, 0)
        if n > 999:
            return None
        self.serial[key] = n + 1
        body = "%s%s%02d%03d" % (LA_CODE, estab, year % 100, n)
        return upn_check(body) + body
