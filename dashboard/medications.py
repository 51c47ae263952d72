"""Recognising co-sedatives: opioids and benzodiazepines taken with ketamine.

Ketamine with opioids or benzodiazepines adds sedation and respiratory risk (FDA 2023
warning on compounded ketamine; ASRA/AAPM/ASA chronic-pain ketamine guideline, Cohen et
al. 2018); reducing opioids is also a treatment goal. Coded drugs are recognised by RxNorm
ingredient, free text by name.
"""

from __future__ import annotations

import re

OPIOIDS = (
    "oxycodone", "hydrocodone", "morphine", "hydromorphone", "oxymorphone", "codeine", "tramadol",
    "tapentadol", "fentanyl", "methadone", "buprenorphine", "tilidine", "dihydrocodeine", "pethidine",
    "meperidine", "levorphanol", "nalbuphine", "butorphanol", "pentazocine",
    "percocet", "vicodin", "norco", "oxycontin", "dilaudid", "ms contin", "suboxone", "ultram", "nucynta",
)
BENZODIAZEPINES = (
    "diazepam", "lorazepam", "alprazolam", "clonazepam", "temazepam", "oxazepam", "chlordiazepoxide",
    "midazolam", "triazolam", "nitrazepam", "bromazepam", "clobazam", "clorazepate", "flurazepam",
    "estazolam", "lormetazepam", "valium", "ativan", "xanax", "klonopin", "restoril", "librium",
)
# RxNorm ingredient concepts (RXCUI) for the same drugs.
RXNORM_OPIOIDS = {
    "7804": "oxycodone", "5489": "hydrocodone", "7052": "morphine", "3423": "hydromorphone",
    "7814": "oxymorphone", "2670": "codeine", "10689": "tramadol", "787390": "tapentadol",
    "4337": "fentanyl", "6813": "methadone", "1819": "buprenorphine", "6754": "meperidine",
}
RXNORM_BENZODIAZEPINES = {
    "3322": "diazepam", "6470": "lorazepam", "596": "alprazolam", "2598": "clonazepam",
    "10355": "temazepam", "7781": "oxazepam", "2356": "chlordiazepoxide", "6960": "midazolam",
    "10767": "triazolam", "2353": "clorazepate",
}
KETAMINE_RXNORM = "6130"

_WORD = {name: re.compile(rf"\b{re.escape(name)}\b", re.IGNORECASE) for name in (*OPIOIDS, *BENZODIAZEPINES)}


def drug_class(name: str | None, rxnorm: str | None = None) -> str | None:
    """'opioid', 'benzodiazepine' or None, by RxNorm ingredient code first, then by name."""
    if rxnorm:
        if rxnorm in RXNORM_OPIOIDS:
            return "opioid"
        if rxnorm in RXNORM_BENZODIAZEPINES:
            return "benzodiazepine"
    if not name:
        return None
    for drug in OPIOIDS:
        if _WORD[drug].search(name):
            return "opioid"
    for drug in BENZODIAZEPINES:
        if _WORD[drug].search(name):
            return "benzodiazepine"
    return None


def names_ketamine(text: str | None) -> bool:
    return bool(text) and re.search(r"\bketamin", text, re.IGNORECASE) is not None


RXNORM_INGREDIENTS = {**RXNORM_OPIOIDS, **RXNORM_BENZODIAZEPINES, KETAMINE_RXNORM: "ketamine"}
_FIRST_DIGIT = re.compile(r"\d")
_STRENGTH = re.compile(r"(\d+(?:[.,]\d+)?)\s*(mg|mcg|µg|ug|g)\b", re.IGNORECASE)
_TO_MG = {"mg": 1.0, "mcg": 0.001, "µg": 0.001, "ug": 0.001, "g": 1000.0}


def ingredient(name: str | None, rxnorm: str | None = None) -> str:
    """The drug a record or a diary mention is about (review-metrics.md v3, "one line per drug"):
    the RxNorm ingredient where the code is one we know, else the name before the strength,
    case-insensitively ("Oxycodone 5 mg", "oxycodone 10mg" and "OXYCODONE" are one drug)."""
    if rxnorm and str(rxnorm).strip() in RXNORM_INGREDIENTS:
        return RXNORM_INGREDIENTS[str(rxnorm).strip()]
    text = " ".join(str(name or "").split())
    match = _FIRST_DIGIT.search(text)
    before = text[:match.start()].strip(" ,;:-(") if match else text
    return (before or text).casefold()


def strength_text(name: str | None) -> str | None:
    """The part of a name from its strength on ("5 mg" of "Oxycodone 5 mg"), None without one."""
    text = " ".join(str(name or "").split())
    match = _FIRST_DIGIT.search(text)
    return text[match.start():] if match and match.start() > 0 else None


def strength_mg(text: str | None) -> float | None:
    """The first strength of a dose text in mg ("10 mg twice daily" 10, "500 mcg" 0.5), None without one."""
    match = _STRENGTH.search(str(text or ""))
    if match is None:
        return None
    return float(match.group(1).replace(",", ".")) * _TO_MG[match.group(2).lower()]
