//! One test per data file in `tests/data/`, plus a floor on the total number of cases so that a
//! file silently losing its cases is noticed.

use crate::harness::{assert_file, data_files, run_file};

#[test]
fn string_operators() {
    assert_file("operators_string.json");
}

#[test]
fn numeric_and_date_operators() {
    assert_file("operators_numeric_date.json");
}

#[test]
fn bool_binary_ip_arn_null_operators() {
    assert_file("operators_other.json");
}

#[test]
fn set_operators() {
    assert_file("set_operators.json");
}

#[test]
fn policy_elements() {
    assert_file("elements.json");
}

#[test]
fn policy_variables() {
    assert_file("variables.json");
}

#[test]
fn kms_developer_guide_examples() {
    assert_file("kms_examples.json");
}

#[test]
fn malformed_policies() {
    assert_file("malformed.json");
}

#[test]
fn every_data_file_has_a_test_and_the_suite_is_large() {
    let files = data_files();
    let expected = [
        "elements.json",
        "kms_examples.json",
        "malformed.json",
        "operators_numeric_date.json",
        "operators_other.json",
        "operators_string.json",
        "set_operators.json",
        "variables.json",
    ];
    assert_eq!(
        files, expected,
        "a data file was added or removed without its test"
    );
    let total: usize = files.iter().map(|f| run_file(f).cases).sum();
    eprintln!("kinko-policy data cases: {total}");
    assert!(total >= 150, "only {total} table-driven cases");
}
