"""Writes eval/documents/: a PDF report, a Romanian Word report, an HTML documentation page and a Markdown file."""
import argparse
import html
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.documents import make_docx, make_pdf, page_html, paragraphs_html  # noqa: E402

REPORT_TITLE = "Port Averill Water Authority - Annual Report 2025"

REPORT = """# Port Averill Water Authority: Annual Report 2025

## A message from the managing director

The Port Averill Water Authority supplies drinking water to 412,000 residents in the city's six districts
through 148,300 service connections. This report covers the calendar year 2025, a year shaped by the driest
summer the region has recorded since 2018, by the completion of the largest treatment upgrade in two decades,
and by steady progress on the replacement of old cast-iron mains and lead service lines.

I want to thank the 684 people who work for the Authority. When the heatwave of early August pushed demand to a
record, our treatment crews at Coldbrook kept every reservoir zone supplied, and our field teams repaired more
leaks than in any previous year. Customers responded to our appeals to save water, and without their help the
restrictions of late summer would have lasted much longer.

Our priorities for 2026 are set out at the end of this report. The most important of them is the expansion of
the Greyside wellfield, which will give the city a second reliable source during dry years. - Helen Okafor,
Managing Director

## Where our water comes from

Two sources supply the city. Lake Merrow, an upland reservoir 23 kilometres north of Port Averill with a
capacity of 96 million cubic metres, provided 71 percent of the water we treated in 2025. The remaining 29
percent came from the Greyside aquifer, which is reached through eleven wells on the western edge of the city.
Water from both sources is treated at the Coldbrook Treatment Works, which can produce up to 210,000 cubic
metres a day.

In 2025 the Authority produced 51.2 million cubic metres of drinking water, an average of 140,300 cubic metres a
day. Demand peaked on 3 August 2025, when the city used 188,900 cubic metres in a single day during the third
day of the heatwave. That was 9 percent above the previous record, set in July 2022.

The level of Lake Merrow fell steadily from June onwards. On 29 September 2025 the reservoir held 61 percent of
its capacity, its lowest level since the autumn of 2018. A hosepipe ban was in force from 18 August to 6 October
2025, and customers were asked not to water lawns, fill paddling pools or wash cars with a hose. Heavy rain in
the second week of October refilled the lake to 74 percent by the end of the month, and it stood at 88 percent
on 31 December.

## Treatment and water quality

The most significant project of the year was the new ultraviolet disinfection stage at Coldbrook. It was
commissioned on 14 May 2025, four weeks ahead of schedule, at a cost of 18.4 million dollars. Ultraviolet light
inactivates chlorine-resistant parasites such as Cryptosporidium, which gives the city a second barrier against
the kind of contamination that closed the Greyside wells for nine days in 2019. The plant now uses 14 percent
less chlorine than before the upgrade, and customers in the northern districts have told us that the taste of
chlorine in their tap water is less noticeable.

Our laboratory and an independent contractor tested 24,870 samples taken across the network, at the treatment
works and at customers' taps. Of these, 99.96 percent met every regulatory standard. The ten samples that did
not were investigated within 24 hours. Seven were traced to the plumbing inside the buildings where they were
taken, two to a faulty sampling tap, and one to a burst main.

That burst main, on Quarry Road, failed on the evening of 8 September 2025 and let soil enter the pipe. As a
precaution the Authority issued a boil water notice for 3,400 homes in Marlow Heights from 9 to 11 September.
Bottled water was handed out at the Marlow Heights community centre, and the notice was lifted after two
consecutive sets of clean samples. It was the only boil water notice of the year.

## The network

The Authority maintains 2,310 kilometres of water mains. During 2025 our contractors replaced 38.5 kilometres of
cast-iron mains, most of them laid before 1950, with polyethylene pipe. The work was concentrated in Eastgate
and Hollin Park, the two districts where bursts were most frequent.

Field teams repaired 1,276 leaks in 2025, compared with 1,104 in 2024. The average time from a customer's report
to a completed repair fell from 4.1 days to 2.6 days, thanks largely to the acoustic loggers installed on 640
kilometres of mains, which find many leaks before they reach the surface. Non-revenue water, the share of
treated water that is lost to leaks or is not billed, fell from 22.4 percent in 2024 to 19.8 percent in 2025.
Our target for 2027 is 17 percent.

Lead service lines remain a concern in the oldest parts of the city. We replaced 2,940 lead service lines in
2025 at no cost to the households concerned, and about 6,100 remain. The Authority has committed to removing all
of them by the end of 2029. Until then, households with a lead line receive a free filter jug and replacement
cartridges.

## Customers and charges

The average household bill in 2025 was 512 dollars, an increase of 4.5 percent on 2024. The increase, approved
by the city council in November 2024, pays for the Coldbrook upgrade and the mains programme. Households that
struggle to pay can apply for WaterHelp, our social tariff, which reduces the bill by 40 percent. At the end of
2025, 9,850 households were enrolled in WaterHelp, up from 7,200 a year earlier.

Our contact centre answered 31,200 calls during the year. We received 1,930 complaints, most of them about low
water pressure in the hillside streets of Marlow Heights and Upper Fenwick during the heatwave. On 2 June 2025
we launched TapTrack, a mobile app that lets customers report leaks with a photo, follow repairs on a map and
read their meter. By December it had been downloaded 38,000 times, and 27 percent of all leak reports arrived
through it.

## Quarterly figures

The table below summarises the main operating figures for each quarter of 2025.

[[TABLE]]

## Energy and the environment

Pumping and treating water is the Authority's largest use of electricity. In 2025 we used 61.3 gigawatt-hours,
of which 22 percent came from the 4.2-megawatt solar array that opened beside the Coldbrook Treatment Works in
2024. The remaining electricity was bought on a renewable supply contract that runs until 2028.

With the Greyside Wildlife Trust we restored 35 hectares of wetland along the Merrow River below the dam, which
slows runoff from the surrounding farmland and filters it before it reaches the reservoir. Volunteers planted
12,500 native trees on the northern shore of Lake Merrow during the winter planting season.

## Schools and the community

Our education programme, Tap Into It, welcomed 4,800 pupils from 61 schools to the Coldbrook visitor centre in
2025, where they followed a drop of water from the lake to the tap. Teachers can book a visit free of charge for
classes from the age of eight.

The open day on 20 September 2025 attracted 2,150 visitors, the largest number since the open days began in
2016. Guided tours of the new ultraviolet stage were fully booked within two days of being announced.

We installed 46 public drinking fountains with bottle refill points in parks, at the railway station and along
the seafront promenade, bringing the total across the city to 118. Through the River Fund, the Authority awarded
250,000 dollars in small grants to 18 local groups for projects that protect rivers and streams, from litter
picks on the Merrow to a rainwater garden at Hollin Park primary school.

## Finances

Revenue for 2025 was 214.6 million dollars, of which 93 percent came from water charges and the rest from
connection fees and grants. Operating costs were 151.2 million dollars. The Authority invested 96.8 million
dollars in new and renewed assets, including the Coldbrook upgrade, the mains programme and the lead service
line replacements. Part of this investment was financed by a 40 million dollar green bond issued in March 2025,
which was three times oversubscribed.

## People

At the end of the year the Authority employed 684 people, including 37 apprentices in the mechanical, electrical
and laboratory trades. There were five lost-time injuries in 2025, down from nine in 2024. Tomas Lindqvist, who
has chaired the Authority's board since 2019, will step down in June 2026, and the city council has begun the
search for his successor.

## Looking ahead to 2026

Three projects will shape the coming year. The first is the Greyside wellfield expansion: three new wells and a
pipeline to Coldbrook, at an estimated cost of 27 million dollars, which will raise the aquifer's share of
supply to about 40 percent in dry years. Construction begins in March 2026. The second is a new intake tower at
Lake Merrow, which will let the plant draw water from several depths and avoid the warm surface layer in summer;
work starts in April 2026. The third is smart meters: we plan to install 60,000 of them by the end of 2027,
starting in Eastgate in the spring of 2026, so that customers can see their use each day and leaks inside homes
are found sooner.
"""

REPORT_TABLE = [
    ("Quarter", "Water produced (million m3)", "Leaks repaired", "Samples tested", "Complaints"),
    ("Q1", "11.9", "262", "6,020", "310"),
    ("Q2", "12.6", "301", "6,180", "402"),
    ("Q3", "14.3", "412", "6,390", "861"),
    ("Q4", "12.4", "301", "6,280", "357"),
]

LIBRARY = [
    ("h1", "Biblioteca Municipală „Petre Ispirescu” din Valea Albă"),
    ("p", "Raport de activitate pentru anul 2024, prezentat Consiliului Local în ședința din 27 februarie 2025."),
    ("h2", "Pe scurt"),
    ("p", "În 2024 biblioteca a avut 12.870 de cititori activi, dintre care 4.150 de copii și adolescenți. "
          "Cititorii au făcut 143.600 de vizite la sediul central și la cele trei filiale și au împrumutat "
          "98.340 de cărți, reviste și documente audiovizuale, cu 11% mai mult decât în 2023."),
    ("p", "Fondul de carte a ajuns la 186.450 de volume. Am cumpărat 7.320 de volume noi, iar alte 1.180 "
          "au fost donate de cititori și de Asociația Prietenii Bibliotecii."),
    ("h2", "Activitatea pe secții"),
    ("p", "Tabelul de mai jos arată activitatea sediului central și a fiecărei filiale în 2024."),
    ("table", [
        ("Secția", "Cititori activi", "Împrumuturi", "Evenimente"),
        ("Sediul central", "6.940", "55.210", "148"),
        ("Filiala Nord", "3.010", "22.480", "64"),
        ("Filiala Podgoria", "1.170", "7.350", "21"),
        ("Filiala Gării", "1.750", "13.300", "47"),
    ]),
    ("p", "Filiala Podgoria a fost închisă între 1 aprilie și 14 octombrie pentru renovare. Clădirea a primit "
          "acoperiș nou, încălzire cu pompă de căldură și o rampă de acces pentru persoanele în scaun cu rotile. "
          "Filiala s-a redeschis pe 15 octombrie 2024, iar lucrările au costat 780.000 de lei."),
    ("h2", "Programe pentru copii și tineri"),
    ("p", "Programul de vacanță „Vara cu povești” s-a desfășurat între 1 iulie și 30 august. La el au participat "
          "1.240 de copii, care au citit împreună peste 5.000 de cărți. Cei mai harnici cititori au primit "
          "diplome și abonamente gratuite la bazinul orășenesc."),
    ("p", "Pentru adolescenți am continuat următoarele activități:"),
    ("list", [
        "atelierul de programare „Cod și cafea”, în fiecare joi de la ora 17:00;",
        "clubul de șah, care s-a mutat în sala de lectură de la etajul întâi;",
        "cercul de lectură în limba engleză, condus de profesoara Elena Vâlcu;",
        "pregătirea gratuită pentru examenul de bacalaureat la limba română, în lunile mai și iunie.",
    ]),
    ("h2", "Digitalizare"),
    ("p", "Am digitizat 2.100 de documente din arhiva locală, printre care toate numerele ziarului „Gazeta de "
          "Valea Albă” apărute între 1921 și 1947. Documentele pot fi consultate gratuit în biblioteca digitală, "
          "iar căutarea în textul lor funcționează și fără diacritice."),
    ("p", "Din martie 2024 cititorii își pot prelungi împrumuturile online, de cel mult două ori, fiecare "
          "prelungire adăugând 14 zile."),
    ("h2", "Program și personal"),
    ("p", "Din 2 martie 2024 sediul central este deschis și sâmbăta, între orele 9:00 și 14:00. În timpul "
          "săptămânii programul a rămas neschimbat: de luni până vineri, între 8:00 și 20:00."),
    ("p", "Biblioteca are 26 de angajați. Directoarea instituției este Ioana Mărgineanu, numită în funcție "
          "în septembrie 2021."),
    ("h2", "Buget"),
    ("p", "Bugetul bibliotecii pentru 2024 a fost de 3,42 milioane de lei, din care 610.000 de lei au fost "
          "cheltuiți pentru achiziția de carte și abonamente la publicații."),
    ("h2", "Planuri pentru 2025"),
    ("p", "Cel mai important proiect al anului 2025 este bibliobuzul: un microbuz amenajat ca bibliotecă, care "
          "va vizita săptămânal 14 sate din jurul orașului. Microbuzul costă 450.000 de lei și va fi finanțat "
          "din fonduri europene. Primele curse sunt planificate pentru luna septembrie 2025."),
]

DOCS_BODY = """<h1>Sync schedules</h1>
<p>Tidewell copies changes between your folders and the remote store on a schedule. This page explains how to
set the schedule, how to keep Tidewell quiet at night, and what happens when a sync fails.</p>
<section id="interval"><h2>Setting the interval</h2>
<p>By default Tidewell syncs every 15 minutes. To change the interval for all folders, run:</p>
<pre><code>tidewell schedule set --every 30m</code></pre>
<p>The shortest interval allowed is 1 minute; shorter values are rejected with an error. The interval is saved
in the configuration file at <code>~/.config/tidewell/tidewell.toml</code> under the <code>[schedule]</code>
section, so you can also edit it there.</p>
<p>A folder can have its own interval. Add an <code>interval</code> line to the folder's entry in
<code>tidewell.toml</code>, for example for a folder of archives that rarely changes:</p>
<pre><code>[[folder]]
path = "~/Archives"
interval = "2h"</code></pre>
<p>Intervals are written as a number followed by a unit:</p>
<table><thead><tr><th>Unit</th><th>Meaning</th><th>Example</th></tr></thead>
<tbody><tr><td>m</td><td>minutes</td><td>45m</td></tr><tr><td>h</td><td>hours</td><td>2h</td></tr>
<tr><td>d</td><td>days</td><td>1d</td></tr></tbody></table>
</section>
<section id="cron"><h2>Cron expressions</h2>
<p>If a fixed interval is not enough, use a cron expression instead. This one syncs at the start of every hour
from 9:00 to 17:00 on weekdays:</p>
<pre><code>tidewell schedule set --cron "0 9-17 * * 1-5"</code></pre>
<p>Times in cron expressions use the computer's local time zone unless you add <code>timezone = "UTC"</code>
to the <code>[schedule]</code> section.</p>
</section>
<section id="quiet-hours"><h2>Quiet hours</h2>
<p>During quiet hours Tidewell does not start scheduled syncs, although a sync you start yourself with
<code>tidewell sync</code> still runs. Quiet hours are off by default. Turn them on with
<code>tidewell schedule quiet 23:00-06:00</code>. Changes made during quiet hours are picked up by the first sync
after they end.</p>
<div class="admonition note"><p class="admonition-title">Note</p><p>Quiet hours do not apply to folders
marked as urgent; those sync at their interval around the clock.</p></div>
</section>
<section id="retries"><h2>Retries</h2>
<p>When a sync fails because the network or the remote store is unavailable, Tidewell retries it:</p>
<ul><li>up to 5 times;</li><li>the first retry waits 10 seconds, and each following retry waits twice as long
as the one before;</li><li>no wait is longer than 10 minutes.</li></ul>
<p>After the fifth failed retry the folder is marked as paused and Tidewell shows a notification.</p>
</section>
<section id="troubleshooting"><h2>Troubleshooting</h2>
<p>Every sync writes its result to the log file at <code>~/.local/state/tidewell/sync.log</code>. Run
<code>tidewell doctor</code> to check your configuration, your credentials and the connection to the remote store
in one step.</p>
<p>Error E1042 means that your remote storage quota is full: delete old versions with <code>tidewell prune</code>
or upgrade your plan. Error E2007 means that another Tidewell process is already syncing the same folder; wait
for it to finish, or stop it with <code>tidewell stop</code>.</p>
</section>"""

DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sync schedules - Tidewell documentation</title>
<style>
body{font-family:system-ui,sans-serif;margin:0;display:grid;grid-template-columns:220px 1fr}
header,footer,.cookie{grid-column:1/3} nav.sidebar a{display:block} .cookie{position:fixed;bottom:0}
</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments)}gtag('js',new Date());
gtag('config','G-TIDEWELL-DOCS');</script>
</head><body>
<header class="site-header"><a class="logo" href="/">Tidewell</a>
<nav class="top-menu"><ul><li><a href="/">Home</a></li><li><a href="/features">Features</a></li>
<li><a href="/pricing">Pricing</a></li><li><a href="/docs">Documentation</a></li><li><a href="/blog">Blog</a></li>
<li><a href="/login">Sign in</a></li></ul></nav>
<form class="search" role="search"><input type="search" placeholder="Search the docs"><button>Search</button></form>
</header>
<nav class="sidebar" aria-label="Documentation"><h3>Getting started</h3>
<a href="/docs/install">Installing Tidewell</a><a href="/docs/first-folder">Your first synced folder</a>
<h3>Configuration</h3><a href="/docs/folders">Folders and filters</a><a href="/docs/schedules">Sync schedules</a>
<a href="/docs/credentials">Credentials</a><h3>Reference</h3><a href="/docs/cli">Command line reference</a>
<a href="/docs/errors">Error codes</a></nav>
<main><div class="breadcrumbs"><a href="/docs">Docs</a> / <a href="/docs/configuration">Configuration</a> /
Sync schedules</div>
<article>[[BODY]]</article>
<div class="page-feedback">Was this page helpful? <button>Yes</button> <button>No</button></div>
<div class="prev-next"><a href="/docs/folders">Previous: Folders and filters</a>
<a href="/docs/credentials">Next: Credentials</a></div>
</main>
<footer><p>Copyright 2025 Tidewell Labs. All rights reserved.</p>
<ul><li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of service</a></li>
<li><a href="/status">System status</a></li></ul></footer>
<div class="cookie" id="cookie-banner" role="dialog">We use cookies to understand how our documentation is used
and to improve it. <button>Accept all cookies</button> <button>Reject non-essential cookies</button></div>
<script>document.querySelector('#cookie-banner button').onclick=function(){localStorage.consent='yes'};</script>
</body></html>
"""

GARDEN = """# Riverside Community Garden: members' handbook

Welcome to the Riverside Community Garden. This handbook explains how the garden works. Please read it before
you start on your plot, and keep it for reference.

## Plots and fees

The garden has 48 plots: 36 full plots of 5 by 10 metres and 12 half plots. The yearly fee is 35 euros for a
full plot and 20 euros for a half plot, paid by 31 January. Members who receive unemployment or pension benefits
pay half.

If a plot is left uncultivated for more than six weeks during the growing season, the committee will send a
reminder. If nothing changes within a month, the plot is offered to the next person on the waiting list.

## Water

The water taps are turned on on 1 April and turned off on 31 October, before the first frost. Please use
watering cans rather than hoses, and water in the early morning or the evening. Sprinklers are not allowed.

## Tools and the shed

Shared tools are kept in the green shed next to the main gate: spades, forks, rakes, two wheelbarrows and a
petrol strimmer. The combination of the shed's lock changes on the first day of every month and is posted in the
members' group chat. Return tools clean, and write in the book on the shed door if anything breaks.

## Compost

- Green waste from your plot goes in the three wooden compost bays behind the shed.
- No cooked food, meat, dairy or diseased plants, as they attract rats and spread blight.
- Woody stems thicker than a finger go on the pile for the shredder, which we hire twice a year.

## Work days

A work day is held on the first Saturday of every month from 10:00 to 13:00. Every member is expected to come to
at least four work days a year. We mend paths, cut the hedges, turn the compost and keep the shared herb beds.

## Contact

The garden coordinator is Maria Delgado. Write to her at coordinator@riverside-garden.example or leave a note in
the letterbox on the shed. The annual general meeting is held in March at the Riverside library.
"""


def report_html() -> str:
    before, after = REPORT.split("[[TABLE]]")
    rows = "".join("<tr>" + "".join(f"<{'th' if i == 0 else 'td'}>{html.escape(cell)}</{'th' if i == 0 else 'td'}>"
                                     for cell in row) + "</tr>" for i, row in enumerate(REPORT_TABLE))
    table = ("<table style='border-collapse:collapse;margin:0 0 1em' border='1' cellpadding='4'>"
             f"{rows}</table>")
    style = "<style>body{font-size:13pt;line-height:1.6} td,th{text-align:left}</style>"
    return page_html(style + paragraphs_html(before) + table + paragraphs_html(after), REPORT_TITLE)


def docs_html() -> str:
    return DOCS_PAGE.replace("[[BODY]]", DOCS_BODY)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=ROOT / "eval" / "documents")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    make_pdf(report_html(), args.out / "water_report_2025.pdf", header_footer=True)
    make_docx(args.out / "raport_biblioteca_2024.docx", LIBRARY)
    (args.out / "tidewell_sync_schedules.html").write_text(docs_html(), encoding="utf-8")
    (args.out / "garden_handbook.md").write_text(GARDEN, encoding="utf-8")
    for path in sorted(args.out.iterdir()):
        print(f"{path}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
