"""The sample organisation: Tyresö's IFO units as the demo models them, with their figures.

Every figure is in tkr as printed in the source documents (seed 004, March 2019 report; seed
001, 2018 annual report), with a decimal where the documents round each figure on its own: a
printed line 17 646 − 16 242 = 1 403 needs 17 645,5 and −16 242,4 behind it. The generator
spreads these unit totals over thousands of transaction lines; the pipeline has to add them up
again through the report structure. Units, codes and the split of a printed line over several
units are the demo's invention.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Unit:
    ansvar: str
    name: str
    verksamhet: str
    result_2017: float | None = None  # full-year nettoresultat 2017
    budget_2018: float | None = None  # kommunbidrag, full year
    net_cost_2018: float | None = None  # nettokostnad, full year (negative = cost)
    budget_2019_q1: float | None = None
    net_cost_2019_q1: float | None = None
    forecast_2019: tuple[float | None, float | None] = (None, None)  # made in Feb, in Mar


UNITS: tuple[Unit, ...] = (
    Unit(
        "5100",
        "IFO gemensamt och administration",
        "569",
        -6694.3,
        72204,
        -70423,
        17645.5,
        -16242.4,
        (-996.4, -933.4),
    ),
    Unit(
        "5200",
        "Vuxen placeringar",
        "559",
        -2216.3,
        10108.4,
        -12711.6,
        6793,
        -8401.4,
        (-3513.3, -4035.3),
    ),
    # Öppna insatser vuxna (myndighet) left the committee's organisation at the end of 2018.
    Unit("5210", "Öppna insatser vuxna", "571", -3258, 13628.6, -15335.05),
    Unit(
        "5300",
        "Placeringar barn och unga",
        "56910",
        -8636,
        42928,
        -47581.35,
        11000,
        -12500,
        (600, -5200),
    ),
    Unit(
        "5310",
        "Öppna insatser barn och unga",
        "56920",
        -5456,
        22148,
        -26095,
        5761,
        -5522,
        (314, -809),
    ),
    Unit("5400", "Ekonomiskt bistånd", "575", -1375, 21355, -23587, 5996, -6385, (-100, -861)),
    # Socialpsykiatri moved in from the disability services in 2019: no IFO history.
    Unit("5500", "Socialpsykiatri", "571", None, None, None, 8107, -8153, (-2064.4, -153)),
    Unit(
        "5600",
        "Familjerätt och familjerådgivning",
        "585",
        -455,
        845.6,
        -723.4,
        172.4,
        -223.6,
        (-125, -205),
    ),
    Unit("5700", "Ensamkommande barn", "56930", -17480, 467, -10284, 2217.1, -623.5, (3522, 3174)),
    Unit(
        "5810", "Stöd- och boendeenheten Hästskon", "571", 300.4, 0, 342.6, None, 238, (-257.4, 211)
    ),
    Unit("5820", "Resursenheten barn", "569", 1303.3, 0, 771.8, None, 150, (30, 30)),
    Unit("5830", "Resursenheten vuxen", "559", 521, 0, 751.8, None, 147, (20, 20)),
    # Boendestöd i kommunal regi: its deficit is carried as "negativt resultat".
    Unit("5840", "Boendestöd kommunal regi", "571", -400, 0, -595.6, None, None, (-806, -806)),
    Unit(
        "5900", "Boendekedjan ensamkommande", "56930", -689, 0, -1257.2, None, -283, (-2000, -2000)
    ),
    Unit("6100", "Arbetsmarknad", "580", -500, 7400, -8077, 1856, -2399.6, (-1000, -1000)),
    Unit("6200", "Flyktingmottagande", "581", -1200, 2000, -3559, 500, -590, (100, 100)),
    Unit(
        "6900", "Arbetsmarknads- och socialnämnden", "101", None, None, None, None, -75.8, (0, -228)
    ),
)

RAPPORTER = """GiltigFran;GiltigTill;Rapport;Rubrik;Summarad;Delsummarad;IngarI;Ordning
2017;2018;IFOM;IFO myndighet;Totalt IFO myndighet;;;1
2017;2018;IFOK;IFO kommunal regi;Totalt IFO kommunal regi;;;2
2017;2018;EKBM;Ensamkommande myndighet;Totalt ensamkommande;;;3
2017;2018;EKBK;Ensamkommande kommunal regi;Totalt ensamkommande;;;4
2017;2018;AI;Arbetsmarknad & integration;Totalt arbetsmarknad & integration;;;5
2019;;SEKTOR;Arbetsmarknads och socialsektorn;Totalt arbetsmarknads och socialsektorn;;;1
2019;;IFO;Individ och familjeomsorgen;Totalt individ och familjeomsorgen;\
Totalt individ och familjeomsorgen exkl. särskilda kostnader;SEKTOR;1
2019;;AI;Arbetsmarknad & integration;Totalt arbetsmarknad & integration;;SEKTOR;2
2019;;ASN;Arbetsmarknads och socialnämnden;Totalt arbetsmarknads och socialnämnden;;SEKTOR;3
"""

RAPPORTSTRUKTUR = """GiltigFran;GiltigTill;Ansvar;Rapport;Rapportrad;Sarskild;Ordning
2017;2018;5100;IFOM;Gemensamt/Administration;0;1
2017;2018;5200;IFOM;Placeringar vuxna;0;2
2017;2018;5210;IFOM;Öppna insatser vuxna;0;3
2017;2018;5300;IFOM;Placeringar barn & ungdom;0;4
2017;2018;5310;IFOM;Öppna insatser barn & ungdom;0;5
2017;2018;5400;IFOM;Ekonomiskt bistånd;0;6
2017;2018;5600;IFOM;Familjerätt & familjerådgivning;0;7
2017;2018;5820;IFOK;Öppna insatser barn & ungdom;0;1
2017;2018;5810;IFOK;Öppna insatser vuxna;0;2
2017;2018;5830-5840;IFOK;Öppna insatser vuxna;0;2
2017;2018;5700;EKBM;Ensamkommande;0;1
2017;2018;5900;EKBK;Gemensamt/Administration;0;1
2017;;6100;AI;Arbetsmarknad;0;1
2017;;6200;AI;Flyktingmottagande;0;2
2019;;5100;IFO;Gemensamt/Administration;0;1
2019;;5200;IFO;Vuxen;0;2
2019;;5300-5319;IFO;Barn och unga;0;3
2019;;5400;IFO;Ekonomiskt bistånd;0;4
2019;;5500;IFO;Socialpsykiatri;0;5
2019;;5600;IFO;Familjerätt och familjerådgivning;0;6
2019;;5700;IFO;Ensamkommande barn;0;7
2019;;5810;IFO;Stöd och boendeenheten Hästskon;0;8
2019;;5820-5830;IFO;Resursenheten;0;9
2019;;5900;IFO;Boendekedjan;1;10
2019;;5840;IFO;Negativt resultat från föregående år;1;11
2019;;6900;ASN;Nämnd och styrelse;0;1
"""

# The 2017 export comes from the old finance system, with its own header names.
KOLUMNMAPPNING = """Exportkolumn;Kolumn
Ansvarsområde;Ansvar
Kontonr;Konto
Verksamhetskod;Verksamhet
Belopp SEK;Belopp
"""

# Placement costs by kind (config/kostnadsslag.csv): the demo books placements on the Kommun-Bas
# accounts for purchased care (46xx); which kind depends on the unit's verksamhet.
KOSTNADSSLAG = """Konto;Verksamhet;Kostnadsslag
4630;56910;HVB barn och unga
4640;56910;Familjehem
4610;56910;Mellanvård
4630;559;HVB vuxna
4640;559;Skyddat boende
4610-4649;56930;Placeringar ensamkommande
"""

# The improvement plan (seed 002, PM 2019-09-12): the measures with a stated economic effect
# have a driver; the others are followed by status only. Baseline January–September 2019,
# effect from October. A child moved from an agency (konsulentstött) to a fee-paid jourhem
# saves about 1 000 kr a day, 365 000 kr a year (seed 002: ca 2 000 against 1 000 kr/dygn).
ATGARDER = """Id;Omrade;Atgard;Rapportrad;Matt;Malforandring;Enhetskostnad;Baslinje;Start
BU-1;Barn- och ungdomsvård;Minska antalet vårddygn i HVB vad gäller tonåringar;Barn och unga;\
Antal placeringar HVB tonåringar;-3;1 600 000;201901-201909;201910
BU-2;Barn- och ungdomsvård;Minska antalet vårddygn i HVB vad gäller föräldrar med barn;\
Barn och unga;Antal placeringar HVB föräldrar med barn;-1;700 000;201901-201909;201910
BU-3;Barn- och ungdomsvård;Rekrytera jourfamiljer till barn för att undvika placeringar i \
konsulentstödda jourfamiljer;Barn och unga;Antal barn i konsulentstödda jourhem;-4;365 000;\
201901-201909;201910
BS-1;Beroende och socialpsykiatri;Anpassa verksamheten för en fungerande boendekedja;Vuxen;\
Antal placeringar på behandlingshem;-5;700 000;201901-201909;201910
BS-2;Beroende och socialpsykiatri;Undersöka möjligheten att omvandla Källans lokaler till ett \
behandlingscenter med stödboende;Vuxen;;;;;201910
FA-1;Försörjningsstöd och arbetsmarknad;Utveckla samverkan mellan enheterna för att fler \
personer ska komma ut i egen försörjning;Ekonomiskt bistånd;;;;;201910
BO-1;Barn och ungdom;Insatsgrupp: avbryta placeringar som inte ger förväntat resultat;\
Barn och unga;;;;;201903
BO-2;Barn och ungdom;Fler arvoderade jour- och familjehem;Barn och unga;;;;;201903
VU-1;Vuxen;Utökad öppenvård (Måsen);Vuxen;;;;;201903
SP-1;Socialpsykiatri;Negativt resultat från föregående år tas bort 2020;Socialpsykiatri;;;;;201903
"""

# The measures' status month by month: seed 004's table in March 2019 and the plan's
# follow-up from October (BU-3 done in December, BS-1 under way from November).
ATGARDSSTATUS = """Manad;Id;Status;Kommentar
201903;BO-1;pågående;Täta uppföljningar av samtliga insatser
201903;BO-2;pågående;Rekrytering av fler arvoderade jour- och familjehem
201903;VU-1;planerad;Effekterna av en utökad öppenvård utreds
201903;SP-1;planerad;Uppskattad effekt: 1 000 tkr
201910;BU-1;pågående;Insatsgruppen har fått ett förstärkt uppdrag om hemtagningar
201910;BU-2;pågående;Kriterierna för familjebehandling ses över
201910;BU-3;pågående;Rekrytering av jourfamiljer pågår
201910;BS-1;planerad;Planering påbörjad
201910;BS-2;planerad;Utredning behövs
201910;FA-1;pågående;
201911;BS-1;pågående;Träningslägenheter i boendekedjan
201912;BU-3;genomförd;Inga nya placeringar i konsulentstödda jourhem
"""

# The committee's goal indicators (seed 001) that the sample carries the inputs of.
MALINDIKATORER = """Id;Indikator;Kalla;Berakning;Mal;Riktning
FS-1;Antalet hushåll som har haft försörjningsstöd i mer än 3 månader har minskat med sju \
procent;verksamhetsmatt:Antal hushåll med försörjningsstöd > 3 mån;forandring_pct;-7;lagre
IFO-1;Nettokostnadsavvikelsen för individ- och familjeomsorgen minskar mot noll;\
kolada:N30001;varde;0;lagre
MI-1;Minst 10 personer i sysselsättning (missbruk) i snitt per månad;\
verksamhetsmatt:MIS10;varde;10;hogre
"""
