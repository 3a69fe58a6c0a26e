//! Model references: `digits`, `digits@3`, `digits@production` (`docs/registry-format.md`,
//! "Aliases"). Owns [`ModelRef`] and [`Selector`]; imports only the catalogue's name rules.

use super::{check_alias, check_model_name, check_version, CatalogueError};

/// The alias a bare model name resolves through.
pub const DEFAULT_ALIAS: &str = "production";

/// Which version of a model a reference asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// A bare name: the `production` alias, else the highest version.
    Default,
    /// `name@x`: alias `x` if the model has one, else version `x`.
    Named(String),
}

/// A parsed model reference: `digits`, `digits@3`, `digits@production`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    /// The model name.
    pub name: String,
    /// The version or alias.
    pub selector: Selector,
}

impl ModelRef {
    /// Parses `name` or `name@version-or-alias`. Code `BAD_REF` when malformed.
    pub fn parse(text: &str) -> Result<ModelRef, CatalogueError> {
        let bad = |reason: &str| CatalogueError::BadRef {
            reference: text.chars().take(200).collect(),
            reason: reason.to_string(),
        };
        let (name, selector) = match text.split_once('@') {
            Some((n, s)) => {
                if check_alias(s).is_err() && check_version(s).is_err() {
                    return Err(bad(
                        "after `@` comes a version or an alias ([0-9A-Za-z._-])",
                    ));
                }
                (n, Selector::Named(s.to_string()))
            }
            None => (text, Selector::Default),
        };
        if check_model_name(name).is_err() {
            return Err(bad(
                "a model name is [a-z0-9][a-z0-9._-]*, at most 64 characters",
            ));
        }
        Ok(ModelRef {
            name: name.to_string(),
            selector,
        })
    }

    /// The exact version this reference names, when its selector is well formed as a version
    /// (it may still be an alias: only the catalogue can tell).
    pub fn version_like(&self) -> Option<&str> {
        match &self.selector {
            Selector::Named(v) if check_version(v).is_ok() => Some(v),
            _ => None,
        }
    }
}

/// One version of one model, named exactly (`digits@3`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VersionId {
    /// The model name.
    pub name: String,
    /// The version.
    pub version: String,
}

impl std::fmt::Display for VersionId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.version)
    }
}

impl std::fmt::Display for ModelRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.selector {
            Selector::Default => f.write_str(&self.name),
            Selector::Named(s) => write!(f, "{}@{s}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn references_parse_and_print() {
        assert_eq!(
            ModelRef::parse("digits@production").unwrap().selector,
            Selector::Named("production".into())
        );
        assert_eq!(
            ModelRef::parse("digits").unwrap().selector,
            Selector::Default
        );
        let r = ModelRef::parse("digits@1.0-rc").unwrap();
        assert_eq!(r.selector, Selector::Named("1.0-rc".into()));
        assert_eq!(r.to_string(), "digits@1.0-rc");
        assert_eq!(r.version_like(), Some("1.0-rc"));
        for bad in ["", "@1", "digits@", "digits@../x", "Digits", "a@b@c", "a b"] {
            assert_eq!(ModelRef::parse(bad).unwrap_err().code(), "BAD_REF", "{bad}");
        }
    }
}
