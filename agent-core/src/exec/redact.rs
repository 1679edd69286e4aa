//! Command lines with their secrets masked, for logs, traces and journals
//! ([`redact_args`], [`redact_command_line`],
//! [`CommandSpec::display_redacted`](crate::exec::CommandSpec::display_redacted)).
//!
//! A command's argv is what an agent ran, so it is worth recording; it is
//! also where tokens end up (`curl -H "Authorization: Bearer …"`,
//! `git clone https://user:pass@host/…`, `--token …`). The run itself gets
//! the real arguments; everything written about the run gets these.

use crate::exec::EnvPolicy;

/// What a secret is replaced with in a redacted command line.
pub const MASK: &str = "***";

/// The arguments of a command line with their secrets replaced by [`MASK`].
///
/// Masked, in any argument (also inside one holding a whole script, as
/// `sh -c "…"` does):
/// - the value of a flag whose name looks secret, given as the next
///   argument or after `=`: `--token`, `--password`, `--api-key`,
///   `--client-secret`, `--auth-token`, … (not `--password-stdin`,
///   `--token-file` or `--no-password`, which take no secret);
/// - the value of `NAME=value` whose `NAME` looks secret
///   ([`EnvPolicy::looks_secret`]): `GITHUB_TOKEN=…`, `DATABASE_URL=…`;
/// - the password in a URL's user information (`https://user:***@host`),
///   a token-looking user information without one, and secret-looking query
///   parameters (`?access_token=***`);
/// - header values: `Authorization: Bearer ***`, `Authorization: Basic ***`,
///   `X-Api-Key: ***`, `Cookie: ***`, and the word after a lone `Bearer`;
/// - `curl -u user:***` (`--user`);
/// - well-known token shapes wherever they stand: `sk-…`, `ghp_…`,
///   `github_pat_…`, `xoxb-…`, `AKIA…`, … (the prefixes
///   [`scrub_secrets`](crate::memory::scrub_secrets) knows).
///
/// Everything else is left as it was: `cargo test -p foo`,
/// `pytest -k "a and b"` and `git commit -m msg` come back unchanged.
///
/// ```
/// use agent_core::exec::redact_args;
///
/// let argv = ["curl", "-H", "Authorization: Bearer abc123", "https://me:hunter2@example.com/x", "--token", "t0k3n"];
/// assert_eq!(
///     redact_args(&argv),
///     ["curl", "-H", "Authorization: Bearer ***", "https://me:***@example.com/x", "--token", "***"]
/// );
/// assert_eq!(redact_args(&["cargo", "test", "-p", "foo"]), ["cargo", "test", "-p", "foo"]);
/// ```
pub fn redact_args<S: AsRef<str>>(words: &[S]) -> Vec<String> {
    let mut r = Redactor::default();
    words.iter().map(|w| r.text(w.as_ref())).collect()
}

/// A command line already joined into one string (as
/// [`RunOutput::command`](crate::exec::RunOutput::command) holds it) with
/// its secrets masked: [`redact_args`]'s rules over its whitespace-separated
/// words, the whitespace kept.
///
/// ```
/// use agent_core::exec::redact_command_line;
///
/// assert_eq!(redact_command_line("gh api --token ghp_abcdefghijklmnop user"), "gh api --token *** user");
/// assert_eq!(redact_command_line("git commit -m msg"), "git commit -m msg");
/// ```
pub fn redact_command_line(line: &str) -> String {
    Redactor::default().text(line)
}

/// What the previous word asks of the next one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Pending {
    #[default]
    Nothing,
    /// The value of a secret flag or header: masked.
    Mask,
    /// After `Authorization:`: a scheme (`Bearer`) passes and its
    /// credentials are masked; anything else is the credential.
    AuthHeader,
    /// After curl's `-u`/`--user`: `user:password`, the password masked.
    UserPass,
}

#[derive(Default)]
struct Redactor {
    pending: Pending,
    /// Whether `curl` was among the words so far (its `-u user:password`).
    curl: bool,
}

/// Quotes and punctuation around a word inside a script (`'Bearer`, `x";`).
fn is_wrapper(c: char) -> bool {
    matches!(c, '\'' | '"' | '`' | ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}')
}

/// `word` with its core (without the wrapping quotes) replaced by [`MASK`].
fn mask_core(word: &str) -> String {
    let start = word.len() - word.trim_start_matches(is_wrapper).len();
    let end = word.trim_end_matches(is_wrapper).len().max(start);
    format!("{}{MASK}{}", &word[..start], &word[end..])
}

/// Authentication schemes of an `Authorization` header.
const AUTH_SCHEMES: &[&str] =
    &["bearer", "basic", "token", "digest", "negotiate", "ntlm", "apikey", "aws4-hmac-sha256"];

/// Whether a flag or header name (`--api-key`, `X-Auth-Token`,
/// `client_secret`) names a secret. Split into words on `-` and `_`: a word
/// like `token`, `secret`, `password`, `auth` anywhere, or `key` after a
/// qualifier (`api`, `access`, `secret`, …); never a flag that only says
/// where a secret is read from (`--password-stdin`, `--token-file`) or
/// turns one off (`--no-password`).
fn name_is_secret(name: &str) -> bool {
    let lower = name.trim_matches(|c: char| c == '-' || is_wrapper(c)).to_ascii_lowercase();
    let words: Vec<&str> = lower.split(['-', '_', '.']).filter(|w| !w.is_empty()).collect();
    let (Some(first), Some(last)) = (words.first(), words.last()) else { return false };
    if *first == "no" || matches!(*last, "stdin" | "file" | "path" | "env" | "cmd" | "command" | "helper" | "prompt") {
        return false;
    }
    words.iter().enumerate().any(|(i, w)| match *w {
        "token" | "secret" | "password" | "passwd" | "pass" | "passphrase" | "pwd" | "apikey" | "credential"
        | "credentials" | "auth" | "authorization" | "cookie" | "pat" | "dsn" => true,
        "key" => {
            i > 0
                && matches!(
                    words[i - 1],
                    "api"
                        | "access"
                        | "secret"
                        | "private"
                        | "auth"
                        | "client"
                        | "signing"
                        | "license"
                        | "encryption"
                        | "master"
                        | "account"
                        | "subscription"
                )
        }
        _ => false,
    }) || ["token", "secret", "password", "passwd", "apikey", "accesskey", "privatekey", "secretkey"]
        .iter()
        .any(|s| words.len() == 1 && lower.contains(s))
}

/// Whether `name` is an environment-style identifier (`GITHUB_TOKEN`).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Redactor {
    /// A run of text: each whitespace-separated word through [`Self::word`],
    /// the whitespace kept.
    fn text(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for piece in text.split_inclusive(char::is_whitespace) {
            let word = piece.trim_end_matches(char::is_whitespace);
            if word.is_empty() {
                out.push_str(piece);
                continue;
            }
            out.push_str(&self.word(word));
            out.push_str(&piece[word.len()..]);
        }
        out
    }

    /// One word without whitespace.
    fn word(&mut self, word: &str) -> String {
        let bare = word.trim_matches(is_wrapper);
        self.curl |= bare.rsplit('/').next() == Some("curl");
        match std::mem::take(&mut self.pending) {
            Pending::Nothing => {}
            Pending::Mask if !bare.starts_with("--") => return mask_core(word),
            Pending::Mask => {}
            Pending::AuthHeader => {
                if AUTH_SCHEMES.contains(&bare.to_ascii_lowercase().as_str()) {
                    self.pending = Pending::Mask;
                    return word.to_owned();
                }
                return mask_core(word);
            }
            Pending::UserPass => {
                if let Some((user, _)) = word.split_once(':') {
                    return format!("{user}:{}", mask_core(&word[user.len() + 1..]));
                }
            }
        }
        // A flag: `--token VALUE`, `--token=VALUE`, curl's `-u user:pass`.
        if bare.starts_with('-') && !bare.starts_with("---") {
            let (name, value) = match bare.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (bare, None),
            };
            let curl_user = self.curl && matches!(name, "-u" | "--user");
            if self.curl && value.is_none() && name.len() > 2 && name.starts_with("-u") && !name.starts_with("--") {
                // curl's `-uuser:password`, the value attached.
                if let Some(colon) = word.find(':') {
                    return format!("{}{}", &word[..=colon], mask_core(&word[colon + 1..]));
                }
            }
            if name_is_secret(name) || curl_user {
                return match value {
                    Some(_) => {
                        let eq = word.find('=').map_or(word.len(), |i| i + 1);
                        let val = &word[eq..];
                        match val.find(':') {
                            Some(c) if curl_user => format!("{}{}", &word[..=eq + c], mask_core(&val[c + 1..])),
                            _ => format!("{}{}", &word[..eq], mask_core(val)),
                        }
                    }
                    None => {
                        self.pending = if curl_user { Pending::UserPass } else { Pending::Mask };
                        word.to_owned()
                    }
                };
            }
            return self.shapes(word);
        }
        // A header name: `Authorization:`, `X-Api-Key:`; a lone `Bearer`.
        if let Some(name) = bare.strip_suffix(':') {
            let lower = name.to_ascii_lowercase();
            if lower == "authorization" || lower == "proxy-authorization" {
                self.pending = Pending::AuthHeader;
                return word.to_owned();
            }
            if name_is_secret(name) || EnvPolicy::looks_secret(name) {
                self.pending = Pending::Mask;
                return word.to_owned();
            }
        }
        if bare.eq_ignore_ascii_case("bearer") {
            self.pending = Pending::Mask;
            return word.to_owned();
        }
        // `NAME=value` with a secret-looking name.
        if let Some((name, _)) = bare.split_once('=') {
            let name = name.trim_start_matches(['$', '{']);
            if is_identifier(name) && EnvPolicy::looks_secret(name) {
                let eq = word.find('=').map_or(word.len(), |i| i + 1);
                return format!("{}{}", &word[..eq], mask_core(&word[eq..]));
            }
        }
        // `Name:value` in one word (`X-Api-Key:abc`), not a URL.
        if let Some((name, value)) = bare.split_once(':') {
            if !value.starts_with("//") && !value.is_empty() && name_is_secret(name) {
                let colon = word.find(':').map_or(word.len(), |i| i + 1);
                return format!("{}{}", &word[..colon], mask_core(&word[colon..]));
            }
        }
        self.shapes(word)
    }

    /// URLs' user information and query secrets, then token shapes.
    fn shapes(&self, word: &str) -> String {
        mask_token_shapes(&mask_urls(word))
    }
}

/// Masks the password (or a token-looking user) in each URL's user
/// information and the values of secret-looking query parameters.
fn mask_urls(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while let Some(at) = rest.find("://") {
        let authority_start = at + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let authority_len = after.find(['/', '?', '#', '\'', '"', ' ']).unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@') {
            Some(at_sign) => {
                let userinfo = &authority[..at_sign];
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(MASK);
                    }
                    None if looks_like_token(userinfo) => out.push_str(MASK),
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[at_sign..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
        // The path, query and fragment: up to a quote or the word's end.
        let end = rest.find(['\'', '"', ' ']).unwrap_or(rest.len());
        out.push_str(&mask_query(&rest[..end]));
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// `?a=1&access_token=xyz` → `?a=1&access_token=***`.
fn mask_query(tail: &str) -> String {
    let Some(q) = tail.find('?') else { return tail.to_owned() };
    let mut out = tail[..=q].to_owned();
    let query = &tail[q + 1..];
    let (query, fragment) = query.split_at(query.find('#').unwrap_or(query.len()));
    let pairs: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) if !value.is_empty() && (name_is_secret(name) || EnvPolicy::looks_secret(name)) => {
                format!("{name}={}", mask_core(value))
            }
            _ => pair.to_owned(),
        })
        .collect();
    out.push_str(&pairs.join("&"));
    out.push_str(fragment);
    out
}

/// A user information without a password that is itself a credential
/// (`https://ghp_…@github.com`): a known token shape or 20 or more token
/// characters (a user name like `git` stays).
fn looks_like_token(userinfo: &str) -> bool {
    crate::memory::SECRET_PREFIXES.iter().any(|p| userinfo.starts_with(p))
        || userinfo.len() >= 20 && userinfo.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Replaces every well-known token shape in `word` (a prefix from
/// [`SECRET_PREFIXES`](crate::memory::SECRET_PREFIXES) at a word boundary,
/// 12 or more token characters in all) with [`MASK`].
fn mask_token_shapes(word: &str) -> String {
    let token_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-');
    let mut out = String::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        let at_boundary = word[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
        if at_boundary && crate::memory::SECRET_PREFIXES.iter().any(|p| word[i..].starts_with(p)) {
            let len = word[i..].find(|c: char| !token_char(c)).unwrap_or(word.len() - i);
            if len >= 12 {
                out.push_str(MASK);
                i += len;
                continue;
            }
        }
        let Some(c) = word[i..].chars().next() else { break };
        out.push(c);
        i += c.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_masked_word_keeps_its_quotes() {
        assert_eq!(mask_core("'abc'"), "'***'");
        assert_eq!(mask_core("abc\";"), "***\";");
        assert_eq!(mask_core("''"), "''***");
    }

    #[test]
    fn flag_names_are_secret_by_their_words_not_their_letters() {
        for secret in ["--token", "--api-key", "--password", "--client-secret", "--auth-token", "-token", "--pat"] {
            assert!(name_is_secret(secret), "{secret}");
        }
        for plain in [
            "--monkeypatch",
            "--key",
            "--keyword",
            "-p",
            "--package",
            "--password-stdin",
            "--token-file",
            "--no-password",
            "--path",
            "--pattern",
        ] {
            assert!(!name_is_secret(plain), "{plain}");
        }
    }
}
