//! Small string identifiers that cross the traits.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            /// Wraps a string as this identifier.
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The identifier as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                Self(value)
            }
        }
    };
}

string_id!(
    /// Names one task (one goal given to the loop); events are grouped by it.
    TaskId
);
string_id!(
    /// Names a provider and its model, written `KIND:MODEL`, e.g. `openai:gpt-4.1-mini`.
    ProviderId
);
string_id!(
    /// Names one snapshot taken by a [`Snapshotter`](crate::Snapshotter).
    SnapshotId
);

impl ProviderId {
    /// The provider kind: the part before the first `:` (`openai` in `openai:gpt-4.1-mini`).
    pub fn kind(&self) -> &str {
        self.0.split_once(':').map_or(self.0.as_str(), |(k, _)| k)
    }

    /// The model: the part after the first `:` (`gpt-4.1-mini`), or the whole id.
    pub fn model(&self) -> &str {
        self.0.split_once(':').map_or(self.0.as_str(), |(_, m)| m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_id_splits_kind_and_model_at_the_first_colon() {
        let id = ProviderId::new("ollama:qwen2.5:7b");
        assert_eq!(id.kind(), "ollama");
        assert_eq!(id.model(), "qwen2.5:7b");
    }
}
