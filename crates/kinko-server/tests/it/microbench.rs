//! Smoke run of the Encrypt micro-bench (`kinko-bench micro`): a few iterations, every
//! step reported with a time. No timing is asserted.

#[tokio::test]
async fn the_encrypt_micro_bench_reports_every_step() {
    let report = kinko_server::microbench::encrypt_steps(20, 1)
        .await
        .expect("the micro-bench runs");
    let names: Vec<&str> = report.steps.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "auth",
            "parse",
            "authorize",
            "crypto",
            "audit record",
            "audit hand-off",
            "response"
        ]
    );
    for step in &report.steps {
        assert!(step.ns > 0.0, "{} was not measured: {}", step.name, step.ns);
    }
    assert!(report.whole_ns > 0.0);
    let table = report.table();
    for name in names.iter().chain(&["rest", "whole request"]) {
        assert!(table.contains(name), "{name} missing from\n{table}");
    }
}
