"""Word lists for the synthetic county (``pipeline.synth.county``): names, places, schools, offences.

Every name here is a common word or name, combined at random: no list entry, and no
combination the generator makes, describes a real person. Lists are ordered roughly by
commonness, because the generator weights earlier entries more (a Zipf-like curve).
"""

from __future__ import annotations

from functools import lru_cache

FEMALE_FORENAMES: tuple[str, ...] = (
    "Olivia", "Amelia", "Isla", "Ava", "Emily", "Sophia", "Grace", "Mia", "Poppy", "Ella",
    "Lily", "Evie", "Isabella", "Charlotte", "Jessica", "Freya", "Sophie", "Alice", "Florence",
    "Chloë", "Daisy", "Ruby", "Matilda", "Phoebe", "Harriet", "Eleanor", "Zoë", "Rosie",
    "Evelyn", "Willow", "Sienna", "Millie", "Elizabeth", "Katherine", "Rebecca", "Sarah",
    "Emma", "Laura", "Hannah", "Amy", "Lucy", "Rachel", "Samantha", "Victoria", "Natalie",
    "Jennifer", "Nicola", "Claire", "Kelly", "Michelle", "Lisa", "Joanne", "Louise", "Gemma",
    "Stacey", "Kirsty", "Danielle", "Abigail", "Alexandra", "Margaret", "Susan", "Deborah",
    "Patricia", "Christine", "Theresa", "Siân", "Niamh", "Aoife", "Siobhán", "Renée", "Zofia",
    "Maja", "Aisha", "Fatima", "Amira", "Layla", "Priya", "Anaya", "Gabriella", "Isabelle",
    "Megan", "Bethany", "Leah", "Courtney", "Chelsea", "Jade", "Keeley", "Tia", "Maisie",
    "Esmé", "Beatrix", "Ivy", "Violet", "Aurora", "Hallie", "Nell", "Edith", "Mabel", "Nancy",
)
MALE_FORENAMES: tuple[str, ...] = (
    "Oliver", "George", "Noah", "Arthur", "Harry", "Leo", "Muhammad", "Jack", "Charlie",
    "Oscar", "Jacob", "Henry", "Thomas", "Freddie", "Alfie", "Theo", "William", "Theodore",
    "James", "Joshua", "Archie", "Alexander", "Edward", "Samuel", "Joseph", "Daniel", "Benjamin",
    "Alfred", "Frederick", "Archibald", "Matthew", "Michael", "Christopher", "Jonathan",
    "Nicholas", "Anthony", "Richard", "Stephen", "Robert", "David", "Paul", "Mark", "Andrew",
    "Peter", "John", "Simon", "Lee", "Craig", "Darren", "Wayne", "Jason", "Dean", "Gary",
    "Kevin", "Scott", "Ryan", "Jamie", "Liam", "Connor", "Kieran", "Callum", "Lewis", "Luke",
    "Nathan", "Zachary", "Nathaniel", "Charles", "Ethan", "Mason", "Logan", "Tyler", "Reece",
    "Seán", "Ciarán", "Rhys", "Dylan", "Gethin", "Jakub", "Łukasz", "Piotr", "Tomasz",
    "Mateusz", "Adam", "Ibrahim", "Yusuf", "Omar", "Arjun", "Rohan", "Kai", "Finley", "Teddy",
    "Reuben", "Ezra", "Ronnie", "Albie", "Stanley", "Louis", "Hugo", "Felix", "Rory", "Toby",
)
SURNAMES: tuple[str, ...] = (
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Thomas", "Clarke", "Jackson", "Wood", "Harris", "Edwards", "Turner", "Martin", "Cooper",
    "Hill", "Ward", "Hughes", "Moore", "Clark", "King", "Harrison", "Lewis", "Baker", "Lee",
    "Allen", "Morris", "Khan", "Scott", "Watson", "Davis", "Parker", "James", "Bennett",
    "Young", "Phillips", "Richardson", "Mitchell", "Bailey", "Carter", "Cook", "Singh",
    "Shaw", "Bell", "Collins", "Morgan", "Kelly", "Begum", "Miller", "Cox", "Hussain",
    "Marshall", "Simpson", "Price", "Anderson", "Adams", "Wilkinson", "Ali", "Ahmed", "Foster",
    "Ellis", "Murphy", "Chapman", "Mason", "Gray", "Richards", "Webb", "Griffiths", "Hunt",
    "Palmer", "Campbell", "Holmes", "Mills", "Rogers", "Barnes", "Knight", "Matthews", "Barker",
    "Powell", "Stevens", "Kaur", "Fisher", "Butler", "Dixon", "Russell", "Harvey", "Pearson",
    "Graham", "Fletcher", "Howard", "Gibson", "Dawson", "Payne", "Spencer", "Lawrence", "Marsh",
    "Finch", "Hale", "Brook", "Howes", "Goffin", "Gotts", "Blyth", "Thurston", "Utting",
    "Eastick", "Loades", "Mallett", "Bussey", "Hewitt", "Rix", "Gedge", "Sayer", "Platten",
    "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Lewandowski", "Zieliński", "Kamiński",
    "Dąbrowski", "Kazlauskas", "Popescu", "Ionescu", "Silva", "Santos", "Pereira", "Müller",
    "O'Brien", "O'Connor", "McCarthy", "MacDonald", "Ní Bhriain", "Ó Súilleabháin", "Núñez",
    "Harding-Wells", "Lloyd-Jones", "Smith-Jones", "Fortescue-Brown", "Ashby-Smith",
    "Bowes-Lyon", "Hyde-Parker", "Vaughan-Williams", "Clarke-Hall", "Baptiste-Walker",
)

# Curated formal name -> nicknames a police officer at a scene might write down. The
# `nicknames` package (a US-centred map) supplements it for names not listed here.
CURATED_NICKNAMES: dict[str, tuple[str, ...]] = {
    "Alfred": ("Alfie", "Alf", "Fred"), "William": ("Bill", "Will", "Billy", "Liam"),
    "Robert": ("Bob", "Rob", "Bobby", "Robbie"), "Thomas": ("Tom", "Tommy"),
    "James": ("Jim", "Jimmy", "Jamie"), "Daniel": ("Dan", "Danny"), "Michael": ("Mike", "Mick"),
    "Christopher": ("Chris", "Kit"), "Matthew": ("Matt",), "Jonathan": ("Jon", "Jonny"),
    "Benjamin": ("Ben", "Benji"), "Samuel": ("Sam", "Sammy"), "Joseph": ("Joe", "Joey"),
    "Edward": ("Ed", "Eddie", "Ted", "Teddy"), "Henry": ("Harry", "Hal"),
    "Alexander": ("Alex", "Xander", "Sandy"), "Nicholas": ("Nick", "Nicky"),
    "Anthony": ("Tony", "Ant"), "Richard": ("Rick", "Richie", "Dick"), "Stephen": ("Steve",),
    "Charles": ("Charlie", "Chas"), "Frederick": ("Freddie", "Fred"), "Oliver": ("Ollie", "Olly"),
    "Archibald": ("Archie",), "Theodore": ("Theo", "Ted"), "Joshua": ("Josh",),
    "Zachary": ("Zach", "Zac"), "Nathaniel": ("Nate", "Nat"), "Nathan": ("Nate", "Nat"),
    "Andrew": ("Andy", "Drew"), "David": ("Dave", "Davy"), "Peter": ("Pete",),
    "Kevin": ("Kev",), "Gary": ("Gaz",), "Stanley": ("Stan",), "Reuben": ("Rube",),
    "Ronnie": ("Ron",), "Callum": ("Cal",), "Jakub": ("Kuba",), "Tomasz": ("Tomek",),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Betty"), "Katherine": ("Kate", "Katie", "Kathy"),
    "Margaret": ("Maggie", "Peggy", "Meg"), "Rebecca": ("Becky", "Becca"),
    "Jennifer": ("Jenny", "Jen"), "Victoria": ("Vicky", "Tori"), "Samantha": ("Sam", "Sammy"),
    "Charlotte": ("Lottie", "Charlie"), "Abigail": ("Abbie", "Abby"),
    "Alexandra": ("Alex", "Lexi"), "Eleanor": ("Ellie", "Nell"), "Isabella": ("Bella", "Izzy"),
    "Isabelle": ("Izzy", "Belle"), "Jessica": ("Jess", "Jessie"), "Deborah": ("Debbie", "Deb"),
    "Susan": ("Sue", "Suzy"), "Patricia": ("Pat", "Trish"), "Amelia": ("Millie", "Amy"),
    "Florence": ("Flo", "Florrie"), "Matilda": ("Tilly", "Tilda"), "Olivia": ("Liv", "Livvy"),
    "Sophia": ("Sophie",), "Gabriella": ("Gabby", "Ella"), "Natalie": ("Nat",),
    "Christine": ("Chris", "Chrissie"), "Theresa": ("Tess", "Terri"), "Harriet": ("Hattie",),
    "Danielle": ("Dani",), "Nicola": ("Nicky",), "Joanne": ("Jo",), "Bethany": ("Beth",),
    "Evelyn": ("Evie",), "Beatrix": ("Bea", "Trixie"), "Gemma": ("Gem",), "Megan": ("Meg",),
}

# name, postcode districts, share of the county's addresses
TOWNS: tuple[tuple[str, tuple[str, ...], float], ...] = (
    ("Norwich", ("NR1", "NR2", "NR3", "NR4", "NR5", "NR6", "NR7"), 0.35),
    ("Great Yarmouth", ("NR30", "NR31"), 0.10),
    ("King's Lynn", ("PE30", "PE31"), 0.10),
    ("Thetford", ("IP24",), 0.05),
    ("Dereham", ("NR19", "NR20"), 0.05),
    ("Wymondham", ("NR18",), 0.04),
    ("Cromer", ("NR27",), 0.03),
    ("North Walsham", ("NR28",), 0.04),
    ("Diss", ("IP22",), 0.04),
    ("Swaffham", ("PE37",), 0.03),
    ("Fakenham", ("NR21",), 0.03),
    ("Attleborough", ("NR17",), 0.03),
    ("Downham Market", ("PE38",), 0.04),
    ("Sheringham", ("NR26",), 0.02),
    ("Aylsham", ("NR11",), 0.03),
)
# Villages put in address_line2 when a town has run out of distinct street names.
LOCALITIES: tuple[str, ...] = (
    "Hethersett", "Costessey", "Drayton", "Taverham", "Sprowston", "Thorpe St Andrew",
    "Poringland", "Brundall", "Acle", "Caister-on-Sea", "Gorleston", "Hunstanton", "Watton",
    "Loddon", "Hingham", "Holt", "Wells-next-the-Sea", "Stalham", "Hoveton", "Mattishall",
)
STREET_NAMES: tuple[str, ...] = (
    "High", "Mill", "Church", "Station", "Orchard", "Manor", "School", "Chapel", "Park",
    "Victoria", "Queens", "Kings", "Market", "Bridge", "London", "Norwich", "Yarmouth", "Castle",
    "Abbey", "Priory", "Beech", "Oak", "Elm", "Ash", "Willow", "Cedar", "Holly", "Hawthorn",
    "Meadow", "Field", "Marsh", "Heath", "Common", "Green", "Windmill", "Water", "River",
    "Brook", "Spring", "Well", "North", "South", "East", "West", "Broad", "Long", "New",
    "Old", "Cromer", "Dereham", "Unthank", "Magdalen", "Colegate", "Rosary", "Thorpe",
    "Earlham", "Bowthorpe", "Mile End", "Bluebell", "Primrose", "Poppy", "Lavender", "Heron",
    "Kestrel", "Swallow", "Falcon", "Nelson", "Wellington", "Trafalgar", "Coronation",
    "Jubilee", "Albert", "Alexandra", "George", "Edward", "Stuart", "Tudor", "Rectory",
    "Vicarage", "Grange", "Hall", "Farm", "Barn", "Pond", "Lake", "Ferry", "Quay", "Harbour",
    "Sandy", "Clay", "Chalk", "Flint", "Stone", "Rope Walk", "Tanner", "Cooper", "Weaver",
)
# full street type -> the abbreviation partners also write
STREET_TYPES: tuple[tuple[str, str], ...] = (
    ("Street", "St"), ("Road", "Rd"), ("Lane", "Ln"), ("Avenue", "Ave"), ("Close", "Cl"),
    ("Drive", "Dr"), ("Gardens", "Gdns"), ("Crescent", "Cres"), ("Terrace", "Terr"),
    ("Court", "Ct"), ("Way", "Way"), ("Place", "Pl"), ("Grove", "Gr"), ("Row", "Row"),
)
SCHOOL_WORDS: tuple[str, ...] = (
    "St Mary's CE", "St Andrew's CE", "Holy Trinity", "Oak Grove", "Heartsease", "Riverside",
    "Meadow", "Kingsway", "Parkside", "Fairfield", "Woodland", "Hillcrest", "Lakeside",
    "Greenfields", "Highfield", "Brecklands", "Broadland", "Marshland", "Willow Brook", "Avenue",
)
OFFENCES: tuple[str, ...] = (
    "Common assault", "Assault occasioning actual bodily harm", "Controlling or coercive behaviour",
    "Harassment", "Criminal damage", "Threats to kill", "Stalking", "Malicious communications",
    "Breach of non-molestation order", "Non-fatal strangulation", "Sexual assault",
    "Verbal argument - no offence", "Domestic incident - no crime", "Theft from partner",
)


@lru_cache(maxsize=1)
def nickname_table() -> dict[str, tuple[str, ...]]:
    """Forename -> nicknames, for every forename in the lists that has at least one."""
    from nicknames import NickNamer

    namer = NickNamer()
    table: dict[str, tuple[str, ...]] = {}
    for name in FEMALE_FORENAMES + MALE_FORENAMES:
        if name in CURATED_NICKNAMES:
            table[name] = CURATED_NICKNAMES[name]
            continue
        found = sorted(n.capitalize() for n in namer.nicknames_of(name.lower()) if len(n) >= 3)
        if found:
            table[name] = tuple(found[:3])
    return table
