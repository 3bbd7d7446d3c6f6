//! What QLVB has still to collect through the axis-compatible API: receipts addressed to this agency, until QLVB acknowledges them.
