//! Functions returning every shape of type that body replacements know:
//! every mutant of this file must compile.
#![allow(dead_code)]

pub mod types;

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::fmt;
use std::rc::Rc;
use std::sync::Arc;
use types::{Holder, Options, Pair, Plain};

pub fn nothing(v: &mut Vec<u8>) {
    v.push(1);
}
pub fn yes(x: u8) -> bool {
    x > 3
}
pub fn small(x: u8) -> u8 {
    x / 2
}
pub fn big(x: u128) -> u128 {
    x * 2
}
pub fn delta(x: i64) -> i64 {
    x - 7
}
pub fn index(x: isize) -> isize {
    x + 1
}
pub fn ratio(x: f64) -> f64 {
    x / 3.0
}
pub fn single(x: f32) -> f32 {
    x * 2.0
}
pub fn initial(s: &str) -> char {
    s.chars().next().unwrap_or('?')
}
pub fn owned(s: &str) -> String {
    s.to_uppercase()
}
pub fn borrowed(s: &str) -> &str {
    s.trim()
}
pub fn fixed() -> &'static str {
    "fixed"
}
pub fn maybe(x: u8) -> Option<u8> {
    x.checked_sub(1)
}
pub fn maybe_text(s: &str) -> Option<String> {
    s.strip_prefix('a').map(str::to_owned)
}
pub fn parsed(s: &str) -> Result<u32, std::num::ParseIntError> {
    s.parse()
}
pub fn checked(s: &str) -> Result<Vec<bool>, String> {
    s.chars().map(|c| if c == 'x' { Err(s.to_owned()) } else { Ok(c == '1') }).collect()
}
pub fn io_result(s: &str) -> std::io::Result<usize> {
    Ok(s.len())
}
pub fn bytes(s: &str) -> Vec<u8> {
    s.bytes().collect()
}
pub fn words(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_owned).collect()
}
pub fn counts(s: &str) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for w in s.split(' ') {
        *m.entry(w.to_owned()).or_insert(0) += 1;
    }
    m
}
pub fn ordered(s: &str) -> BTreeMap<char, bool> {
    s.chars().map(|c| (c, c.is_alphabetic())).collect()
}
pub fn unique(s: &str) -> HashSet<char> {
    s.chars().collect()
}
pub fn sorted(v: &[i32]) -> BTreeSet<i32> {
    v.iter().copied().collect()
}
pub fn queue(n: u16) -> VecDeque<u16> {
    (0..n).collect()
}
pub fn heap(v: &[u32]) -> BinaryHeap<u32> {
    v.iter().copied().collect()
}
pub fn chain(n: u8) -> LinkedList<u8> {
    (0..n).collect()
}
pub fn boxed(x: u8) -> Box<u8> {
    Box::new(x)
}
pub fn boxed_str(s: &str) -> Box<str> {
    s.into()
}
pub fn boxed_slice(v: &[u8]) -> Box<[u8]> {
    v.into()
}
pub fn shared(s: &str) -> Rc<String> {
    Rc::new(s.to_owned())
}
pub fn shared_str(s: &str) -> Arc<str> {
    s.into()
}
pub fn shared_slice(v: &[bool]) -> Rc<[bool]> {
    v.into()
}
pub fn full_path(x: u8) -> std::sync::Arc<u8> {
    std::sync::Arc::new(x)
}
pub fn cell(x: u8) -> std::cell::RefCell<Option<u8>> {
    std::cell::RefCell::new(Some(x))
}
pub fn mutex(x: i8) -> std::sync::Mutex<i8> {
    std::sync::Mutex::new(x)
}
pub fn cow(s: &str) -> Cow<'_, str> {
    if s.contains(' ') { Cow::Owned(s.replace(' ', "_")) } else { Cow::Borrowed(s) }
}
pub fn cow_slice(v: &[u8]) -> Cow<'_, [u8]> {
    Cow::Borrowed(v)
}
pub fn pair(x: u8) -> (u8, bool) {
    (x, x > 1)
}
pub fn triple(s: &str) -> (String, Option<char>, i16) {
    (s.to_owned(), s.chars().next(), 3)
}
pub fn one_tuple(x: u8) -> (u8,) {
    (x,)
}
pub fn array(x: u8) -> [u8; 4] {
    [x; 4]
}
pub fn strings(s: &str) -> [String; 2] {
    [s.to_owned(), s.to_owned()]
}
pub fn generic_array<const N: usize>(x: u32) -> [u32; N] {
    [x; N]
}
pub fn slice(v: &[u8]) -> &[u8] {
    &v[1..]
}
pub fn slice_mut(v: &mut [u8]) -> &mut [u8] {
    &mut v[1..]
}
pub fn words_of(v: &[String]) -> &[String] {
    &v[1..]
}
pub fn number_ref(v: &[u64]) -> &u64 {
    &v[0]
}
pub fn options_mut(o: &mut Options) -> &mut Options {
    o
}
pub fn iter(v: &[u8]) -> impl Iterator<Item = u8> + '_ {
    v.iter().copied()
}
pub fn owned_iter(n: usize) -> impl Iterator<Item = String> {
    (0..n).map(|i| i.to_string())
}
pub fn both_ends(n: u8) -> impl DoubleEndedIterator<Item = Option<u8>> {
    (0..n).map(Some)
}
pub fn options(level: u8) -> Options {
    Options { level }
}
pub fn plain(size: u32) -> Plain {
    Plain { size }
}
pub fn maybe_plain(size: u32) -> Option<Plain> {
    Some(Plain { size })
}
pub fn checked_plain(size: u32) -> Result<Plain, String> {
    Ok(Plain { size })
}
pub fn holder(x: u8) -> Holder<u8> {
    Holder(vec![x])
}
pub fn holder_of<T>(x: T) -> Holder<T> {
    Holder(vec![x])
}
pub fn pair_of<T>(a: T, b: T) -> Pair<T> {
    Pair { a, b }
}
pub fn pair_of_bytes(a: u8) -> Pair<u8> {
    Pair { a, b: a }
}
pub fn identity<T>(x: T) -> T {
    x
}
pub fn callback(x: u8) -> Box<dyn Fn(u8) -> u8> {
    Box::new(move |y| x + y)
}
pub fn display(x: u8) -> impl fmt::Display {
    x
}
pub fn never(msg: &str) -> ! {
    panic!("{msg}")
}
pub async fn later(x: u8) -> u16 {
    u16::from(x) + 1
}
pub const fn limit(x: u8) -> u8 {
    x / 2
}
pub const fn const_name() -> &'static str {
    "name"
}
pub const fn const_text() -> String {
    String::new()
}
pub const fn const_pair(x: u8) -> Option<(u8, f32)> {
    Some((x, 1.5))
}
pub const fn const_list() -> Vec<u8> {
    Vec::new()
}
pub fn scratch() -> &'static mut [u8] {
    Vec::leak(vec![1, 2])
}
pub fn duration(ms: u64) -> std::time::Duration {
    std::time::Duration::from_millis(ms)
}
pub fn path(s: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(s)
}

impl Options {
    /// A level-one options.
    pub fn one() -> Self {
        Options { level: 1 }
    }
}

impl Plain {
    /// A size-one plain.
    pub fn one() -> Self {
        Plain { size: 1 }
    }
}

impl<T: Clone> Pair<T> {
    /// Both halves the same.
    pub fn twin(x: T) -> Self {
        Pair { a: x.clone(), b: x }
    }
}

impl fmt::Display for Plain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "plain {}", self.size)
    }
}

/// A trait whose default method returns `Self`.
pub trait Make: Sized {
    /// Makes one.
    fn make(x: u8) -> Self;
    /// Makes two and keeps the second.
    fn make_twice(x: u8) -> Self {
        let _ = Self::make(x);
        Self::make(x)
    }
}

/// A type implementing `Default` by hand, in the same file.
pub struct Manual(u8);

impl Default for Manual {
    fn default() -> Self {
        Manual(7)
    }
}

pub fn manual(x: u8) -> Manual {
    Manual(x)
}
