//! `read_file`: a file's lines with their numbers, a window at a time.

use crate::tools::bound_observation;
use crate::tools::common::{
    blocking, clip_line, contained, failed, looks_binary, numbered, parse_args, schema_of, show,
};
use agent_core::Tool;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use std::io::BufRead;

/// `read_file`: the lines `start_line..=end_line` (1-based, inclusive) of a
/// file, each with its number (`   12 | text`), under a header naming the
/// window and the file's length.
///
/// At most [`max_read_lines`](agent_core::tool::ObservationLimits::max_read_lines)
/// lines at once, and no more than fit in the observation budget; a note
/// says where to read on. A line longer than 2,000 characters is clipped
/// (`…`). A binary file (a NUL byte in its first 8 KiB) is not shown: a note
/// says so. File contents are shown as they are (never duration-masked).
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadFile;

/// Arguments of `read_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// File to read, relative to the workspace root.
    path: String,
    /// First line to show, 1-based (default 1).
    #[serde(default)]
    start_line: Option<usize>,
    /// Last line to show, 1-based and inclusive (default: as many as one read shows).
    #[serde(default)]
    end_line: Option<usize>,
}

const NAME: &str = "read_file";

/// Longest line shown whole.
const MAX_LINE_CHARS: usize = 2_000;

#[async_trait]
impl Tool for ReadFile {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Read a file of the workspace: its lines with their numbers (`   12 | text`; the number and ` | ` are \
         not part of the file). Long files are shown a window at a time: pass `start_line` and `end_line` \
         (1-based, inclusive) to read on."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        let start = args.start_line.unwrap_or(1);
        if start == 0 {
            return Err(ToolError::InvalidArguments {
                tool: NAME.to_owned(),
                reason: "`start_line`: lines are numbered from 1".to_owned(),
            });
        }
        if let Some(end) = args.end_line {
            if end < start {
                return Err(ToolError::InvalidArguments {
                    tool: NAME.to_owned(),
                    reason: format!("`end_line` {end} is before `start_line` {start}"),
                });
            }
        }
        let file = contained(cx, &args.path)?;
        let shown = show(&file.relative);
        let max_lines = cx.limits.max_read_lines.max(1);
        let end = args.end_line.unwrap_or(usize::MAX).min(start.saturating_add(max_lines - 1));
        // Room for the lines: the budget less the header and the note.
        let budget = cx.limits.max_tokens.saturating_mul(4).saturating_sub(200).max(256);
        let text = blocking(NAME, move || read_window(&file.resolved, &shown, start, end, budget)).await?;
        Ok(ToolOutput::text(bound_observation(&text, cx.limits.max_tokens)))
    }
}

fn read_window(
    path: &std::path::Path,
    shown: &str,
    start: usize,
    end: usize,
    budget: usize,
) -> Result<String, ToolError> {
    let meta = std::fs::metadata(path).map_err(|_| {
        failed(NAME, format!("no such file `{shown}`; list_files or search can find the file you mean"))
    })?;
    if meta.is_dir() {
        return Err(failed(NAME, format!("`{shown}` is a directory; list_files shows what it holds")));
    }
    let opened = std::fs::File::open(path).map_err(|e| failed(NAME, format!("cannot read `{shown}`: {e}")))?;
    let mut reader = std::io::BufReader::with_capacity(64 * 1024, opened);
    let head = reader.fill_buf().map_err(|e| failed(NAME, format!("cannot read `{shown}`: {e}")))?;
    if looks_binary(head) {
        return Ok(format!("`{shown}` is a binary file ({} bytes); it is not shown\n", meta.len()));
    }
    let mut lines = Vec::new();
    let mut used = 0usize;
    let mut last_shown = 0usize;
    let mut total = 0usize;
    let mut crlf = false;
    let mut stopped = false;
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let n = reader.read_until(b'\n', &mut buf).map_err(|e| failed(NAME, format!("cannot read `{shown}`: {e}")))?;
        if n == 0 {
            break;
        }
        total += 1;
        if total == 1 {
            crlf = buf.ends_with(b"\r\n");
        }
        if total < start || total > end || stopped {
            continue;
        }
        let raw = String::from_utf8_lossy(&buf);
        let line = numbered(total, &clip_line(raw.trim_end_matches(['\n', '\r']), MAX_LINE_CHARS));
        if !lines.is_empty() && used + line.len() + 1 > budget {
            stopped = true;
            continue;
        }
        used += line.len() + 1;
        lines.push(line);
        last_shown = total;
    }
    if total == 0 {
        return Ok(format!("`{shown}` is empty (0 lines)\n"));
    }
    if start > total {
        return Err(failed(NAME, format!("`start_line` {start} is past the end of `{shown}` ({total} lines)")));
    }
    let endings = if crlf { ", CRLF line endings" } else { "" };
    let mut out = format!("{shown}: lines {start}-{last_shown} of {total}{endings}\n");
    for line in &lines {
        out.push_str(line);
        out.push('\n');
    }
    if last_shown < total {
        out.push_str(&format!("[… {} more lines; read on with start_line={}]\n", total - last_shown, last_shown + 1));
    }
    Ok(out)
}
