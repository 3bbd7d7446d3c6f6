//! The metrics as Prometheus text.

use super::*;

/// The value of the first sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(prefix))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[test]
fn every_code_and_path_shows_before_it_happens() {
    let metrics = Metrics::new();
    let text = metrics.render();
    for code in StatusCode::ALL {
        let line = format!(
            "lienthong_receipts_by_code_total{{code=\"{}\"}} 0",
            code.as_str()
        );
        assert!(text.contains(&line), "{line} in\n{text}");
    }
    for path in DeliveryPath::ALL {
        let line = format!(
            "lienthong_deliveries_by_path_total{{path=\"{}\"}} 0",
            path.as_str()
        );
        assert!(text.contains(&line), "{line}");
    }
}

#[test]
fn receipts_deliveries_and_gauges_show_what_was_counted() {
    let metrics = Metrics::new();
    metrics.receipt(StatusCode::Completed);
    metrics.receipt(StatusCode::Completed);
    metrics.delivered(DeliveryPath::Mailbox, Duration::from_secs(120));
    metrics.set_store(
        4096,
        &StoreCounts {
            outgoing: 3,
            pending_outbox: 1,
            inbox_unacked: 2,
            receipts: 9,
        },
    );
    metrics.set_peers(4, 1);
    let text = metrics.render();
    let value = |prefix: &str| sample(&text, prefix);
    assert_eq!(
        value("lienthong_receipts_by_code_total{code=\"06\"}"),
        Some(2.0)
    );
    assert_eq!(
        value("lienthong_deliveries_by_path_total{path=\"mailbox\"}"),
        Some(1.0)
    );
    assert_eq!(value("lienthong_deliveries_total"), Some(1.0));
    assert_eq!(value("lienthong_delivery_seconds_count"), Some(1.0));
    assert_eq!(value("lienthong_delivery_seconds_sum"), Some(120.0));
    assert_eq!(
        value("lienthong_delivery_seconds_bucket{le=\"60.0\"}"),
        Some(0.0)
    );
    assert_eq!(
        value("lienthong_delivery_seconds_bucket{le=\"300.0\"}"),
        Some(1.0)
    );
    assert_eq!(value("lienthong_store_size_bytes"), Some(4096.0));
    assert_eq!(
        value("lienthong_store_records{kind=\"receipts\"}"),
        Some(9.0)
    );
    assert_eq!(value("lienthong_peers_connected"), Some(4.0));
    assert_eq!(value("lienthong_peers_relayed"), Some(1.0));
}

#[test]
fn request_labels_are_a_fixed_set() {
    let metrics = Metrics::new();
    metrics.request("/api/v1/inbox", "BREW", 418, Duration::from_millis(3));
    metrics.request(UNMATCHED_ROUTE, "GET", 404, Duration::from_millis(1));
    let text = metrics.render();
    assert!(text.contains(
        "lienthong_api_request_duration_seconds_count{route=\"/api/v1/inbox\",method=\"other\",status=\"4xx\"} 1"
    ), "{text}");
    assert!(text.contains(
        "lienthong_api_request_duration_seconds_count{route=\"unmatched\",method=\"GET\",status=\"4xx\"} 1"
    ));
}
