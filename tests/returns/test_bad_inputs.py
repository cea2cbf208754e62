"""Given a return broken in one way, when it is uploaded, then the uploader is told exactly
what is wrong (file, row, column) and how to fix it - never a traceback."""

from __future__ import annotations

import zipfile

import pytest

from plancycle.returns import UploadError, ValidationContext, read_return, validate_upload

from .builders import (
    SIP_HEADER,
    grid,
    pay_budget_rows,
    sip_rows,
    to_csv,
    to_xlsx,
    vacancy_rows,
)


def sip(rows=None, **kw) -> bytes:
    return to_csv(rows or sip_rows(), **kw)


def upload_error(data: bytes, kind: str = "staff_in_post", name: str = "sip.csv",
                 **kw) -> UploadError:
    with pytest.raises(UploadError) as info:
        read_return(data, kind, file_name=name, **kw)
    return info.value


def test_baseline_builder_return_passes():
    report = validate_upload(sip(), "staff_in_post", file_name="sip.csv")
    assert report.verdict == "pass", report.to_text()
    assert report.row_count == 6


# --- files that cannot be read ---------------------------------------------------------

def test_empty_file_is_refused_with_what_to_do():
    err = upload_error(b"  \r\n")
    assert err.code == "file.empty"
    assert str(err).startswith("sip.csv: The file is empty.")
    assert "header row" in err.fix


def test_header_only_file_is_refused():
    err = upload_error(",".join(SIP_HEADER).encode() + b"\r\n\r\n")
    assert err.code == "file.header_only"
    assert "header (row 1) but no data rows" in err.problem


def test_header_only_becomes_a_failed_dq_report_not_a_traceback():
    report = validate_upload(",".join(SIP_HEADER).encode(), "staff_in_post", file_name="x.csv")
    assert report.verdict == "fail"
    assert [c.id for c in report.checks] == ["file.header_only"]
    assert report.file_name == "x.csv" and "no data rows" in report.checks[0].message


def test_undecodable_bytes_are_refused_naming_the_fix():
    data = sip().replace(b"Medicine", b"Medi\x81\x8d\x9dne")
    err = upload_error(data)
    assert err.code == "file.encoding"
    assert "CSV UTF-8" in err.fix


def test_windows_1252_file_is_read_and_noted():
    rows = sip_rows()
    rows[0]["location"] = "Café Ward £"
    report = validate_upload(sip(rows, encoding="cp1252"), "staff_in_post", file_name="a.csv")
    assert report.verdict == "pass"
    assert any("Windows-1252" in n for n in report.notes)


def test_utf8_bom_does_not_spoil_the_first_header():
    report = validate_upload(b"\xef\xbb\xbf" + sip(), "staff_in_post", file_name="bom.csv")
    assert report.verdict == "pass"


@pytest.mark.parametrize(("delimiter", "word"), [(";", "semicolons"), ("\t", "tabs")])
def test_semicolon_and_tab_delimited_files_are_accepted(delimiter, word):
    rows = sip_rows()
    rows[1]["contracted_hours"] = "30"
    report = validate_upload(sip(rows, delimiter=delimiter), "staff_in_post", file_name="s.csv")
    assert report.verdict == "pass", report.to_text()
    assert report.row_count == 6
    assert any(word in n for n in report.notes)


def test_file_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.setenv("PLANCYCLE_MAX_UPLOAD_MB", "400")
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as fh:  # a sparse 500 MB file: refusing it must not read it
        fh.truncate(500 * 1024 * 1024)
    report = validate_upload(huge, "staff_in_post")
    assert report.verdict == "fail" and report.sha256 == ""   # not even hashed
    check = report.checks[0]
    assert check.id == "file.too_large"
    assert ("500.0 MB, over the 400 MB upload limit (setting PLANCYCLE_MAX_UPLOAD_MB)"
            in check.message)
    assert "split it" in check.fix and "PLANCYCLE_MAX_UPLOAD_MB" in check.fix
    err = upload_error(sip(), max_bytes=100)
    assert err.code == "file.too_large" and "over the 100 bytes upload limit" in err.problem


def test_the_default_upload_limit_takes_a_large_trusts_full_extract(monkeypatch):
    from plancycle.returns import DEFAULT_MAX_BYTES, max_upload_bytes

    monkeypatch.delenv("PLANCYCLE_MAX_UPLOAD_MB", raising=False)
    assert max_upload_bytes() == DEFAULT_MAX_BYTES >= 250 * 1024 * 1024
    monkeypatch.setenv("PLANCYCLE_MAX_UPLOAD_MB", "lots")
    with pytest.raises(ValueError, match="PLANCYCLE_MAX_UPLOAD_MB='lots' is not a whole"):
        max_upload_bytes()


def test_unquoted_comma_gives_the_row_and_the_fix():
    data = sip().replace(b"Central functions", b"Scientific, therapeutic & technical staff", 1)
    data = data.replace(b'"Scientific, therapeutic & technical staff"',
                        b"Scientific, therapeutic & technical staff")
    err = upload_error(data)
    assert err.code == "file.ragged_rows"
    assert "Row 5 has 16 values but the header has 15 columns" in err.problem
    assert "double quotes" in err.fix


def test_legacy_xls_and_binary_files_are_refused():
    assert upload_error(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
                        name="old.xls").code == "file.format"
    err = upload_error(b"%PDF-1.7\n\x00\x01binary", name="scan.pdf")
    assert err.code == "file.format" and "not text" in err.problem


def test_zip_that_is_not_a_workbook_is_refused(tmp_path):
    path = tmp_path / "return.xlsx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("return.csv", sip())
    err = upload_error(path.read_bytes(), name="return.xlsx")
    assert err.code == "file.format" and "not an Excel workbook" in err.problem


def test_wrong_file_for_the_kind_lists_the_expected_columns():
    err = upload_error(to_csv(vacancy_rows()).replace(b"org_code", b"trust"), name="v.csv")
    assert err.code == "columns.no_header"
    assert "Staff in post" in err.problem
    assert "assignment_id, person_id, org_code" in err.fix


# --- spreadsheets ------------------------------------------------------------------------

def test_csv_renamed_xlsx_is_sniffed_as_csv():
    report = validate_upload(sip(), "staff_in_post", file_name="sip.xlsx")
    assert report.verdict == "pass"
    assert any("holds plain text; it was read as CSV" in n for n in report.notes)


def test_xlsx_renamed_csv_is_read_as_a_workbook(tmp_path):
    path = to_xlsx(tmp_path / "sip.xlsx", {"Sheet1": grid(sip_rows())})
    report = validate_upload(path.read_bytes(), "staff_in_post", file_name="sip.csv")
    assert report.verdict == "pass", report.to_text()
    assert any("is an Excel workbook" in n for n in report.notes)


def test_workbook_with_several_sheets_says_which_to_keep(tmp_path):
    path = to_xlsx(tmp_path / "book.xlsx", {"Notes": [["read me"]], "Data": grid(sip_rows()),
                                            "Lookup": [["code"], ["A"]]})
    err = upload_error(path.read_bytes(), name="book.xlsx")
    assert err.code == "xlsx.several_sheets"
    assert "3 sheets ('Notes', 'Data', 'Lookup')" in err.problem
    assert "rename that sheet to 'staff_in_post'" in err.fix


def test_workbook_sheet_named_for_the_kind_is_used(tmp_path):
    path = to_xlsx(tmp_path / "book.xlsx", {"Notes": [["read me"]],
                                            "Vacancies": grid(vacancy_rows())})
    report = validate_upload(path, "vacancies")
    assert report.verdict == "pass", report.to_text()
    assert "Read sheet 'Vacancies' of 2 in the workbook." in report.notes


def test_formula_without_saved_value_is_reported_by_cell(tmp_path):
    rows = grid(sip_rows())
    rows[3][6] = "=0.4+0.4"  # openpyxl writes formulas without a calculated value
    path = to_xlsx(tmp_path / "sip.xlsx", {"Sheet1": rows})
    report = validate_upload(path, "staff_in_post")
    assert report.verdict == "fail"
    check = report.check("file.formula_without_value")
    assert (check.status, check.offending) == ("fail", 1)
    assert check.rows[0].row == 4 and check.rows[0].values == {"cell": "G4",
                                                                "formula": "=0.4+0.4"}
    assert "Paste Special > Values" in check.fix


def test_xlsx_dates_and_numbers_are_read_as_a_csv_export_would(tmp_path):
    import datetime as dt

    rows = grid(sip_rows())
    rows[1][11] = dt.datetime(2019, 4, 1)
    rows[1][6] = 1.0
    path = to_xlsx(tmp_path / "sip.xlsx", {"staff_in_post": rows})
    table = read_return(path, "staff_in_post")
    assert table.frame.loc[2, "start_date"] == "2019-04-01"
    assert table.frame.loc[2, "wte"] == "1"


# --- layout: header, blank rows, totals, columns --------------------------------------------

def test_title_rows_above_the_header_are_ignored_with_a_warning():
    data = b"Staff in post return,,\r\nRJE March 2025,,\r\n" + sip()
    report = validate_upload(data, "staff_in_post", file_name="sip.csv")
    assert report.verdict == "warn"
    check = report.check("header.title_rows")
    assert "Row(s) 1–2 above the header" in check.message
    assert "read from row 3" in check.message
    bad = sip_rows()
    bad[0]["wte"] = "7"
    report = validate_upload(b"Title\r\n" + sip(bad), "staff_in_post", file_name="sip.csv")
    assert report.check("range.wte").rows[0].row == 3  # row numbers as in the file


def test_trailing_blank_rows_and_columns_are_ignored():
    body = sip().replace(b"\r\n", b",,\r\n") + b",,,\r\n\r\n , ,\r\n"
    report = validate_upload(body, "staff_in_post", file_name="sip.csv")
    assert report.verdict == "pass", report.to_text()
    assert report.row_count == 6


def test_totals_row_is_left_out_and_warned():
    rows = sip_rows()
    rows.append({"assignment_id": "Total", "wte": "4.8"})
    report = validate_upload(sip(rows), "staff_in_post", file_name="sip.csv")
    assert report.verdict == "warn", report.to_text()
    check = report.check("rows.total")
    assert check.rows[0].row == 8 and "Row(s) 8 look like totals" in check.message
    assert report.row_count == 6


def test_duplicated_header_columns_fail_naming_both():
    header = SIP_HEADER + ["WTE"]
    rows = [{**r, "WTE": r["wte"]} for r in sip_rows()]
    report = validate_upload(to_csv(rows, header=header), "staff_in_post", file_name="d.csv")
    assert report.verdict == "fail"
    check = report.check("columns.duplicated")
    assert "wte (columns G 'wte' and P 'WTE')" in check.message
    assert "Delete the repeated column" in check.fix


def test_missing_required_column_fails_and_lists_expected_columns():
    header = [h for h in SIP_HEADER if h != "grade"]
    report = validate_upload(to_csv(sip_rows(), header=header), "staff_in_post",
                             file_name="m.csv")
    assert report.verdict == "fail"
    check = report.check("columns.required")
    assert "Missing column(s): grade." in check.message
    assert "Expected columns: assignment_id, person_id" in check.fix
    assert "codes.grade" not in {c.id for c in report.checks}


def test_unknown_column_is_ignored_with_a_suggestion():
    rows = [{**r, "Staf Grup": r["staff_group"]} for r in sip_rows()]
    header = [h if h != "staff_group" else "Staf Grup" for h in SIP_HEADER]
    report = validate_upload(to_csv(rows, header=header), "staff_in_post", file_name="u.csv")
    assert report.verdict == "fail"  # staff_group is then missing
    check = report.check("columns.unknown")
    assert check.status == "warn"
    assert "'Staf Grup' (column D)" in check.message
    assert "looks like staff_group" in check.message


def test_headers_match_case_and_spacing_insensitively_and_by_alias():
    header = [h.replace("_", " ").title() for h in SIP_HEADER]
    header[6] = "FTE"
    rows = [dict(zip(header, r.values(), strict=True)) for r in sip_rows()]
    report = validate_upload(to_csv(rows, header=header), "staff_in_post", file_name="h.csv")
    assert report.verdict == "pass", report.to_text()


def test_neither_age_band_nor_date_of_birth_fails():
    header = [h for h in SIP_HEADER if h != "age_band"]
    report = validate_upload(to_csv(sip_rows(), header=header), "staff_in_post",
                             file_name="a.csv")
    check = report.check("cross.age_band_or_dob")
    assert report.verdict == "fail" and check.status == "fail"
    assert "Neither an age_band nor a date_of_birth column" in check.message


# --- values ------------------------------------------------------------------------------

def test_dates_in_iso_uk_and_day_month_name_forms_are_accepted():
    rows = sip_rows()
    rows[0]["start_date"], rows[1]["start_date"], rows[2]["start_date"] = (
        "2019-04-01", "01/04/2019", "01-Apr-2019")
    report = validate_upload(sip(rows), "staff_in_post", file_name="d.csv")
    assert report.verdict == "pass", report.to_text()


def test_us_month_day_dates_are_reported_as_ambiguous():
    rows = sip_rows()
    rows[2]["start_date"] = "04/30/2019"
    rows[3]["start_date"] = "04/05/2019"
    report = validate_upload(sip(rows), "staff_in_post", file_name="us.csv")
    assert report.verdict == "fail"
    check = report.check("dates.day_month_order")
    assert check.rows[0].row == 4 and check.rows[0].values == {"start_date": "04/30/2019"}
    assert "'04/30/2019' and 1 other date(s) that could be read either way" in check.message
    assert "yyyy-mm-dd" in check.fix
    assert report.check("type.start_date").offending == 1


def test_wte_out_of_range_names_rows_and_values():
    rows = sip_rows()
    rows[1]["wte"], rows[4]["wte"] = "2", "-0.5"
    report = validate_upload(sip(rows), "staff_in_post", file_name="w.csv")
    check = report.check("range.wte")
    assert report.verdict == "fail" and check.offending == 2
    assert [(r.row, r.values["wte"]) for r in check.rows] == [(3, "2"), (6, "-0.5")]
    assert check.message == "2 row(s) have a wte that is not from 0 to 1.5 (first: row 3, '2')."
    assert "a number from 0 to 1.5" in check.fix


def test_text_in_a_number_column_is_a_type_failure_not_a_blank():
    rows = sip_rows()
    rows[0]["wte"] = "full time"
    report = validate_upload(sip(rows), "staff_in_post", file_name="t.csv")
    check = report.check("type.wte")
    assert check.offending == 1 and check.rows[0].row == 2
    assert "'full time'" in check.message and "is not a number" in check.message
    assert report.check("not_null.wte").status == "pass"


def test_blank_required_value_and_unknown_code_fail():
    rows = sip_rows()
    rows[2]["org_code"] = ""
    rows[3]["staff_group"] = "Nursing"
    rows[4]["grade"] = "band 5"  # case is forgiven
    report = validate_upload(sip(rows), "staff_in_post", file_name="c.csv")
    assert report.check("not_null.org_code").rows[0].row == 4
    codes = report.check("codes.staff_group")
    assert (codes.offending, codes.rows[0].row, codes.rows[0].values) == (
        1, 5, {"staff_group": "Nursing"})
    assert "Nurses & health visitors" in codes.fix
    assert report.check("codes.grade").status == "pass"


def test_ethnic_category_accepts_code_or_code_label_only():
    rows = sip_rows()
    rows[0]["ethnic_category"] = "A White British"
    rows[1]["ethnic_category"] = "White British"
    report = validate_upload(sip(rows), "staff_in_post", file_name="e.csv")
    check = report.check("codes.ethnic_category")
    assert [r.row for r in check.rows] == [3]
    assert "'code label'" in check.fix


def test_duplicate_assignment_ids_fail_with_both_rows():
    rows = sip_rows()
    rows[3]["assignment_id"] = rows[0]["assignment_id"]
    report = validate_upload(sip(rows), "staff_in_post", file_name="u.csv")
    check = report.check("unique.assignment_id")
    assert report.verdict == "fail" and [r.row for r in check.rows] == [2, 5]


def test_every_assignment_id_given_twice_fails_every_row():
    """Mostly repeated identifiers are checked as codes, mostly distinct ones as read: the
    same rule either way (here every row is someone's duplicate)."""
    rows = sip_rows()
    half = len(rows) // 2
    for i in range(half):
        rows[half + i]["assignment_id"] = rows[i]["assignment_id"]
    rows = rows[:2 * half]
    report = validate_upload(sip(rows), "staff_in_post", file_name="u.csv")
    check = report.check("unique.assignment_id")
    assert check.offending == 2 * half
    assert [r.row for r in check.rows][:2] == [2, 3]


# --- cross-field and cross-return rules --------------------------------------------------

def sickness(rows: list[tuple[str, str, str]]) -> bytes:
    return to_csv([{"month": "2025-01", "org_code": f"R{i}", "fte_days_lost": lost,
                    "fte_days_available": avail, "sickness_absence_rate": rate}
                   for i, (lost, avail, rate) in enumerate(rows)])


def test_days_lost_above_days_available_fails():
    report = validate_upload(sickness([("10", "200", "5"), ("300", "200", "150")]),
                             "sickness_absence", file_name="s.csv")
    check = report.check("cross.lost_le_available")
    assert report.verdict == "fail" and check.rows[0].row == 3
    assert report.check("range.sickness_absence_rate").rows[0].values == {
        "sickness_absence_rate": "150"}


def test_rate_not_matching_lost_over_available_fails_beyond_rounding():
    report = validate_upload(sickness([("10", "300", "3.33"), ("10", "300", "3.34")]),
                             "sickness_absence", file_name="s.csv")
    check = report.check("cross.rate_matches")
    assert (check.evaluated, check.offending, check.rows[0].row) == (2, 1, 3)


def test_vacancy_above_establishment_fails():
    rows = vacancy_rows()
    rows[1]["vacancy_wte"] = "31"
    report = validate_upload(to_csv(rows), "vacancies", file_name="v.csv")
    check = report.check("cross.vacancy_le_establishment")
    assert report.verdict == "fail" and check.rows[0].row == 3
    assert check.rows[0].values["vacancy_wte"] == "31"


def test_vacancy_staff_group_missing_from_staff_in_post_warns():
    from plancycle.returns import load_typed

    sip_typed = load_typed(sip(sip_rows(1)), "staff_in_post")  # nurses only
    report = validate_upload(to_csv(vacancy_rows()), "vacancies", file_name="v.csv",
                             context=ValidationContext(staff_in_post=sip_typed))
    check = report.check("context.staff_groups_in_sip")
    assert report.verdict == "warn"
    assert check.rows[0].row == 3 and check.rows[0].values["staff_group"] == "HCHS doctors"


def test_staff_in_post_reconciles_with_pay_budget_within_tolerance():
    from plancycle.returns import load_typed

    budget = load_typed(to_csv(pay_budget_rows()), "pay_budget")
    report = validate_upload(sip(), "staff_in_post", file_name="s.csv",
                             context=ValidationContext(pay_budget=budget))
    assert report.check("context.reconcile_pay_budget").status == "pass"
    rows = pay_budget_rows()
    rows[0]["budgeted_wte"], rows[0]["pay_budget_gbp"] = "3", "150000"
    budget = load_typed(to_csv(rows), "pay_budget")
    report = validate_upload(sip(), "staff_in_post", file_name="s.csv",
                             context=ValidationContext(pay_budget=budget))
    check = report.check("context.reconcile_pay_budget")
    assert report.verdict == "warn"
    assert check.rows[0].values == {"staff_group": "Nurses & health visitors",
                                    "staff_in_post_wte": "2.00", "budgeted_wte": "3.00",
                                    "difference": "-1.00"}
    loose = ValidationContext(pay_budget=budget, reconcile_tolerance=0.5)
    assert validate_upload(sip(), "staff_in_post", context=loose).verdict == "pass"


def test_row_count_swing_against_last_year_warns():
    report = validate_upload(sip(), "staff_in_post", file_name="s.csv",
                             context=ValidationContext(previous_row_count=10))
    check = report.check("completeness.row_swing")
    assert report.verdict == "warn"
    assert "6 rows against 10 last year (-40%)" in check.message
    ok = ValidationContext(previous_row_count=7)
    assert validate_upload(sip(), "staff_in_post", context=ok).verdict == "pass"


def test_pay_budget_upload_reconciles_against_staff_in_post_already_accepted():
    from plancycle.returns import load_typed

    sip_typed = load_typed(sip(), "staff_in_post")
    rows = pay_budget_rows()
    rows[2]["budgeted_wte"], rows[2]["pay_budget_gbp"] = "2", "100000"
    report = validate_upload(to_csv(rows), "pay_budget", file_name="pb.csv",
                             context=ValidationContext(staff_in_post=sip_typed))
    check = report.check("context.reconcile_pay_budget")
    assert (report.verdict, check.offending) == ("warn", 1)
    assert check.rows[0].values["staff_group"] == "Support to doctors, nurses & midwives"
    assert "more than 10% of budgeted WTE" in check.message


def test_pay_budget_not_equal_to_wte_times_cost_warns():
    rows = pay_budget_rows()
    rows[1]["pay_budget_gbp"] = "10"
    report = validate_upload(to_csv(rows), "pay_budget", file_name="pb.csv")
    check = report.check("cross.budget_equals_wte_times_cost")
    assert (report.verdict, check.status, check.rows[0].row) == ("warn", "warn", 3)


def test_cells_are_trimmed_exactly_as_python_strips_them():
    from plancycle.returns.cells import SPACE_CHARS, grid_from_rows

    assert "".join(chr(c) for c in range(0x110000) if chr(c).isspace()) == SPACE_CHARS
    values = [f"{c}x{c}" for c in SPACE_CHARS] + [" é ", "\u00a0", "a b", None, ""]
    grid = grid_from_rows([[v] for v in values])
    assert grid.column(0).to_pylist() == [(v.strip() or None) if v else None for v in values]
