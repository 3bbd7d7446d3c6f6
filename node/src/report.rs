//! Exchanges per counterpart over a period: what seed 002's quarterly report and seed 000's review of status confirmation ask for.
