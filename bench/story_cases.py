"""Our own written story cases: reports of one event by different outlets in their own words,
follow-ups, and the negatives that must never join (same outlet and day, same kind of event
elsewhere, one site's boilerplate). Each case: (id, event, outlet site, ISO time, text)."""

from __future__ import annotations

SITE_FOOTER = ("Lakeside Herald is the independent voice of the lake district since 1904. "
               "Support our reporting with a subscription from 3 euros a month. Send news "
               "tips to our newsroom; every message is read by an editor.")

CASES: tuple[tuple[str, str, str, str, str], ...] = (
    # -- a ferry capsizes on the Meghna river: three outlets, then a follow-up -------------
    ("ferry-1", "ferry-meghna", "dhaka-tribune.example", "2024-04-14T06:10:00+00:00",
     "At least 27 people drowned when an overloaded ferry, the MV Shapla Express, capsized "
     "on the Meghna river near Chandpur on Sunday morning, Bangladesh's fire service said. "
     "Divers from the Bangladesh Navy pulled survivors from the water for hours. The ferry "
     "had left Dhaka's Sadarghat terminal late on Saturday with more than 150 passengers "
     "heading home for Eid, according to the Bangladesh Inland Water Transport Authority. "
     "District commissioner Kamrul Hasan said an inquiry would examine why the vessel sailed "
     "despite storm warnings."),
    ("ferry-2", "ferry-meghna", "asia-wire.example", "2024-04-14T09:45:00+00:00",
     "CHANDPUR, Bangladesh - Rescuers searched the Meghna on Sunday for dozens still missing "
     "after the Shapla Express overturned in strong winds. Officials put the death toll at "
     "27. Survivors said the crew ignored a storm signal and kept taking passengers at "
     "Sadarghat. \"The water came over the deck in seconds,\" said Rupa Akter, 34, who lost "
     "her nephew. Kamrul Hasan, the Chandpur district commissioner, promised compensation of "
     "25,000 taka for each family. Navy divers and the fire service worked through the "
     "afternoon."),
    ("ferry-3", "ferry-meghna", "global-news-daily.example", "2024-04-14T15:20:00+00:00",
     "Bangladesh mourns as Eid ferry disaster kills 27. The MV Shapla Express sank on the "
     "Meghna river near Chandpur, the latest in a long list of ferry accidents in the "
     "delta nation. Maritime experts blame weak enforcement by the Inland Water Transport "
     "Authority and chronic overloading before holidays. Prime Minister Sheikh Hasina "
     "expressed shock and ordered the navy to continue the search."),
    ("ferry-4", "ferry-meghna", "dhaka-tribune.example", "2024-04-16T08:00:00+00:00",
     "Police arrested the owner and the master of the MV Shapla Express on Tuesday, two days "
     "after the ferry capsized on the Meghna near Chandpur. The death toll rose to 41 as "
     "navy divers recovered more bodies. Kamrul Hasan said the inquiry committee found the "
     "vessel carried three times its licensed load when it left Sadarghat."),
    # -- wildfire near Athens: two outlets, a same-kind event elsewhere must not join ------
    ("fire-1", "fire-attica", "kathimerini-en.example", "2024-07-30T11:00:00+00:00",
     "A wildfire fanned by gale-force winds raced through pine forests north of Athens on "
     "Tuesday, forcing the evacuation of Varnavas, Marathon and Grammatiko. The fire "
     "service deployed 400 firefighters and 12 water-bombing aircraft. Civil protection "
     "minister Vassilis Kikilias said the blaze was burning on three fronts. Smoke "
     "covered the Attica basin and the Acropolis was closed to visitors."),
    ("fire-2", "fire-attica", "euro-desk.example", "2024-07-30T16:30:00+00:00",
     "ATHENS - Greek authorities ordered thousands of residents out of Marathon and nearby "
     "villages as a fast-moving fire approached from Varnavas. Vassilis Kikilias, the "
     "minister for climate crisis and civil protection, warned the next hours would be "
     "critical. Canadair planes scooped water from the Marathon reservoir. Temperatures "
     "above 40 degrees and winds of 70 km/h made the Attica fire hard to contain."),
    ("fire-ca", "fire-bc", "kathimerini-en.example", "2024-07-30T18:00:00+00:00",
     "In Canada, a wildfire near Kelowna in British Columbia forced 2,500 people to leave "
     "their homes on Tuesday. The BC Wildfire Service said the fire doubled in size "
     "overnight and crews were protecting houses along Okanagan Lake. Premier David Eby "
     "declared a state of emergency for the Central Okanagan."),
    # -- one outlet, one day, different events --------------------------------------------
    ("ledger-1", "council-budget", "valley-ledger.example", "2024-03-05T09:00:00+00:00",
     "Rivertown council approved a 48 million budget on Monday after a four-hour debate. "
     "Mayor Ellen Voss said the plan funds two new bus lines and repairs to the Miller "
     "Street bridge. Councillor Tom Adebayo voted against, arguing the property tax rise "
     "of 3.2 percent was too high for pensioners."),
    ("ledger-2", "cup-final", "valley-ledger.example", "2024-03-05T21:30:00+00:00",
     "Rivertown Rovers won the county cup for the first time in 31 years, beating Ashford "
     "United 2-1 at Kingsmead Park. Striker Jamal Okoro scored twice after the break and "
     "goalkeeper Piotr Nowicki saved a late penalty. Manager Sue Harding dedicated the "
     "trophy to the club's volunteers."),
    ("ledger-3", "hospital-strike", "valley-ledger.example", "2024-03-05T13:00:00+00:00",
     "Nurses at St Brigid's Hospital walked out for 24 hours on Tuesday over staffing "
     "levels. The Royal College of Nursing said 180 members joined the picket at the main "
     "entrance. Hospital chief executive Mark Delaney said planned operations were "
     "postponed and the emergency department stayed open."),
    # -- one site's boilerplate on different stories --------------------------------------
    ("herald-1", "marina-opening", "lakeside-herald.example", "2024-05-02T10:00:00+00:00",
     "The new marina at Port Alder opened on Thursday with 120 berths and a public "
     "promenade. Harbour master Greta Lindqvist said bookings already cover the summer. "
     + SITE_FOOTER),
    ("herald-2", "school-award", "lakeside-herald.example", "2024-05-02T15:00:00+00:00",
     "Pupils of Birchwood Primary won the national science fair with a solar-powered "
     "boat, teacher Anil Mehta said on Thursday. The team travels to Geneva in June. "
     + SITE_FOOTER),
    ("herald-3", "library-fire", "lakeside-herald.example", "2024-05-03T08:00:00+00:00",
     "A small fire damaged the reading room of the Port Alder library overnight, fire "
     "chief Oskar Brandt said. No one was hurt and the library reopens on Monday. "
     + SITE_FOOTER),
)
