//! `search`: a regex over the workspace's files, ripgrep's way
//! (`grep-regex` matcher, `grep-searcher` over the ignore-aware walk).

use crate::tools::bound_observation;
use crate::tools::common::{blocking, canonical_root, clip_line, contained, failed, parse_args, schema_of, show};
use crate::tools::walk::{Found, GlobFilter, files_under};
use agent_core::Tool;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use grep_regex::RegexMatcherBuilder;
use grep_searcher::sinks::Lossy;
use grep_searcher::{BinaryDetection, SearcherBuilder};
use schemars::JsonSchema;
use serde::Deserialize;

/// `search`: the lines matching a regex (Rust `regex` syntax, one line at a
/// time), as `file:line: text`, in the files under `path` (a directory or
/// one file; default the root) that match `glob`, walked like `list_files`.
/// Files are searched in path order; binary files are skipped; a matched
/// line longer than 300 characters is clipped. At most
/// [`max_matches`](agent_core::tool::ObservationLimits::max_matches) lines,
/// with a note of how many more matched. An invalid regex is
/// [`ToolError::InvalidArguments`] with the parser's message.
#[derive(Clone, Copy, Debug, Default)]
pub struct Search;

/// Arguments of `search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// Regular expression (Rust regex syntax), matched against each line.
    pattern: String,
    /// Directory or file to search, relative to the workspace root (default: the root).
    #[serde(default)]
    path: Option<String>,
    /// Only files matching this glob: `*.rs` matches file names anywhere,
    /// `src/**/*.rs` paths from the root.
    #[serde(default)]
    glob: Option<String>,
}

const NAME: &str = "search";

/// Longest matched line shown whole.
const MAX_LINE_CHARS: usize = 300;

/// Matches counted before the search stops.
const MAX_COUNTED: usize = 10_000;

#[async_trait]
impl Tool for Search {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "Search the workspace's files for a regular expression (Rust regex syntax, matched line by line). \
         Prints `file:line: text` for each matching line. Narrow with `path` (a directory or file) and `glob` \
         (`*.py`, `src/**/*.rs`). Ignored, hidden and binary files are skipped."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        if args.pattern.is_empty() {
            return Err(ToolError::InvalidArguments { tool: NAME.to_owned(), reason: "`pattern` is empty".to_owned() });
        }
        let matcher = RegexMatcherBuilder::new().line_terminator(Some(b'\n')).build(&args.pattern).map_err(|e| {
            ToolError::InvalidArguments {
                tool: NAME.to_owned(),
                reason: format!("`pattern` is not a valid regex: {e}"),
            }
        })?;
        let glob =
            args.glob.as_deref().filter(|g| !g.trim().is_empty()).map(|g| GlobFilter::new(NAME, g)).transpose()?;
        let start = contained(cx, args.path.as_deref().filter(|p| !p.trim().is_empty()).unwrap_or("."))?;
        let canon_root = canonical_root(cx)?;
        let root = cx.root.clone();
        let max_matches = cx.limits.max_matches;
        let text = blocking(NAME, move || {
            let shown_start = show(&start.relative);
            let meta = std::fs::metadata(&start.resolved)
                .map_err(|_| failed(NAME, format!("no such path `{shown_start}`")))?;
            let files = if meta.is_file() {
                vec![Found { relative: shown_start.clone(), path: start.resolved.clone() }]
            } else {
                files_under(&root, &canon_root, &start.resolved, glob.as_ref())
            };
            let mut searcher =
                SearcherBuilder::new().binary_detection(BinaryDetection::quit(b'\0')).line_number(true).build();
            let mut shown: Vec<String> = Vec::new();
            let mut total = 0usize;
            for file in &files {
                if total >= MAX_COUNTED {
                    break;
                }
                let sink = Lossy(|number, line| {
                    total += 1;
                    if shown.len() < max_matches {
                        let text = clip_line(line.trim_end_matches(['\n', '\r']), MAX_LINE_CHARS);
                        shown.push(format!("{}:{number}: {text}", file.relative));
                    }
                    Ok(total < MAX_COUNTED)
                });
                // An unreadable file is skipped, as ripgrep skips it with a warning.
                let _ = searcher.search_path(&matcher, &file.path, sink);
            }
            let filter = args.glob.as_deref().map(|g| format!(" matching `{g}`")).unwrap_or_default();
            if shown.is_empty() {
                return Ok(format!(
                    "no matches for `{}` in {} files under `{shown_start}`{filter}\n",
                    args.pattern,
                    files.len()
                ));
            }
            let mut out = shown.join("\n");
            out.push('\n');
            if total > shown.len() {
                let more = total - shown.len();
                let plus = if total >= MAX_COUNTED { "+" } else { "" };
                out.push_str(&format!(
                    "[… and {more}{plus} more matching lines; narrow with `path`, `glob` or a tighter pattern]\n"
                ));
            }
            Ok(out)
        })
        .await?;
        Ok(ToolOutput::text(bound_observation(&text, cx.limits.max_tokens)))
    }
}
