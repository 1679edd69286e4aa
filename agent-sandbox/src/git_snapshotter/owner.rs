//! Who owns a marker: the process id, its start time (so a reused pid is
//! not taken for the owner) and the wall time the marker was written.

use agent_core::snapshot::SnapshotId;

/// The process that wrote a marker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Owner {
    pub(super) pid: u32,
    /// Field 22 of `/proc/PID/stat` (clock ticks after boot); 0 when unknown.
    pub(super) start: u64,
    /// Milliseconds since the Unix epoch when the marker was written.
    pub(super) wall_ms: u128,
}

impl Owner {
    /// This process, now.
    pub(super) fn current() -> Self {
        let pid = std::process::id();
        let wall_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        Self { pid, start: start_time(pid).unwrap_or(0), wall_ms }
    }

    /// Whether the owner is still running: a live (not zombie) process with
    /// this pid that started at the recorded time.
    pub(super) fn is_running(&self) -> bool {
        match start_time(self.pid) {
            Some(start) => self.start == 0 || start == self.start,
            None => false,
        }
    }
}

/// The start time of a live process, `None` when there is none (or it is a zombie).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after the last `)`.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    if matches!(state, "Z" | "X" | "x") {
        return None;
    }
    // `rest` starts at field 3 (state); starttime is field 22.
    fields.nth(18)?.parse().ok()
}

/// A marker's text: the snapshot it is about and, since markers record it,
/// its owner.
pub(super) fn render(id: &str, owner: &Owner) -> String {
    format!("snapshot {id}\npid {}\nstart {}\ntime {}\n", owner.pid, owner.start, owner.wall_ms)
}

/// Reads a marker; a marker of the old format (the snapshot id alone) has
/// no owner.
pub(super) fn parse(text: &str) -> (SnapshotId, Option<Owner>) {
    let text = text.trim();
    if !text.contains('\n') && !text.contains(' ') {
        return (SnapshotId(text.to_owned()), None);
    }
    let mut id = String::new();
    let (mut pid, mut start, mut wall_ms) = (None, None, None);
    for line in text.lines() {
        match line.split_once(' ') {
            Some(("snapshot", v)) => id = v.trim().to_owned(),
            Some(("pid", v)) => pid = v.trim().parse().ok(),
            Some(("start", v)) => start = v.trim().parse().ok(),
            Some(("time", v)) => wall_ms = v.trim().parse().ok(),
            _ => {}
        }
    }
    let owner = pid.map(|pid| Owner { pid, start: start.unwrap_or(0), wall_ms: wall_ms.unwrap_or(0) });
    (SnapshotId(id), owner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_running_and_a_recorded_start_time_that_differs_is_not() {
        let me = Owner::current();
        assert!(me.start > 0);
        assert!(me.is_running());
        assert!(!Owner { start: me.start + 1, ..me }.is_running(), "a reused pid was taken for the owner");
    }

    #[test]
    fn a_marker_round_trips_and_the_old_format_has_no_owner() {
        let me = Owner::current();
        let (id, owner) = parse(&render("abc", &me));
        assert_eq!((id.as_str(), owner), ("abc", Some(me)));
        let (id, owner) = parse("0123456789abcdef0123456789abcdef01234567\n");
        assert_eq!((id.as_str(), owner), ("0123456789abcdef0123456789abcdef01234567", None));
    }
}
