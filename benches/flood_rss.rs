//! Peak resident memory while a child prints 1 GiB, through `ProcessExecutor`
//! (bounded capture, full output to a log file) or through
//! `tokio::process::Command::output()` (the tool a user would otherwise use,
//! which keeps everything in memory).
//!
//! Each mode runs in its own process so its peak (`VmHWM` in
//! `/proc/self/status`) is its own; `benches/flood_rss.sh` runs both:
//!
//! ```sh
//! bash benches/flood_rss.sh
//! # or one mode: cargo bench --bench flood_rss -- executor|tokio [BYTES]
//! ```
#![allow(missing_docs)]

use agentkit::core::Executor;
use agentkit::core::exec::{CommandSpec, OutputCaps};
use agentkit::sandbox::ProcessExecutor;

const MIB: f64 = 1024.0 * 1024.0;

/// Peak resident set size of this process, in bytes.
fn vm_hwm() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|v| v.parse().ok()).expect("a number");
    kib * 1024
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let mode = args.first().map(String::as_str).unwrap_or("executor").to_string();
    let bytes: u64 = args.get(1).and_then(|b| b.parse().ok()).unwrap_or(1 << 30);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let baseline = vm_hwm();
    let head = format!("head -c {bytes} /dev/zero");
    match mode.as_str() {
        "executor" => {
            let logs = tempfile::tempdir().expect("tempdir");
            let caps = OutputCaps::default();
            // Both streams are capped; stderr stays empty here.
            let cap_bytes = 2 * (caps.head_bytes + caps.tail_bytes) as u64;
            // The whole output goes to the log, as before logs were capped.
            let exec = ProcessExecutor::new().with_log_dir(logs.path().to_path_buf()).with_log_cap(u64::MAX);
            let start = std::time::Instant::now();
            let out =
                rt.block_on(exec.run(CommandSpec::new("sh").args(["-c", &head]).output_caps(caps))).expect("runs");
            let took = start.elapsed();
            let log_len = out.log_path.as_ref().and_then(|p| std::fs::metadata(p).ok()).map_or(0, |m| m.len());
            if let Some(p) = &out.log_path {
                let _ = std::fs::remove_file(p);
            }
            assert_eq!(out.stdout.total_bytes, bytes);
            assert_eq!(log_len, bytes);
            let peak = vm_hwm();
            println!(
                "executor: {bytes} bytes in {took:?}; peak RSS {:.1} MiB (baseline before the run {:.1} MiB); capture caps {:.1} MiB; peak - caps {:.1} MiB",
                peak as f64 / MIB,
                baseline as f64 / MIB,
                cap_bytes as f64 / MIB,
                (peak.saturating_sub(cap_bytes)) as f64 / MIB
            );
        }
        "tokio" => {
            let start = std::time::Instant::now();
            let out = rt
                .block_on(async { tokio::process::Command::new("sh").args(["-c", &head]).output().await })
                .expect("runs");
            let took = start.elapsed();
            assert_eq!(out.stdout.len() as u64, bytes);
            let peak = vm_hwm();
            drop(out);
            println!(
                "tokio::process::Command::output: {bytes} bytes in {took:?}; peak RSS {:.1} MiB (baseline {:.1} MiB)",
                peak as f64 / MIB,
                baseline as f64 / MIB
            );
        }
        other => panic!("unknown mode {other}: executor or tokio"),
    }
}
