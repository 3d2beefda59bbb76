"""The expectation suites, one per stage they guard.

Every expectation carries `meta` that says what a failure means for a row:
- severity: "critical" (the row goes to quarantine) or "warning" (the row is kept);
- action: for warnings, "null" (the bad value is removed) or "flag" (kept, a steward decides);
- task: the steward task a warning opens ("invalid" or "incomplete");
- rule: a stable name for the rule; field: the canonical field it is about; message: plain words.

Columns starting with `check_` are derived by `verdicts.prepare_checks` just before validation,
so rules that span fields (ID/birth-date agreement) stay plain column expectations.
"""

from __future__ import annotations

from typing import Any

import great_expectations as gx
import great_expectations.expectations as gxe

from expectations.domain import (
    ExpectColumnPairValuesToAgreeOnBirthDate,
    ExpectColumnValuesToBeCnMobile,
    ExpectColumnValuesToBePlausibleBirthDate,
    ExpectColumnValuesToBeRiskLevel,
    ExpectColumnValuesToBeValidCnResidentId,
)
from mdm.schema import GENDERS, ID_TYPES, PRODUCT_RISKS
from mdm.segments.rules import CAMPAIGNS

STANDARD_RECORD = "standard_record"
GOLDEN_CUSTOMER = "golden_customer"
CUSTOMER_XREF = "customer_xref"
CUSTOMER_SEGMENT = "customer_segment"
# The segment types downstream apps read (customer_360 and campaign lists, SPEC §6-§7).
SEGMENT_TYPES = (
    "value_tier",
    "contact_frequency",
    "value_quadrant",
    "rfm",
    "risk_profile",
    "lifecycle_stage",
    "churn_warning",
    *(f"campaign_{name}" for name in CAMPAIGNS),
)

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
MAX_TEXT = 500  # longer than any real name or address; a 10 MB "name" is not a name


def _meta(
    severity: str,
    rule: str,
    field: str | None,
    message: str,
    *,
    action: str = "flag",
    task: str | None = None,
) -> dict[str, Any]:
    if severity == "warning" and task is None:
        task = "invalid"
    return {
        "severity": severity,
        "rule": rule,
        "field": field,
        "message": message,
        "action": action,
        "task": task,
    }


def standard_record_suite() -> gx.ExpectationSuite:
    """Rules for one standardized source record, before matching."""
    critical: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(
            column="source_record_id",
            meta=_meta("critical", "record_id_present", "source_record_id", "no record id"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="check_has_identity",
            value_set=[True],
            meta=_meta(
                "critical",
                "name_or_identifier",
                None,
                "no usable name and no identifier (ID number, mobile or email)",
            ),
        ),
    ]
    warnings: list[gxe.Expectation] = [
        ExpectColumnValuesToBeValidCnResidentId(
            column="check_resident_id",
            meta=_meta(
                "warning",
                "id_number_valid",
                "id_number",
                "resident ID is malformed, its birth date is not real or its check digit is wrong",
            ),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="check_other_id_valid",
            value_set=[True],
            meta=_meta(
                "warning",
                "id_number_format",
                "id_number",
                "ID number does not have the format of its ID type",
            ),
        ),
        ExpectColumnPairValuesToAgreeOnBirthDate(
            column_A="check_resident_id",
            column_B="birth_date",
            meta=_meta(
                "warning",
                "id_birth_date_agrees",
                "birth_date",
                "birth date differs from the one encoded in the resident ID",
            ),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="check_id_gender_agrees",
            value_set=[True],
            meta=_meta(
                "warning",
                "id_gender_agrees",
                "gender",
                "gender differs from the one encoded in the resident ID",
            ),
        ),
        ExpectColumnValuesToBePlausibleBirthDate(
            column="birth_date",
            min_age=0,
            max_age=120,
            meta=_meta(
                "warning",
                "plausible_age",
                "birth_date",
                "birth date gives an impossible age",
                action="null",
            ),
        ),
        # A landline or foreign number in the mobile field is kept for a steward to judge.
        ExpectColumnValuesToBeCnMobile(
            column="mobile",
            meta=_meta("warning", "cn_mobile", "mobile", "mobile is not a mainland mobile number"),
        ),
        gxe.ExpectColumnValuesToMatchRegex(
            column="email",
            regex=EMAIL,
            meta=_meta(
                "warning", "email_syntax", "email", "email is not an address", action="null"
            ),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="gender",
            value_set=list(GENDERS),
            meta=_meta("warning", "gender_code", "gender", "gender is not M/F/U", action="null"),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="id_type",
            value_set=list(ID_TYPES),
            meta=_meta("warning", "id_type_code", "id_type", "unknown ID type", action="null"),
        ),
        ExpectColumnValuesToBeRiskLevel(
            column="risk_level",
            meta=_meta(
                "warning",
                "risk_level_code",
                "risk_level",
                "risk level is not C1..C5",
                action="null",
            ),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="product_risk_max",
            value_set=list(PRODUCT_RISKS),
            meta=_meta(
                "warning",
                "product_risk_code",
                "product_risk_max",
                "product risk is not R1..R5",
                action="null",
            ),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="aum_cny",
            min_value=0,
            meta=_meta(
                "warning", "aum_not_negative", "aum_cny", "assets are negative", action="null"
            ),
        ),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="full_name",
            max_value=MAX_TEXT,
            meta=_meta(
                "warning", "name_length", "full_name", "name is implausibly long", action="null"
            ),
        ),
        gxe.ExpectColumnValueLengthsToBeBetween(
            column="address",
            max_value=MAX_TEXT,
            meta=_meta(
                "warning", "address_length", "address", "address is implausibly long", action="null"
            ),
        ),
        gxe.ExpectColumnValuesToBeNull(
            column="unparsed_fields",
            meta=_meta("warning", "parseable", None, "a value could not be read"),
        ),
    ]
    return gx.ExpectationSuite(name=STANDARD_RECORD, expectations=critical + warnings)


def golden_customer_suite() -> gx.ExpectationSuite:
    """Rules for a golden record before load: what a complete customer file needs [000 Q8]."""
    expectations: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(
            column=field,
            meta=_meta("warning", f"{field}_present", field, message, task="incomplete"),
        )
        for field, message in (
            ("id_number", "no ID number on file"),
            ("mobile", "no mobile phone on file"),
            ("birth_date", "no birth date on file"),
        )
    ]
    expectations.append(
        gxe.ExpectColumnValuesToBeInSet(
            column="check_risk_assessed",
            value_set=[True],
            meta=_meta(
                "warning",
                "risk_assessed",
                "risk_level",
                "holds assets but has no risk assessment",
                task="incomplete",
            ),
        )
    )
    return gx.ExpectationSuite(name=GOLDEN_CUSTOMER, expectations=expectations)


def customer_xref_suite() -> gx.ExpectationSuite:
    """customer_xref before load: every source record points at a customer with a valid score."""
    return gx.ExpectationSuite(
        name=CUSTOMER_XREF,
        expectations=[
            gxe.ExpectColumnValuesToNotBeNull(
                column="customer_id",
                meta=_meta(
                    "critical", "xref_has_customer", "customer_id", "record has no customer"
                ),
            ),
            gxe.ExpectColumnValuesToNotBeNull(
                column="match_score",
                meta=_meta("critical", "xref_has_score", "match_score", "record has no score"),
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="match_score",
                min_value=0,
                max_value=1,
                meta=_meta(
                    "critical", "xref_score_range", "match_score", "match score is not in [0, 1]"
                ),
            ),
        ],
    )


def customer_segment_suite() -> gx.ExpectationSuite:
    """customer_segment before load: known segment types, each with a customer and a value."""
    expectations: list[gxe.Expectation] = [
        gxe.ExpectColumnValuesToNotBeNull(
            column=column,
            meta=_meta("critical", f"segment_{column}_present", column, f"no {column}"),
        )
        for column in ("customer_id", "segment_type", "segment_value")
    ]
    expectations.append(
        gxe.ExpectColumnValuesToBeInSet(
            column="segment_type",
            value_set=list(SEGMENT_TYPES),
            meta=_meta("critical", "segment_type_known", "segment_type", "unknown segment type"),
        )
    )
    return gx.ExpectationSuite(name=CUSTOMER_SEGMENT, expectations=expectations)
