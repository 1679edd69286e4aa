//! Readers for the manifest formats that are neither TOML nor strict JSON:
//! YAML (CI workflows, `pnpm-workspace.yaml`, `pnpm-lock.yaml`) with
//! [`saphyr`], and JSON with comments and trailing commas (`tsconfig.json`,
//! `deno.json(c)`, `turbo.json`) with [`jsonc_parser`].
//!
//! Every reader returns an error (or `None`) for malformed input, never a
//! panic; callers treat that as "no evidence" or add a note saying so.

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use saphyr_parser::{Event, Parser};
use std::borrow::Cow;

/// The first document of a YAML text (`Null` for an empty text), or why it
/// could not be read. Anchors and aliases are resolved, within saphyr's bound
/// on how many nodes alias expansion may produce; a duplicated key is an error.
pub(crate) fn yaml(text: &str) -> Result<Yaml<'static>, String> {
    let docs = <Yaml<'static> as LoadableYamlNode>::load_from_str(text).map_err(|e| e.to_string())?;
    Ok(docs.into_iter().next().unwrap_or(Yaml::Value(Scalar::Null)))
}

/// [`yaml`], and when that fails, once more with every line that holds only
/// a flow collection's closing bracket (`]`, `},`) indented two more spaces.
/// GitHub's and GitLab's YAML readers accept a flow list closed at its key's
/// indentation (`name: [` … `]` under `name`), which saphyr rejects as
/// invalid indentation; whitespace inside a flow collection means nothing, so
/// the repair changes no value. The first error is returned when both fail.
pub(crate) fn yaml_lenient(text: &str) -> Result<Yaml<'static>, String> {
    yaml(text).or_else(|error| {
        let closer = |l: &str| matches!(l.trim(), "]" | "}" | "]," | "},");
        if !text.lines().any(closer) {
            return Err(error);
        }
        let repaired: String =
            text.lines().map(|l| if closer(l) { format!("  {l}\n") } else { format!("{l}\n") }).collect();
        yaml(&repaired).map_err(|_| error)
    })
}

/// The node under a tag (`!!map`, `!custom`), or the node itself.
fn untag<'a, 'y>(mut node: &'a Yaml<'y>) -> &'a Yaml<'y> {
    while let Yaml::Tagged(_, inner) = node {
        node = inner;
    }
    node
}

/// Merge keys (`<<: *base`, `<<: [*a, *b]`) are followed this deep at most.
const MAX_MERGE_DEPTH: usize = 8;

/// `node[key]` of a mapping, looking through `<<` merge keys when the
/// mapping itself lacks `key`.
pub(crate) fn get<'a, 'y>(node: &'a Yaml<'y>, key: &str) -> Option<&'a Yaml<'y>> {
    get_within(node, key, 0)
}

fn get_within<'a, 'y>(node: &'a Yaml<'y>, key: &str, depth: usize) -> Option<&'a Yaml<'y>> {
    let node = untag(node);
    if key != "<<" {
        if let Some(value) = node.as_mapping_get(key) {
            return Some(value);
        }
    }
    if depth >= MAX_MERGE_DEPTH {
        return None;
    }
    match node.as_mapping_get("<<").map(untag) {
        Some(base @ Yaml::Mapping(_)) => get_within(base, key, depth + 1),
        Some(Yaml::Sequence(bases)) => bases.iter().find_map(|b| get_within(b, key, depth + 1)),
        _ => None,
    }
}

/// The `(key, value)` pairs of a mapping in document order, those merged in
/// with `<<` after its own (a key the mapping sets itself is not taken
/// again); a key that is not a scalar reads as the empty text.
pub(crate) fn entries<'a, 'y>(node: &'a Yaml<'y>) -> Vec<(String, &'a Yaml<'y>)> {
    let mut seen: Vec<&'a Yaml<'y>> = Vec::new();
    let mut out = Vec::new();
    collect_values(node, &mut seen, &mut out, 0);
    out
}

fn collect_values<'a, 'y>(
    node: &'a Yaml<'y>,
    seen: &mut Vec<&'a Yaml<'y>>,
    out: &mut Vec<(String, &'a Yaml<'y>)>,
    depth: usize,
) {
    let Yaml::Mapping(map) = untag(node) else { return };
    let mut merged = None;
    for (key, value) in map {
        if key.as_str() == Some("<<") {
            merged = Some(value);
        } else if !seen.contains(&key) {
            seen.push(key);
            out.push((text(key).map(Cow::into_owned).unwrap_or_default(), value));
        }
    }
    if depth >= MAX_MERGE_DEPTH {
        return;
    }
    match merged.map(untag) {
        Some(base @ Yaml::Mapping(_)) => collect_values(base, seen, out, depth + 1),
        Some(Yaml::Sequence(bases)) => {
            for base in bases {
                collect_values(base, seen, out, depth + 1);
            }
        }
        _ => {}
    }
}

/// The items of a sequence; empty for anything else.
pub(crate) fn items<'a, 'y>(node: &'a Yaml<'y>) -> &'a [Yaml<'y>] {
    match untag(node) {
        Yaml::Sequence(list) => list,
        _ => &[],
    }
}

/// A scalar as text (`9.0` → `9`, `true` → `true`); `None` for a collection or null.
pub(crate) fn text<'a>(node: &'a Yaml<'_>) -> Option<Cow<'a, str>> {
    match untag(node) {
        Yaml::Value(Scalar::String(s)) => Some(Cow::Borrowed(s.as_ref())),
        Yaml::Value(Scalar::Integer(i)) => Some(Cow::Owned(i.to_string())),
        Yaml::Value(Scalar::FloatingPoint(f)) => Some(Cow::Owned(f.to_string())),
        Yaml::Value(Scalar::Boolean(b)) => Some(Cow::Owned(b.to_string())),
        Yaml::Representation(s, _, _) => Some(Cow::Borrowed(s.as_ref())),
        _ => None,
    }
}

/// The scalar value of the top-level `key` of the first YAML document, as
/// written (quotes removed, `9.0` stays `9.0`). The text is read event by
/// event and only up to that key, so a large lockfile costs no more than its
/// header. `None` when the key is absent, its value is not a scalar, or the
/// YAML is malformed before it.
pub(crate) fn top_level_scalar(text: &str, key: &str) -> Option<String> {
    let mut depth = 0usize;
    let mut at_key = true;
    let mut matched = false;
    for item in Parser::new_from_str(text) {
        let (event, _) = item.ok()?;
        // A node completed at depth 1, as its scalar text (`None` for a collection or an alias).
        let completed: Option<Option<Cow<'_, str>>> = match event {
            Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => None,
            Event::DocumentEnd | Event::StreamEnd => return None,
            Event::MappingStart(..) if depth == 0 => {
                depth = 1;
                None
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if depth == 0 {
                    return None;
                }
                depth += 1;
                None
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth = depth.saturating_sub(1);
                match depth {
                    0 => return None,
                    1 => Some(None),
                    _ => None,
                }
            }
            Event::Scalar(value, ..) => match depth {
                0 => return None,
                1 => Some(Some(value)),
                _ => None,
            },
            Event::Alias(_) => match depth {
                0 => return None,
                1 => Some(None),
                _ => None,
            },
        };
        if let Some(node) = completed {
            if at_key {
                matched = node.as_deref() == Some(key);
            } else if matched {
                return node.map(Cow::into_owned);
            }
            at_key = !at_key;
        }
    }
    None
}

/// A JSON text that may hold `//` and `/* */` comments and trailing commas
/// (the dialect of `tsconfig.json`, `deno.json(c)` and `turbo.json`), or why
/// it could not be read. Nesting deeper than the parser's limit is an error.
pub(crate) fn jsonc(text: &str) -> Result<serde_json::Value, String> {
    jsonc_parser::parse_to_serde_value::<serde_json::Value>(text, &jsonc_parser::ParseOptions::default())
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::{entries, get, items, jsonc, text, top_level_scalar, yaml};
    use proptest::prelude::*;

    #[test]
    fn merge_keys_and_aliases_are_followed() {
        let doc = yaml("base: &base\n  a: 1\n  b: two\nnode:\n  <<: *base\n  b: own\n").unwrap();
        let node = get(&doc, "node").unwrap();
        assert_eq!(text(get(node, "a").unwrap()).as_deref(), Some("1"));
        assert_eq!(text(get(node, "b").unwrap()).as_deref(), Some("own"));
        let listed: Vec<String> =
            entries(node).into_iter().filter_map(|(_, v)| text(v).map(|t| t.into_owned())).collect();
        assert_eq!(listed, ["own", "1"]);
        assert!(items(node).is_empty());
    }

    #[test]
    fn malformed_yaml_is_an_error_not_a_panic() {
        for bad in ["a: [1, 2", "a: b: c", "a: 1\na: 2\n", "- &x a\n- *y\n", "{", "key: \"open"] {
            assert!(yaml(bad).is_err(), "{bad:?} was read");
        }
    }

    #[test]
    fn alias_expansion_beyond_the_budget_is_an_error() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let prev = format!("*a{}", i - 1);
            text.push_str(&format!("a{i}: &a{i} [{}]\n", [prev.as_str(); 10].join(", ")));
        }
        assert!(yaml(&text).is_err());
    }

    #[test]
    fn top_level_scalar_stops_at_its_key_and_ignores_nested_ones() {
        let text = "importers:\n  lockfileVersion: nested\n  x: [1, {lockfileVersion: 2}]\nlockfileVersion: '9.0'\nbroken: [\n";
        assert_eq!(top_level_scalar(text, "lockfileVersion").as_deref(), Some("9.0"));
        assert_eq!(top_level_scalar("lockfileVersion: 5.4\n", "lockfileVersion").as_deref(), Some("5.4"));
        assert_eq!(top_level_scalar("{lockfileVersion: \"6.0\"}", "lockfileVersion").as_deref(), Some("6.0"));
        assert_eq!(top_level_scalar("lockfileVersion: [9]\n", "lockfileVersion"), None);
        assert_eq!(top_level_scalar("- lockfileVersion\n- 9\n", "lockfileVersion"), None);
        assert_eq!(top_level_scalar("a: [\nlockfileVersion: 9\n", "lockfileVersion"), None);
    }

    #[test]
    fn jsonc_reads_comments_and_trailing_commas() {
        let v = jsonc("// top\n{\n  /* block */ \"a\": [1, 2,],\n  \"b\": {\"c\": true,}, // tail\n}\n").unwrap();
        assert_eq!(v["a"][1], 2);
        assert_eq!(v["b"]["c"], true);
        assert!(jsonc("{\"a\": }").is_err());
        assert!(jsonc(&"[".repeat(100_000)).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics_the_readers(s in "[\\[\\]{}:,\\-&*!|>'\"#\n a-z0-9]{0,200}") {
            let _ = yaml(&s);
            let _ = top_level_scalar(&s, "a");
            let _ = jsonc(&s);
        }
    }
}
