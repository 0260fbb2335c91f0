"""Benchmark: finding records (issue #25). N synthetic records (default 1,000,000) with
realistic Czech metadata indexed by archa's record index, a realistic query mix timed
against it, and a plain table searched with `lower(text) LIKE '%word%'` (what one writes
without an index) on the same data in the same run.

Data, drawn with a fixed seed: titles from ~40 templates of what a municipal filing service
holds ("Stavební povolení – rodinný dům Ještěd, parc. č. 1234/5", "Žádost o dotaci na
opravu kapličky", "Stížnost na hluk", ...) filled with places of the Liberec region and
1-4 words of a vocabulary of a few thousand inflected Czech words with Zipf-like
frequencies; identifiers ("MMLB-2011-0004242", a UUID on half the records), a reference
number (čj. "KULK 12345/2011"), a filing code ("1.2.3") and retention sign ("S 5"), the
originator (one of 200 municipalities and their schools, with its IČO), 1-2 authors (Czech
names), dates 1995-2025. They go into a fresh repository's SQLite catalog (`archa init`'s
own, `Repository.init`) through `RecordIndex.record` in transactions of 10,000 records;
the plain table gets the same text (every value, one per line) in a file of its own.

Timed: the build (records/s), then each query of the mix (>= 200: one to three title words
with and without diacritics, common and rare words, prefixes, exact identifiers, UUIDs,
reference numbers, filing codes, authors, --field, --from/--to, --originator) through
`RecordIndex.search` (limit 20, what `archa search` asks) and 20 through
`archa.access.search.find` (records and pages, what the command calls); p50/p95/p99/max.
Bytes per record: the catalog's growth / N (after a WAL checkpoint) and the pages of
`record_text` (FTS5 and its shadow tables) and `records` (with its indexes) from dbstat.
Baseline: 20 of the queries on the plain table (a count and the newest 20, as archa
returns a total and 20 hits), the ratio of the medians. Gate: p95 < 50 ms at 1,000,000.

    python bench/search.py [--records 1000000] [--work bench-work] [--quick] [--catalog postgresql]

`--quick` is --records 20000 (CI size). `--catalog postgresql` runs the same on a
PostgreSQL server started by tests/pgserver.py (the baseline stays SQLite).
"""

from __future__ import annotations

import argparse
import math
import os
import random
import shutil
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from archa.access.search import find
from archa.metadata.description import Description
from archa.repository.catalog.pgpages import fold
from archa.repository.catalog.recordindex import Query
from archa.repository.repo import Repository

BATCH = 10_000
GATE_MS = 50.0

# --- the vocabulary ---------------------------------------------------------------------------

PLACES = """Liberec|Jablonec nad Nisou|Česká Lípa|Turnov|Semily|Frýdlant|Nový Bor|Tanvald|Jilemnice|Hrádek nad Nisou|
Chrastava|Železný Brod|Lomnice nad Popelkou|Mimoň|Doksy|Cvikov|Raspenava|Hejnice|Nové Město pod Smrkem|Smržovka|
Desná|Rokytnice nad Jizerou|Harrachov|Kořenov|Josefův Důl|Albrechtice v Jizerských horách|Lučany nad Nisou|
Janov nad Nisou|Rychnov u Jablonce nad Nisou|Velké Hamry|Zásada|Plavy|Jenišovice|Mníšek|Oldřichov v Hájích|
Kryštofovo Údolí|Osečná|Český Dub|Hodkovice nad Mohelkou|Proseč pod Ještědem|Světlá pod Ještědem|Jeřmanice|
Dlouhý Most|Šimonovice|Stráž pod Ralskem|Hamr na Jezeře|Ralsko|Zákupy|Kravaře|Sloup v Čechách|Svor|
Jablonné v Podještědí|Křižany|Zdislava|Rynoltice|Horní Police|Žandov|Benecko|Vysoké nad Jizerou|
Rovensko pod Troskami|Košťálov|Martinice v Krkonoších|Vítkovice|Paseky nad Jizerou|Poniklá|Příkrý|Bozkov|
Víchová nad Jizerou|Studenec|Roztoky u Jilemnice|Levínská Olešnice|Mříčná|Bílá|Pěnčín|Frýdštejn|Malá Skála|
Koberovy|Přepeře|Ohrazenice|Kobyly|Všeň|Sychrov|Radimovice|Čtveřín|Paceřice|Višňová|Bulovka|Habartice|
Černousy|Dětřichov|Heřmanice|Horní Řasnice|Kunratice|Lázně Libverda|Pertoltice|Krásný Les|Bílý Potok|
Bílý Kostel nad Nisou|Nová Ves|Stráž nad Nisou|Václavice|Jindřichovice pod Smrkem|Dubá|Blíževedly|Holany|
Provodín|Jestřebí|Bezděz|Okna|Tachov|Skalice u České Lípy|Sosnová|Stružnice|Volfartice|Zahrádky|Kamenický Šenov|
Prysk|Svojkov|Kunratice u Cvikova|Mařenice|Dubnice|Noviny pod Ralskem|Velenice|Brniště|Lasvice|Loučky|
Chotyně|Bílý Kostel|Ještěd|Ruprechtice|Vratislavice nad Nisou|Rochlice|Harcov|Kristiánov|Pavlovice|
Františkov|Ostašov|Machnín|Horní Hanychov|Karlinky|Vesec|Doubí|Kateřinky|Proseč nad Nisou|Mšeno|Paseky|
Rýnovice|Kokonín|Lukášov|Vrkoslavice|Tanvaldský Špičák|Bedřichov|Hrabětice|Kristiánov|Smědava""".replace("\n", "")

def _list(text: str) -> list[str]:
    return text.split()


SURNAMES = _list("Novák Svoboda Novotný Dvořák Černý Procházka Kučera Veselý Horák Němec Marek Pospíšil Pokorný "
            "Hájek Král Jelínek Růžička Beneš Fiala Sedláček Doležal Zeman Kolář Navrátil Čermák Vaněk Urban "
            "Blažek Kříž Kovář Bartoš Vlček Polák Musil Kopecký Šimek Konečný Malý Holub Štěpánek Kadlec "
            "Dostál Soukup Šťastný Mareš Moravec Sýkora Tichý Valenta Vávra Matoušek Bláha Říha Ševčík Bureš "
            "Hruška Mašek Pavlík Dušek Janda Hrubý Mach Kratochvíl Skála Šindelář Havlík Hanák Staněk Bednář "
            "Hronek Jirásek Lukáš Krejčí Kubíček Vondráček Zelenka Šebesta Tomášek Vacek Charvát Kašpar")
MALE = _list("Jan Petr Josef Pavel Martin Jaroslav Tomáš Miroslav Zdeněk František Jiří Václav Karel Milan Michal")
FEMALE = _list("Jana Marie Eva Hana Anna Lenka Kateřina Lucie Věra Alena Petra Veronika Jaroslava Martina Zdeňka")

# noun stems and their endings (a-stems, hard masculine, -í neuters, -ce feminines)
NOUN_ENDINGS = {
    "a": ("a", "y", "u", "ou", "ám", "ách", "ami", "ě"),
    "m": ("", "u", "e", "y", "ům", "ech", "em"),
    "i": ("í", "ím", "ích", "ími"),
    "c": ("ce", "ci", "cí", "cemi", "cích"),
}
NOUNS = {
    "a": "oprav stavb žádost_ komunikac_ silnic kapličk škol budov střech fasád lávk zahrad hasičsk_ obec_ "
         "kanalizac_ přípojk studn zástavb garáž_ chodník_ hřbitov_ cest louk zeď_ zídk mostovk kaplic "
         "stodol chalup chat vil hájovn zvonic márnic sokolovn hospod fař úřadovn dílen "
         "smlouv faktur objednávk zpráv výzv námitk stížnost_ odvolán_ dohod nabídk zakázk "
         "dotac_ půjčk pokut daň_ platb úhrad kancelář_ radnic nemocnic knihovn tělocvičn jídeln "
         "hal pošt lékárn ordinac_ farnost_ obec_ ulic tříd alej_ náves_ hráz_ nádrž_ tůň_ mez_ "
         "kroni stodůlk vrb lip dub_ jedl borovic bříz olš_ smrk_ hranic_ mapk "
         "vyhlášk zápisnic kronik situac_ parcel "
         "lokalit ploch zeleň_ vod kotelen_",
    "m": "dům_ most plot potok rybník byt sklep komín chodník hřbitov park les val "
         "pozemek_ objekt areál projekt rozpočet plán návrh souhlas posudek_ protokol "
         "záměr program úřad soud spor nájem pronájem prodej převod dar vklad "
         "hluk prach zápach odpad strom kácen_ výkop zábor oplocen_ rozpočet_ dvůr_ sál kostel_ "
         "zámek_ hrad statek mlýn sad kopec_ vrch sklad vodovod plyn rozvod kanál příkop propust "
         "nájemník pronajímatel majitel vlastník soused stavebník investor zhotovitel dodavatel "
         "starosta místostarosta tajemník zastupitel radní občan žadatel odvolatel přestupek_ "
         "pozemek_ katastr výměr poplatek_ nedoplatek_ dluh účet rozpis výkaz seznam",
    "i": "povolen rozhodnut stanoven oznámen vyjádřen usnesen řízen osvědčen opatřen "
         "prodloužen odstraněn zahájen ukončen přerušen vyřízen doplněn zrušen schválen "
         "zateplen odvodněn osvětlen napojen umístěn užíván kácen oplocen zpevněn "
         "stavení nádraží náměstí údolí pobřeží",
    "c": "rekonstruk dokumenta kolauda inspek investi realiza eviden auk kompenza organiza informa situa "
         "prezenta kanaliza komunika specifika kvalifika aktualiza dezinfek konzerva",
}
ADJECTIVES = _list("stavební územní obytný průmyslový provozní správní finanční rozpočtový daňový "
              "soudní trestní občanský rodinný manželský pozemkový katastrální lesnický rybářský myslivecký "
              "kostelní farní hřbitovní zámecký hradní mlýnský silný slabý bezpečný nebezpečný zdravotní "
              "ekologický energetický tepelný elektrický plynový vodárenský kanalizační odpadní "
              "kolaudační obecní městský krajský místní veřejný soukromý "
              "dětský sportovní kulturní technický vodní lesní zemědělský historický památkový "
              "požární silniční dopravní bytový nebytový hospodářský sociální školní "
              "nový starý velký malý horní dolní přední zadní hlavní vedlejší celkový částečný "
              "dočasný trvalý zvláštní opakovaný společný kamenný dřevěný zděný betonový")
ADJ_ENDINGS = ("ý", "á", "é", "ého", "ému", "ým", "ou", "ých", "ými")
SOFT_ENDINGS = ("í", "ího", "ímu", "ím", "ích", "ími")

TEMPLATES: list[tuple[int, str]] = [
    (30, "Stavební povolení – {building} {place}, parc. č. {parc}"),
    (20, "Žádost o dotaci na {repair} {object}"),
    (15, "Stížnost na {nuisance}"),
    (12, "Územní rozhodnutí – {building} {place}"),
    (10, "Kolaudační souhlas – {building} {place}, parc. č. {parc}"),
    (10, "Smlouva o dílo – {repair} {object} {place}"),
    (9, "Žádost o vyjádření k {document} – {place}"),
    (8, "Rozhodnutí o {decision} – {name}"),
    (8, "Faktura č. {num} – {repair} {object}"),
    (7, "Ohlášení stavby – {building} {place}"),
    (6, "Odvolání proti rozhodnutí o {decision}"),
    (6, "Nájemní smlouva – {object} {place}"),
    (5, "Kupní smlouva – pozemek parc. č. {parc}, k. ú. {place}"),
    (5, "Žádost o povolení kácení dřevin – {place}"),
    (5, "Zápis ze zasedání zastupitelstva obce {place}"),
    (5, "Usnesení rady města {place} č. {num}"),
    (4, "Oznámení o zahájení řízení – {building} {place}"),
    (4, "Výzva k odstranění {nuisance}"),
    (4, "Dotační program {place} {year}"),
    (4, "Žádost o informace podle zákona č. 106/1999 Sb."),
    (3, "Projektová dokumentace – {building} {place}"),
    (3, "Přestupek – {nuisance}, {name}"),
    (3, "Kronika obce {place} {year}"),
    (3, "Pasport komunikací {place}"),
    (3, "Povolení zvláštního užívání komunikace – {place}"),
    (2, "Vyjádření Povodí Labe k {document}"),
    (2, "Souhlas s připojením na kanalizaci – {place}"),
    (2, "Rekonstrukce {object} v {place}"),
    (2, "Opatření obecné povahy – územní plán {place}"),
    (2, "Exekuční příkaz – {name}"),
    (2, "Stížnost na hluk"),
    (2, "Žádost o dotaci na opravu kapličky"),
    (1, "Záměr prodeje pozemku parc. č. {parc}"),
    (1, "Protokol o kontrolní prohlídce stavby – {place}"),
    (1, "Hlášení požáru – {place}"),
    (1, "Evidence obyvatel – {name}"),
    (1, "Pozemkové úpravy v k. ú. {place}"),
    (1, "Posudek statika – {building}"),
]
BUILDINGS = ["rodinný dům", "garáž", "přístavba rodinného domu", "bytový dům", "rekreační chata", "zahradní domek",
             "čistírna odpadních vod", "přípojka vody", "oplocení pozemku", "hospodářská budova", "sklad",
             "mateřská škola", "hasičská zbrojnice", "vodovodní řad", "chodník", "parkoviště", "sportovní hala",
             "dětské hřiště", "kaple", "fotovoltaická elektrárna", "tepelné čerpadlo", "studna", "bazén"]
REPAIRS = ["opravu", "rekonstrukci", "obnovu", "zateplení", "výměnu oken", "odvodnění", "nátěr", "výstavbu",
           "restaurování", "modernizaci", "údržbu", "demolici"]
OBJECTS = ["kapličky", "kostela", "místní komunikace", "mostku", "školy", "střechy obecního úřadu", "fasády",
           "hřbitovní zdi", "sochy sv. Jana Nepomuckého", "požární nádrže", "veřejného osvětlení", "lávky přes Nisu",
           "koupaliště", "sokolovny", "hasičské zbrojnice", "dětského hřiště", "autobusové zastávky", "márnice"]
NUISANCES = ["hluk", "hluk z provozovny", "prach ze stavby", "zápach", "parkování", "psa", "černou skládku",
             "kácení stromů", "hluk ze zábavy", "sousedy", "stav komunikace", "zimní údržbu", "osvětlení"]
DOCUMENTS = ["projektové dokumentaci", "územnímu plánu", "stavebnímu záměru", "žádosti", "dělení pozemku",
             "změně užívání", "připojení", "kácení"]
DECISIONS = ["přestupku", "dotaci", "poplatku", "pokutě", "přidělení bytu", "umístění stavby", "odvolání",
             "dělení pozemku", "změně stavby", "odstranění stavby", "povolení výjimky", "nájmu"]


def inflected() -> list[str]:
    """A few thousand inflected forms of the stems and adjectives above (`_` ends a stem
    that takes its endings as it is)."""
    out: list[str] = []
    for kind, stems in NOUNS.items():
        for stem in stems.split():
            if stem.endswith("_"):
                out.append(stem[:-1])
                continue
            for e in NOUN_ENDINGS[kind]:
                out.append(stem + e)
    for adj in ADJECTIVES:
        stem = adj[:-1]
        out += [stem + e for e in (ADJ_ENDINGS if adj.endswith("ý") else SOFT_ENDINGS)]
    return out


@dataclass
class Data:
    """The generator's word lists and what a query mix is made from."""

    rng: random.Random
    words: list[str]
    cum: list[float]
    places: list[str]
    originators: list[tuple[str, str, str, str]]  # id, name, IČO, code for identifiers
    tcum: list[float]
    samples: list[dict[str, Any]] = field(default_factory=list)


def _cum(n: int, s: float = 1.0) -> list[float]:
    out, total = [], 0.0
    for r in range(1, n + 1):
        total += 1 / r**s
        out.append(total)
    return out


def make_data(seed: int = 25) -> Data:
    rng = random.Random(seed)
    places = list(dict.fromkeys(p.strip() for p in PLACES.split("|") if p.strip()))
    words = list(dict.fromkeys(inflected() + [w for p in places for w in p.split() if len(w) > 3]))
    rng.shuffle(words)
    originators = []
    kinds = [("Obec", "OU"), ("Město", "MU"), ("Základní škola", "ZS"), ("Mateřská škola", "MS")]
    for i, place in enumerate((places + places)[:200]):
        kind, code = kinds[0] if i % 3 else kinds[1]
        if i >= len(places):
            kind, code = kinds[2 + i % 2]
        prefix = "".join(w[0] for w in fold(place).upper().split())[:3]
        originators.append((f"o{i:03d}", f"{kind} {place}", f"{rng.randrange(10**7, 10**8)}", code + prefix))
    originators[0] = ("o000", "Statutární město Liberec", "00262978", "MMLB")
    originators[1] = ("o001", "Krajský úřad Libereckého kraje", "70891508", "KULK")
    return Data(rng, words, _cum(len(words)), places, originators, list(_cum(len(TEMPLATES), 0.0)))


def _pick(rng: random.Random, items: list[str], s: float = 1.0) -> str:
    return items[min(int(rng.paretovariate(s)) - 1, len(items) - 1)]


def make_record(d: Data, i: int) -> tuple[Description, str, str]:
    """Record i: its description, originator id and text for the plain table."""
    rng = d.rng
    year = rng.randint(1995, 2025)
    weights = [w for w, _ in TEMPLATES]
    template = rng.choices(TEMPLATES, weights=weights)[0][1]
    name = f"{rng.choice(MALE)} {rng.choice(SURNAMES)}"
    title = template.format(building=_pick(rng, BUILDINGS), place=_pick(rng, d.places, 0.8),
                            parc=f"{rng.randint(1, 3000)}/{rng.randint(1, 40)}", repair=_pick(rng, REPAIRS),
                            object=_pick(rng, OBJECTS), nuisance=_pick(rng, NUISANCES),
                            document=_pick(rng, DOCUMENTS), decision=_pick(rng, DECISIONS),
                            name=name, num=rng.randint(1, 999), year=year)
    extra = rng.choices(d.words, cum_weights=d.cum, k=rng.randint(1, 4))
    title = f"{title} ({' '.join(extra)})" if rng.random() < 0.7 else f"{title} {' '.join(extra)}"
    org = d.originators[min(int(rng.paretovariate(0.7)) - 1, len(d.originators) - 1)]
    num = rng.randint(1, 40_000)
    ident = f"{org[3]}-{year}-{num:07d}"
    ref = f"{org[3]} {num}/{year}"
    sign = f"{rng.randint(1, 9)}.{min(int(rng.paretovariate(1.2)), 9)}.{min(int(rng.paretovariate(1.5)), 5)}"
    retention = rng.choices(("S 5", "S 10", "A 10", "V 5", "A 5", "S 1"), weights=(40, 20, 10, 15, 10, 5))[0]
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    created = f"{year}-{month:02d}-{day:02d}"
    settled = f"{min(year + rng.randint(0, 1), 2025)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    values = [("title", title), ("identifier", ident)]
    if rng.random() < 0.5:
        values.append(("identifier", str(uuid.UUID(int=rng.getrandbits(128), version=4))))
    values += [("sign", sign), ("sign", retention), ("ref", ref), ("originator", org[1]), ("originator", org[2])]
    female = rng.random() < 0.5
    for _ in range(rng.randint(1, 2)):
        surname = rng.choice(SURNAMES)
        if female:
            surname = surname[:-1] + "á" if surname[-1] in "ýí" else surname.rstrip("a") + "ová"
        values.append(("author", f"{rng.choice(FEMALE if female else MALE)} {surname}"))
        female = not female
    desc = Description("nsesss", title, org[1], created, tuple(sorted({created, settled})), tuple(values), None)
    if i % 997 == 0:
        d.samples.append({"title": title, "ident": ident, "uuid": values[2][1] if values[2][0] == "identifier" else "",
                          "ref": ref, "sign": sign, "author": values[-1][1], "year": year, "org": org[0]})
    return desc, org[0], "\n".join(v for _, v in values)


# --- the queries ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Q:
    kind: str
    query: Query


def query_mix(d: Data, seed: int = 11) -> list[Q]:
    """The query mix (>= 200), drawn from sampled records and the vocabulary."""
    rng = random.Random(seed)
    s = d.samples
    out: list[Q] = []

    def title_words(x: dict[str, Any]) -> list[str]:
        return [w for w in x["title"].replace("(", " ").replace(")", " ").replace(",", " ").split()
                if len(w) > 3 and w.isalpha()]

    def add(kind: str, n: int, make: Callable[[], Query | None]) -> None:
        made = 0
        for _ in range(n * 20):
            q = make()
            if q is not None:
                out.append(Q(kind, q))
                made += 1
                if made == n:
                    return

    def word_with_diacritics() -> Query | None:
        ws = [w for w in title_words(rng.choice(s)) if fold(w) != w.lower()]
        return Query(rng.choice(ws)) if ws else None

    def phrase() -> Query | None:
        ws = title_words(rng.choice(s))
        if len(ws) < 2:
            return None
        k = rng.randint(2, min(3, len(ws)))
        at = rng.randrange(len(ws) - k + 1)
        text = " ".join(ws[at:at + k])
        return Query(fold(text) if rng.random() < 0.5 else text)

    add("word, no diacritics", 30, lambda: Query(fold(rng.choice(ws))) if (ws := title_words(rng.choice(s))) else None)
    add("word, diacritics", 30, word_with_diacritics)
    common = ["povoleni", "žádost", "stavební", "smlouva", "rozhodnutí", "dotaci", "liberec", "stiznost", "dum",
              "parc", "hluk", "oprava", "rodinný", "kolaudacni", "obce", "územní", "rekonstrukce", "pozemek",
              "opravu", "faktura"]
    add("common word", 20, lambda: Query(common.pop()) if common else None)
    add("rare word", 20, lambda: Query(rng.choice(d.words[len(d.words) // 2:])))
    add("2-3 title words", 30, phrase)
    prefixes = ["povol*", "stav*", "rekon*", "kapl*", "jablon*", "zadost*", "hlu*", "kolaud*", "dota*", "smlouv*"]
    add("prefix", 10, lambda: Query(prefixes.pop()) if prefixes else None)
    add("identifier", 10, lambda: Query(rng.choice(s)["ident"]))
    add("UUID", 10, lambda: Query(u) if (u := rng.choice(s)["uuid"]) else None)
    add("identifier --field", 10, lambda: Query(rng.choice(s)["ident"], "identifier"))
    add("reference number --field ref", 10, lambda: Query(rng.choice(s)["ref"], "ref"))
    add("reference number", 5, lambda: Query(rng.choice(s)["ref"]))
    add("filing code --field sign", 15, lambda: Query(rng.choice(s)["sign"], "sign"))
    add("author --field author", 10, lambda: Query(rng.choice(s)["author"].split()[-1], "author"))
    add("author full name", 5, lambda: Query(rng.choice(s)["author"]))
    add("title word --field title", 10, lambda: Query(w.text, "title") if (w := word_with_diacritics()) else None)
    add("word --from --to", 15, lambda: Query(rng.choice(["povoleni", "žádost", "stížnost", "smlouva", "kaplicky"]),
                                              date_from=str(y := rng.randint(1995, 2022)), date_to=str(y + 2)))
    add("word --originator", 15, lambda: Query(rng.choice(["povoleni", "dotaci", "hluk", "stavebni", "rozhodnuti"]),
                                               originator=rng.choice(s)["org"]))
    return out


# --- the runs ---------------------------------------------------------------------------------

def pct(xs: list[float], p: float) -> float:
    """The nearest-rank percentile."""
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(p / 100 * len(xs)) - 1))]


def build(repo: Repository, plain: sqlite3.Connection, d: Data, n: int) -> tuple[float, float, float]:
    """Index n records; returns (seconds generating, seconds in RecordIndex.record, seconds of
    the plain table's inserts)."""
    cat = repo.catalog
    index = cat.record_index
    with cat.transaction():
        for oid, name, ico, _code in d.originators:
            cat.insert("originators", {"id": oid, "name": name, "ico": ico, "seat": "", "quota_bytes": None,
                                       "created": "2025-01-01T00:00:00Z"})
    gen = idx = base = 0.0
    last = time.perf_counter()
    for start in range(0, n, BATCH):
        t0 = time.perf_counter()
        batch = [make_record(d, i) for i in range(start, min(n, start + BATCH))]
        t1 = time.perf_counter()
        with cat.transaction():
            for k, (desc, oid, _text) in enumerate(batch):
                index.record(f"urn:uuid:00000000-0000-4000-8000-{start + k:012d}", "v1", desc, oid)
        t2 = time.perf_counter()
        with plain:
            plain.executemany("INSERT INTO plain (text, date_from, date_to, originator_id) VALUES (?, ?, ?, ?)",
                              [(text, desc.dates[0], desc.dates[-1], oid) for desc, oid, text in batch])
        t3 = time.perf_counter()
        gen, idx, base = gen + t1 - t0, idx + t2 - t1, base + t3 - t2
        if t3 - last > 30:
            print(f"    … {start + len(batch):,} records, {idx:.0f} s indexing", flush=True)
            last = t3
    return gen, idx, base


def sizes(repo: Repository) -> tuple[int, dict[str, int]]:
    """The catalog's bytes and the pages of the record tables (dbstat; PostgreSQL: relation sizes)."""
    cat = repo.catalog
    if cat.dialect == "postgresql":
        total = int(cat.conn.execute("SELECT pg_database_size(current_database())").fetchone()[0])
        return total, {"records (table, text, tsvector, GIN and indexes)":
                       int(cat.conn.execute("SELECT pg_total_relation_size('records')").fetchone()[0])}
    cat.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    groups: dict[str, int] = {}
    for name, size in cat.conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
        own = ("records", "records_originator_id", "sqlite_autoindex_records_1")
        key = ("record_text (FTS5 + shadow tables)" if name.startswith("record_text") else
               "records (table + indexes)" if name in own else "")
        if key:
            groups[key] = groups.get(key, 0) + int(size)
    return (repo.root / "catalog.sqlite").stat().st_size, groups


def plain_query(conn: sqlite3.Connection, q: Query) -> tuple[int, list[int]]:
    """The baseline: each word as `lower(text) LIKE '%word%'` (the prefix star dropped), the
    filters as plain comparisons; a count and the newest 20."""
    conds, args = [], []
    for w in q.text.split():
        conds.append("lower(text) LIKE ?")
        args.append(f"%{w.rstrip('*').lower()}%")
    if q.date_from:
        conds.append("date_to >= ?")
        args.append(q.date_from)
    if q.date_to:
        conds.append("date_from <= ?")
        args.append(q.date_to + "-12-31")
    if q.originator:
        conds.append("originator_id = ?")
        args.append(q.originator)
    where = " AND ".join(conds)
    total = conn.execute(f"SELECT count(*) FROM plain WHERE {where}", args).fetchone()[0]
    return total, [r[0] for r in conn.execute(f"SELECT n FROM plain WHERE {where} ORDER BY n DESC LIMIT 20", args)]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return (time.perf_counter() - t0) * 1000, out


class Guard:
    """Stops a query on the SQLite catalog after `seconds` (a progress handler), so one plan
    gone wrong cannot stall the run: `timed` returns the time spent and None then."""

    def __init__(self, conn: Any, seconds: float) -> None:
        self.deadline = 0.0
        self.seconds = seconds
        self.stopped = 0
        if isinstance(conn, sqlite3.Connection):
            conn.set_progress_handler(lambda: int(time.perf_counter() > self.deadline), 10_000)

    def timed(self, fn: Callable[[], Any]) -> tuple[float, Any]:
        self.deadline = time.perf_counter() + self.seconds
        try:
            return timed(fn)
        except sqlite3.OperationalError as e:
            if "interrupted" not in str(e):
                raise
            self.stopped += 1
            return (time.perf_counter() - self.deadline + self.seconds) * 1000, None


def describe_q(q: Query) -> str:
    s = repr(q.text)
    if q.field:
        s += f" --field {q.field}"
    if q.date_from:
        s += f" --from {q.date_from} --to {q.date_to}"
    if q.originator:
        s += f" --originator {q.originator}"
    return s


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("bench-work"))
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="20,000 records (CI size)")
    ap.add_argument("--catalog", choices=("sqlite", "postgresql"), default="sqlite")
    ap.add_argument("--baseline-queries", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds after which a query is stopped")
    args = ap.parse_args()
    n = 20_000 if args.quick else args.records
    work = (args.work / "search").resolve()
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    server = None
    if args.catalog == "postgresql":
        from tests import pgserver

        server = pgserver.start(work / "pg")
    try:
        run(work, n, args.baseline_queries, args.timeout, server)
    finally:
        if server is not None:
            server.stop()


def run(work: Path, n: int, baseline_queries: int, timeout: float, server: Any) -> None:
    repo = Repository.init(work / "repo", catalog=server.database(), node="bench") if server else \
        Repository.init(work / "repo")
    before, _ = sizes(repo)
    plain = sqlite3.connect(work / "plain.sqlite")
    plain.execute("PRAGMA journal_mode=wal")
    plain.execute("CREATE TABLE plain (n INTEGER PRIMARY KEY, text TEXT, date_from TEXT, date_to TEXT, "
                  "originator_id TEXT)")
    d = make_data()
    print(f"Record search benchmark, {os.cpu_count()} cores, {repo.catalog.dialect} catalog: {n:,} records")
    gen, idx, base = build(repo, plain, d, n)
    total, groups = sizes(repo)
    print(f"  build: RecordIndex.record {idx:7.1f} s  {n / idx:8,.0f} records/s (transactions of {BATCH:,}) | "
          f"plain table {base:6.1f} s {n / base:8,.0f} records/s | generating the records {gen:.1f} s")
    print(f"  index size: catalog grew {(total - before) / 2**20:,.0f} MiB = {(total - before) / n:,.0f} bytes/record "
          + "".join(f"| {k} {v / n:,.0f} bytes/record " for k, v in groups.items())
          + f"| plain table {(work / 'plain.sqlite').stat().st_size / n:,.0f} bytes/record")

    mix = query_mix(d)
    index = repo.catalog.record_index
    guard = Guard(repo.catalog.conn, timeout)
    for q in mix[:10]:  # warm the page cache's path through the index once, as a server would be
        guard.timed(partial(index.search, q.query, 20))
    times: dict[str, list[float]] = {}
    every: list[tuple[float, Q, int]] = []
    for q in mix:
        ms, found = guard.timed(partial(index.search, q.query, 20))
        times.setdefault(q.kind, []).append(ms)
        every.append((ms, q, found.total if found else -1))
    all_ms = [m for m, _, _ in every]
    p95 = pct(all_ms, 95)
    print(f"  {len(mix)} queries through RecordIndex.search (limit 20), ms: p50 {pct(all_ms, 50):.1f}  "
          f"p95 {p95:.1f}  p99 {pct(all_ms, 99):.1f}  max {max(all_ms):.1f}"
          + (f"  ({guard.stopped} stopped after {timeout:.0f} s, counted as that)" if guard.stopped else ""))
    print(f"    {'kind':<32}{'n':>4}{'p50':>8}{'p95':>8}{'max':>8}  median total")
    for kind, kms in times.items():
        totals = [t for _, q, t in every if q.kind == kind and t >= 0] or [-1]
        print(f"    {kind:<32}{len(kms):>4}{pct(kms, 50):>8.1f}{pct(kms, 95):>8.1f}{max(kms):>8.1f}  "
              f"{statistics.median(totals):>10,.0f}")
    slowest = sorted(every, key=lambda e: -e[0])[:5]
    print("    slowest: " + "; ".join(f"{describe_q(q.query)} {m:.0f} ms ({f'{t:,} found' if t >= 0 else 'stopped'})"
                                      for m, q, t in slowest))

    find_ms = []
    for q in mix[::len(mix) // 20][:20]:
        qq = q.query
        ms, _ = guard.timed(partial(find, repo, qq.text, qq.field, qq.date_from, qq.date_to, qq.originator, 20))
        find_ms.append(ms)
    print(f"  20 of them through access.search.find (records, then pages): p50 {pct(find_ms, 50):.1f}  "
          f"p95 {pct(find_ms, 95):.1f}  max {max(find_ms):.1f} ms")

    subset = mix[::max(1, len(mix) // baseline_queries)][:baseline_queries]
    a_ms, b_ms = [], []
    for q in subset:
        a, _ = guard.timed(partial(index.search, q.query, 20))
        b, _ = timed(partial(plain_query, plain, q.query))
        a_ms.append(a)
        b_ms.append(b)
    ratio = statistics.median(b_ms) / statistics.median(a_ms)
    print(f"  baseline, the same {len(subset)} queries: archa median {statistics.median(a_ms):.1f} ms, max "
          f"{max(a_ms):.1f} | plain table, lower(text) LIKE '%word%' (count + newest 20) median "
          f"{statistics.median(b_ms):.0f} ms, max {max(b_ms):.0f} | archa is {ratio:,.0f}x as fast")
    verdict = "PASS" if p95 < GATE_MS else "FAIL"
    print(f"  gate: p95 {p95:.1f} ms < {GATE_MS:.0f} ms at {n:,} records: {verdict}")
    plain.close()


if __name__ == "__main__":
    main()
