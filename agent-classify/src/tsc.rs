//! [`TscClassifier`]: structured failures from the TypeScript compiler, `tsc`.

use crate::common::{MAX_MESSAGE_LINES, Parsed, bounded, finish, relativize, source_snippet};
use agent_core::FailureClassifier;
use agent_core::exec::RunOutput;
use agent_core::failure::{Classification, Failure, FailureCategory, FailureKind};
use agent_core::workspace::WorkspaceProfile;

/// Classifies `tsc` output, `--pretty false` (`path(line,col): error TSnnnn: message`)
/// or pretty (`path:line:col - error TSnnnn: message`).
///
/// Every error becomes a [`FailureCategory::Build`] failure with its location,
/// the code `TSnnnn` and the source lines around it. The kind follows the code:
/// TS2304/TS2552/TS2582 (cannot find name) → [`FailureKind::UnresolvedName`],
/// TS2307/TS2792 (cannot find module) → [`FailureKind::UnresolvedImport`], or
/// [`FailureKind::MissingDependency`] when the specifier is a package rather
/// than a relative path, TS1xxx → [`FailureKind::Syntax`], TS5xxx/TS6xxx, errors
/// without a location and any error inside a `.json` file (`tsconfig.json` that is not
/// JSON) → [`FailureKind::Config`], others → [`FailureKind::Type`].
///
/// ```
/// use agent_core::FailureClassifier;
/// use agent_core::failure::FailureKind;
/// use agent_core::exec::RunOutput;
/// use agent_core::workspace::WorkspaceProfile;
/// use agent_classify::TscClassifier;
///
/// let out = "src/a.ts(3,7): error TS2322: Type 'string' is not assignable to type 'number'.\n";
/// let run = RunOutput::from_text("tsc --noEmit --pretty false", 2, out, "");
/// let c = TscClassifier::new().classify(&run, &WorkspaceProfile::default());
/// assert_eq!(c.failures[0].kind, FailureKind::Type);
/// assert_eq!(c.failures[0].code.as_deref(), Some("TS2322"));
/// assert_eq!(c.failures[0].line, Some(3));
/// assert!(c.valid_run);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct TscClassifier;

impl TscClassifier {
    /// The tool name in every [`Classification`] this classifier makes.
    pub const TOOL: &'static str = "tsc";

    /// A tsc classifier.
    pub fn new() -> Self {
        Self
    }
}

/// One parsed tsc diagnostic header: file (maybe empty), line, column, code, message.
pub(crate) struct TscLine<'a> {
    pub(crate) file: &'a str,
    pub(crate) line: Option<u32>,
    pub(crate) column: Option<u32>,
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
}

/// Parses a tsc error line in either format, or `error TSnnnn: message` without location.
pub(crate) fn error_line(line: &str) -> Option<TscLine<'_>> {
    let t = line.trim_end();
    let (head, rest) = if let Some(i) = t.find(": error TS") {
        (&t[..i], &t[i + ": error ".len()..])
    } else if let Some(i) = t.find(" - error TS") {
        (&t[..i], &t[i + " - error ".len()..])
    } else {
        let rest = t.strip_prefix("error TS")?;
        ("", &t[t.len() - rest.len() - 2..])
    };
    let (code, message) = rest.split_once(": ")?;
    if code.len() < 3 || !code[2..].bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (file, line, column) = if head.is_empty() {
        ("", None, None)
    } else if let Some(open) = head.rfind('(').filter(|_| head.ends_with(')')) {
        let (l, c) = head[open + 1..head.len() - 1].split_once(',')?;
        (&head[..open], Some(l.trim().parse().ok()?), Some(c.trim().parse().ok()?))
    } else {
        let mut parts = head.rsplitn(3, ':');
        let c = parts.next()?.parse().ok()?;
        let l = parts.next()?.parse().ok()?;
        (parts.next()?, Some(l), Some(c))
    };
    if file.contains(' ') && !file.contains('/') {
        return None;
    }
    Some(TscLine { file, line, column, code, message: message.trim() })
}

/// The module specifier quoted in a TS2307 message: `Cannot find module 'x' or ...`.
fn quoted(message: &str) -> Option<&str> {
    let start = message.find('\'')? + 1;
    let len = message[start..].find('\'')?;
    Some(&message[start..start + len])
}

/// Whether tsc reports an error in a configuration file (`tsconfig.json`,
/// `tsconfig.build.json`, `jsconfig.json`, any `.json` given to `-p`) rather than in a source.
fn is_config_file(file: &str) -> bool {
    let name = file.rsplit(['/', '\\']).next().unwrap_or(file);
    name.ends_with(".json")
}

/// The kind of a tsc error, from its code (and, for missing modules, the specifier).
pub(crate) fn kind_of(code: &str, message: &str, has_location: bool) -> FailureKind {
    match code {
        "TS2304" | "TS2552" | "TS2582" | "TS2580" | "TS2663" => FailureKind::UnresolvedName,
        "TS2307" | "TS2792" => match quoted(message) {
            Some(spec) if !spec.starts_with('.') && !spec.starts_with('/') => FailureKind::MissingDependency,
            _ => FailureKind::UnresolvedImport,
        },
        "TS2305" | "TS2614" | "TS2724" => FailureKind::UnresolvedImport,
        _ if code.starts_with("TS1") && code.len() == 6 => FailureKind::Syntax,
        _ if !has_location || code.starts_with("TS5") || code.starts_with("TS6") => FailureKind::Config,
        _ => FailureKind::Type,
    }
}

/// Keeps the first syntax error of each file: tsc reports what follows a
/// parse error as more parse errors (a missing `)` gives five TS1005), and
/// those cascades go once the first is fixed. The first one's message says
/// how many were folded into it.
fn collapse_syntax_cascades(failures: Vec<Failure>) -> Vec<Failure> {
    let mut out: Vec<Failure> = Vec::with_capacity(failures.len());
    let mut folded: Vec<(usize, u32)> = Vec::new();
    for f in failures {
        if f.kind == FailureKind::Syntax {
            if let Some(i) =
                out.iter().position(|o| o.kind == FailureKind::Syntax && o.file.is_some() && o.file == f.file)
            {
                match folded.iter_mut().find(|(j, _)| *j == i) {
                    Some((_, n)) => *n += 1,
                    None => folded.push((i, 1)),
                }
                continue;
            }
        }
        out.push(f);
    }
    for (i, n) in folded {
        let s = if n == 1 { "" } else { "s" };
        out[i].message.push_str(&format!("\n({n} more syntax error{s} reported after this one in the same file)"));
    }
    out
}

impl FailureClassifier for TscClassifier {
    fn classify(&self, run: &RunOutput, ws: &WorkspaceProfile) -> Classification {
        let root = ws.root.as_path();
        let stdout = run.stdout.text();
        let stderr = run.stderr.text();
        let mut parsed = Parsed::default();
        for text in [&stdout, &stderr] {
            let lines: Vec<&str> = text.lines().collect();
            let mut i = 0;
            while i < lines.len() {
                let Some(e) = error_line(lines[i]) else {
                    i += 1;
                    continue;
                };
                // Continuation lines of a chained message are indented.
                let mut message = vec![e.message];
                let mut j = i + 1;
                while j < lines.len() && lines[j].starts_with("  ") && error_line(lines[j]).is_none() {
                    message.push(lines[j].trim());
                    j += 1;
                }
                let mut kind = kind_of(e.code, e.message, e.line.is_some());
                if is_config_file(e.file) {
                    // An error inside `tsconfig.json` (bad JSON, an unknown option): the
                    // project's configuration, whatever the code.
                    kind = FailureKind::Config;
                }
                let mut f = Failure::new(FailureCategory::Build, kind, bounded(&message, MAX_MESSAGE_LINES));
                f.code = Some(e.code.to_owned());
                if !e.file.is_empty() {
                    let file = relativize(e.file, root);
                    f.snippet = e.line.and_then(|l| source_snippet(root, &file, l));
                    f = f.at(file, e.line, e.column);
                }
                parsed.failures.push(f);
                i = j;
            }
        }
        parsed.failures = collapse_syntax_cascades(parsed.failures);
        finish(Self::TOOL, run, parsed, "tsc")
    }
}
