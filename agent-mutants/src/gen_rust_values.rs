//! Type-aware replacement values for Rust function bodies.
//!
//! [`values_of`] reads a return type's syntax tree and gives plain values of
//! that type, most telling first: `true`/`false`, `0`/`1`/`-1`,
//! `String::new()`/`"xyzzy".into()`, `None`/`Some(v)`, `Ok(v)`,
//! `vec![]`/`vec![v]`, `HashMap::new()`/`HashMap::from([(k, v)])`,
//! `Box::new(v)`, `Cow::Borrowed(..)`/`Cow::Owned(..)`, tuples, arrays,
//! `::std::iter::empty()`/`::std::iter::once(v)`, where each `v` is itself a
//! value of the inner type. `Default::default()` is offered only for a type
//! known to implement `Default` (std types, or a crate type with
//! `#[derive(Default)]` / `impl Default for`, see [`TypeFacts`]); a type
//! with no known value gets no replacement rather than one that would not
//! compile. Constructor paths are written as the signature writes the type
//! (`std::sync::Arc<T>` gives `std::sync::Arc::new(v)`), so they resolve
//! wherever the signature does.

use super::{Out, TypeFacts, named_children};
use tree_sitter::Node;

/// At most this many values per type (tuples and maps multiply).
const CAP: usize = 12;

/// What a type's `Self` means where the function is.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Scope {
    /// `Self` is known to implement `Default`.
    pub(super) self_default: bool,
    /// The function is `Default::default` itself: `Default::default()` would recurse forever.
    pub(super) in_default_fn: bool,
}

const UNSIGNED: &[&str] = &["u8", "u16", "u32", "u64", "u128", "usize"];
const SIGNED: &[&str] = &["i8", "i16", "i32", "i64", "i128", "isize"];

/// Std types without type arguments that implement `Default`.
const STD_DEFAULT: &[&str] = &[
    "String",
    "PathBuf",
    "OsString",
    "CString",
    "Duration",
    "AtomicBool",
    "AtomicUsize",
    "AtomicIsize",
    "AtomicU8",
    "AtomicU16",
    "AtomicU32",
    "AtomicU64",
    "AtomicI8",
    "AtomicI16",
    "AtomicI32",
    "AtomicI64",
    "RandomState",
    "DefaultHasher",
];

/// Std single-value wrappers built with `Wrapper::new(v)`.
const WRAPPERS: &[&str] = &["Box", "Rc", "Arc", "Cell", "RefCell", "Mutex", "RwLock"];

/// Std collections of one element type built with `C::new()` / `C::from([v])`.
const SETS: &[&str] = &["HashSet", "BTreeSet", "VecDeque", "BinaryHeap", "LinkedList"];

/// Std maps built with `M::new()` / `M::from([(k, v)])`.
const MAPS: &[&str] = &["HashMap", "BTreeMap"];

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The last segment of a type path (`std::sync::Arc` → `Arc`).
fn last_segment(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

/// The type arguments of a generic type, lifetimes and bindings left out.
fn type_args<'t>(ty: Node<'t>) -> Vec<Node<'t>> {
    ty.child_by_field_name("type_arguments")
        .map(|args| {
            named_children(args)
                .into_iter()
                .filter(|a| !matches!(a.kind(), "lifetime" | "type_binding" | "line_comment" | "block_comment"))
                .collect()
        })
        .unwrap_or_default()
}

/// A slice type `[T]` (an array type without a length).
fn is_slice(ty: Node<'_>) -> bool {
    ty.kind() == "array_type" && ty.child_by_field_name("length").is_none()
}

fn is_str(ty: Node<'_>, out: &Out<'_>) -> bool {
    ty.kind() == "primitive_type" && out.text(ty) == "str"
}

fn cap(mut v: Vec<String>) -> Vec<String> {
    v.truncate(CAP);
    v
}

/// Plain values of a Rust type, most telling first; empty when none is known to compile.
pub(super) fn values_of(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let values = structural(ty, out, scope);
    let values = if values.is_empty() && !scope.in_default_fn && has_default(ty, out, scope) {
        strs(&["Default::default()"])
    } else {
        values
    };
    cap(values)
}

/// Values from the type's shape, without the `Default::default()` fallback.
fn structural(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let text = squash(out.text(ty));
    match ty.kind() {
        "unit_type" => strs(&["()"]),
        "primitive_type" => primitive(&text),
        "type_identifier" | "scoped_type_identifier" => named(&text),
        "generic_type" => generic(ty, out, scope),
        "reference_type" => reference(ty, out, scope),
        "tuple_type" => tuple(ty, out, scope),
        "array_type" => array(ty, out, scope),
        "abstract_type" | "bounded_type" => iterator(ty, out, scope),
        _ => Vec::new(),
    }
}

fn primitive(name: &str) -> Vec<String> {
    match name {
        "bool" => strs(&["true", "false"]),
        "f32" | "f64" => strs(&["0.0", "1.0", "-1.0"]),
        "char" => strs(&["'\\0'", "'x'"]),
        n if UNSIGNED.contains(&n) => strs(&["0", "1"]),
        n if SIGNED.contains(&n) => strs(&["0", "1", "-1"]),
        _ => Vec::new(),
    }
}

/// A type named without arguments: `String`, `fmt::Result`; others only through `Default`.
fn named(path: &str) -> Vec<String> {
    match (last_segment(path), path) {
        ("String", _) => strs(&["String::new()", "\"xyzzy\".into()"]),
        ("Result", "fmt::Result" | "std::fmt::Result" | "core::fmt::Result") => strs(&["Ok(())"]),
        _ => Vec::new(),
    }
}

fn generic(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let path = ty.child_by_field_name("type").map(|n| squash(out.text(n))).unwrap_or_default();
    let last = last_segment(&path);
    let args = type_args(ty);
    let of = |i: usize| args.get(i).map(|a| values_of(*a, out, scope)).unwrap_or_default();
    match (last, args.len()) {
        ("Option", 1) => {
            std::iter::once("None".to_string()).chain(of(0).into_iter().map(|v| format!("Some({v})"))).collect()
        }
        ("Result", 1 | 2) => of(0).into_iter().map(|v| format!("Ok({v})")).collect(),
        ("Vec", 1) => {
            std::iter::once("vec![]".to_string()).chain(of(0).into_iter().map(|v| format!("vec![{v}]"))).collect()
        }
        ("Cow", 1) => cow(&path, args[0], out, scope),
        (w, 1) if WRAPPERS.contains(&w) => wrapper(&path, w, args[0], out, scope),
        (c, 1) if SETS.contains(&c) => std::iter::once(format!("{path}::new()"))
            .chain(of(0).into_iter().map(|v| format!("{path}::from([{v}])")))
            .collect(),
        (m, 2) if MAPS.contains(&m) => {
            let (keys, vals) = (of(0), of(1));
            let mut v = vec![format!("{path}::new()")];
            for k in &keys {
                for x in &vals {
                    v.push(format!("{path}::from([({k}, {x})])"));
                }
            }
            v
        }
        _ => Vec::new(),
    }
}

/// `Box<T>`, `Rc<T>`, `Arc<T>`, `Cell<T>`, … of each value of `T`; `Box<str>` and
/// `Box<[T]>` (also `Rc`, `Arc`) from a string or a vector.
fn wrapper(path: &str, name: &str, inner: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let shared = matches!(name, "Box" | "Rc" | "Arc");
    if is_str(inner, out) {
        return if shared { strs(&["\"\".into()", "\"xyzzy\".into()"]) } else { Vec::new() };
    }
    if is_slice(inner) {
        if !shared {
            return Vec::new();
        }
        let elem = inner.child_by_field_name("element");
        let elems = elem.map(|e| values_of(e, out, scope)).unwrap_or_default();
        return std::iter::once("Vec::new().into()".to_string())
            .chain(elems.into_iter().map(|v| format!("vec![{v}].into()")))
            .collect();
    }
    values_of(inner, out, scope).into_iter().map(|v| format!("{path}::new({v})")).collect()
}

/// `Cow<str>`: borrowed and owned strings; `Cow<[T]>`: borrowed and owned
/// slices; `Cow<T>` of a sized `T`: owned values.
fn cow(path: &str, inner: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    if is_str(inner, out) {
        return vec![
            format!("{path}::Borrowed(\"\")"),
            format!("{path}::Borrowed(\"xyzzy\")"),
            format!("{path}::Owned(String::new())"),
            format!("{path}::Owned(\"xyzzy\".to_owned())"),
        ];
    }
    if is_slice(inner) {
        let elems = inner.child_by_field_name("element").map(|e| values_of(e, out, scope)).unwrap_or_default();
        return [format!("{path}::Borrowed(&[])"), format!("{path}::Owned(vec![])")]
            .into_iter()
            .chain(elems.into_iter().map(|v| format!("{path}::Owned(vec![{v}])")))
            .collect();
    }
    values_of(inner, out, scope).into_iter().map(|v| format!("{path}::Owned({v})")).collect()
}

/// `&str`: `""`, `"xyzzy"`; `&[T]`: `&[]` and a leaked one-element vector;
/// `&T`/`&mut T`: a leaked box of each value of `T`.
fn reference(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let Some(inner) = ty.child_by_field_name("type") else {
        return Vec::new();
    };
    let mutable = named_children(ty).iter().any(|c| c.kind() == "mutable_specifier");
    if is_str(inner, out) {
        return if mutable { Vec::new() } else { strs(&["\"\"", "\"xyzzy\""]) };
    }
    if is_slice(inner) {
        let elems = inner.child_by_field_name("element").map(|e| values_of(e, out, scope)).unwrap_or_default();
        let empty = if mutable { "&mut []" } else { "&[]" };
        return std::iter::once(empty.to_string())
            .chain(elems.into_iter().map(|v| format!("Vec::leak(vec![{v}])")))
            .collect();
    }
    values_of(inner, out, scope).into_iter().map(|v| format!("Box::leak(Box::new({v}))")).collect()
}

/// Every combination of the elements' values, up to [`CAP`].
fn tuple(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let elems = named_children(ty);
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for e in elems {
        let values = values_of(e, out, scope);
        if values.is_empty() {
            return Vec::new();
        }
        combos = combos
            .iter()
            .flat_map(|prefix| {
                values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .take(CAP)
            .collect();
    }
    combos
        .into_iter()
        .map(|c| if c.len() == 1 { format!("({},)", c[0]) } else { format!("({})", c.join(", ")) })
        .collect()
}

/// `[T; N]`: `[v; N]` for a `Copy` primitive element, else `::std::array::from_fn(|_| v)`.
fn array(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let (Some(elem), Some(len)) = (ty.child_by_field_name("element"), ty.child_by_field_name("length")) else {
        return Vec::new();
    };
    let len = out.text(len);
    let copy = elem.kind() == "primitive_type" && !is_str(elem, out);
    values_of(elem, out, scope)
        .into_iter()
        .map(|v| if copy { format!("[{v}; {len}]") } else { format!("::std::array::from_fn(|_| {v})") })
        .collect()
}

/// `impl Iterator<Item = T>` (also `DoubleEndedIterator`, `ExactSizeIterator`,
/// `+ 'a`): the empty iterator and one of each value of `T`.
fn iterator(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> Vec<String> {
    let abstract_ty = if ty.kind() == "bounded_type" {
        let parts = named_children(ty);
        let traits: Vec<Node<'_>> = parts.iter().copied().filter(|p| p.kind() != "lifetime").collect();
        match traits.as_slice() {
            [only] if only.kind() == "abstract_type" => *only,
            _ => return Vec::new(),
        }
    } else {
        ty
    };
    let Some(bound) = abstract_ty.child_by_field_name("trait") else {
        return Vec::new();
    };
    if bound.kind() != "generic_type" {
        return Vec::new();
    }
    let name = bound.child_by_field_name("type").map(|n| squash(out.text(n))).unwrap_or_default();
    if !matches!(last_segment(&name), "Iterator" | "DoubleEndedIterator" | "ExactSizeIterator") {
        return Vec::new();
    }
    let item = bound.child_by_field_name("type_arguments").and_then(|args| {
        named_children(args).into_iter().find(|b| {
            b.kind() == "type_binding" && b.child_by_field_name("name").is_some_and(|n| out.text(n) == "Item")
        })
    });
    let Some(item_ty) = item.and_then(|b| b.child_by_field_name("type")) else {
        return Vec::new();
    };
    std::iter::once("::std::iter::empty()".to_string())
        .chain(values_of(item_ty, out, scope).into_iter().map(|v| format!("::std::iter::once({v})")))
        .collect()
}

/// Whether a type is known to implement `Default`.
pub(super) fn has_default(ty: Node<'_>, out: &Out<'_>, scope: Scope) -> bool {
    let text = squash(out.text(ty));
    let facts: &TypeFacts = out.facts;
    match ty.kind() {
        "unit_type" => true,
        "primitive_type" => text != "str",
        "reference_type" => ty.child_by_field_name("type").is_some_and(|i| {
            let mutable = named_children(ty).iter().any(|c| c.kind() == "mutable_specifier");
            (is_str(i, out) && !mutable) || is_slice(i)
        }),
        "tuple_type" => {
            let elems = named_children(ty);
            elems.len() <= 12 && elems.iter().all(|e| has_default(*e, out, scope))
        }
        "array_type" => {
            let small = ty
                .child_by_field_name("length")
                .and_then(|l| out.text(l).trim_end_matches("usize").replace('_', "").parse::<usize>().ok())
                .is_some_and(|n| n <= 32);
            small && ty.child_by_field_name("element").is_some_and(|e| has_default(e, out, scope))
        }
        "type_identifier" | "scoped_type_identifier" => {
            let last = last_segment(&text);
            if last == "Self" {
                return scope.self_default;
            }
            STD_DEFAULT.contains(&last) || facts.implements_default(last)
        }
        "generic_type" => {
            let path = ty.child_by_field_name("type").map(|n| squash(out.text(n))).unwrap_or_default();
            let last = last_segment(&path);
            let args = type_args(ty);
            match (last, args.len()) {
                ("Option" | "Vec" | "PhantomData", 1) => true,
                (c, 1) if SETS.contains(&c) => true,
                (m, 2) if MAPS.contains(&m) => true,
                ("Box", 1) if is_str(args[0], out) || is_slice(args[0]) => true,
                (w, 1) if WRAPPERS.contains(&w) => has_default(args[0], out, scope),
                _ => facts.implements_default(last) && args.iter().all(|a| has_default(*a, out, scope)),
            }
        }
        _ => false,
    }
}
