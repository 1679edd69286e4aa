//! `list_files`: the workspace's files under a directory, ignore-aware,
//! sorted, bounded.

use crate::tools::bound_observation;
use crate::tools::common::{blocking, canonical_root, contained, failed, parse_args, schema_of, show};
use crate::tools::walk::{GlobFilter, files_under};
use agent_core::Tool;
use agent_core::tool::{ToolContext, ToolError, ToolOutput};
use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;

/// `list_files`: paths relative to the root under `path` (default the root),
/// filtered by `glob`, sorted; `.gitignore` honoured, hidden files, `.git`
/// and dependency caches skipped (see the walk rules in the module docs of
/// [`tools`](crate::tools)); at most
/// [`max_matches`](agent_core::tool::ObservationLimits::max_matches) paths,
/// with a note of how many more there are.
#[derive(Clone, Copy, Debug, Default)]
pub struct ListFiles;

/// Arguments of `list_files`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Args {
    /// Directory to list, relative to the workspace root (default: the root).
    #[serde(default)]
    path: Option<String>,
    /// Only files matching this glob: `*.rs` matches file names anywhere,
    /// `src/**/*.rs` paths from the root.
    #[serde(default)]
    glob: Option<String>,
}

const NAME: &str = "list_files";

#[async_trait]
impl Tool for ListFiles {
    fn name(&self) -> &str {
        NAME
    }

    fn description(&self) -> &str {
        "List the files of the workspace (recursively) under a directory, as paths relative to the workspace \
         root, sorted. Files ignored by .gitignore, hidden files and dependency caches are left out. Narrow \
         with `path` (a directory) and `glob` (`*.py`, `src/**/*.rs`)."
    }

    fn parameters(&self) -> serde_json::Value {
        schema_of::<Args>()
    }

    async fn call(&self, args: serde_json::Value, cx: &ToolContext) -> Result<ToolOutput, ToolError> {
        let args: Args = parse_args(NAME, args)?;
        let glob =
            args.glob.as_deref().filter(|g| !g.trim().is_empty()).map(|g| GlobFilter::new(NAME, g)).transpose()?;
        let requested = args.path.as_deref().filter(|p| !p.trim().is_empty()).unwrap_or(".");
        let start = contained(cx, requested)?;
        let canon_root = canonical_root(cx)?;
        let root = cx.root.clone();
        let limits = cx.limits;
        let shown_start = show(&start.relative);
        let text = blocking(NAME, move || {
            let meta = std::fs::metadata(&start.resolved)
                .map_err(|_| failed(NAME, format!("no such directory `{shown_start}`")))?;
            if meta.is_file() {
                return Ok(format!("{shown_start}\n"));
            }
            let files = files_under(&root, &canon_root, &start.resolved, glob.as_ref());
            let filter = args.glob.as_deref().map(|g| format!(" matching `{g}`")).unwrap_or_default();
            if files.is_empty() {
                return Ok(format!("no files under `{shown_start}`{filter}\n"));
            }
            let mut out = String::new();
            for f in files.iter().take(limits.max_matches) {
                out.push_str(&f.relative);
                out.push('\n');
            }
            if files.len() > limits.max_matches {
                out.push_str(&format!(
                    "[… and {} more files; narrow with `path` or `glob`]\n",
                    files.len() - limits.max_matches
                ));
            }
            Ok(out)
        })
        .await?;
        Ok(ToolOutput::text(bound_observation(&text, cx.limits.max_tokens)))
    }
}
