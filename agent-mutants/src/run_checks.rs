//! The cheap check of a mutant judged against the unmutated code's findings.
//!
//! Go's check is `go vet` on the package and TypeScript's is `tsc` on the
//! whole project: both report findings that may be there before any
//! mutant (a method that copies a lock, a type error in a file the tests
//! never compile). Counting every failed check as unviable made every
//! mutant of such a package unviable. So when a mutant's check fails, the
//! runner compares: the first time a check command fails (per command: per
//! Go package, per TypeScript project, per JavaScript file), the same check
//! is run once on the unmutated file in the same job tree and its findings
//! are remembered for the run. The mutant is unviable only when its check
//! reports a finding the baseline's did not (or the baseline passed); a
//! check that fails the same way as on the baseline leaves the verdict to
//! the tests. A check that passes costs nothing extra.
//!
//! A finding is an output line with its position taken out
//! (`calc/calc.go:12:9: Value passes lock by value` → `calc/calc.go: Value
//! passes lock by value`; `src/a.ts(4,14): error TS2322: …` →
//! `src/a.ts: error TS2322: …`) and the job tree's path removed, and the
//! findings are compared as counts per line: a mutant can change the
//! number of lines of a file (a body replacement, an arm deletion, a
//! removed statement), so the findings below it move, and positions cannot
//! be compared; the same message in the same file once more than before is
//! a new finding. Output with no positioned line (Node's syntax errors:
//! `FILE:LINE`, the quoted source line, a caret, `SyntaxError: …`, a stack)
//! is kept line by line with digits blanked, and only its location and
//! error lines when it names an error: the quoted source changes with the
//! mutant even when the error does not (JSX in a `.js` file fails
//! `node --check` on every version of the file).

use super::run::MutateError;
use super::run_project::Ecosystem;
use agent_core::Executor;
use agent_core::exec::{CommandSpec, RunOutput};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// Findings of one check run: normalized line → how many times it was reported.
pub(crate) type Findings = BTreeMap<String, usize>;

/// The baseline findings of the check commands seen so far in a run, by
/// command (with the job's directory taken out, so every job shares them).
/// `None`: the check passed on the unmutated code.
#[derive(Debug, Default)]
pub(crate) struct Baselines {
    seen: Mutex<BTreeMap<String, Option<Findings>>>,
}

/// What the unviable decision needs about the mutant whose check failed.
pub(crate) struct FailedCheck<'a> {
    /// The ecosystem (only Go and Node checks are compared).
    pub(crate) eco: Ecosystem,
    /// The job's private directory (its tree is below it).
    pub(crate) job_cache: &'a Path,
    /// The job tree.
    pub(crate) tree: &'a Path,
    /// The mutated file, relative to the tree.
    pub(crate) file: &'a str,
    /// The file's unmutated text.
    pub(crate) original: &'a str,
    /// The file's mutated text (written back after a baseline run).
    pub(crate) mutated: &'a str,
    /// The check command, as run on the mutant.
    pub(crate) check: &'a CommandSpec,
    /// Its output on the mutant.
    pub(crate) out: &'a RunOutput,
}

impl Baselines {
    /// Whether the failed check of a mutant reported only findings its
    /// baseline reported too (then the mutant is not unviable; see the
    /// module doc). Runs the baseline check the first time a command fails.
    pub(crate) async fn only_known_findings(
        &self,
        executor: &dyn Executor,
        failed: FailedCheck<'_>,
    ) -> Result<bool, MutateError> {
        if !matches!(failed.eco, Ecosystem::Go | Ecosystem::Node) || failed.out.timed_out.is_some() {
            return Ok(false);
        }
        let job = failed.job_cache.display().to_string();
        let key = failed.check.display().replace(&job, "<job>");
        let known = self.seen.lock().ok().and_then(|seen| seen.get(&key).cloned());
        let baseline = match known {
            Some(baseline) => baseline,
            None => {
                let baseline = self.run_baseline(executor, &failed).await?;
                if let Ok(mut seen) = self.seen.lock() {
                    seen.insert(key, baseline.clone());
                }
                baseline
            }
        };
        let Some(baseline) = baseline else { return Ok(false) };
        let now = findings(&output_text(failed.out), failed.tree);
        let known = now.iter().all(|(line, count)| baseline.get(line).is_some_and(|before| before >= count));
        tracing::debug!(file = failed.file, known, findings = now.len(), "check failed; compared with its baseline");
        Ok(known)
    }

    /// Runs the check on the unmutated file in the job tree, then puts the mutant back.
    async fn run_baseline(
        &self,
        executor: &dyn Executor,
        failed: &FailedCheck<'_>,
    ) -> Result<Option<Findings>, MutateError> {
        let path = failed.tree.join(failed.file);
        tokio::fs::write(&path, failed.original).await.map_err(super::run::io_err(&path))?;
        let command = failed.check.display_redacted();
        let ran = executor.run(failed.check.clone()).await;
        tokio::fs::write(&path, failed.mutated).await.map_err(super::run::io_err(&path))?;
        let out = ran.map_err(|source| MutateError::Exec { command, source })?;
        if out.success() || out.timed_out.is_some() {
            return Ok(None);
        }
        Ok(Some(findings(&output_text(&out), failed.tree)))
    }
}

fn output_text(out: &RunOutput) -> String {
    format!("{}\n{}", out.stdout.text(), out.stderr.text())
}

/// The findings in a check's output (see the module doc): non-empty lines,
/// the job tree's path and each line's leading position taken out; Go's
/// `# package` headers and tsc's `Found N errors` summary left out. When
/// no line has a position, every line counts, its digits blanked.
pub(crate) fn findings(text: &str, tree: &Path) -> Findings {
    let prefix = format!("{}/", tree.display());
    let mut positioned = Findings::new();
    let mut other = Findings::new();
    for line in text.lines() {
        let line = line.replace(&prefix, "");
        let line = line.trim();
        let line = line.strip_prefix("vet: ").unwrap_or(line);
        if line.is_empty() || line.starts_with("# ") || (line.starts_with("Found ") && line.contains(" error")) {
            continue;
        }
        match without_position(line) {
            Some(finding) => *positioned.entry(finding).or_default() += 1,
            None => {
                let blanked: String = line.chars().map(|c| if c.is_ascii_digit() { '#' } else { c }).collect();
                *other.entry(blanked).or_default() += 1;
            }
        }
    }
    if !positioned.is_empty() {
        return positioned;
    }
    // Node's syntax errors: `FILE:LINE`, the source line, a caret, `SyntaxError: …`, a stack.
    // The quoted source and the stack say where, not what: keep the location and the error.
    let said = |line: &str| is_error_line(line) || is_location_line(line);
    if other.keys().any(|l| is_error_line(l)) {
        other.retain(|line, _| said(line));
    }
    other
}

/// `SyntaxError: …`, `TypeError [ERR_…]: …`: a line that names a JavaScript error.
fn is_error_line(line: &str) -> bool {
    let name_end = line.find([':', ' ']).unwrap_or(line.len());
    let name = &line[..name_end];
    name.ends_with("Error") && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `src/x.js:#` (a path and a blanked line number, nothing else).
fn is_location_line(line: &str) -> bool {
    line.rsplit_once(':')
        .is_some_and(|(path, n)| !path.is_empty() && !path.contains(' ') && n.chars().all(|c| c == '#'))
}

/// `FILE:LINE[:COL]: MESSAGE` or `FILE(LINE,COL): MESSAGE` (also tsc's
/// pretty `FILE:LINE:COL - MESSAGE`) as `FILE: MESSAGE`; `None` for a line
/// that does not start with a position or has no message after it.
fn without_position(line: &str) -> Option<String> {
    let file_end = line.find([':', '('])?;
    let file = line[..file_end].trim_start_matches("./");
    if file.is_empty() || file.contains(' ') {
        return None;
    }
    let rest = &line[file_end..];
    let (numbers, message) = if let Some(inside) = rest.strip_prefix('(') {
        let close = inside.find(')')?;
        (&inside[..close], inside[close + 1..].trim_start_matches(':'))
    } else {
        let mut numbers_end = 0;
        let bytes = rest.as_bytes();
        while numbers_end < bytes.len()
            && (bytes[numbers_end] == b':' && bytes.get(numbers_end + 1).is_some_and(u8::is_ascii_digit)
                || bytes[numbers_end].is_ascii_digit())
        {
            numbers_end += 1;
        }
        let message = rest[numbers_end..].trim_start_matches(':').trim_start();
        (&rest[..numbers_end], message.strip_prefix("- ").unwrap_or(message))
    };
    let is_position = !numbers.is_empty()
        && numbers.chars().any(|c| c.is_ascii_digit())
        && numbers.chars().all(|c| c.is_ascii_digit() || c == ':' || c == ',');
    let message = message.trim();
    (is_position && !message.is_empty()).then(|| format!("{file}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_vet_findings_lose_their_positions_and_package_headers() {
        let tree = Path::new("/cache/job-0/tree");
        let before = "# example.com/gv/calc\ncalc/calc.go:12:9: Value passes lock by value: example.com/gv/calc.Counter contains sync.Mutex\n";
        let after = "# example.com/gv/calc\n./calc/calc.go:10:9: Value passes lock by value: example.com/gv/calc.Counter contains sync.Mutex\n";
        assert_eq!(findings(before, tree), findings(after, tree));
        let typed = "# example.com/gv/calc\nvet: calc/calc.go:18:9: invalid operation: operator - not defined on \"Hello, \" (constant of type string)\n";
        let found = findings(typed, tree);
        assert_eq!(
            found.keys().collect::<Vec<_>>(),
            ["calc/calc.go: invalid operation: operator - not defined on \"Hello, \" (constant of type string)"]
        );
    }

    #[test]
    fn tsc_findings_keep_the_code_and_message_without_line_and_column() {
        let tree = Path::new("/cache/job-1/tree");
        let plain = findings("src/a.ts(4,14): error TS2322: Type 'string' is not assignable to type 'number'.\n", tree);
        let pretty = findings(
            "src/a.ts:7:3 - error TS2322: Type 'string' is not assignable to type 'number'.\n\nFound 1 error in src/a.ts:7\n",
            tree,
        );
        assert_eq!(plain, pretty);
        assert_eq!(
            plain.keys().next().unwrap(),
            "src/a.ts: error TS2322: Type 'string' is not assignable to type 'number'."
        );
    }

    #[test]
    fn a_node_syntax_error_is_its_location_and_message_not_the_quoted_source() {
        let tree = Path::new("/t");
        let node = |line: u32, source: &str| {
            format!(
                "/t/src/App.js:{line}\n  {source}\n         ^\n\nSyntaxError: Unexpected token '<'\n    at internalCompileFunction (node:internal/vm:76:18)\n\nNode.js v20.20.2\n"
            )
        };
        let before = findings(&node(3, "return <div>{label}</div>;"), tree);
        let after = findings(&node(7, "return <span>{total}</span>;"), tree);
        assert_eq!(before, after);
        assert_eq!(before.keys().collect::<Vec<_>>(), ["SyntaxError: Unexpected token '<'", "src/App.js:#"]);
        let other = findings(&node(3, "x").replace("token '<'", "end of input"), tree);
        assert_ne!(before, other, "another error is another finding");
    }

    #[test]
    fn output_without_positions_is_compared_line_by_line_with_digits_blanked() {
        let tree = Path::new("/t");
        let a = findings("/t/src/x.js:3\nSyntaxError: Unexpected token '}'\n", tree);
        let b = findings("/t/src/x.js:5\nSyntaxError: Unexpected token '}'\n", tree);
        assert!(a.keys().any(|k| k.contains("SyntaxError")), "{a:?}");
        assert!(a.contains_key("src/x.js:#"), "a bare location is a line like the others: {a:?}");
        assert_eq!(a, b);
    }
}
