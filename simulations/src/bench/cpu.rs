//! CPU time per document: what a throughput figure costs the machine, so that a rate that
//! falls short of its target can be read against the cores there are.
//!
//! On two cores shared by the node and its clients, a target of N documents per second
//! leaves each document `2 s / N` of CPU in all. A node that spends more than that on one
//! document cannot reach the target however its work is arranged; one that spends less is
//! held back by waiting (disk, locks, hand-offs), which is a different fix.

use anyhow::{Context as _, anyhow};

use super::Figure;

/// The kernel reports process CPU times in clock ticks of this many per second.
fn ticks_per_second() -> anyhow::Result<f64> {
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .context("asking for the clock tick rate")?
        .ok_or_else(|| anyhow!("the system has no clock tick rate"))?;
    Ok(ticks as f64)
}

/// User plus system CPU seconds that process `pid` (`None`: this one) has used so far,
/// over all of its threads.
pub(super) fn cpu_seconds(pid: Option<u32>) -> anyhow::Result<f64> {
    let path = pid.map_or_else(
        || "/proc/self/stat".to_owned(),
        |pid| format!("/proc/{pid}/stat"),
    );
    let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis
    // start with field 3, so utime and stime (fields 14 and 15) are the 12th and 13th.
    let after_name = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("{path} has no command name"))?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |index: usize| -> anyhow::Result<f64> {
        fields
            .get(index)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| anyhow!("{path} has no CPU time in field {}", index + 3))
    };
    Ok((ticks(11)? + ticks(12)?) / ticks_per_second()?)
}

/// CPU used by a set of processes between [`start`](Self::start) and
/// [`per_document`](Self::per_document).
pub(super) struct CpuMeter {
    pids: Vec<Option<u32>>,
    before: f64,
}

impl CpuMeter {
    /// Starts counting for `pids` (`None`: this process).
    pub(super) fn start(pids: &[Option<u32>]) -> anyhow::Result<CpuMeter> {
        Ok(CpuMeter {
            pids: pids.to_vec(),
            before: total(pids)?,
        })
    }

    /// Microseconds of CPU per document since the start, for `documents` documents.
    pub(super) fn per_document(&self, documents: usize) -> anyhow::Result<f64> {
        let used = total(&self.pids)? - self.before;
        Ok(used * 1e6 / documents.max(1) as f64)
    }
}

fn total(pids: &[Option<u32>]) -> anyhow::Result<f64> {
    pids.iter().map(|pid| cpu_seconds(*pid)).sum()
}

/// The CPU each document may use for a rate of `target` per second on this machine's
/// cores: the reference a CPU-per-document figure stands beside.
pub(super) fn budget_at(name: &str, target: f64) -> Figure {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
    Figure::new(name, cores as f64 * 1e6 / target, "µs/doc", None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_cpu_time_grows_with_work() {
        let before = cpu_seconds(None).expect("reads /proc/self/stat");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut x = 0u64;
        // Work until the kernel's tick counter moves; the deadline bounds the loop.
        loop {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1));
            }
            let after = cpu_seconds(None).expect("reads /proc/self/stat");
            if after > before {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "20 s of work and the CPU time stayed at {before} s"
            );
        }
    }

    #[test]
    fn the_budget_is_the_cores_shared_out() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let budget = budget_at("budget", 2000.0);
        assert_eq!(budget.value, cores as f64 * 500.0);
    }
}
