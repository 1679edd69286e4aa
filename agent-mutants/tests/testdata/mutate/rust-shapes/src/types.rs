//! Types of the crate: some implement `Default`, some do not.

/// Settings with a derived `Default`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Options {
    /// A level.
    pub level: u8,
}

/// A value with no `Default`: no body returning it may be replaced.
#[derive(Clone, Debug, PartialEq)]
pub struct Plain {
    /// A size.
    pub size: u32,
}

/// A generic holder with a hand-written `Default` for every `T`.
#[derive(Debug)]
pub struct Holder<T>(pub Vec<T>);

impl<T> Default for Holder<T> {
    fn default() -> Self {
        Holder(Vec::new())
    }
}

/// A generic pair whose derived `Default` needs `T: Default`.
#[derive(Debug, Default)]
pub struct Pair<T> {
    /// First.
    pub a: T,
    /// Second.
    pub b: T,
}
