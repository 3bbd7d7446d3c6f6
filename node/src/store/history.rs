//! Packages sent and received over a period, for reports.
