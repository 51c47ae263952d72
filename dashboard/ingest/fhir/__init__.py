"""FHIR R4 import (import-formats.md v2, section 3): pain scores, PEG, blood pressure, ketamine
doses and prescriptions, co-medication, and measures (validated instruments, other
observations), from a Bundle of any type, a single resource, or NDJSON (one resource a line,
as Bulk Data exports write it).

Why a strict reader of the few fields we use, not a FHIR model library (fhir.resources,
fhirclient): we read about twenty fields of six resource types. The model libraries are heavy
(a model for each of ~150 resource types) and validate everything else, yet they still accept
the shapes that matter here: a pain score of 11, a year-only date where a diary needs a day, a
ketamine dose in tablets where we need mg. And their errors do not name the place the way an
import report must ("Observation/abc, component[1].valueQuantity.value, 11"). So each field is
read by a small typed accessor that raises with its path, and fields we do not use are left
alone, as FHIR expects of a consumer.

The package reads in the order the data flows:

- ``reading``: the file's bytes to resources (JSON or NDJSON, Bundles opened);
- ``values``: each field read by a typed accessor, refused with its path (``_Bad``);
- ``patients``: whose data each resource is;
- ``observations``: pain, PEG and blood pressure (Observation, QuestionnaireResponse);
- ``measures``: validated instruments and any other coded observation, to measures;
- ``medications``: ketamine doses taken, other drugs as co-medication;
- ``titration``: ketamine prescriptions to proposed titration steps;
- ``parse``: ``parse_fhir``, resource after resource, merged into diary entries.

The choices a reviewer should know are in the docstring of the module they concern.
"""

from dashboard.ingest.fhir.parse import parse_fhir
from dashboard.ingest.fhir.reading import looks_like_fhir

__all__ = ["looks_like_fhir", "parse_fhir"]
