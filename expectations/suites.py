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

from mdm.schema import GENDERS, ID_TYPES, PRODUCT_RISKS, RISK_LEVELS

STANDARD_RECORD = "standard_record"
GOLDEN_CUSTOMER = "golden_customer"

E164 = r"^\+[1-9][0-9]{6,14}$"
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
    critical = [
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
    warnings = [
        gxe.ExpectColumnValuesToBeInSet(
            column="check_id_valid",
            value_set=[True],
            meta=_meta(
                "warning",
                "id_number_valid",
                "id_number",
                "ID number is malformed or its check digit is wrong",
            ),
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column="check_id_birth_agrees",
            value_set=[True],
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
        gxe.ExpectColumnValuesToBeBetween(
            column="check_age_years",
            min_value=0,
            max_value=120,
            meta=_meta(
                "warning",
                "plausible_age",
                "birth_date",
                "birth date gives an impossible age",
                action="null",
            ),
        ),
        gxe.ExpectColumnValuesToMatchRegex(
            column="mobile",
            regex=E164,
            meta=_meta(
                "warning", "phone_e164", "mobile", "mobile is not a phone number", action="null"
            ),
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
        gxe.ExpectColumnValuesToBeInSet(
            column="risk_level",
            value_set=list(RISK_LEVELS),
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
